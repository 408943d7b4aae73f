// Float Add / Sub / Mul / Div over broadcast rows (kernels/binary_f32.h), with Highway.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/simd/binary_f32.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"

#include "kernels/binary_f32.h"
#include "kernels/elementwise.h"

HWY_BEFORE_NAMESPACE();
namespace edgekit {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

template <BinaryF32Op op, class V>
HWY_INLINE V apply(V a, V b) {
  if constexpr (op == BinaryF32Op::add) return hn::Add(a, b);
  else if constexpr (op == BinaryF32Op::sub) return hn::Sub(a, b);
  else if constexpr (op == BinaryF32Op::mul) return hn::Mul(a, b);
  else return hn::Div(a, b);
}

template <BinaryF32Op op>
HWY_INLINE float apply(float a, float b) {
  if constexpr (op == BinaryF32Op::add) return a + b;
  else if constexpr (op == BinaryF32Op::sub) return a - b;
  else if constexpr (op == BinaryF32Op::mul) return a * b;
  else return a / b;
}

// n outputs; a and b advance by a_step / b_step (0 or 1) elements each.
template <BinaryF32Op op>
HWY_INLINE void row(const float* a, int64_t a_step, const float* b, int64_t b_step, float* y, int64_t n) {
  const hn::ScalableTag<float> d;
  const int64_t L = int64_t(hn::Lanes(d));
  int64_t i = 0;
  if (a_step && b_step) {
    for (; i + L <= n; i += L) hn::StoreU(apply<op>(hn::LoadU(d, a + i), hn::LoadU(d, b + i)), d, y + i);
  } else if (b_step) {
    const auto va = hn::Set(d, *a);
    for (; i + L <= n; i += L) hn::StoreU(apply<op>(va, hn::LoadU(d, b + i)), d, y + i);
  } else if (a_step) {
    const auto vb = hn::Set(d, *b);
    for (; i + L <= n; i += L) hn::StoreU(apply<op>(hn::LoadU(d, a + i), vb), d, y + i);
  }
  for (; i < n; ++i) y[i] = apply<op>(a[i * a_step], b[i * b_step]);
}

template <BinaryF32Op op>
HWY_INLINE void run(const BroadcastPlan& plan, const float* a, const float* b, float* y) {
  for_each_row(plan, [&](const BroadcastStrides& off, int64_t o, int64_t n, const BroadcastStrides& step) {
    row<op>(a + off[0], step[0], b + off[1], step[1], y + o, n);
  });
}

void BinaryF32(BinaryF32Op op, const BroadcastPlan& plan, const float* a, const float* b, float* y) {
  switch (op) {
    case BinaryF32Op::add: return run<BinaryF32Op::add>(plan, a, b, y);
    case BinaryF32Op::sub: return run<BinaryF32Op::sub>(plan, a, b, y);
    case BinaryF32Op::mul: return run<BinaryF32Op::mul>(plan, a, b, y);
    case BinaryF32Op::div: return run<BinaryF32Op::div>(plan, a, b, y);
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace edgekit
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace edgekit {
HWY_EXPORT(BinaryF32);
void binary_f32(BinaryF32Op op, const BroadcastPlan& plan, const float* a, const float* b, float* y) {
  HWY_DYNAMIC_DISPATCH(BinaryF32)(op, plan, a, b, y);
}
}  // namespace edgekit
#endif
