// Vector requantization (kernels/requantize.h's requantize_to_i8 / _u8 / _i32): the integer
// steps of multiply_by_quantized_multiplier a vector of channels at a time (requantize-inl.h),
// so the int8 kernels' epilogues cost a few instructions an output instead of a scalar call.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/simd/requantize_simd.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "kernels/simd/requantize-inl.h"

#include <algorithm>
#include <limits>
#include <type_traits>

#include "kernels/requantize.h"

HWY_BEFORE_NAMESPACE();
namespace edgekit {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

#if HWY_TARGET != HWY_SCALAR
// Elements [i, i + Lanes(d)).
template <class D, class T>
HWY_INLINE void requantize_vector(D d, const RequantizeArgs& r, int32_t u_left, int32_t u_right, int64_t i, T* out) {
  const hn::Rebind<T, D> dt;
  auto x = hn::LoadU(d, r.acc + i);
  if (r.bias) x = hn::Add(x, hn::LoadU(d, r.bias + i));
  const bool uniform = r.multiplier == nullptr;
  const auto m = uniform ? hn::Set(d, r.uniform.multiplier) : hn::LoadU(d, r.multiplier + i);
  const auto left = uniform ? hn::Set(d, u_left) : hn::LoadU(d, r.left + i);
  const auto right = uniform ? hn::Set(d, u_right) : hn::LoadU(d, r.right + i);
  auto v = requant_multiply(d, x, m, left, right);
  v = hn::Min(hn::Max(hn::Add(v, hn::Set(d, r.zero_point)), hn::Set(d, r.lo)), hn::Set(d, r.hi));
  if constexpr (std::is_same_v<T, int32_t>) hn::StoreU(v, d, out + i);
  else hn::StoreU(hn::DemoteTo(dt, v), dt, out + i);
}
#endif

// Full vectors, then 128-bit vectors (the 8 channels of a narrow layer are half an AVX-512
// vector), then one element at a time.
template <class T>
HWY_INLINE void requantize(const RequantizeArgs& r, T* out) {
  const bool uniform = r.multiplier == nullptr;
  const int32_t u_left = std::min(std::max(r.uniform.shift, 0), 31);
  const int32_t u_right = std::min(std::max(-r.uniform.shift, 0), 31);
  int64_t i = 0;
#if HWY_TARGET != HWY_SCALAR
  const hn::ScalableTag<int32_t> d;
  const hn::CappedTag<int32_t, 4> d4;
  for (; i + int64_t(hn::Lanes(d)) <= r.n; i += int64_t(hn::Lanes(d))) requantize_vector(d, r, u_left, u_right, i, out);
  for (; i + int64_t(hn::Lanes(d4)) <= r.n; i += int64_t(hn::Lanes(d4))) requantize_vector(d4, r, u_left, u_right, i, out);
#endif
  for (; i < r.n; ++i) {
    const int32_t x = r.acc[i] + (r.bias ? r.bias[i] : 0);
    const int shift = uniform ? (u_left > 0 ? u_left : -u_right) : r.left[i] > 0 ? r.left[i] : -r.right[i];
    const int32_t v = multiply_by_quantized_multiplier(x, uniform ? r.uniform.multiplier : r.multiplier[i], shift);
    // In 64 bits: with lo/hi at the int32 limits (requantize_to_i32) v + zero_point must not wrap.
    out[i] = T(std::min<int64_t>(std::max<int64_t>(int64_t(v) + r.zero_point, r.lo), r.hi));
  }
}

template <class T>
HWY_INLINE void quantize(const float* x, int64_t n, float scale, int32_t zero_point, T* out) {
  const QuantRange range{std::numeric_limits<T>::min(), std::numeric_limits<T>::max()};
  int64_t i = 0;
#if HWY_TARGET != HWY_SCALAR
  const hn::ScalableTag<float> df;
  const hn::RebindToSigned<decltype(df)> d32;
  const hn::Rebind<T, decltype(d32)> dt;
  const auto s = hn::Set(df, scale), zp = hn::Set(df, float(zero_point));
  const auto lo = hn::Set(df, float(range.lo)), hi = hn::Set(df, float(range.hi)), zero = hn::Zero(df);
  for (; i + int64_t(hn::Lanes(df)) <= n; i += int64_t(hn::Lanes(df))) {
    auto q = hn::Round(hn::Div(hn::LoadU(df, x + i), s));  // to nearest, ties to even
    q = hn::IfThenElse(hn::Eq(q, q), q, zero);              // NaN -> the zero point
    // q + zero point is exact below 2^24, and anything larger clamps to hi either way.
    q = hn::Min(hn::Max(hn::Add(q, zp), lo), hi);
    hn::StoreU(hn::DemoteTo(dt, hn::ConvertTo(d32, q)), dt, out + i);
  }
#endif
  for (; i < n; ++i) out[i] = T(quantize_value(x[i], scale, zero_point, range));
}

void QuantizeToI8(const float* x, int64_t n, float scale, int32_t zp, int8_t* out) { quantize(x, n, scale, zp, out); }
void QuantizeToU8(const float* x, int64_t n, float scale, int32_t zp, uint8_t* out) { quantize(x, n, scale, zp, out); }

void RequantizeToI8(const RequantizeArgs& r, int8_t* out) { requantize(r, out); }
void RequantizeToU8(const RequantizeArgs& r, uint8_t* out) { requantize(r, out); }
void RequantizeToI32(const RequantizeArgs& r, int32_t* out) { requantize(r, out); }

}  // namespace HWY_NAMESPACE
}  // namespace edgekit
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace edgekit {
HWY_EXPORT(RequantizeToI8);
HWY_EXPORT(RequantizeToU8);
HWY_EXPORT(RequantizeToI32);
HWY_EXPORT(QuantizeToI8);
HWY_EXPORT(QuantizeToU8);
void quantize_f32_to_i8(const float* x, int64_t n, float scale, int32_t zero_point, int8_t* out) {
  HWY_DYNAMIC_DISPATCH(QuantizeToI8)(x, n, scale, zero_point, out);
}
void quantize_f32_to_u8(const float* x, int64_t n, float scale, int32_t zero_point, uint8_t* out) {
  HWY_DYNAMIC_DISPATCH(QuantizeToU8)(x, n, scale, zero_point, out);
}
void requantize_to_i8(const RequantizeArgs& r, int8_t* out) { HWY_DYNAMIC_DISPATCH(RequantizeToI8)(r, out); }
void requantize_to_u8(const RequantizeArgs& r, uint8_t* out) { HWY_DYNAMIC_DISPATCH(RequantizeToU8)(r, out); }
void requantize_to_i32(const RequantizeArgs& r, int32_t* out) { HWY_DYNAMIC_DISPATCH(RequantizeToI32)(r, out); }

void RequantizeChannels::set(const std::vector<QuantMultiplier>& ms) {
  // 16 spare entries: a 16-channel vector load at the last panel stays inside.
  multiplier.assign(ms.size() + 16, 0);
  left.assign(ms.size() + 16, 0);
  right.assign(ms.size() + 16, 0);
  for (size_t c = 0; c < ms.size(); ++c) {
    multiplier[c] = ms[c].multiplier;
    // quantize_multiplier keeps non-zero multipliers' shifts within [-31, 31]; a zero one gives 0.
    left[c] = std::min(std::max(ms[c].shift, 0), 31);
    right[c] = std::min(std::max(-ms[c].shift, 0), 31);
  }
}
}  // namespace edgekit
#endif
