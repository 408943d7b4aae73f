// EyeLike: a 2-D tensor shaped like the input with ones on diagonal k (k > 0 above the main
// one), zeros elsewhere; dtype from the `dtype` attribute, else the input's.
#include "kernels/data_movement.h"

namespace edgekit {
namespace {

class EyeLike final : public OpKernel {
 public:
  explicit EyeLike(const Node& node) : OpKernel(node), k_(node.attr_int("k", 0)) {
    if (node.has_attr("dtype")) dtype_ = dtype_from_onnx_code(node.attr_int("dtype"), node);
  }

  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(1, 1);
    const TensorType& x = ctx.input_type(0);
    const DType t = dtype_ == DType::undefined ? x.dtype : dtype_;
    EK_CHECK(!x.shape_known || x.shape.size() == 2, node().where(), ": input must be 2-D, got shape ",
             shape_str(x.shape));
    if (x.shape_known) ctx.set_output(0, t, x.shape);
    else set_output_unknown_dims(ctx, 0, t, 2);
  }

  void run(RunContext& ctx) const override {
    Tensor& y = ctx.output(0);
    const int64_t rows = y.shape()[0], cols = y.shape()[1];
    visit_dtype(y.dtype(), [&](auto tag) {
      using T = decltype(tag);
      T one;
      if constexpr (std::is_same_v<T, f16_t>) one = float_to_half(1.f);
      else one = T(1);
      T* out = y.data<T>();  // zero-filled by allocation
      for (int64_t i = 0; i < rows; ++i) {
        int64_t j = i + k_;
        if (j >= 0 && j < cols) out[i * cols + j] = one;
      }
    });
  }

 private:
  int64_t k_;
  DType dtype_ = DType::undefined;
};

}  // namespace
EK_REGISTER_OP("EyeLike", EyeLike);
}  // namespace edgekit
