// BatchNormalization, inference form: Y = (X - mean) / sqrt(var + epsilon) * scale + B, per
// channel (dim 1), folded to Y = X * a[c] + b[c].
// Opset differences: before 9 the `spatial` attribute may be 0, where scale/B/mean/var have
// X's shape without N (one statistic per element); from 14 `training_mode` = 1 asks for batch
// statistics, which this inference kernel refuses with an error. Before 14, the optional
// training outputs (running / saved mean and var) are given the unchanged input statistics.
// From 15, scale/B and mean/var may have a different float dtype than X.
#include <cmath>
#include <cstring>
#include <vector>

#include "kernels/nn_common.h"
#include "kernels/op.h"

namespace edgekit {
namespace {

class BatchNormalization final : public OpKernel {
 public:
  explicit BatchNormalization(const Node& node)
      : OpKernel(node),
        epsilon_(node.attr_float("epsilon", 1e-5f)),
        spatial_(node.opset != 0 && node.opset < 9 ? node.attr_int("spatial", 1) != 0 : true) {
    EK_CHECK(node.attr_int("training_mode", 0) == 0, node.where(),
             ": training_mode=1 (batch statistics) is not supported; edgekit runs BatchNormalization in inference "
             "mode (export the model in eval mode)");
  }

  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(5, 5);
    const TensorType& x = ctx.input_type(0);
    check_float_input(node(), "X", x.dtype);
    static const char* names[] = {"X", "scale", "B", "input_mean", "input_var"};
    for (size_t i = 1; i < 5; ++i) check_float_input(node(), names[i], ctx.input_type(i).dtype);
    if (!x.shape_known) return ctx.set_output_unknown(0, x.dtype);
    EK_CHECK(x.shape.size() >= 2, node().where(), ": input X has shape ", shape_str(x.shape),
             ", expected rank >= 2 (N, C, ...)");
    const Shape param = param_shape(x.shape);
    for (size_t i = 1; i < 5; ++i) {
      const TensorType& t = ctx.input_type(i);
      if (!t.shape_known) continue;
      bool ok = t.shape.size() == param.size();
      for (size_t k = 0; ok && k < param.size(); ++k) ok = t.shape[k] < 0 || param[k] < 0 || t.shape[k] == param[k];
      EK_CHECK(ok, node().where(), ": input ", names[i], " has shape ", shape_str(t.shape), ", expected ",
               shape_str(param));
    }
    ctx.set_output(0, x.dtype, x.shape);
    // Pre-14 training outputs: mean, var, saved_mean, saved_var (the statistics, unchanged).
    for (size_t i = 1; i < ctx.num_outputs(); ++i)
      if (ctx.has_output(i)) ctx.set_output(i, ctx.input_type(i % 2 ? 3 : 4).dtype, param);
  }

  void run(RunContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    const int64_t N = x.dim(0);
    const int64_t channels = spatial_ ? x.dim(1) : x.numel() / std::max<int64_t>(N, 1);
    const int64_t inner = spatial_ ? x.numel() / std::max<int64_t>(N * x.dim(1), 1) : 1;
    // Per-channel affine a, b in double (C values: cheap, and the params may be another dtype).
    std::vector<double> a(channels), b(channels);
    const Tensor &scale = ctx.input(1), &bias = ctx.input(2), &mean = ctx.input(3), &var = ctx.input(4);
    for (int64_t c = 0; c < channels; ++c) {
      a[c] = scale.as_double(c) / std::sqrt(var.as_double(c) + double(epsilon_));
      b[c] = bias.as_double(c) - mean.as_double(c) * a[c];
    }
    visit_float(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* X = x.data<T>();
      T* Y = ctx.output(0).data<T>();
      for (int64_t n = 0; n < N; ++n)
        for (int64_t c = 0; c < channels; ++c) {
          const int64_t off = (n * channels + c) * inner;
          const T ac = T(a[c]), bc = T(b[c]);
          for (int64_t i = 0; i < inner; ++i) Y[off + i] = X[off + i] * ac + bc;
        }
    });
    for (size_t i = 1; i < ctx.num_outputs(); ++i) {
      if (!ctx.has_output(i)) continue;
      const Tensor& src = ctx.input(i % 2 ? 3 : 4);
      std::memcpy(ctx.output(i).raw(), src.raw(), src.nbytes());
    }
  }

 private:
  Shape param_shape(const Shape& x) const {
    return spatial_ ? Shape{x[1]} : Shape(x.begin() + 1, x.end());
  }

  float epsilon_;
  bool spatial_;
};

}  // namespace
EK_REGISTER_OP("BatchNormalization", BatchNormalization);
}  // namespace edgekit
