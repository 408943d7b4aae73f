// InstanceNormalization: per (n, c) plane, Y = (X - mean) / sqrt(var + epsilon) * scale[c] + B[c],
// with the population mean and variance of the plane (accumulated in double).
#include <cmath>

#include "kernels/nn_common.h"
#include "kernels/op.h"

namespace edgekit {
namespace {

class InstanceNormalization final : public OpKernel {
 public:
  explicit InstanceNormalization(const Node& node)
      : OpKernel(node), epsilon_(node.attr_float("epsilon", 1e-5f)) {}

  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(3, 3);
    const TensorType& x = ctx.input_type(0);
    check_float_input(node(), "X", x.dtype);
    check_same_dtype(node(), "scale", ctx.input_type(1).dtype, x.dtype);
    check_same_dtype(node(), "B", ctx.input_type(2).dtype, x.dtype);
    if (!x.shape_known) return ctx.set_output_unknown(0, x.dtype);
    EK_CHECK(x.shape.size() >= 3, node().where(), ": input X has shape ", shape_str(x.shape),
             ", expected rank >= 3 (N, C, spatial...)");
    for (size_t i = 1; i < 3; ++i) {
      const TensorType& t = ctx.input_type(i);
      const bool ok = t.shape.size() == 1 && (t.shape[0] < 0 || x.shape[1] < 0 || t.shape[0] == x.shape[1]);
      EK_CHECK(!t.shape_known || ok,
               node().where(), ": input ", i == 1 ? "scale" : "B", " has shape ", shape_str(t.shape), ", expected [",
               x.shape[1], "]");
    }
    ctx.set_output(0, x.dtype, x.shape);
  }

  void run(RunContext& ctx) const override {
    visit_float(ctx.input(0).dtype(), [&](auto tag) {
      using T = decltype(tag);
      const Tensor& x = ctx.input(0);
      const int64_t N = x.dim(0), C = x.dim(1), inner = x.numel() / std::max<int64_t>(N * C, 1);
      const T* X = x.data<T>();
      const T* S = ctx.input(1).data<T>();
      const T* B = ctx.input(2).data<T>();
      T* Y = ctx.output(0).data<T>();
      for (int64_t plane = 0; plane < N * C; ++plane) {
        const T* src = X + plane * inner;
        T* dst = Y + plane * inner;
        double sum = 0, sq = 0;
        for (int64_t i = 0; i < inner; ++i) sum += src[i];
        const double mean = inner > 0 ? sum / double(inner) : 0.0;
        for (int64_t i = 0; i < inner; ++i) sq += (src[i] - mean) * (src[i] - mean);
        const double var = inner > 0 ? sq / double(inner) : 0.0;
        const double a = double(S[plane % C]) / std::sqrt(var + double(epsilon_));
        const double b = double(B[plane % C]) - mean * a;
        for (int64_t i = 0; i < inner; ++i) dst[i] = T(src[i] * a + b);
      }
    });
  }

 private:
  float epsilon_;
};

}  // namespace
EK_REGISTER_OP("InstanceNormalization", InstanceNormalization);
}  // namespace edgekit
