// com.edgekit:QMul's vector path (kernels/qmul_int8.h): each row of the broadcast plan a vector
// of int32 lanes at a time. An operand read contiguously is loaded as 8-bit lanes and widened;
// one held for the row (stride 0) is centred once and broadcast. The product of the centred
// values (17 bits) is requantized in registers with the one multiplier (requantize_lanes-inl.h's
// RequantWithZeroPoint, its constants made once a call: the 32-bit form on AVX-512 where the
// dtype's range bounds the products) and narrowed back with saturation, which the
// clamp to the output range makes exact. A per-channel scale of fewer channels than a vector
// (dividing it) goes as one stream with the scale repeated across the lanes.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/simd/qmul_int8.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "kernels/simd/requantize_lanes-inl.h"

#include <algorithm>
#include <type_traits>
#include <utility>

#include "kernels/qmul_int8.h"

HWY_BEFORE_NAMESPACE();
namespace edgekit {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// One row: n outputs, a and b advancing by a_step / b_step (0 or 1) elements each.
template <class T>
struct QMulRow {
  const T* a;
  const T* b;
  T* y;
  int64_t n, a_step, b_step;
};

#if HWY_TARGET != HWY_SCALAR
template <class D, class T>
HWY_INLINE hn::Vec<D> centred(D d, const T* p, int64_t step, int64_t i, int32_t zero_point) {
  const hn::Rebind<T, D> dt;
  if (step == 0) return hn::Set(d, int32_t(*p) - zero_point);
  return hn::Sub(hn::PromoteTo(d, hn::LoadU(dt, p + i)), hn::Set(d, zero_point));
}

// Outputs [i, i + Lanes(d)).
template <class D, class T>
HWY_INLINE void qmul_vector(D d, const QMulParams& p, const RequantWithZeroPoint<D>& rq, const QMulRow<T>& r, int64_t i) {
  const hn::Rebind<T, D> dt;
  const auto prod = hn::Mul(centred(d, r.a, r.a_step, i, p.a_zp), centred(d, r.b, r.b_step, i, p.b_zp));
  const auto v = hn::Min(hn::Max(rq.apply(d, prod), hn::Set(d, p.act.lo)), hn::Set(d, p.act.hi));
  hn::StoreU(hn::DemoteTo(dt, v), dt, r.y + i);
}
#endif

#if HWY_TARGET != HWY_SCALAR
// The products' range: the corners of the centred operands' ranges (T's whole range).
template <class T>
std::pair<int64_t, int64_t> qmul_product_range(const QMulParams& p) {
  const int64_t lo = std::is_signed_v<T> ? -128 : 0, hi = lo + 255;
  const int64_t corners[] = {(lo - p.a_zp) * (lo - p.b_zp), (lo - p.a_zp) * (hi - p.b_zp), (hi - p.a_zp) * (lo - p.b_zp),
                             (hi - p.a_zp) * (hi - p.b_zp)};
  return {*std::min_element(corners, corners + 4), *std::max_element(corners, corners + 4)};
}

// The multiplier's constants (with the output zero point) for full vectors and for 128-bit
// tails, made once a call.
struct QMulRequant {
  RequantWithZeroPoint<hn::ScalableTag<int32_t>> full;
  RequantWithZeroPoint<hn::CappedTag<int32_t, 4>> quarter;
  QMulRequant(const QMulParams& p, std::pair<int64_t, int64_t> range)
      : full(hn::ScalableTag<int32_t>(), p.multiplier, p.y_zp, range.first, range.second),
        quarter(hn::CappedTag<int32_t, 4>(), p.multiplier, p.y_zp, range.first, range.second) {}
};
#else
template <class T>
std::pair<int64_t, int64_t> qmul_product_range(const QMulParams&) {
  return {0, 0};
}
struct QMulRequant {
  QMulRequant(const QMulParams&, std::pair<int64_t, int64_t>) {}
};
#endif

template <class T>
HWY_INLINE void qmul_row(const QMulParams& p, const QMulRequant& rq, const QMulRow<T>& r) {
  int64_t i = 0;
#if HWY_TARGET != HWY_SCALAR
  const hn::ScalableTag<int32_t> d;
  const hn::CappedTag<int32_t, 4> d4;
  for (; i + int64_t(hn::Lanes(d)) <= r.n; i += int64_t(hn::Lanes(d))) qmul_vector(d, p, rq.full, r, i);
  for (; i + int64_t(hn::Lanes(d4)) <= r.n; i += int64_t(hn::Lanes(d4))) qmul_vector(d4, p, rq.quarter, r, i);
#else
  (void)rq;
#endif
  for (; i < r.n; ++i) r.y[i] = T(qmul_value(p, r.a[i * r.a_step], r.b[i * r.b_step]));
}

// [R, C] * [C] (or [C] * [R, C]) with C dividing the vector (the squeeze-excitation scale of a
// layer of few channels, NHWC): one stream over the [R, C] operand and y against the scale's
// centred lanes repeated across a vector, instead of R rows shorter than a vector. False for
// other plans.
template <class T>
HWY_INLINE bool qmul_periodic(QMulParams p, const QMulRequant& rq, const BroadcastPlan& plan, const T* a, const T* b,
                              T* y) {
#if HWY_TARGET != HWY_SCALAR
  const hn::ScalableTag<int32_t> d;
  const hn::Rebind<T, decltype(d)> dt;
  const int64_t lanes = int64_t(hn::Lanes(d)), C = plan.dims[1];
  if (plan.rank != 2 || C > lanes || lanes % C != 0 || plan.strides[1][0] != 1 || plan.strides[1][1] != 1) return false;
  if (plan.strides[0][0] == 0 && plan.strides[0][1] == C) {  // the scale first: the product is symmetric
    std::swap(a, b);
    std::swap(p.a_zp, p.b_zp);
  } else if (plan.strides[0][0] != C || plan.strides[0][1] != 0) {
    return false;
  }
  alignas(64) int32_t repeated[hn::MaxLanes(d)];
  for (int64_t i = 0; i < lanes; ++i) repeated[i] = int32_t(b[i % C]) - p.b_zp;
  const auto vb = hn::Load(d, repeated);
  int64_t i = 0;
  for (; i + lanes <= plan.numel; i += lanes) {  // i is a multiple of C: lane j is channel j % C
    const auto va = hn::Sub(hn::PromoteTo(d, hn::LoadU(dt, a + i)), hn::Set(d, p.a_zp));
    const auto v = hn::Min(hn::Max(rq.full.apply(d, hn::Mul(va, vb)), hn::Set(d, p.act.lo)), hn::Set(d, p.act.hi));
    hn::StoreU(hn::DemoteTo(dt, v), dt, y + i);
  }
  for (; i < plan.numel; ++i) y[i] = T(qmul_value(p, a[i], b[i % C]));
  return true;
#else
  (void)p, (void)rq, (void)plan, (void)a, (void)b, (void)y;
  return false;
#endif
}

template <class T>
HWY_INLINE void qmul(const QMulParams& p, const BroadcastPlan& plan, const T* a, const T* b, T* y) {
  const QMulRequant rq(p, qmul_product_range<T>(p));
  if (qmul_periodic(p, rq, plan, a, b, y)) return;
  for_each_row(plan, [&](const BroadcastStrides& off, int64_t o, int64_t n, const BroadcastStrides& step) {
    qmul_row(p, rq, QMulRow<T>{a + off[0], b + off[1], y + o, n, step[0], step[1]});
  });
}

void QMulI8(const QMulParams& p, const BroadcastPlan& plan, const int8_t* a, const int8_t* b, int8_t* y) {
  qmul(p, plan, a, b, y);
}
void QMulU8(const QMulParams& p, const BroadcastPlan& plan, const uint8_t* a, const uint8_t* b, uint8_t* y) {
  qmul(p, plan, a, b, y);
}

}  // namespace HWY_NAMESPACE
}  // namespace edgekit
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace edgekit {
HWY_EXPORT(QMulI8);
HWY_EXPORT(QMulU8);
void qmul_int8(const QMulParams& p, const BroadcastPlan& plan, const int8_t* a, const int8_t* b, int8_t* y) {
  HWY_DYNAMIC_DISPATCH(QMulI8)(p, plan, a, b, y);
}
void qmul_uint8(const QMulParams& p, const BroadcastPlan& plan, const uint8_t* a, const uint8_t* b, uint8_t* y) {
  HWY_DYNAMIC_DISPATCH(QMulU8)(p, plan, a, b, y);
}
}  // namespace edgekit
#endif
