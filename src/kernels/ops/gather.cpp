// Gather: out = data[:, ..., indices, ...] along `axis`; out shape is
// data[:axis] + indices + data[axis+1:]. Negative indices count from the end.
#include <cstring>

#include "kernels/data_movement.h"
#include "kernels/util.h"

namespace edgekit {
namespace {

class Gather final : public OpKernel {
 public:
  explicit Gather(const Node& node) : OpKernel(node), axis_(node.attr_int("axis", 0)) {}

  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(2, 2);
    const TensorType& x = ctx.input_type(0);
    const TensorType& idx = ctx.input_type(1);
    EK_CHECK(idx.dtype == DType::i32 || idx.dtype == DType::i64, node().where(), ": indices must be int32 or int64, got ",
             dtype_name(idx.dtype));
    if (!x.shape_known || !idx.shape_known) {
      ctx.set_output_unknown(0, x.dtype);
      return;
    }
    size_t axis = axis_index(axis_, int64_t(x.shape.size()), node());
    Shape out(x.shape.begin(), x.shape.begin() + long(axis));
    out.insert(out.end(), idx.shape.begin(), idx.shape.end());
    out.insert(out.end(), x.shape.begin() + long(axis) + 1, x.shape.end());
    ctx.set_output(0, x.dtype, out);
  }

  void run(RunContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    size_t axis = axis_index(axis_, int64_t(x.rank()), node());
    const int64_t dim = x.shape()[axis];
    std::vector<int64_t> idx = ctx.input(1).to_int_vector();
    for (int64_t& i : idx) {
      EK_CHECK(i >= -dim && i < dim, node().where(), ": index ", i, " is out of range for axis ", axis, " of size ",
               dim, " (data shape ", shape_str(x.shape()), ")");
      if (i < 0) i += dim;
    }
    int64_t outer = 1, inner = 1;
    for (size_t d = 0; d < axis; ++d) outer *= x.shape()[d];
    for (size_t d = axis + 1; d < x.rank(); ++d) inner *= x.shape()[d];
    const size_t block = size_t(inner) * dtype_size(x.dtype());
    const auto* src = static_cast<const uint8_t*>(x.raw());
    auto* dst = static_cast<uint8_t*>(ctx.output(0).raw());
    for (int64_t o = 0; o < outer; ++o) {
      const uint8_t* row = src + size_t(o * dim) * block;
      for (int64_t i : idx) {
        std::memcpy(dst, row + size_t(i) * block, block);
        dst += block;
      }
    }
  }

 private:
  int64_t axis_;
};

}  // namespace
EK_REGISTER_OP("Gather", Gather);
}  // namespace edgekit
