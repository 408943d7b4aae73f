// Highway implementation of the per-call steps of dynamic quantization (kernels/dynamic_qgemm.h),
// compiled once per target ISA: a tensor's range (with 0) and whether it is finite, and the
// int32 sums of the dynamic int8 GEMM to float. Both run once a recurrent step on a few dozen
// values, where the baseline x86-64 build's code (SSE2, no int32 multiply) was a fifth of it.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/simd/dynamic_quant.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "kernels/dynamic_qgemm.h"

#include <algorithm>
#include <cmath>

HWY_BEFORE_NAMESPACE();
namespace edgekit {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

bool RangeWithZero(const float* x, int64_t n, float* lo_out, float* hi_out) {
  const hn::ScalableTag<float> df;
  const hn::RebindToUnsigned<decltype(df)> du;
  const int64_t lanes = int64_t(hn::Lanes(df));
  auto lo = hn::Zero(df), hi = hn::Zero(df);
  const auto exponent = hn::Set(du, 0x7f800000u);
  auto bad = hn::Zero(du);  // lanes that saw an all-ones exponent (inf or NaN: Min/Max may drop NaN)
  int64_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    const auto v = hn::LoadU(df, x + i);
    lo = hn::Min(lo, v), hi = hn::Max(hi, v);
    bad = hn::Or(bad, hn::VecFromMask(du, hn::Eq(hn::And(hn::BitCast(du, v), exponent), exponent)));
  }
  float l = hn::GetLane(hn::MinOfLanes(df, lo)), h = hn::GetLane(hn::MaxOfLanes(df, hi));
  bool finite = hn::AllTrue(du, hn::Eq(bad, hn::Zero(du)));
  for (; i < n; ++i) {
    finite = finite && std::isfinite(x[i]);
    l = std::min(l, x[i]), h = std::max(h, x[i]);
  }
  *lo_out = l, *hi_out = h;
  return finite;
}

void DequantizeSums(const int32_t* acc, const int32_t* row_sums, const float* scale, int64_t n, float x_scale,
                    int32_t x_zero_point, const float* init, float* y) {
  const hn::ScalableTag<float> df;
  const hn::RebindToSigned<decltype(df)> di;
  const int64_t lanes = int64_t(hn::Lanes(df));
  const auto zp = hn::Set(di, x_zero_point);
  const auto sx = hn::Set(df, x_scale);
  int64_t j = 0;
  for (; j + lanes <= n; j += lanes) {
    // Σ (x_q - zx) w exactly in int32, one rounding to float, then the two scales.
    const auto centred = hn::Sub(hn::LoadU(di, acc + j), hn::Mul(zp, hn::LoadU(di, row_sums + j)));
    auto v = hn::Mul(hn::Mul(sx, hn::LoadU(df, scale + j)), hn::ConvertTo(df, centred));
    if (init) v = hn::Add(hn::LoadU(df, init + j), v);
    hn::StoreU(v, df, y + j);
  }
  for (; j < n; ++j) {  // init[j] is read before y[j] is written: they may alias
    const float v = x_scale * scale[j] * float(acc[j] - x_zero_point * row_sums[j]);
    y[j] = init ? init[j] + v : v;
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace edgekit
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace edgekit {
HWY_EXPORT(DequantizeSums);
HWY_EXPORT(RangeWithZero);
bool range_with_zero_f32(const float* x, int64_t n, float* lo, float* hi) {
  return HWY_DYNAMIC_DISPATCH(RangeWithZero)(x, n, lo, hi);
}
void dequantize_sums_f32(const int32_t* acc, const int32_t* row_sums, const float* scale, int64_t n, float x_scale,
                         int32_t x_zero_point, const float* init, float* y) {
  HWY_DYNAMIC_DISPATCH(DequantizeSums)(acc, row_sums, scale, n, x_scale, x_zero_point, init, y);
}
}  // namespace edgekit
#endif
