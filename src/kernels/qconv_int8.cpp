#include "kernels/qconv_int8.h"

#include <algorithm>
#include <cstring>

#include "core/thread_pool.h"

namespace edgekit {
namespace {

constexpr int64_t kTileRows = 8;     // rows per micro-kernel call
constexpr int64_t kChunkRows = 64;   // output pixels gathered at once (every panel reuses them)

int32_t input_offset(DType x) { return x == DType::i8 ? 128 : 0; }

template <class TY>
inline void store_requantized(const QConvInt8Params& p, int32_t acc, int64_t m, TY* dst) {
  int32_t v = multiply_by_quantized_multiplier(acc, p.multiplier[size_t(m)]) + p.y_zero_point;
  *dst = TY(std::min(std::max(v, p.act.lo), p.act.hi));
}

template <class TY>
void requantize_rows_t(const QConvInt8Params& p, const int32_t* acc, int64_t rows, TY* y) {
  const int64_t m = p.out_channels;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < m; ++c) store_requantized(p, acc[r * m + c], c, y + r * m + c);
}

// Depthwise: each output channel reads its own input channel; vectorised over channels.
template <class TX, class TY>
void depthwise(const QConvInt8Params& p, const TX* x, const IntConvShape& s, TY* y, ThreadPool* pool) {
  const int64_t c_n = s.out_c, rows = s.batch * s.out_h;
  const int8_t* w = p.packed.get();
  const double flops = 2.0 * double(rows) * double(s.out_w) * double(c_n) * double(s.kernel_h * s.kernel_w);
  parallel_for(flops >= 2e6 ? pool : nullptr, rows, [&](int64_t begin, int64_t end) {
    std::vector<int32_t> acc(static_cast<size_t>(c_n));
    for (int64_t row = begin; row < end; ++row) {
      const int64_t n = row / s.out_h, oh = row % s.out_h;
      for (int64_t ow = 0; ow < s.out_w; ++ow) {
        std::copy(p.packed_bias.begin(), p.packed_bias.end(), acc.begin());
        int32_t* a = acc.data();
        for (int64_t kh = 0; kh < s.kernel_h; ++kh) {
          const int64_t ih = oh * s.stride_h - s.pad_top + kh * s.dilation_h;
          if (ih < 0 || ih >= s.in_h) continue;
          for (int64_t kw = 0; kw < s.kernel_w; ++kw) {
            const int64_t iw = ow * s.stride_w - s.pad_left + kw * s.dilation_w;
            if (iw < 0 || iw >= s.in_w) continue;
            const TX* xp = x + ((n * s.in_h + ih) * s.in_w + iw) * c_n;
            const int8_t* wp = w + (kh * s.kernel_w + kw) * c_n;
            const int32_t zx = p.x_zero_point;
            for (int64_t c = 0; c < c_n; ++c) a[c] += (int32_t(xp[c]) - zx) * int32_t(wp[c]);
          }
        }
        TY* yp = y + ((n * s.out_h + oh) * s.out_w + ow) * c_n;
        for (int64_t c = 0; c < c_n; ++c) store_requantized(p, a[c], c, yp + c);
      }
    }
  });
}

// The GEMM path: gather rows of x' for a chunk of pixels, then every panel over them.
template <class TX, class TY>
void gemm_conv(const QConvInt8Params& p, const TX* x, const IntConvShape& s, TY* y, ThreadPool* pool) {
  const int64_t rows = s.batch * s.out_h * s.out_w, kp = p.k_padded, cg = p.in_per_group;
  const int64_t mg = p.out_channels / p.group, taps = s.kernel_h * s.kernel_w;
  const uint8_t off = uint8_t(input_offset(p.x_dtype));
  const uint8_t pad = uint8_t(p.x_zero_point + off);
  const int64_t chunks = (rows + kChunkRows - 1) / kChunkRows;
  const double flops = 2.0 * double(rows) * double(p.out_channels) * double(p.k);
  parallel_for(flops >= 2e6 ? pool : nullptr, chunks, [&](int64_t begin, int64_t end) {
    std::vector<uint8_t> a(size_t(kChunkRows * kp));
    alignas(64) int32_t acc[kTileRows * kQGemmPanel];
    for (int64_t chunk = begin; chunk < end; ++chunk) {
      const int64_t r0 = chunk * kChunkRows, nr = std::min(kChunkRows, rows - r0);
      for (int64_t g = 0; g < p.group; ++g) {
        for (int64_t r = 0; r < nr; ++r) {  // gather
          const int64_t pix = r0 + r, n = pix / (s.out_h * s.out_w), rem = pix % (s.out_h * s.out_w);
          const int64_t oh = rem / s.out_w, ow = rem % s.out_w;
          uint8_t* dst = a.data() + r * kp;
          for (int64_t t = 0; t < taps; ++t) {
            const int64_t ih = oh * s.stride_h - s.pad_top + (t / s.kernel_w) * s.dilation_h;
            const int64_t iw = ow * s.stride_w - s.pad_left + (t % s.kernel_w) * s.dilation_w;
            uint8_t* d = dst + t * cg;
            if (ih < 0 || ih >= s.in_h || iw < 0 || iw >= s.in_w) {
              std::memset(d, pad, size_t(cg));
              continue;
            }
            const TX* src = x + ((n * s.in_h + ih) * s.in_w + iw) * s.in_c + g * cg;
            if (off) for (int64_t c = 0; c < cg; ++c) d[c] = uint8_t(src[c]) ^ 0x80;
            else std::memcpy(d, src, size_t(cg));
          }
          std::memset(dst + p.k, 0, size_t(kp - p.k));
        }
        for (int64_t pnl = 0; pnl < p.panels_per_group; ++pnl) {
          const int8_t* w = p.packed.get() + (g * p.panels_per_group + pnl) * kp * kQGemmPanel;
          const int64_t c0 = g * mg + pnl * kQGemmPanel, nc = std::min(kQGemmPanel, mg - pnl * kQGemmPanel);
          for (int64_t t0 = 0; t0 < nr; t0 += kTileRows) {
            const int64_t mr = std::min(kTileRows, nr - t0);
            qgemm_int8_tile({mr, kp, a.data() + t0 * kp, kp, w, acc});
            for (int64_t r = 0; r < mr; ++r) {
              TY* yp = y + (r0 + t0 + r) * p.out_channels + c0;
              for (int64_t j = 0; j < nc; ++j)
                store_requantized(p, acc[r * kQGemmPanel + j] + p.packed_bias[size_t(c0 + j)], c0 + j, yp + j);
            }
          }
        }
      }
    }
  });
}

template <class Fn>
void visit_xy(const QConvInt8Params& p, Fn&& fn) {
  auto with_y = [&](auto tx) {
    if (p.y_dtype == DType::i8) fn(tx, int8_t{});
    else fn(tx, uint8_t{});
  };
  if (p.x_dtype == DType::i8) with_y(int8_t{});
  else with_y(uint8_t{});
}

}  // namespace

