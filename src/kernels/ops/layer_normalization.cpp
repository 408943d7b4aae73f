// LayerNormalization (opset 17): X is viewed as outer x inner with inner = prod(X.shape[axis:]);
// each row is normalised by its own mean and variance, then Y = norm * Scale + B, where
// Scale and the optional B broadcast (numpy, unidirectionally) to X.shape[axis:].
// Optional outputs Mean and InvStdDev have shape X.shape[:axis] + [1] * (rank - axis) and
// the stash_type dtype (1: f32, the default; otherwise X's dtype).
#include <cmath>
#include <vector>

#include "kernels/nn_common.h"
#include "kernels/op.h"
#include "kernels/util.h"

namespace edgekit {
namespace {

class LayerNormalization final : public OpKernel {
 public:
  explicit LayerNormalization(const Node& node)
      : OpKernel(node),
        axis_(node.attr_int("axis", -1)),
        epsilon_(node.attr_float("epsilon", 1e-5f)),
        stash_type_(node.attr_int("stash_type", 1)) {}

  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(2, 3);
    const TensorType& x = ctx.input_type(0);
    check_float_input(node(), "X", x.dtype);
    check_same_dtype(node(), "Scale", ctx.input_type(1).dtype, x.dtype);
    if (ctx.has_input(2)) check_same_dtype(node(), "B", ctx.input_type(2).dtype, x.dtype);
    const DType stat = stash_dtype(x.dtype);
    if (!x.shape_known) {
      for (size_t i = 0; i < ctx.num_outputs(); ++i)
        if (ctx.has_output(i)) ctx.set_output_unknown(i, i == 0 ? x.dtype : stat);
      return;
    }
    const int64_t rank = int64_t(x.shape.size());
    const int64_t axis = normalize_axis(axis_, rank, node());
    const Shape norm_shape(x.shape.begin() + axis, x.shape.end());
    for (size_t i = 1; i < 3; ++i) {
      if (!ctx.has_input(i) || !ctx.input_type(i).shape_known) continue;
      const Shape& p = ctx.input_type(i).shape;
      bool ok = p.size() <= norm_shape.size();
      for (size_t k = 0; ok && k < p.size(); ++k) {
        const int64_t d = p[k], full = norm_shape[norm_shape.size() - p.size() + k];
        ok = d == 1 || d < 0 || full < 0 || d == full;
      }
      EK_CHECK(ok, node().where(),
               ": input ", i == 1 ? "Scale" : "B", " has shape ", shape_str(p), ", which does not broadcast to ",
               shape_str(norm_shape), " (X dims from axis ", axis, ")");
    }
    ctx.set_output(0, x.dtype, x.shape);
    Shape stat_shape(x.shape.begin(), x.shape.begin() + axis);
    stat_shape.resize(size_t(rank), 1);
    for (size_t i = 1; i < 3; ++i)
      if (ctx.has_output(i)) ctx.set_output(i, stat, stat_shape);
  }

  void run(RunContext& ctx) const override {
    visit_float(ctx.input(0).dtype(), [&](auto tag) { compute<decltype(tag)>(ctx); });
  }

 private:
  DType stash_dtype(DType x) const { return stash_type_ == 1 ? DType::f32 : x; }

  // Scale or B expanded to the inner size (scratch; the planner will own it later).
  template <class T>
  std::vector<T> expand(const Tensor& p, const Shape& norm_shape) const {
    std::vector<T> out(size_t(shape_numel(norm_shape)));
    const std::vector<int64_t> st = broadcast_strides(p.shape(), norm_shape);
    std::vector<int64_t> idx(norm_shape.size(), 0);
    const T* src = p.data<T>();
    for (size_t i = 0; i < out.size(); ++i) {
      int64_t off = 0;
      for (size_t k = 0; k < idx.size(); ++k) off += idx[k] * st[k];
      out[i] = src[off];
      for (int k = int(idx.size()) - 1; k >= 0 && ++idx[k] == norm_shape[k]; --k) idx[k] = 0;
    }
    return out;
  }

  template <class T>
  void compute(RunContext& ctx) const {
    const Tensor& x = ctx.input(0);
    const int64_t axis = normalize_axis(axis_, int64_t(x.rank()), node());
    const Shape norm_shape(x.shape().begin() + axis, x.shape().end());
    const int64_t inner = shape_numel(norm_shape), outer = inner > 0 ? x.numel() / inner : 0;
    const std::vector<T> scale = expand<T>(ctx.input(1), norm_shape);
    const std::vector<T> bias = ctx.has_input(2) ? expand<T>(ctx.input(2), norm_shape) : std::vector<T>(inner, T(0));
    const T* X = x.data<T>();
    T* Y = ctx.output(0).data<T>();
    for (int64_t r = 0; r < outer; ++r) {
      const T* src = X + r * inner;
      T* dst = Y + r * inner;
      double sum = 0, sq = 0;
      for (int64_t i = 0; i < inner; ++i) sum += src[i];
      const double mean = sum / double(inner);
      for (int64_t i = 0; i < inner; ++i) sq += (src[i] - mean) * (src[i] - mean);
      const double inv_std = 1.0 / std::sqrt(sq / double(inner) + double(epsilon_));
      for (int64_t i = 0; i < inner; ++i) dst[i] = T((src[i] - mean) * inv_std) * scale[i] + bias[i];
      store_stat(ctx, 1, r, mean);
      store_stat(ctx, 2, r, inv_std);
    }
  }

  static void store_stat(RunContext& ctx, size_t out, int64_t r, double v) {
    if (!ctx.has_output(out)) return;
    Tensor& t = ctx.output(out);
    if (t.dtype() == DType::f64) t.data<double>()[r] = v;
    else t.data<float>()[r] = float(v);
  }

  int64_t axis_;
  float epsilon_;
  int64_t stash_type_;
};

}  // namespace
EK_REGISTER_OP("LayerNormalization", LayerNormalization);
}  // namespace edgekit
