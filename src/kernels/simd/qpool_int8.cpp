// 8-bit pooling (kernels/qpool_int8.h): channels are innermost in NHWC, so both kernels run
// along them a vector at a time (full vectors, then 32, 16 and 8 lanes, then one element), the
// max on the 8-bit lanes themselves, the sums widened to int32 lanes.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/simd/qpool_int8.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"

#include <algorithm>
#include <limits>

#include "kernels/qpool_int8.h"

HWY_BEFORE_NAMESPACE();
namespace edgekit {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// The window of one output pixel: taps [kh0, kh1) x [kw0, kw1) lie inside the image.
struct Window {
  int64_t ih0, iw0, kh0, kh1, kw0, kw1;
};

// The first k in [0, kernel) with origin + k * dilation >= 0, and the end of those < size.
inline void inside(int64_t origin, int64_t dilation, int64_t kernel, int64_t size, int64_t* k0, int64_t* k1) {
  *k0 = 0, *k1 = kernel;
  while (*k0 < kernel && origin + *k0 * dilation < 0) ++*k0;
  while (*k1 > *k0 && origin + (*k1 - 1) * dilation >= size) --*k1;
}

// Channels [c, c + Lanes(d) * k) for the largest k that fits, while they fit; returns the next c.
template <class D, class T = hn::TFromD<D>>
HWY_INLINE int64_t max_channels(D d, const QMaxPoolRows& p, const T* x, const Window& w, T* y, int64_t c) {
  const int64_t L = int64_t(hn::Lanes(d));
  for (; c + L <= p.channels; c += L) {
    auto m = hn::Set(d, std::numeric_limits<T>::min());
    for (int64_t kh = w.kh0; kh < w.kh1; ++kh) {
      const T* tap = x + ((w.ih0 + kh * p.dilation_h) * p.in_w + w.iw0 + w.kw0 * p.dilation_w) * p.channels + c;
      for (int64_t kw = w.kw0; kw < w.kw1; ++kw, tap += p.dilation_w * p.channels) m = hn::Max(m, hn::LoadU(d, tap));
    }
    hn::StoreU(m, d, y + c);
  }
  return c;
}

template <class T>
HWY_INLINE void max_pool(const QMaxPoolRows& p, int64_t row_begin, int64_t row_end) {
  const hn::ScalableTag<T> d;
  const hn::CappedTag<T, 32> d32;
  const hn::CappedTag<T, 16> d16;
  const hn::CappedTag<T, 8> d8;
  for (int64_t r = row_begin; r < row_end; ++r) {
    const int64_t n = r / p.out_h, oh = r % p.out_h;
    const T* x = static_cast<const T*>(p.x) + n * p.in_h * p.in_w * p.channels;
    Window w;
    w.ih0 = oh * p.stride_h - p.pad_top;
    inside(w.ih0, p.dilation_h, p.kernel_h, p.in_h, &w.kh0, &w.kh1);
    for (int64_t ow = 0; ow < p.out_w; ++ow) {
      T* y = static_cast<T*>(p.y) + (r * p.out_w + ow) * p.channels;
      w.iw0 = ow * p.stride_w - p.pad_left;
      inside(w.iw0, p.dilation_w, p.kernel_w, p.in_w, &w.kw0, &w.kw1);
      int64_t c = max_channels(d, p, x, w, y, 0);
      c = max_channels(d32, p, x, w, y, c);  // the rest in halves: 24 channels are 16 + 8
      c = max_channels(d16, p, x, w, y, c);
      c = max_channels(d8, p, x, w, y, c);
      for (; c < p.channels; ++c) {
        T m = std::numeric_limits<T>::min();
        for (int64_t kh = w.kh0; kh < w.kh1; ++kh)
          for (int64_t kw = w.kw0; kw < w.kw1; ++kw)
            m = std::max(m, x[((w.ih0 + kh * p.dilation_h) * p.in_w + w.iw0 + kw * p.dilation_w) * p.channels + c]);
        y[c] = m;
      }
    }
  }
}

// Channels [c, c + kBlocks * Lanes(d)) summed over all pixels, kBlocks independent sums.
template <int kBlocks, class D, class T>
HWY_INLINE void sum_channels(D d, const T* x, int64_t pixels, int64_t channels, int64_t c, int32_t* sum) {
  const hn::Rebind<T, D> dt;
  const int64_t L = int64_t(hn::Lanes(d));
  hn::Vec<D> acc[kBlocks];
  for (int b = 0; b < kBlocks; ++b) acc[b] = hn::Zero(d);
  for (int64_t q = 0; q < pixels; ++q) {
    const T* row = x + q * channels + c;
    for (int b = 0; b < kBlocks; ++b) acc[b] = hn::Add(acc[b], hn::PromoteTo(d, hn::LoadU(dt, row + b * L)));
  }
  for (int b = 0; b < kBlocks; ++b) hn::StoreU(acc[b], d, sum + c + b * L);
}

template <class T>
HWY_INLINE void channel_sums(const T* x, int64_t pixels, int64_t channels, int32_t* sum) {
  const hn::ScalableTag<int32_t> d;
  const hn::CappedTag<int32_t, 4> d4;
  const int64_t L = int64_t(hn::Lanes(d)), L4 = int64_t(hn::Lanes(d4));
  int64_t c = 0;
  for (; c + 4 * L <= channels; c += 4 * L) sum_channels<4>(d, x, pixels, channels, c, sum);
  for (; c + L <= channels; c += L) sum_channels<1>(d, x, pixels, channels, c, sum);
  for (; c + L4 <= channels; c += L4) sum_channels<1>(d4, x, pixels, channels, c, sum);
  for (; c < channels; ++c) {
    int32_t s = 0;
    for (int64_t q = 0; q < pixels; ++q) s += int32_t(x[q * channels + c]);
    sum[c] = s;
  }
}

void QMaxPoolI8(const QMaxPoolRows& p, int64_t b, int64_t e) { max_pool<int8_t>(p, b, e); }
void QMaxPoolU8(const QMaxPoolRows& p, int64_t b, int64_t e) { max_pool<uint8_t>(p, b, e); }
void ChannelSumsI8(const int8_t* x, int64_t n, int64_t c, int32_t* s) { channel_sums(x, n, c, s); }
void ChannelSumsU8(const uint8_t* x, int64_t n, int64_t c, int32_t* s) { channel_sums(x, n, c, s); }

}  // namespace HWY_NAMESPACE
}  // namespace edgekit
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace edgekit {
HWY_EXPORT(QMaxPoolI8);
HWY_EXPORT(QMaxPoolU8);
HWY_EXPORT(ChannelSumsI8);
HWY_EXPORT(ChannelSumsU8);
void qmax_pool_i8(const QMaxPoolRows& p, int64_t b, int64_t e) { HWY_DYNAMIC_DISPATCH(QMaxPoolI8)(p, b, e); }
void qmax_pool_u8(const QMaxPoolRows& p, int64_t b, int64_t e) { HWY_DYNAMIC_DISPATCH(QMaxPoolU8)(p, b, e); }
void channel_sums_i8(const int8_t* x, int64_t n, int64_t c, int32_t* s) { HWY_DYNAMIC_DISPATCH(ChannelSumsI8)(x, n, c, s); }
void channel_sums_u8(const uint8_t* x, int64_t n, int64_t c, int32_t* s) { HWY_DYNAMIC_DISPATCH(ChannelSumsU8)(x, n, c, s); }
}  // namespace edgekit
#endif
