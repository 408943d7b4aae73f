// Clip: y = min(max(x, min), max). Before opset 11 the bounds are float attributes; from
// opset 11 they are optional scalar inputs of x's dtype (integer dtypes from opset 12).
// When min > max every element becomes max, as the spec says.
#include <limits>

#include "kernels/elementwise.h"

namespace edgekit {
namespace {

class Clip final : public OpKernel {
 public:
  explicit Clip(const Node& node) : OpKernel(node) {
    bounds_from_attrs_ = node.opset != 0 && node.opset < 11;
    if (bounds_from_attrs_) {
      lo_attr_ = node.attr_float("min", std::numeric_limits<float>::lowest());
      hi_attr_ = node.attr_float("max", std::numeric_limits<float>::max());
    }
  }

  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(1, bounds_from_attrs_ ? 1 : 3);
    const TensorType& x = ctx.input_type(0);
    check_dtype(node(), "input 0", x.dtype, bounds_from_attrs_ ? kFloatTypes : kNumericTypes);
    for (size_t i = 1; i < 3; ++i) {
      if (!ctx.has_input(i)) continue;
      const TensorType& b = ctx.input_type(i);
      EK_CHECK(b.dtype == x.dtype, node().where(), ": ", bound_name(i), " has dtype ", dtype_name(b.dtype),
               ", expected the input's dtype ", dtype_name(x.dtype));
      if (b.shape_known) check_scalar(i, b.shape);
    }
    if (x.shape_known) ctx.set_output(0, x.dtype, x.shape);
    else ctx.set_output_unknown(0, x.dtype);
  }

  void run(RunContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    Tensor& y = ctx.output(0);
    visit_dtypes<kNumericTypes>(x.dtype(), node(), [&](auto tag) {
      using T = decltype(tag);
      using C = compute_t<T>;
      C lo = std::numeric_limits<C>::lowest(), hi = std::numeric_limits<C>::max();
      if (bounds_from_attrs_) {
        lo = C(lo_attr_);
        hi = C(hi_attr_);
      }
      if (ctx.has_input(1)) lo = bound<T>(ctx, 1);
      if (ctx.has_input(2)) hi = bound<T>(ctx, 2);
      map_unary(x.data<T>(), y.data<T>(), x.numel(), [lo, hi](C v) { return std::min(std::max(v, lo), hi); });
    });
  }

 private:
  static const char* bound_name(size_t i) { return i == 1 ? "input 1 (min)" : "input 2 (max)"; }

  // The spec asks for a scalar; exporters also write shape [1], so any one-element tensor is taken.
  void check_scalar(size_t i, const Shape& s) const {
    int64_t n = 1;
    for (int64_t d : s) n *= d;
    EK_CHECK(n == 1 || (n < 0 && s.size() <= 1), node().where(), ": ", bound_name(i),
             " must be a scalar, got shape ", shape_str(s));
  }

  template <class T>
  compute_t<T> bound(const RunContext& ctx, size_t i) const {
    const Tensor& b = ctx.input(i);
    check_scalar(i, b.shape());
    return load(b.data<T>()[0]);
  }

  bool bounds_from_attrs_;
  float lo_attr_ = 0.f, hi_attr_ = 0.f;
};

}  // namespace
EK_REGISTER_OP("Clip", Clip);
}  // namespace edgekit
