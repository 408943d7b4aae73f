// ConstantOfShape: a tensor of the given shape filled with `value` (a one-element tensor,
// default float 0).
#include <cstring>

#include "kernels/data_movement.h"

namespace edgekit {
namespace {

class ConstantOfShape final : public OpKernel {
 public:
  explicit ConstantOfShape(const Node& node) : OpKernel(node) {
    value_ = node.has_attr("value") ? node.attr_tensor("value") : Tensor::scalar<float>(0.f);
    EK_CHECK(value_.numel() == 1, node.where(), ": value must hold one element, got shape ",
             shape_str(value_.shape()));
  }

  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(1, 1);
    const TensorType& s = ctx.input_type(0);
    EK_CHECK(s.dtype == DType::i64, node().where(), ": shape must be int64, got ", dtype_name(s.dtype));
    auto dims = input_ints(ctx, 0);
    if (!dims) {
      if (s.shape_known && s.shape.size() == 1 && s.shape[0] >= 0)
        set_output_unknown_dims(ctx, 0, value_.dtype(), size_t(s.shape[0]));
      else
        ctx.set_output_unknown(0, value_.dtype());
      return;
    }
    for (int64_t d : *dims)
      EK_CHECK(d >= 0, node().where(), ": negative dim in shape ", shape_str(*dims));
    ctx.set_output(0, value_.dtype(), *dims);
  }

  void run(RunContext& ctx) const override {
    Tensor& y = ctx.output(0);
    const size_t es = dtype_size(y.dtype());
    auto* dst = static_cast<uint8_t*>(y.raw());
    for (int64_t i = 0, n = y.numel(); i < n; ++i) std::memcpy(dst + size_t(i) * es, value_.raw(), es);
  }

 private:
  Tensor value_;
};

}  // namespace
EK_REGISTER_OP("ConstantOfShape", ConstantOfShape);
}  // namespace edgekit