void pack_qconv_weights(QConvInt8Params& p, const int8_t* w, const std::vector<int32_t>& w_zp, int64_t in_per_group,
                        int64_t kernel_h, int64_t kernel_w, int64_t group) {
  for (int32_t z : w_zp)
    if (z != 0) return;  // asymmetric weights: reference path
  const int64_t m = p.out_channels, mg = m / group, taps = kernel_h * kernel_w;
  p.in_per_group = in_per_group, p.kernel_h = kernel_h, p.kernel_w = kernel_w, p.group = group;
  p.k = taps * in_per_group;
  p.k_padded = (p.k + 3) / 4 * 4;
  p.depthwise = in_per_group == 1 && mg == 1;
  p.packed_bias = p.bias;
  if (p.depthwise) {
    p.packed = std::shared_ptr<int8_t>(new int8_t[size_t(taps * m)], std::default_delete<int8_t[]>());
    for (int64_t t = 0; t < taps; ++t)
      for (int64_t c = 0; c < m; ++c) p.packed.get()[t * m + c] = w[c * taps + t];
    return;
  }
  p.panels_per_group = (mg + kQGemmPanel - 1) / kQGemmPanel;
  const int64_t bytes = group * p.panels_per_group * p.k_padded * kQGemmPanel;
  p.packed = std::shared_ptr<int8_t>(new int8_t[size_t(bytes)](), std::default_delete<int8_t[]>());
  const int32_t corr = p.x_zero_point + input_offset(p.x_dtype);
  for (int64_t g = 0; g < group; ++g)
    for (int64_t pnl = 0; pnl < p.panels_per_group; ++pnl) {
      int8_t* dst = p.packed.get() + (g * p.panels_per_group + pnl) * p.k_padded * kQGemmPanel;
      for (int64_t j = 0; j < kQGemmPanel; ++j) {
        const int64_t local = pnl * kQGemmPanel + j;
        if (local >= mg) continue;
        const int64_t o = g * mg + local;
        int64_t sum = 0;
        for (int64_t k = 0; k < p.k; ++k) {
          const int64_t t = k / in_per_group, c = k % in_per_group;
          const int8_t v = w[(o * in_per_group + c) * taps + t];
          dst[(k / 4) * 4 * kQGemmPanel + j * 4 + k % 4] = v;
          sum += v;
        }
        p.packed_bias[size_t(o)] = int32_t(int64_t(p.bias[size_t(o)]) - int64_t(corr) * sum);
      }
    }
}

void qconv_nhwc_int8(const QConvInt8Params& p, const void* x, const IntConvShape& s, void* y, ThreadPool* pool) {
  EK_CHECK(qconv_packed(p) && s.out_c == p.out_channels && s.in_c == p.in_per_group * p.group &&
               s.kernel_h == p.kernel_h && s.kernel_w == p.kernel_w && s.group == p.group,
           "qconv_nhwc_int8: the packed weights do not match the convolution");
  visit_xy(p, [&](auto tx, auto ty) {
    using TX = decltype(tx);
    using TY = decltype(ty);
    if (p.depthwise) depthwise(p, static_cast<const TX*>(x), s, static_cast<TY*>(y), pool);
    else gemm_conv(p, static_cast<const TX*>(x), s, static_cast<TY*>(y), pool);
  });
}

void qgemm_int8(const QConvInt8Params& p, const void* x, int64_t rows, void* y, ThreadPool* pool) {
  IntConvShape s;
  s.batch = 1, s.in_h = s.out_h = rows, s.in_w = s.out_w = 1;
  s.in_c = p.in_per_group, s.out_c = p.out_channels, s.nhwc = true;
  qconv_nhwc_int8(p, x, s, y, pool);
}

void requantize_rows(const QConvInt8Params& p, const int32_t* acc, int64_t rows, void* y) {
  if (p.y_dtype == DType::i8) requantize_rows_t(p, acc, rows, static_cast<int8_t*>(y));
  else requantize_rows_t(p, acc, rows, static_cast<uint8_t*>(y));
}

}  // namespace edgekit
