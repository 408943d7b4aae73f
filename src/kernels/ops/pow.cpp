// Pow: z = x ^ y with numpy broadcasting; since opset 12 the exponent may have its own dtype.
// The output has the base's dtype. Integer ^ integer is exact (repeated squaring, wrapping);
// an integer base with a float exponent is computed in double and truncated like Cast.
#include <vector>

#include "kernels/elementwise.h"

namespace edgekit {
namespace {

// Integer power; a negative exponent gives 1 / x^-e truncated toward zero (0 unless x is +-1).
template <class T, class E>
T int_pow(T base, E e, const Node& node) {
  if (e < E(0)) {
    if constexpr (std::is_signed_v<T>)
      if (base == T(-1)) return (e % 2 == 0) ? T(1) : T(-1);
    EK_CHECK(base != T(0), node.where(), ": integer 0 raised to the negative power ", int64_t(e));
    return base == T(1) ? T(1) : T(0);
  }
  T result = 1;
  uint64_t n = uint64_t(e);
  while (n) {
    if (n & 1) result = wrapping_mul(result, base);
    base = wrapping_mul(base, base);
    n >>= 1;
  }
  return result;
}

class Pow final : public OpKernel {
 public:
  explicit Pow(const Node& node) : OpKernel(node) {}

  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(2, 2);
    const TensorType& x = ctx.input_type(0);
    const TensorType& y = ctx.input_type(1);
    check_dtype(node(), "input 0 (base)", x.dtype, kNumericTypes);
    check_dtype(node(), "input 1 (exponent)", y.dtype, kNumericTypes);
    EK_CHECK(node().opset == 0 || node().opset >= 12 || x.dtype == y.dtype, node().where(),
             ": before opset 12 base and exponent must have the same dtype, got ", dtype_name(x.dtype), " and ",
             dtype_name(y.dtype));
    infer_broadcast_output(ctx, 0, 2, x.dtype);
  }

  void run(RunContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    const Tensor& y = ctx.input(1);
    Tensor& z = ctx.output(0);
    if (x.dtype() == DType::f32 && y.numel() == 1 && is_float(y.dtype()) && y.as_double(0) == 2.0 &&
        z.numel() == x.numel()) {  // x^2, as in decomposed LayerNorm: a multiply, not a pow call
      const float* px = x.data<float>();
      float* pz = z.data<float>();
      for (int64_t i = 0; i < x.numel(); ++i) pz[i] = px[i] * px[i];
      return;
    }
    BroadcastPlan plan = plan_broadcast(node(), z.shape(), x.shape(), y.shape());
    if (x.dtype() == y.dtype()) {
      visit_dtypes<kNumericTypes>(x.dtype(), node(), [&](auto tag) {
        using T = decltype(tag);
        pow_of(plan, x.data<T>(), y.data<T>(), z.data<T>());
      });
      return;
    }
    // Mixed dtypes: the exponent as double, int64 or uint64 (each value unchanged, so the
    // result is as from the exponent's own type), so the base's dtypes pair with three
    // exponent types, not with all eleven. The exponent is small in practice.
    auto widened = [&](auto wide) {
      using W = decltype(wide);
      std::vector<W> e(size_t(y.numel()));
      visit_dtypes<kNumericTypes>(y.dtype(), node(), [&](auto ytag) {
        const auto* p = y.data<decltype(ytag)>();
        for (size_t i = 0; i < e.size(); ++i) e[i] = W(load(p[i]));
      });
      visit_dtypes<kNumericTypes>(x.dtype(), node(), [&](auto xtag) {
        using T = decltype(xtag);
        pow_of(plan, x.data<T>(), e.data(), z.data<T>());
      });
    };
    if (is_float(y.dtype())) widened(double{});
    else if (dtype_in(y.dtype(), kSignedIntTypes)) widened(int64_t{});
    else widened(uint64_t{});
  }

 private:
  template <class T, class E>
  void pow_of(const BroadcastPlan& plan, const T* x, const E* y, T* z) const {
    broadcast_binary(plan, x, y, z, [&](auto a, auto e) {
      using C = decltype(a);
      if constexpr (std::is_floating_point_v<C>) {
        return C(std::pow(a, C(e)));
      } else if constexpr (std::is_integral_v<decltype(e)>) {
        return int_pow(a, e, node());
      } else {
        return float_to_int<C>(std::pow(double(a), double(e)));
      }
    });
  }
};

}  // namespace
EK_REGISTER_OP("Pow", Pow);
}  // namespace edgekit
