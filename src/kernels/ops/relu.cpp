// Relu: y = max(x, 0), elementwise.
#include "kernels/op.h"

namespace edgekit {
namespace {

class Relu final : public OpKernel {
 public:
  explicit Relu(const Node& node) : OpKernel(node) {}

  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(1, 1);
    const TensorType& x = ctx.input_type(0);
    EK_CHECK(is_float(x.dtype) || x.dtype == DType::i8 || x.dtype == DType::i32 || x.dtype == DType::i64,
             node().where(), ": unsupported input dtype ", dtype_name(x.dtype));
    ctx.set_output(0, x.dtype, x.shape);
  }

  void run(RunContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    Tensor& y = ctx.output(0);
    visit_numeric(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* src = x.data<T>();
      T* dst = y.data<T>();
      for (int64_t i = 0, n = x.numel(); i < n; ++i) dst[i] = src[i] > T(0) ? src[i] : T(0);
    });
  }
};

}  // namespace
EK_REGISTER_OP("Relu", Relu);
}  // namespace edgekit
