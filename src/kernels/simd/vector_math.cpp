// Highway implementation of simd/vector_math.h (compiled once per target ISA).
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/simd/vector_math.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "hwy/contrib/math/math-inl.h"
#include "kernels/simd/fast_math-inl.h"
#include "kernels/fast_math.h"
#include "kernels/simd/vector_math.h"

HWY_BEFORE_NAMESPACE();
namespace edgekit {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;
using D = hn::ScalableTag<float>;
using V = hn::Vec<D>;

// erfc(z) for z >= 0: t exp(-z^2 + P(t)), t = 1 / (1 + z / 2).
HWY_INLINE V erfc_nonnegative(D d, V z) {
  const V t = hn::Div(hn::Set(d, 1.f), hn::MulAdd(z, hn::Set(d, 0.5f), hn::Set(d, 1.f)));
  V p = hn::Set(d, 0.17087277f);
  p = hn::MulAdd(p, t, hn::Set(d, -0.82215223f));
  p = hn::MulAdd(p, t, hn::Set(d, 1.48851587f));
  p = hn::MulAdd(p, t, hn::Set(d, -1.13520398f));
  p = hn::MulAdd(p, t, hn::Set(d, 0.27886807f));
  p = hn::MulAdd(p, t, hn::Set(d, -0.18628806f));
  p = hn::MulAdd(p, t, hn::Set(d, 0.09678418f));
  p = hn::MulAdd(p, t, hn::Set(d, 0.37409196f));
  p = hn::MulAdd(p, t, hn::Set(d, 1.00002368f));
  p = hn::MulAdd(p, t, hn::Set(d, -1.26551223f));
  const V arg = hn::Max(hn::Sub(p, hn::Mul(z, z)), hn::Set(d, -104.f));  // e^-104 is 0 in float
  return hn::Mul(t, hn::Exp(d, arg));
}

HWY_INLINE V gelu(D d, V x) {
  const V z = hn::Mul(hn::Abs(x), hn::Set(d, 0.7071067811865476f));
  const V e = erfc_nonnegative(d, z);  // erfc(|x| / sqrt 2)
  const V half_xe = hn::Mul(hn::Mul(x, hn::Set(d, 0.5f)), e);
  // x >= 0: 0.5 x (2 - e) = x - 0.5 x e; x < 0: 0.5 x e.
  return hn::IfThenElse(hn::Lt(x, hn::Zero(d)), half_xe, hn::Sub(x, half_xe));
}

void GeluArray(const float* x, float* y, int64_t n) {
  const D d;
  const int64_t L = int64_t(hn::Lanes(d));
  int64_t i = 0;
  for (; i + L <= n; i += L) hn::StoreU(gelu(d, hn::LoadU(d, x + i)), d, y + i);
  if (i < n) {
    const auto m = hn::FirstN(d, size_t(n - i));
    hn::BlendedStore(gelu(d, hn::MaskedLoad(m, d, x + i)), m, d, y + i);
  }
}

float ExpShifted(const float* x, float* y, int64_t n, float shift) {
  const D d;
  const int64_t L = int64_t(hn::Lanes(d));
  const V s = hn::Set(d, shift), lo = hn::Set(d, -104.f);
  V sum = hn::Zero(d);
  int64_t i = 0;
  for (; i + L <= n; i += L) {
    const V e = hn::Exp(d, hn::Max(hn::Sub(hn::LoadU(d, x + i), s), lo));
    hn::StoreU(e, d, y + i);
    sum = hn::Add(sum, e);
  }
  if (i < n) {
    const auto m = hn::FirstN(d, size_t(n - i));
    const V e = hn::IfThenElseZero(m, hn::Exp(d, hn::Max(hn::Sub(hn::MaskedLoad(m, d, x + i), s), lo)));
    hn::BlendedStore(e, m, d, y + i);
    sum = hn::Add(sum, e);
  }
  return hn::GetLane(hn::SumOfLanes(d, sum));
}

enum class Activation { sigmoid, silu, tanh };

template <Activation kAct>
HWY_INLINE V activation(D d, V x) {
  if constexpr (kAct == Activation::sigmoid) return FastSigmoid(d, x);
  else if constexpr (kAct == Activation::silu) return hn::Mul(x, FastSigmoid(d, x));
  else return FastTanh(d, x);
}

// y[i] = f(x[i]), a vector at a time and a masked last one; x and y may be the same array.
template <Activation kAct>
HWY_INLINE void activation_array(const float* x, float* y, int64_t n) {
  const D d;
  const int64_t L = int64_t(hn::Lanes(d));
  int64_t i = 0;
  for (; i + L <= n; i += L) hn::StoreU(activation<kAct>(d, hn::LoadU(d, x + i)), d, y + i);
  if (i < n) {
    const auto m = hn::FirstN(d, size_t(n - i));
    hn::BlendedStore(activation<kAct>(d, hn::MaskedLoad(m, d, x + i)), m, d, y + i);
  }
}

void SigmoidArray(const float* x, float* y, int64_t n) { activation_array<Activation::sigmoid>(x, y, n); }
void SiluArray(const float* x, float* y, int64_t n) { activation_array<Activation::silu>(x, y, n); }
void TanhArray(const float* x, float* y, int64_t n) { activation_array<Activation::tanh>(x, y, n); }

}  // namespace HWY_NAMESPACE
}  // namespace edgekit
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace edgekit {
HWY_EXPORT(GeluArray);
HWY_EXPORT(SigmoidArray);
HWY_EXPORT(SiluArray);
HWY_EXPORT(TanhArray);
void sigmoid_f32_array(const float* x, float* y, int64_t n) { HWY_DYNAMIC_DISPATCH(SigmoidArray)(x, y, n); }
void silu_f32_array(const float* x, float* y, int64_t n) { HWY_DYNAMIC_DISPATCH(SiluArray)(x, y, n); }
void tanh_f32_array(const float* x, float* y, int64_t n) { HWY_DYNAMIC_DISPATCH(TanhArray)(x, y, n); }
HWY_EXPORT(ExpShifted);
void gelu_f32_array(const float* x, float* y, int64_t n) { HWY_DYNAMIC_DISPATCH(GeluArray)(x, y, n); }
float exp_shifted_f32(const float* x, float* y, int64_t n, float shift) {
  return HWY_DYNAMIC_DISPATCH(ExpShifted)(x, y, n, shift);
}
}  // namespace edgekit
#endif
