// Expand: broadcasts the input against `shape` (numpy rules, both ways: a 1 in `shape`
// keeps the input's dim).
#include <algorithm>

#include "kernels/data_movement.h"
#include "kernels/util.h"

namespace edgekit {
namespace {

class Expand final : public OpKernel {
 public:
  explicit Expand(const Node& node) : OpKernel(node) {}

  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(2, 2);
    const TensorType& x = ctx.input_type(0);
    const TensorType& s = ctx.input_type(1);
    EK_CHECK(s.dtype == DType::i64, node().where(), ": shape must be int64, got ", dtype_name(s.dtype));
    auto dims = input_ints(ctx, 1);
    if (!dims || !x.shape_known) {
      if (s.shape_known && s.shape.size() == 1 && s.shape[0] >= 0 && x.shape_known)
        set_output_unknown_dims(ctx, 0, x.dtype, std::max(x.shape.size(), size_t(s.shape[0])));
      else
        ctx.set_output_unknown(0, x.dtype);
      return;
    }
    for (int64_t d : *dims) EK_CHECK(d >= 0, node().where(), ": negative dim in shape ", shape_str(*dims));
    ctx.set_output(0, x.dtype, broadcast_shapes({x.shape, *dims}, node()));
  }

  void run(RunContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    Tensor& y = ctx.output(0);
    strided_copy(x, 0, broadcast_strides(x.shape(), y.shape()), y);
  }
};

}  // namespace
EK_REGISTER_OP("Expand", Expand);
}  // namespace edgekit
