// Vector exp, sigmoid and tanh for Highway kernels (included once per target, as Highway's -inl.h
// headers are), the arithmetic of kernels/fast_math.h on a vector of lanes:
//   exp(t): n = round(t / ln 2), r = t - n ln 2 (ln 2 in two parts), a degree-6 polynomial
//     for e^r, times 2^n (vscalefps on AVX-512, else made in the exponent bits); for t <= 0
//     (ExpNonPositive) 0 below the normal range.
//   sigmoid(x) = 1 / (1 + e^-x), e^-x clamped to [e^-87.3, e^87] so that 1 / (1 + e) stays a
//     normal number; the reciprocal is the CPU's estimate refined by one Newton step (error
//     about the square of the estimate's, 2^-24 or less), not a division: a vector divide
//     takes as long as the rest of the sigmoid on AVX-512. (From e^-|x| with a select on the
//     sign was 4 more instructions a vector.)
//   tanh(x) = sign(x) (1 - e) / (1 + e) from e = e^-2|x|, and below |x| = 1/8, where 1 - e
//     cancels, the series x - x^3/3 + 2x^5/15.
// Relative error below 1e-6 across the float range; NaN stays NaN.
#if defined(EDGEKIT_KERNELS_SIMD_FAST_MATH_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef EDGEKIT_KERNELS_SIMD_FAST_MATH_INL_H_
#undef EDGEKIT_KERNELS_SIMD_FAST_MATH_INL_H_
#else
#define EDGEKIT_KERNELS_SIMD_FAST_MATH_INL_H_
#endif

#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace edgekit {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// p * 2^n for integral n in [-126, 127]: AVX-512's vscalefps in one instruction, else 2^n
// made in the exponent bits.
template <class D>
HWY_INLINE hn::Vec<D> MulPow2(D d, hn::Vec<D> p, hn::Vec<D> n) {
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3
  if constexpr (hn::MaxLanes(D()) == 16) return hn::Vec<D>{_mm512_scalef_ps(p.raw, n.raw)};
#endif
  const hn::RebindToSigned<D> di;
  return hn::Mul(p, hn::BitCast(d, hn::ShiftLeft<23>(hn::Add(hn::ConvertTo(di, n), hn::Set(di, 127)))));
}

// e^t for t in [-87.3, 88] (2^n stays a normal number).
template <class D>
HWY_INLINE hn::Vec<D> ExpInRange(D d, hn::Vec<D> t) {
  const auto n = hn::Round(hn::Mul(t, hn::Set(d, 1.44269504088896341f)));
  auto r = hn::NegMulAdd(n, hn::Set(d, 0.693359375f), t);
  r = hn::MulAdd(n, hn::Set(d, 2.12194440e-4f), r);
  auto p = hn::Set(d, 1.9875691500e-4f);
  p = hn::MulAdd(p, r, hn::Set(d, 1.3981999507e-3f));
  p = hn::MulAdd(p, r, hn::Set(d, 8.3334519073e-3f));
  p = hn::MulAdd(p, r, hn::Set(d, 4.1665795894e-2f));
  p = hn::MulAdd(p, r, hn::Set(d, 1.6666665459e-1f));
  p = hn::MulAdd(p, r, hn::Set(d, 5.0000001201e-1f));
  p = hn::Add(hn::MulAdd(hn::Mul(p, r), r, r), hn::Set(d, 1.0f));
  return MulPow2(d, p, n);
}

template <class D>
HWY_INLINE hn::Vec<D> ExpNonPositive(D d, hn::Vec<D> t_in) {
  const auto lo = hn::Set(d, -87.3f);
  return hn::IfThenZeroElse(hn::Lt(t_in, lo), ExpInRange(d, hn::Max(t_in, lo)));
}

// 1 / den for a normal den whose reciprocal is normal too: the CPU's estimate and one Newton
// step (error about the square of the estimate's).
template <class D>
HWY_INLINE hn::Vec<D> ReciprocalRefined(D d, hn::Vec<D> den) {
  const auto s = hn::ApproximateReciprocal(den);
  return hn::MulAdd(s, hn::NegMulAdd(den, s, hn::Set(d, 1.0f)), s);
}

// 1 / (1 + e^-x) straight: e^-x kept within [e^-87.3, e^87], where 1 / (1 + e) is still a
// normal number (no slow denormal arithmetic), and 0 below x = -87.
template <class D>
HWY_INLINE hn::Vec<D> FastSigmoid(D d, hn::Vec<D> x) {
  const auto t = hn::Min(hn::Max(hn::Neg(x), hn::Set(d, -87.3f)), hn::Set(d, 87.0f));
  const auto s = ReciprocalRefined(d, hn::Add(hn::Set(d, 1.0f), ExpInRange(d, t)));
  // 0 where the true value is below the normal range; NaN stays NaN.
  return hn::IfThenElse(hn::IsNaN(x), x, hn::IfThenZeroElse(hn::Lt(x, hn::Set(d, -87.0f)), s));
}

template <class D>
HWY_INLINE hn::Vec<D> FastTanh(D d, hn::Vec<D> x) {
  const auto one = hn::Set(d, 1.0f), ax = hn::Abs(x);
  const auto e = ExpNonPositive(d, hn::Mul(ax, hn::Set(d, -2.0f)));
  const auto r = hn::CopySign(hn::Mul(hn::Sub(one, e), ReciprocalRefined(d, hn::Add(one, e))), x);
  const auto x2 = hn::Mul(x, x);
  const auto series = hn::Mul(x, hn::MulAdd(x2, hn::MulAdd(x2, hn::Set(d, 2.0f / 15.0f), hn::Set(d, -1.0f / 3.0f)), one));
  const auto out = hn::IfThenElse(hn::Lt(ax, hn::Set(d, 0.125f)), series, r);
  return hn::IfThenElse(hn::IsNaN(x), x, out);
}

}  // namespace HWY_NAMESPACE
}  // namespace edgekit
HWY_AFTER_NAMESPACE();

#endif  // include guard toggled per target
