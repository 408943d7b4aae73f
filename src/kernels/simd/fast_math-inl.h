// Vector exp, sigmoid and tanh for Highway kernels (included once per target, as Highway's -inl.h
// headers are), the arithmetic of kernels/fast_math.h on a vector of lanes:
//   exp(t), t <= 0: n = round(t / ln 2), r = t - n ln 2 (ln 2 in two parts), a degree-6
//     polynomial for e^r, times 2^n made in the exponent bits; 0 below the normal range.
//   sigmoid(x) from e = e^-|x| (never overflows): s = 1 / (1 + e) for x >= 0, e s below.
//     1 / (1 + e) is the CPU's reciprocal estimate refined by one Newton step (error about
//     the square of the estimate's, 2^-24 or less), not a division: a vector divide takes
//     as long as the rest of the sigmoid on AVX-512.
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

template <class D>
HWY_INLINE hn::Vec<D> ExpNonPositive(D d, hn::Vec<D> t_in) {
  const hn::RebindToSigned<D> di;
  const auto lo = hn::Set(d, -87.3f);
  const auto t = hn::Max(t_in, lo);
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
  const auto scale = hn::BitCast(d, hn::ShiftLeft<23>(hn::Add(hn::ConvertTo(di, n), hn::Set(di, 127))));
  return hn::IfThenZeroElse(hn::Lt(t_in, lo), hn::Mul(p, scale));
}

// 1 / den for den in [1, 2]: the reciprocal estimate and one Newton step.
template <class D>
HWY_INLINE hn::Vec<D> ReciprocalOneToTwo(D d, hn::Vec<D> den) {
  const auto s = hn::ApproximateReciprocal(den);
  return hn::MulAdd(s, hn::NegMulAdd(den, s, hn::Set(d, 1.0f)), s);
}

template <class D>
HWY_INLINE hn::Vec<D> FastSigmoid(D d, hn::Vec<D> x) {
  const auto one = hn::Set(d, 1.0f);
  const auto e = ExpNonPositive(d, hn::Neg(hn::Abs(x)));
  const auto s = ReciprocalOneToTwo(d, hn::Add(one, e));
  const auto out = hn::IfThenElse(hn::Lt(x, hn::Zero(d)), hn::Mul(e, s), s);
  return hn::IfThenElse(hn::IsNaN(x), x, out);
}

template <class D>
HWY_INLINE hn::Vec<D> FastTanh(D d, hn::Vec<D> x) {
  const auto one = hn::Set(d, 1.0f), ax = hn::Abs(x);
  const auto e = ExpNonPositive(d, hn::Mul(ax, hn::Set(d, -2.0f)));
  const auto r = hn::CopySign(hn::Mul(hn::Sub(one, e), ReciprocalOneToTwo(d, hn::Add(one, e))), x);
  const auto x2 = hn::Mul(x, x);
  const auto series = hn::Mul(x, hn::MulAdd(x2, hn::MulAdd(x2, hn::Set(d, 2.0f / 15.0f), hn::Set(d, -1.0f / 3.0f)), one));
  const auto out = hn::IfThenElse(hn::Lt(ax, hn::Set(d, 0.125f)), series, r);
  return hn::IfThenElse(hn::IsNaN(x), x, out);
}

}  // namespace HWY_NAMESPACE
}  // namespace edgekit
HWY_AFTER_NAMESPACE();

#endif  // include guard toggled per target
