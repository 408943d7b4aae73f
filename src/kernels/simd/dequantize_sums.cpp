// Highway implementation of dequantize_sums_f32 (kernels/dynamic_qgemm.h), compiled once per
// target ISA: the int32 sums of the dynamic int8 GEMM to float, a vector of rows at a time (the
// int32 multiply and the conversion are the part the baseline x86-64 build cannot vectorise).
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/simd/dequantize_sums.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "kernels/dynamic_qgemm.h"

HWY_BEFORE_NAMESPACE();
namespace edgekit {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

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
void dequantize_sums_f32(const int32_t* acc, const int32_t* row_sums, const float* scale, int64_t n, float x_scale,
                         int32_t x_zero_point, const float* init, float* y) {
  HWY_DYNAMIC_DISPATCH(DequantizeSums)(acc, row_sums, scale, n, x_scale, x_zero_point, init, y);
}
}  // namespace edgekit
#endif
