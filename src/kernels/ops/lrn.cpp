// LRN (local response normalisation across channels):
//   Y[n, c] = X[n, c] / (bias + alpha / size * sum_{c' in window(c)} X[n, c']^2) ^ beta
// with window(c) = [c - floor((size - 1) / 2), c + ceil((size - 1) / 2)] clipped to [0, C).
#include <cmath>
#include <vector>

#include "kernels/nn_common.h"
#include "kernels/op.h"

namespace edgekit {
namespace {

class LRN final : public OpKernel {
 public:
  explicit LRN(const Node& node)
      : OpKernel(node),
        size_(node.attr_int("size")),
        alpha_(node.attr_float("alpha", 1e-4f)),
        beta_(node.attr_float("beta", 0.75f)),
        bias_(node.attr_float("bias", 1.f)) {
    EK_CHECK(size_ >= 1, node.where(), ": size must be >= 1, got ", size_);
  }

  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(1, 1);
    const TensorType& x = ctx.input_type(0);
    check_float_input(node(), "X", x.dtype);
    EK_CHECK(!x.shape_known || x.shape.size() >= 2, node().where(), ": input X has shape ", shape_str(x.shape),
             ", expected rank >= 2 (N, C, ...)");
    if (!x.shape_known) return ctx.set_output_unknown(0, x.dtype);
    ctx.set_output(0, x.dtype, x.shape);
  }

  void run(RunContext& ctx) const override {
    visit_float(ctx.input(0).dtype(), [&](auto tag) {
      using T = decltype(tag);
      const Tensor& x = ctx.input(0);
      const int64_t N = x.dim(0), C = x.dim(1), inner = x.numel() / std::max<int64_t>(N * C, 1);
      const int64_t before = (size_ - 1) / 2, after = size_ - 1 - before;
      const T* X = x.data<T>();
      T* Y = ctx.output(0).data<T>();
      std::vector<double> sum(static_cast<size_t>(inner));  // scratch
      for (int64_t n = 0; n < N; ++n)
        for (int64_t c = 0; c < C; ++c) {
          std::fill(sum.begin(), sum.end(), 0.0);
          for (int64_t k = std::max<int64_t>(0, c - before); k <= std::min(C - 1, c + after); ++k) {
            const T* src = X + (n * C + k) * inner;
            for (int64_t i = 0; i < inner; ++i) sum[i] += double(src[i]) * src[i];
          }
          const T* src = X + (n * C + c) * inner;
          T* dst = Y + (n * C + c) * inner;
          for (int64_t i = 0; i < inner; ++i)
            dst[i] = T(src[i] / std::pow(bias_ + alpha_ / double(size_) * sum[i], double(beta_)));
        }
    });
  }

 private:
  int64_t size_;
  float alpha_, beta_, bias_;
};

}  // namespace
EK_REGISTER_OP("LRN", LRN);
}  // namespace edgekit
