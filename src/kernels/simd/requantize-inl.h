// Vector requantization steps for Highway kernels (included once per target, as Highway's
// -inl.h headers are): the integer arithmetic of kernels/requantize.h on a vector of lanes.
//
//   SaturatingRoundingDoublingHighMul(a, m) = (a * m + 2^30) >> 31 in 64 bits (floor shift):
//     TFLite's sign-dependent nudge and truncating division give exactly this, and the one
//     saturating case (a = m = INT32_MIN) cannot occur because m >= 2^30 or m == 0.
//   RoundingDivideByPOT(x, e) = (x >> e) + (remainder > (mask >> 1) + (x < 0)).
// 32 x 32 -> 64-bit products come from MulEven on the even lanes and on the odd lanes shifted
// down; the two halves are put back together with OddEven. Not for HWY_SCALAR (no 64-bit
// lane pairs); callers keep a scalar loop there.
#if defined(EDGEKIT_KERNELS_SIMD_REQUANTIZE_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef EDGEKIT_KERNELS_SIMD_REQUANTIZE_INL_H_
#undef EDGEKIT_KERNELS_SIMD_REQUANTIZE_INL_H_
#else
#define EDGEKIT_KERNELS_SIMD_REQUANTIZE_INL_H_
#endif

#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace edgekit {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

#if HWY_TARGET != HWY_SCALAR
template <class D, class V = hn::Vec<D>>
HWY_INLINE V requant_high_mul(D d, V a, V m) {
  const hn::Repartition<int64_t, D> d64;
  const auto nudge = hn::Set(d64, int64_t(1) << 30);
  const auto even = hn::ShiftRight<31>(hn::Add(hn::MulEven(a, m), nudge));
  const V a_odd = hn::BitCast(d, hn::ShiftRight<32>(hn::BitCast(d64, a)));
  const V m_odd = hn::BitCast(d, hn::ShiftRight<32>(hn::BitCast(d64, m)));
  const auto odd = hn::ShiftRight<31>(hn::Add(hn::MulEven(a_odd, m_odd), nudge));
  return hn::OddEven(hn::BitCast(d, hn::ShiftLeft<32>(odd)), hn::BitCast(d, even));
}

template <class D, class V = hn::Vec<D>>
HWY_INLINE V requant_rounding_divide(D d, V x, V exponent) {
  const hn::RebindToUnsigned<D> du;
  const V one = hn::Set(d, 1);
  const V mask = hn::Sub(hn::BitCast(d, hn::BitCast(du, one) << hn::BitCast(du, exponent)), one);
  const V remainder = hn::And(x, mask);
  const V negative = hn::BitCast(d, hn::ShiftRight<31>(hn::BitCast(du, x)));  // 1 when x < 0
  const V threshold = hn::Add(hn::ShiftRight<1>(mask), negative);
  // A true mask is -1: subtracting it adds one.
  return hn::Sub(x >> exponent, hn::VecFromMask(d, hn::Gt(remainder, threshold)));
}

// MultiplyByQuantizedMultiplier(x, m, left - right): x << left wraps, as the scalar path's
// unsigned multiply does.
template <class D, class V = hn::Vec<D>>
HWY_INLINE V requant_multiply(D d, V x, V m, V left, V right) {
  const hn::RebindToUnsigned<D> du;
  x = hn::BitCast(d, hn::BitCast(du, x) << hn::BitCast(du, left));
  return requant_rounding_divide(d, requant_high_mul(d, x, m), right);
}
#endif

}  // namespace HWY_NAMESPACE
}  // namespace edgekit
HWY_AFTER_NAMESPACE();

#endif  // EDGEKIT_KERNELS_SIMD_REQUANTIZE_INL_H_ toggle
