#include "kernels/depthwise_conv.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "core/thread_pool.h"

namespace edgekit {

namespace {

// Output columns [lo, hi) whose input column o * stride - pad + offset lies in [0, width).
void valid_columns(int64_t offset, int64_t stride, int64_t pad, int64_t width, int64_t out_width, int64_t& lo,
                   int64_t& hi) {
  int64_t first = pad - offset;  // o * stride >= first
  lo = first <= 0 ? 0 : (first + stride - 1) / stride;
  int64_t last = width - 1 + pad - offset;  // o * stride <= last
  hi = last < 0 ? 0 : std::min(out_width, last / stride + 1);
  lo = std::min(lo, hi);
}

// Per kernel column: the range of output columns that read inside the image. It depends on
// the kernel column only, so it is computed once per convolution, not per row.
struct ColumnRanges {
  int64_t lo[16], hi[16];  // kernels wider than 16 columns take the generic path below
};

template <class T>
void channel(const T* x, const T* w, T b, T* y, const Im2colShape& s, const ColumnRanges& cols) {
  // Im2colShape right-aligns dims into 3 (D, H, W); a 2-D conv uses the last two.
  const int64_t H = s.image[1], W = s.image[2], OH = s.cols[1], OW = s.cols[2];
  const int64_t KH = s.kernel[1], KW = s.kernel[2];
  const int64_t sh = s.stride[1], sw = s.stride[2], dh = s.dilation[1], dw = s.dilation[2];
  const int64_t ph = s.pad[1], pw = s.pad[2];
  for (int64_t oh = 0; oh < OH; ++oh) {
    T* yrow = y + oh * OW;
    std::fill(yrow, yrow + OW, b);
    for (int64_t kh = 0; kh < KH; ++kh) {
      const int64_t ih = oh * sh - ph + kh * dh;
      if (ih < 0 || ih >= H) continue;
      const T* xrow = x + ih * W;
      for (int64_t kw = 0; kw < KW; ++kw) {
        const T wk = w[kh * KW + kw];
        const int64_t lo = cols.lo[kw], hi = cols.hi[kw];
        const T* xs = xrow + lo * sw - pw + kw * dw;
        if (sw == 1) {
          for (int64_t o = lo; o < hi; ++o) yrow[o] += wk * xs[o - lo];
        } else {
          for (int64_t o = lo; o < hi; ++o) yrow[o] += wk * xs[(o - lo) * sw];
        }
      }
    }
  }
}

// Square K x K kernels with stride S and dilation 1 (3x3 and 5x5, stride 1 and 2, are most of
// the depthwise layers in practice). The channel is first copied into a zero-padded scratch
// image whose rows are split into S phases (columns c with c % S == q, in order), so that the
// taps of consecutive outputs are consecutive in memory even for S == 2. Each output row is
// then K*K vectorised multiply-adds over the row, with no bounds checks.
template <class T, int K, int S>
void channel_padded(const T* x, const T* w, T b, T* y, const Im2colShape& s, T* padded) {
  const int64_t H = s.image[1], W = s.image[2], OH = s.cols[1], OW = s.cols[2];
  const int64_t pt = s.pad[1], pl = s.pad[2];
  const int64_t HP = (OH - 1) * S + K, WP = (OW - 1) * S + K;  // rows/cols the outputs read
  const int64_t WQ = (WP + S - 1) / S;                          // columns per phase
  for (int64_t r = 0; r < HP; ++r) {
    T* dst = padded + r * S * WQ;
    const int64_t ih = r - pt;
    if (ih < 0 || ih >= H) {
      std::fill(dst, dst + S * WQ, T(0));
      continue;
    }
    const T* xrow = x + ih * W;
    for (int q = 0; q < S; ++q)  // phase q holds padded columns q, q + S, q + 2S, ...
      for (int64_t i = 0; i < WQ; ++i) {
        const int64_t iw = i * S + q - pl;
        dst[q * WQ + i] = iw >= 0 && iw < W ? xrow[iw] : T(0);
      }
  }
  T wk[K * K];
  for (int i = 0; i < K * K; ++i) wk[i] = w[i];
  for (int64_t oh = 0; oh < OH; ++oh) {
    const T* src[K * K];  // tap (kh, kw) of output column ow is src[kh * K + kw][ow]
    for (int kh = 0; kh < K; ++kh)
      for (int kw = 0; kw < K; ++kw) src[kh * K + kw] = padded + (oh * S + kh) * S * WQ + (kw % S) * WQ + kw / S;
    T* __restrict yrow = y + oh * OW;
    for (int64_t ow = 0; ow < OW; ++ow) {
      T acc = b;
      for (int t = 0; t < K * K; ++t) acc += wk[t] * src[t][ow];
      yrow[ow] = acc;
    }
  }
}

template <class T>
bool padded_path(const Im2colShape& s, void (**fn)(const T*, const T*, T, T*, const Im2colShape&, T*)) {
  if (s.kernel[1] != s.kernel[2] || s.stride[1] != s.stride[2] || s.dilation[1] != 1 || s.dilation[2] != 1) return false;
  const int64_t k = s.kernel[1], st = s.stride[1];
  if (k == 3 && st == 1) *fn = channel_padded<T, 3, 1>;
  else if (k == 3 && st == 2) *fn = channel_padded<T, 3, 2>;
  else if (k == 5 && st == 1) *fn = channel_padded<T, 5, 1>;
  else if (k == 5 && st == 2) *fn = channel_padded<T, 5, 2>;
  else return false;
  return true;
}

}  // namespace

template <class T>
void depthwise_conv2d(const T* x, const T* w, const T* bias, T* y, int64_t n, int64_t c, const Im2colShape& s,
                      const FusedActivation& activation, ThreadPool* pool) {
  const int64_t in_size = s.image_size(), out_size = s.col_size(), taps = s.kernel_size();
  EK_CHECK(s.kernel[2] <= 16, "depthwise_conv2d: kernel width ", s.kernel[2], " exceeds 16");
  ColumnRanges cols;
  for (int64_t kw = 0; kw < s.kernel[2]; ++kw)
    valid_columns(kw * s.dilation[2], s.stride[2], s.pad[2], s.image[2], s.cols[2], cols.lo[kw], cols.hi[kw]);
  void (*fast)(const T*, const T*, T, T*, const Im2colShape&, T*) = nullptr;
  const bool padded = padded_path<T>(s, &fast);
  const int64_t wp = (s.cols[2] - 1) * s.stride[2] + s.kernel[2];
  const int64_t padded_size =
      padded ? ((s.cols[1] - 1) * s.stride[1] + s.kernel[1]) * ((wp + s.stride[2] - 1) / s.stride[2]) * s.stride[2] : 0;
  if (double(n * c) * double(out_size) * double(taps) < 2e5) pool = nullptr;  // too little work to wake a thread
  parallel_for(pool, n * c, [&](int64_t begin, int64_t end) {
    std::vector<T> scratch(static_cast<size_t>(padded_size));  // per task; the planner will own it later
    for (int64_t t = begin; t < end; ++t) {
      const int64_t ch = t % c;
      T* yc = y + t * out_size;
      const T b = bias ? bias[ch] : T(0);
      if (padded)
        fast(x + t * in_size, w + ch * taps, b, yc, s, scratch.data());
      else
        channel(x + t * in_size, w + ch * taps, b, yc, s, cols);
      activation.apply(yc, out_size);
    }
  }, 4);
}

template void depthwise_conv2d<float>(const float*, const float*, const float*, float*, int64_t, int64_t,
                                      const Im2colShape&, const FusedActivation&, ThreadPool*);
template void depthwise_conv2d<double>(const double*, const double*, const double*, double*, int64_t, int64_t,
                                       const Im2colShape&, const FusedActivation&, ThreadPool*);

}  // namespace edgekit
