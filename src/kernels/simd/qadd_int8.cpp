// com.edgekit:QAdd's vector path (kernels/qadd_int8.h): the 8-bit operands widened to int32
// lanes and centred, each rescaled by its multiplier, summed and requantized in registers
// (requantize_lanes-inl.h's RequantOne: the 64-bit form on AVX-512, about half the operations of
// the 32-bit steps, three times a vector; on AVX-512 RequantLanes32 where the dtype's range
// bounds every step), narrowed with saturation (exact after the clamp).
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/simd/qadd_int8.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "kernels/simd/requantize_lanes-inl.h"

#include <algorithm>
#include <type_traits>

#include "kernels/qadd_int8.h"

HWY_BEFORE_NAMESPACE();
namespace edgekit {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

#if HWY_TARGET != HWY_SCALAR
// The three multipliers' constants, made once a call; apply: the sum's requantized value with
// the output zero point, before the clamp.
template <class D>
struct QAddRescale {
  RequantOne<D> a, b, y;
  int32_t y_zp;
  HWY_INLINE QAddRescale(D d, const QAddParams& p) : a(d, p.a_mult), b(d, p.b_mult), y(d, p.y_mult), y_zp(p.y_zp) {}
  HWY_INLINE hn::Vec<D> apply(D d, hn::Vec<D> va, hn::Vec<D> vb) const {
    return hn::Add(y.apply(d, hn::Add(a.apply(d, va), b.apply(d, vb))), hn::Set(d, y_zp));
  }
};

#if HWY_TARGET <= HWY_AVX3 && HWY_ARCH_X86
// The same in requantize.h's 32-bit form (the output zero point in y's rounding constant),
// valid where qadd_requant32 found every step's range bounded enough.
struct QAddSteps32 {
  Requant32 a, b, y;
};
template <class D>
struct QAddRescale32 {
  RequantLanes32<D> a, b, y;
  HWY_INLINE QAddRescale32(D d, const QAddSteps32& k) : a(d, k.a), b(d, k.b), y(d, k.y) {}
  HWY_INLINE hn::Vec<D> apply(D d, hn::Vec<D> va, hn::Vec<D> vb) const {
    return y.apply(d, hn::Add(a.apply(d, va), b.apply(d, vb)));
  }
};

// The ranges of the inputs' centred, shifted values (T's whole range) and of the rescaled sum
// (MultiplyByQuantizedMultiplier is monotone), and whether each step fits Requant32.
template <class T>
bool qadd_requant32(const QAddParams& p, QAddSteps32* k) {
  const int64_t lo = std::is_signed_v<T> ? -128 : 0, hi = lo + 255;
  auto input = [&](int32_t zp, const QuantMultiplier& m, Requant32* out, int64_t* r_lo, int64_t* r_hi) {
    const int64_t x_lo = (lo - zp) * (int64_t(1) << kQAddLeftShift), x_hi = (hi - zp) * (int64_t(1) << kQAddLeftShift);
    if (!requant32_constants(m, 0, x_lo, x_hi, out)) return false;
    *r_lo = multiply_by_quantized_multiplier(int32_t(x_lo), m), *r_hi = multiply_by_quantized_multiplier(int32_t(x_hi), m);
    return true;
  };
  int64_t a_lo, a_hi, b_lo, b_hi;
  return input(p.a_zp, p.a_mult, &k->a, &a_lo, &a_hi) && input(p.b_zp, p.b_mult, &k->b, &b_lo, &b_hi) &&
         requant32_constants(p.y_mult, p.y_zp, a_lo + b_lo, a_hi + b_hi, &k->y);
}
#endif

// Outputs [i, i + Lanes(d)).
template <class D, class R, class T>
HWY_INLINE void qadd_vector(D d, const QAddParams& p, const R& r, const T* a, const T* b, T* y, int64_t i) {
  const hn::Rebind<T, D> dt;
  const auto va = hn::ShiftLeft<kQAddLeftShift>(hn::Sub(hn::PromoteTo(d, hn::LoadU(dt, a + i)), hn::Set(d, p.a_zp)));
  const auto vb = hn::ShiftLeft<kQAddLeftShift>(hn::Sub(hn::PromoteTo(d, hn::LoadU(dt, b + i)), hn::Set(d, p.b_zp)));
  const auto v = hn::Min(hn::Max(r.apply(d, va, vb), hn::Set(d, p.act.lo)), hn::Set(d, p.act.hi));
  hn::StoreU(hn::DemoteTo(dt, v), dt, y + i);
}

// Whole vectors from i on, then 128-bit ones; returns where the elements left start.
template <template <class> class R, class K, class T>
HWY_INLINE int64_t qadd_vectors(const QAddParams& p, const K& constants, const T* a, const T* b, T* y, int64_t n) {
  const hn::ScalableTag<int32_t> d;
  const hn::CappedTag<int32_t, 4> d4;
  int64_t i = 0;
  const R<decltype(d)> r(d, constants);
  for (; i + int64_t(hn::Lanes(d)) <= n; i += int64_t(hn::Lanes(d))) qadd_vector(d, p, r, a, b, y, i);
  if (i + int64_t(hn::Lanes(d4)) <= n) {
    const R<decltype(d4)> r4(d4, constants);
    for (; i + int64_t(hn::Lanes(d4)) <= n; i += int64_t(hn::Lanes(d4))) qadd_vector(d4, p, r4, a, b, y, i);
  }
  return i;
}
#endif

template <class T>
HWY_INLINE void qadd(const QAddParams& p, const T* a, const T* b, T* y, int64_t n) {
  int64_t i = 0;
#if HWY_TARGET <= HWY_AVX3 && HWY_ARCH_X86
  QAddSteps32 steps;
  if (qadd_requant32<T>(p, &steps)) i = qadd_vectors<QAddRescale32>(p, steps, a, b, y, n);
  else i = qadd_vectors<QAddRescale>(p, p, a, b, y, n);
#elif HWY_TARGET != HWY_SCALAR
  i = qadd_vectors<QAddRescale>(p, p, a, b, y, n);
#endif
  for (; i < n; ++i) y[i] = T(qadd_value(p, a[i], b[i]));
}

void QAddI8(const QAddParams& p, const int8_t* a, const int8_t* b, int8_t* y, int64_t n) { qadd(p, a, b, y, n); }
void QAddU8(const QAddParams& p, const uint8_t* a, const uint8_t* b, uint8_t* y, int64_t n) { qadd(p, a, b, y, n); }

}  // namespace HWY_NAMESPACE
}  // namespace edgekit
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace edgekit {
HWY_EXPORT(QAddI8);
HWY_EXPORT(QAddU8);
void qadd_int8(const QAddParams& p, const int8_t* a, const int8_t* b, int8_t* y, int64_t n) {
  HWY_DYNAMIC_DISPATCH(QAddI8)(p, a, b, y, n);
}
void qadd_uint8(const QAddParams& p, const uint8_t* a, const uint8_t* b, uint8_t* y, int64_t n) {
  HWY_DYNAMIC_DISPATCH(QAddU8)(p, a, b, y, n);
}
}  // namespace edgekit
#endif
