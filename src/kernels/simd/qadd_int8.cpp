// com.edgekit:QAdd's vector path (kernels/qadd_int8.h): the 8-bit operands widened to int32
// lanes and centred, each rescaled by its multiplier, summed and requantized in registers
// (requantize_lanes-inl.h's RequantOne: the 64-bit form on AVX-512, about half the operations of
// the 32-bit steps, three times a vector), narrowed with saturation (exact after the clamp).
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/simd/qadd_int8.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "kernels/simd/requantize_lanes-inl.h"

#include <algorithm>

#include "kernels/qadd_int8.h"

HWY_BEFORE_NAMESPACE();
namespace edgekit {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

#if HWY_TARGET != HWY_SCALAR
// The three multipliers' constants, made once a call.
template <class D>
struct QAddRescale {
  RequantOne<D> a, b, y;
  HWY_INLINE QAddRescale(D d, const QAddParams& p) : a(d, p.a_mult), b(d, p.b_mult), y(d, p.y_mult) {}
};

// Outputs [i, i + Lanes(d)).
template <class D, class T>
HWY_INLINE void qadd_vector(D d, const QAddParams& p, const QAddRescale<D>& r, const T* a, const T* b, T* y, int64_t i) {
  const hn::Rebind<T, D> dt;
  const auto va = hn::ShiftLeft<kQAddLeftShift>(hn::Sub(hn::PromoteTo(d, hn::LoadU(dt, a + i)), hn::Set(d, p.a_zp)));
  const auto vb = hn::ShiftLeft<kQAddLeftShift>(hn::Sub(hn::PromoteTo(d, hn::LoadU(dt, b + i)), hn::Set(d, p.b_zp)));
  auto v = r.y.apply(d, hn::Add(r.a.apply(d, va), r.b.apply(d, vb)));
  v = hn::Min(hn::Max(hn::Add(v, hn::Set(d, p.y_zp)), hn::Set(d, p.act.lo)), hn::Set(d, p.act.hi));
  hn::StoreU(hn::DemoteTo(dt, v), dt, y + i);
}
#endif

template <class T>
HWY_INLINE void qadd(const QAddParams& p, const T* a, const T* b, T* y, int64_t n) {
  int64_t i = 0;
#if HWY_TARGET != HWY_SCALAR
  const hn::ScalableTag<int32_t> d;
  const hn::CappedTag<int32_t, 4> d4;
  const QAddRescale<hn::ScalableTag<int32_t>> r(d, p);
  for (; i + int64_t(hn::Lanes(d)) <= n; i += int64_t(hn::Lanes(d))) qadd_vector(d, p, r, a, b, y, i);
  if (i + int64_t(hn::Lanes(d4)) <= n) {
    const QAddRescale<hn::CappedTag<int32_t, 4>> r4(d4, p);
    for (; i + int64_t(hn::Lanes(d4)) <= n; i += int64_t(hn::Lanes(d4))) qadd_vector(d4, p, r4, a, b, y, i);
  }
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
