// int8 depthwise convolution, one output row a call (kernels/qconv_int8.h's qdepthwise_int8_row):
// a vector of channels at a time, int32 sums of (x' - zero point) * w over the valid taps,
// requantized in registers (requantize-inl.h) and stored as int8 or uint8. Full int16 vectors
// of channels first (products in int16), then int32 vectors, 128-bit vectors, a scalar loop.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/simd/qdepthwise_int8.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "kernels/simd/requantize-inl.h"

#include <algorithm>

#include "kernels/qconv_int8.h"

HWY_BEFORE_NAMESPACE();
namespace edgekit {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// fn(x, w) for each tap of output pixel ow inside the image: x at channel c of the input pixel,
// w at channel c of the tap's weights.
template <class Fn>
HWY_INLINE void for_each_tap(const QDepthwiseRow& r, int64_t ow, int64_t c, const Fn& fn) {
  const int64_t ch = r.channels, iw0 = ow * r.stride_w - r.pad_left;
  for (int64_t kh = 0; kh < r.kernel_h; ++kh) {
    const int64_t ih = r.ih0 + kh * r.dilation_h;
    if (ih < 0 || ih >= r.in_h) continue;
    const uint8_t* row = r.x + ih * r.in_w * ch + c;
    const int8_t* wrow = r.w + kh * r.kernel_w * ch + c;
    for (int64_t kw = 0; kw < r.kernel_w; ++kw) {
      const int64_t iw = iw0 + kw * r.dilation_w;
      if (iw >= 0 && iw < r.in_w) fn(row + iw * ch, wrow + kw * ch);
    }
  }
}

#if HWY_TARGET != HWY_SCALAR
// Channels [c, c + Lanes(d)) of output pixel ow.
template <class D, class TY>
HWY_INLINE void channels_vector(D d, const QDepthwiseRow& r, int64_t ow, int64_t c, TY* out) {
  const hn::Rebind<uint8_t, D> du8;
  const hn::Rebind<int8_t, D> di8;
  const hn::Rebind<TY, D> dy;
  auto acc = hn::LoadU(d, r.bias + c);
  const auto zx = hn::Set(d, r.x_zero_point);
  for_each_tap(r, ow, c, [&](const uint8_t* x, const int8_t* w) {
    acc = hn::Add(acc, hn::Mul(hn::Sub(hn::PromoteTo(d, hn::LoadU(du8, x)), zx), hn::PromoteTo(d, hn::LoadU(di8, w))));
  });
  auto v = requant_multiply(d, acc, hn::LoadU(d, r.multiplier + c), hn::LoadU(d, r.left + c),
                            hn::LoadU(d, r.right + c));
  v = hn::Min(hn::Max(hn::Add(v, hn::Set(d, r.y_zero_point)), hn::Set(d, r.lo)), hn::Set(d, r.hi));
  hn::StoreU(hn::DemoteTo(dy, v), dy, out + c);
}

// Channels [c, c + Lanes(d16)): products in int16 (|x' - zero point| <= 255 and |w| <= 128,
// so each fits), summed in int32 halves: half the multiplies of the int32 path.
template <class D16, class TY>
HWY_INLINE void channels_vector16(D16 d16, const QDepthwiseRow& r, int64_t ow, int64_t c, TY* out) {
  const hn::Rebind<uint8_t, D16> du8;
  const hn::Rebind<int8_t, D16> di8;
  const hn::Half<D16> dh;
  const hn::Rebind<int32_t, decltype(dh)> d32;
  const hn::Rebind<TY, decltype(d32)> dy;
  const int64_t half = int64_t(hn::Lanes(d32));
  auto acc_lo = hn::LoadU(d32, r.bias + c), acc_hi = hn::LoadU(d32, r.bias + c + half);
  const auto zx = hn::Set(d16, int16_t(r.x_zero_point));
  for_each_tap(r, ow, c, [&](const uint8_t* x, const int8_t* w) {
    const auto xv = hn::Sub(hn::BitCast(d16, hn::PromoteTo(hn::RebindToUnsigned<D16>(), hn::LoadU(du8, x))), zx);
    const auto prod = hn::Mul(xv, hn::PromoteTo(d16, hn::LoadU(di8, w)));
    acc_lo = hn::Add(acc_lo, hn::PromoteTo(d32, hn::LowerHalf(dh, prod)));
    acc_hi = hn::Add(acc_hi, hn::PromoteTo(d32, hn::UpperHalf(dh, prod)));
  });
  const auto zy = hn::Set(d32, r.y_zero_point), lo = hn::Set(d32, r.lo), hi = hn::Set(d32, r.hi);
  for (int part = 0; part < 2; ++part) {
    const int64_t cc = c + part * half;
    auto v = requant_multiply(d32, part ? acc_hi : acc_lo, hn::LoadU(d32, r.multiplier + cc), hn::LoadU(d32, r.left + cc),
                              hn::LoadU(d32, r.right + cc));
    v = hn::Min(hn::Max(hn::Add(v, zy), lo), hi);
    hn::StoreU(hn::DemoteTo(dy, v), dy, out + cc);
  }
}

#endif

template <class TY>
HWY_INLINE void channel_scalar(const QDepthwiseRow& r, int64_t ow, int64_t c, TY* out) {
  int32_t acc = r.bias[c];
  for_each_tap(r, ow, c, [&](const uint8_t* x, const int8_t* w) { acc += (int32_t(*x) - r.x_zero_point) * int32_t(*w); });
  const int shift = r.left[c] > 0 ? r.left[c] : -r.right[c];
  const int32_t v = multiply_by_quantized_multiplier(acc, r.multiplier[c], shift) + r.y_zero_point;
  out[c] = TY(std::min(std::max(v, r.lo), r.hi));
}

template <class TY>
HWY_INLINE void row(const QDepthwiseRow& r, TY* y) {
  const int64_t ch = r.channels;
  for (int64_t ow = 0; ow < r.out_w; ++ow) {
    TY* out = y + ow * ch;
    int64_t c = 0;
#if HWY_TARGET != HWY_SCALAR
    const hn::ScalableTag<int16_t> d16;
    const hn::ScalableTag<int32_t> d;
    const hn::CappedTag<int32_t, 4> d4;
    for (; c + int64_t(hn::Lanes(d16)) <= ch; c += int64_t(hn::Lanes(d16))) channels_vector16(d16, r, ow, c, out);
    for (; c + int64_t(hn::Lanes(d)) <= ch; c += int64_t(hn::Lanes(d))) channels_vector(d, r, ow, c, out);
    for (; c + int64_t(hn::Lanes(d4)) <= ch; c += int64_t(hn::Lanes(d4))) channels_vector(d4, r, ow, c, out);
#endif
    for (; c < ch; ++c) channel_scalar(r, ow, c, out);
  }
}

void QDepthwiseRowKernel(const QDepthwiseRow& r) {
  if (r.y_signed) row(r, static_cast<int8_t*>(r.y));
  else row(r, static_cast<uint8_t*>(r.y));
}

}  // namespace HWY_NAMESPACE
}  // namespace edgekit
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace edgekit {
HWY_EXPORT(QDepthwiseRowKernel);
void qdepthwise_int8_row(const QDepthwiseRow& r) { HWY_DYNAMIC_DISPATCH(QDepthwiseRowKernel)(r); }
}  // namespace edgekit
#endif
