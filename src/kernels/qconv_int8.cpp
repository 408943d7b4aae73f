#include "kernels/qconv_int8.h"

#include <algorithm>
#include <cstring>
#include <climits>
#include <type_traits>

#include "core/tensor.h"
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

inline void store_requantized(const RequantizeArgs& r, int8_t* out) { requantize_to_i8(r, out); }
inline void store_requantized(const RequantizeArgs& r, uint8_t* out) { requantize_to_u8(r, out); }

// Channels [c0, c0 + n) of one output pixel: acc (+ bias when given) requantized, vectorised.
template <class TY>
inline void store_channels(const QConvInt8Params& p, const int32_t* acc, const int32_t* bias, int64_t c0, int64_t n,
                           TY* dst) {
  const RequantizeChannels& ch = p.channels;
  store_requantized(RequantizeArgs{acc, bias, ch.multiplier.data() + c0, ch.left.data() + c0, ch.right.data() + c0,
                                   n, p.y_zero_point, p.act.lo, p.act.hi},
                    dst);
}

template <class TY>
void requantize_rows_t(const QConvInt8Params& p, const int32_t* acc, int64_t rows, TY* y) {
  const int64_t m = p.out_channels;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < m; ++c) store_requantized(p, acc[r * m + c], c, y + r * m + c);
}

// The calling thread's scratch for x' (the GEMM path's converted input, the depthwise path's
// bordered copy): one buffer for both keeps a network's working set small.
uint8_t* input_scratch(size_t bytes) {
  thread_local std::vector<uint8_t> buffer;
  if (buffer.size() < bytes) buffer.resize(bytes);
  return buffer.data();
}

// x' as unsigned bytes: int8 inputs are offset by 128 (x ^ 0x80) once for the whole tensor,
// since a 3x3 convolution gathers each input byte up to nine times; uint8 inputs are used as
// they are.
template <class TX>
const uint8_t* unsigned_input(const TX* x, int64_t n) {
  if constexpr (std::is_same_v<TX, uint8_t>) {
    return x;
  } else {
    uint8_t* __restrict dst = input_scratch(size_t(n));
    const uint8_t* __restrict src = reinterpret_cast<const uint8_t*>(x);
    for (int64_t i = 0; i < n; ++i) dst[i] = src[i] ^ 0x80;
    return dst;
  }
}

// x' of the whole batch inside a border of the pad byte wide enough that every window lies
// inside, in the calling thread's scratch: [N][h][w] pixels `stride` bytes apart (C of them
// written; a wider stride keeps a pixel's loads within cache lines), then `spare` pad bytes
// for kernels that read past the last pixel. One pass, as the plain conversion to x' would be.
// phases > 1: each row's columns by phase (QDepthwiseRows::phase_w), w then phases * phase_w.
struct PaddedInput {
  const uint8_t* data;
  int64_t h, w, phase_w;
};

// One input row's pixels (c bytes each, int8 offset by 128) into a row of x' split into column
// phases, column pad_left + i at slot (col % phases) * phase_w + col / phases of `stride` bytes:
// read in order, each pixel in chunks of the widest of 16, 8, 4 or 1 bytes that divides c (a
// byte loop a pixel would cost as much as the convolution on few channels).
template <class TX, int64_t kBytes>
void phase_row_chunks(uint8_t* __restrict dst, const uint8_t* __restrict row, int64_t in_w, int64_t c, int64_t stride,
                      int64_t phases, int64_t phase_w, int64_t pad_left) {
  int64_t phase = pad_left % phases, slot = pad_left / phases;  // of column pad_left + i: no divisions a pixel
  for (int64_t i = 0; i < in_w; ++i, row += c) {
    uint8_t* to = dst + (phase * phase_w + slot) * stride;
    for (int64_t k = 0; k < c; k += kBytes) {
      uint8_t v[kBytes];
      std::memcpy(v, row + k, kBytes);
      if constexpr (!std::is_same_v<TX, uint8_t>)
        for (uint8_t& b : v) b ^= 0x80;
      std::memcpy(to + k, v, kBytes);
    }
    if (++phase == phases) phase = 0, ++slot;
  }
}

template <class TX>
void phase_row(uint8_t* dst, const uint8_t* row, int64_t in_w, int64_t c, int64_t stride, int64_t phases,
               int64_t phase_w, int64_t pad_left) {
  if (c % 16 == 0) phase_row_chunks<TX, 16>(dst, row, in_w, c, stride, phases, phase_w, pad_left);
  else if (c % 8 == 0) phase_row_chunks<TX, 8>(dst, row, in_w, c, stride, phases, phase_w, pad_left);
  else if (c % 4 == 0) phase_row_chunks<TX, 4>(dst, row, in_w, c, stride, phases, phase_w, pad_left);
  else phase_row_chunks<TX, 1>(dst, row, in_w, c, stride, phases, phase_w, pad_left);
}

template <class TX>
PaddedInput padded_input(const TX* x, const IntConvShape& s, int64_t stride, uint8_t pad, int64_t spare,
                         int64_t phases = 1) {
  const int64_t c = s.in_c;
  const int64_t h = std::max(s.pad_top + s.in_h, (s.out_h - 1) * s.stride_h + (s.kernel_h - 1) * s.dilation_h + 1);
  const int64_t columns = std::max(s.pad_left + s.in_w, (s.out_w - 1) * s.stride_w + (s.kernel_w - 1) * s.dilation_w + 1);
  const int64_t phase_w = (columns + phases - 1) / phases, w = phase_w * phases;
  uint8_t* const data = input_scratch(size_t(s.batch * h * w * stride + spare));
  uint8_t* dst = data;
  const int64_t left = s.pad_left * stride, right = (w - s.pad_left - s.in_w) * stride;
  auto convert = [](uint8_t* __restrict to, const uint8_t* __restrict from, int64_t n) {
    if constexpr (std::is_same_v<TX, uint8_t>) std::memcpy(to, from, size_t(n));
    else
      for (int64_t i = 0; i < n; ++i) to[i] = from[i] ^ 0x80;
  };
  for (int64_t n = 0; n < s.batch; ++n)
    for (int64_t r = 0; r < h; ++r, dst += w * stride) {
      const int64_t ih = r - s.pad_top;
      if (ih < 0 || ih >= s.in_h) {
        std::memset(dst, pad, size_t(w * stride));
        continue;
      }
      const uint8_t* row = reinterpret_cast<const uint8_t*>(x) + (n * s.in_h + ih) * s.in_w * c;
      if (phases > 1) {  // the pad bytes, then each pixel (read in order) where its phase puts it
        std::memset(dst, pad, size_t(w * stride));
        phase_row<TX>(dst, row, s.in_w, c, stride, phases, phase_w, s.pad_left);
        continue;
      }
      std::memset(dst, pad, size_t(left));
      if (stride == c) convert(dst + left, row, s.in_w * c);
      else
        for (int64_t i = 0; i < s.in_w; ++i) convert(dst + left + i * stride, row + i * c, c);  // the gaps are not read into outputs
      std::memset(dst + left + s.in_w * stride, pad, size_t(right));
    }
  std::memset(dst, pad, size_t(spare));
  return {data, h, w, phases > 1 ? phase_w : 0};
}

// Depthwise: x' copied with a border of its zero point (int8 inputs offset by 128 on the way),
// so every window lies inside; then output rows over the threads (simd/qdepthwise_int8.cpp).
// The copy is in the calling thread's scratch; workers only read it.
constexpr int64_t kDepthwiseSpare = 128;  // bytes the kernel may read past the last pixel

template <class TX, class TY>
void depthwise(const QConvInt8Params& p, const TX* x, const IntConvShape& s, TY* y, ThreadPool* pool) {
  EK_CHECK(p.dw_layout == qdepthwise_int8_layout(),
           "qconv_nhwc_int8: the depthwise weights were packed for another ISA's kernel");
  const int64_t C = s.out_c, taps = s.kernel_h * s.kernel_w;
  const uint8_t zp = uint8_t(p.x_zero_point + input_offset(p.x_dtype));
  // Several pixels a group when they fit; at stride_w > 1 from x' split into column phases,
  // whose copy costs more than two pixels a vector save (32 channels at stride 2: +5%; 16: -18%).
  const bool many = p.dw_many.w && (s.stride_w == 1 || (s.kernel_w <= kQdwMaxPhasedTaps && p.dw_many.pixels >= 4));
  const QDepthwisePacked* packed = many ? &p.dw_many : &p.dw_one;
  // One pixel a group: pixels a whole number of blocks apart, so that loads do not straddle
  // cache lines when C is not a multiple of the vector (58 channels: 64 apart).
  const int64_t P = packed->pixels == 1 ? packed->padded_lanes : C;
  const PaddedInput in = padded_input(x, s, P, zp, kDepthwiseSpare, packed->pixels > 1 ? s.stride_w : 1);
  const QDepthwiseRows rows{in.data, in.h, in.w, C, s.out_h, s.out_w, s.stride_h, s.stride_w, P, s.kernel_h, s.kernel_w,
                            s.dilation_h, s.dilation_w, packed, p.y_zero_point, p.act.lo, p.act.hi, y,
                            std::is_same_v<TY, int8_t>, in.phase_w};
  const double flops = 2.0 * double(s.batch * s.out_h * s.out_w) * double(C) * double(taps);
  parallel_for(flops >= 2e6 ? pool : nullptr, s.batch * s.out_h,
               [&](int64_t begin, int64_t end) { qdepthwise_int8(rows, begin, end); });
}

// Whether every channel's zero point fits in the rounding constant (|zp| 2^(31+e) < 2^61: the
// sum stays within 64 bits) and whether some multiplier is above 1 (a left shift first).
void requant_record_flags(const QConvInt8Params& p, bool* zero_point_added, bool* shifts_left) {
  int32_t max_right = 0;
  *shifts_left = false;
  for (int64_t c = 0; c < p.out_channels; ++c) {
    max_right = std::max(max_right, p.channels.right[size_t(c)]);
    *shifts_left = *shifts_left || p.channels.left[size_t(c)] > 0;
  }
  *zero_point_added = max_right <= 22;
}

// The depthwise weights and constants for groups of `pixels` output pixels, in the kernel's
// order (qconv_int8.h), the zero-point term folded into the bias.
QDepthwisePacked pack_depthwise(const QConvInt8Params& p, const int8_t* w, int64_t kernel_h, int64_t kernel_w,
                                int64_t pixels, const QDepthwiseLayout& layout) {
  const int64_t C = p.out_channels, taps = kernel_h * kernel_w, row_quads = (kernel_h + 3) / 4;
  const int64_t quads = kernel_w * row_quads, weight_bytes = layout.vnni ? 1 : 2;
  QDepthwisePacked k;
  k.pixels = pixels, k.lanes = pixels * C;
  int64_t padded = 0, blocks = 0;  // lanes rounded up to whole blocks
  for (; padded < k.lanes; ++blocks) padded += qdepthwise_block_width(k.lanes - padded, layout.vector_bytes);
  k.padded_lanes = padded;
  k.w = std::static_pointer_cast<int8_t>(allocate_aligned(size_t(padded * quads * 4 * weight_bytes), true));
  k.constants = std::static_pointer_cast<uint8_t>(allocate_aligned(size_t(blocks * kQdwBlockConstants), true));
  const int32_t zp = p.x_zero_point + input_offset(p.x_dtype);
  requant_record_flags(p, &k.zero_point_added, &k.shifts_left);
  k.requant32 = true;
  for (int64_t c0 = 0, width = 0, b = 0; c0 < k.lanes; c0 += width, ++b) {
    width = qdepthwise_block_width(k.lanes - c0, layout.vector_bytes);
    int8_t* block = k.w.get() + c0 * quads * 4 * weight_bytes;
    const int64_t per = width / 4;
    for (int64_t i = 0; i < width; ++i) {
      const int64_t lane = c0 + qdepthwise_lane_channel(width, i);
      if (lane >= k.lanes) continue;
      const int64_t c = lane % C, q = i / per, kk = i % per;
      int64_t sum = 0, positive = 0;
      for (int64_t t = 0; t < taps; ++t) {
        const int8_t v = w[c * taps + t];
        const int64_t kh = t / kernel_w, kw = t % kernel_w, slot = kh % 4;
        sum += v;
        positive += std::max<int64_t>(v, 0);
        int8_t* vec = block + ((kw * row_quads + kh / 4) * 4 + q) * width * weight_bytes;
        if (layout.vnni) {
          vec[kk * 4 + slot] = v;
        } else {  // int16 pairs: rows 0 and 2 in the first vector, 1 and 3 in the second
          const int16_t v16 = v;
          std::memcpy(vec + (slot & 1) * width + (2 * kk + slot / 2) * 2, &v16, 2);
        }
      }
      // The sums of x' (0..255) times the weights: 255 times the negative ones' sum at least.
      const bool fits = pack_requant_lane(k.constants.get() + (b * 4 + i / 16) * kRequantRecordBytes, i % 16,
                                          int32_t(int64_t(p.bias[size_t(c)]) - int64_t(zp) * sum),
                                          p.multiplier[size_t(c)], p.y_zero_point, k.zero_point_added,
                                          255 * (sum - positive), 255 * positive);
      k.requant32 = k.requant32 && fits;
    }
  }
  return k;
}

// The GEMM path over chunks of output pixels, every panel over each tile of rows. A 1x1,
// stride-1, unpadded convolution whose rows need no padding to a multiple of 4 reads its rows
// where they lie in x'; with VNNI, a convolution whose taps fill whole quads (C/group a
// multiple of 4, or row taps) reads each tap in place in the padded x'; otherwise the taps are
// gathered into rows of k_padded bytes.
constexpr int64_t kRowTapSlack = 64;  // pad bytes after x': a row tap reads up to 3 past its kernel row

template <class TX, class TY>
void gemm_conv(const QConvInt8Params& p, const TX* x, const IntConvShape& s, TY* y, ThreadPool* pool) {
  const int64_t rows = s.batch * s.out_h * s.out_w, kp = p.k_padded, cg = p.in_per_group;
  const int64_t mg = p.out_channels / p.group;
  if (rows == 0) return;
  const uint8_t pad = uint8_t(p.x_zero_point + input_offset(p.x_dtype));
  const bool direct = s.kernel_h == 1 && s.kernel_w == 1 && s.stride_h == 1 && s.stride_w == 1 && s.pad_top == 0 &&
                      s.pad_left == 0 && s.out_h == s.in_h && s.out_w == s.in_w && p.k == kp;
  const bool fused = qgemm_int8_indirect_available();  // the micro-kernel stores int8 itself
  const bool indirect = !direct && fused && (p.row_taps || cg % 4 == 0);
  const bool gather = !direct && !indirect;
  const uint8_t* xu = indirect ? nullptr : unsigned_input(x, s.batch * s.in_h * s.in_w * s.in_c);
  // Indirect: each pixel's taps are its base in the padded x' plus these offsets.
  PaddedInput padded{nullptr, 0, 0, 0};
  thread_local std::vector<int64_t> tap_offsets;  // the calling thread's; workers read it through `offsets`
  tap_offsets.clear();
  if (indirect) {
    padded = padded_input(x, s, s.in_c, pad, kRowTapSlack);
    for (int64_t kh = 0; kh < s.kernel_h; ++kh)
      for (int64_t kw = 0; kw < (p.row_taps ? 1 : s.kernel_w); ++kw)
        tap_offsets.push_back((kh * s.dilation_h * padded.w + kw * s.dilation_w) * s.in_c);
  }
  const int64_t* offsets = tap_offsets.data();
  const int64_t taps = int64_t(tap_offsets.size());
  // Gather: taps kw = 0.. of one kernel row are one run of KW * C bytes when they step one pixel
  // at a time through a single group's whole channel range; row taps pad each run to kc.
  const bool row_runs = p.group == 1 && s.stride_w > 0 && s.dilation_w == 1;
  const int64_t run = s.kernel_w * cg, row_bytes = p.row_taps ? p.kc : run;
  const int64_t chunks = (rows + kChunkRows - 1) / kChunkRows;
  const double flops = 2.0 * double(rows) * double(p.out_channels) * double(p.k);
  parallel_for(flops >= 2e6 ? pool : nullptr, chunks, [&](int64_t begin, int64_t end) {
    thread_local std::vector<uint8_t> gathered;  // this thread's, kept between runs
    thread_local std::vector<int32_t> sums;
    if (gather && gathered.size() < size_t(kChunkRows * kp)) gathered.resize(size_t(kChunkRows * kp));
    if (!fused && sums.size() < size_t(kTileRows * p.panels_per_group * kQGemmPanel))
      sums.resize(size_t(kTileRows * p.panels_per_group * kQGemmPanel));
    for (int64_t chunk = begin; chunk < end; ++chunk) {
      const int64_t r0 = chunk * kChunkRows, nr = std::min(kChunkRows, rows - r0);
      for (int64_t g = 0; g < p.group; ++g) {
        const uint8_t* a = direct ? xu + r0 * s.in_c + g * cg : gathered.data();
        const int64_t a_stride = direct ? s.in_c : kp;
        if (gather) {
          int64_t n = r0 / (s.out_h * s.out_w), oh = r0 / s.out_w % s.out_h, ow = r0 % s.out_w;
          for (int64_t r = 0; r < nr; ++r) {
            uint8_t* dst = gathered.data() + r * kp;
            const int64_t ih0 = oh * s.stride_h - s.pad_top, iw0 = ow * s.stride_w - s.pad_left;
            const bool whole_row = row_runs && iw0 >= 0 && iw0 + s.kernel_w <= s.in_w;
            for (int64_t kh = 0; kh < s.kernel_h; ++kh) {
              const int64_t ih = ih0 + kh * s.dilation_h;
              uint8_t* d = dst + kh * row_bytes;
              if (row_bytes > run) std::memset(d + run, 0, size_t(row_bytes - run));
              if (ih < 0 || ih >= s.in_h) {
                std::memset(d, pad, size_t(run));
                continue;
              }
              const uint8_t* src_row = xu + (n * s.in_h + ih) * s.in_w * s.in_c + g * cg;
              if (whole_row) {
                std::memcpy(d, src_row + iw0 * s.in_c, size_t(run));
                continue;
              }
              for (int64_t kw = 0; kw < s.kernel_w; ++kw, d += cg) {
                const int64_t iw = iw0 + kw * s.dilation_w;
                if (iw < 0 || iw >= s.in_w) std::memset(d, pad, size_t(cg));
                else std::memcpy(d, src_row + iw * s.in_c, size_t(cg));
              }
            }
            std::memset(dst + p.k, 0, size_t(kp - p.k));
            if (++ow == s.out_w) {
              ow = 0;
              if (++oh == s.out_h) oh = 0, ++n;
            }
          }
        }
        // Each tile of rows against every panel of the group, sums side by side in one row
        // buffer, then each row requantized over all the group's channels in one call.
        // (With VNNI the micro-kernel requantizes its tile in registers and stores int8.)
        const int64_t row_len = p.panels_per_group * kQGemmPanel;
        for (int64_t t0 = 0; t0 < nr; t0 += kTileRows) {
          const int64_t mr = std::min(kTileRows, nr - t0);
          const uint8_t* bases[kTileRows];
          if (indirect) {
            const int64_t r = r0 + t0;
            int64_t n = r / (s.out_h * s.out_w), oh = r / s.out_w % s.out_h, ow = r % s.out_w;
            for (int64_t i = 0; i < mr; ++i) {
              bases[i] = padded.data + ((n * padded.h + oh * s.stride_h) * padded.w + ow * s.stride_w) * s.in_c + g * cg;
              if (++ow == s.out_w) {
                ow = 0;
                if (++oh == s.out_h) oh = 0, ++n;
              }
            }
          }
          // With VNNI, full tiles take two panels a call while two remain.
          for (int64_t pnl = 0, np = 1; pnl < p.panels_per_group; pnl += np) {
            np = fused && mr == kTileRows && pnl + 1 < p.panels_per_group ? 2 : 1;
            const int8_t* w = p.packed.get() + (g * p.panels_per_group + pnl) * kp * kQGemmPanel;
            const int64_t c0 = g * mg + pnl * kQGemmPanel;
            const uint8_t* records =
                p.panel_records ? p.panel_records.get() + (g * p.panels_per_group + pnl) * kRequantRecordBytes : nullptr;
            const QGemmOutput out{p.packed_bias.data() + c0, records, p.records_zero_point_added, p.records_shift_left,
                                  p.records_requant32,
                                  std::min(np * kQGemmPanel, mg - pnl * kQGemmPanel),
                                  p.y_zero_point, p.act.lo, p.act.hi, y + (r0 + t0) * p.out_channels + c0,
                                  p.out_channels, std::is_same_v<TY, int8_t>};
            int32_t* sum = fused ? nullptr : sums.data() + pnl * kQGemmPanel;
            if (indirect)
              qgemm_int8_tile_indirect({mr, taps, p.kc, bases, offsets, w, sum, row_len, fused ? &out : nullptr, np});
            else
              qgemm_int8_tile({mr, kp, a + t0 * a_stride, a_stride, w, sum, row_len, fused ? &out : nullptr, np});
          }
          if (!fused)
            for (int64_t r = 0; r < mr; ++r)
              store_channels(p, sums.data() + r * row_len, p.packed_bias.data() + g * mg, g * mg, mg,
                             y + (r0 + t0 + r) * p.out_channels + g * mg);
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
                        int64_t kernel_h, int64_t kernel_w, int64_t group, int64_t dilation_w) {
  for (int32_t z : w_zp)
    if (z != 0) return;  // asymmetric weights: reference path
  const int64_t m = p.out_channels, mg = m / group, taps = kernel_h * kernel_w;
  p.in_per_group = in_per_group, p.kernel_h = kernel_h, p.kernel_w = kernel_w, p.group = group;
  p.depthwise = in_per_group == 1 && mg == 1;
  // Row taps where the channels of a tap leave quads part-filled and the micro-kernel can read
  // taps in place: the kernel rows' gaps cost a few zero products, no gather.
  p.row_taps = !p.depthwise && group == 1 && in_per_group % 4 != 0 && dilation_w == 1 && qgemm_int8_indirect_available();
  p.kc = p.row_taps ? (kernel_w * in_per_group + 3) / 4 * 4 : in_per_group;
  p.k = p.row_taps ? kernel_h * p.kc : taps * in_per_group;
  p.k_padded = (p.k + 3) / 4 * 4;
  p.packed_bias = p.bias;
  p.channels.set(p.multiplier);
  if (p.depthwise) {  // w is [M][taps]
    if (kernel_h > 16) return;  // the kernel keeps up to four quads of rows: reference path
    p.dw_layout = qdepthwise_int8_layout();
    p.dw_one = pack_depthwise(p, w, kernel_h, kernel_w, 1, p.dw_layout);
    if (2 * m <= p.dw_layout.vector_bytes)
      p.dw_many = pack_depthwise(p, w, kernel_h, kernel_w, p.dw_layout.vector_bytes / m, p.dw_layout);
    p.packed = p.dw_one.w;
    return;
  }
  p.panels_per_group = (mg + kQGemmPanel - 1) / kQGemmPanel;
  const int64_t bytes = group * p.panels_per_group * p.k_padded * kQGemmPanel;
  p.packed = std::shared_ptr<int8_t>(new int8_t[size_t(bytes)](), std::default_delete<int8_t[]>());
  const int32_t corr = p.x_zero_point + input_offset(p.x_dtype);
  std::vector<int64_t> weight_positive(static_cast<size_t>(m)), weight_negative(static_cast<size_t>(m));  // per channel: the sums' bounds / 255
  for (int64_t g = 0; g < group; ++g)
    for (int64_t pnl = 0; pnl < p.panels_per_group; ++pnl) {
      int8_t* dst = p.packed.get() + (g * p.panels_per_group + pnl) * p.k_padded * kQGemmPanel;
      for (int64_t j = 0; j < kQGemmPanel; ++j) {
        const int64_t local = pnl * kQGemmPanel + j;
        if (local >= mg) continue;
        const int64_t o = g * mg + local;
        int64_t sum = 0;
        for (int64_t t = 0; t < taps; ++t) {
          const int64_t kh = t / kernel_w, kw = t % kernel_w;
          const int64_t k0 = p.row_taps ? kh * p.kc + kw * in_per_group : t * in_per_group;
          for (int64_t c = 0; c < in_per_group; ++c) {
            const int8_t v = w[(o * in_per_group + c) * taps + t];
            const int64_t k = k0 + c;
            dst[(k >> 2) * 4 * kQGemmPanel + j * 4 + (k & 3)] = v;
            sum += v;
            (v > 0 ? weight_positive : weight_negative)[size_t(o)] += v;
          }
        }
        p.packed_bias[size_t(o)] = int32_t(int64_t(p.bias[size_t(o)]) - int64_t(corr) * sum);
      }
    }
  p.packed_bias.resize(size_t(m + kQGemmPanel), 0);  // a panel's 16-lane bias load stays inside
  if (!qgemm_int8_indirect_available()) return;  // the VNNI tiles' fused requantization only
  requant_record_flags(p, &p.records_zero_point_added, &p.records_shift_left);
  p.records_requant32 = true;
  const int64_t panels = group * p.panels_per_group;
  p.panel_records = std::static_pointer_cast<uint8_t>(allocate_aligned(size_t(panels * kRequantRecordBytes), true));
  for (int64_t g = 0; g < group; ++g)
    for (int64_t pnl = 0; pnl < p.panels_per_group; ++pnl)
      for (int64_t j = 0; j < kQGemmPanel && pnl * kQGemmPanel + j < mg; ++j) {
        const int64_t o = g * mg + pnl * kQGemmPanel + j;
        const bool fits = pack_requant_lane(p.panel_records.get() + (g * p.panels_per_group + pnl) * kRequantRecordBytes,
                                            j, p.packed_bias[size_t(o)], p.multiplier[size_t(o)], p.y_zero_point,
                                            p.records_zero_point_added, 255 * weight_negative[size_t(o)],
                                            255 * weight_positive[size_t(o)]);
        p.records_requant32 = p.records_requant32 && fits;
      }
}

bool pack_requant_lane(uint8_t* record, int64_t l, int32_t bias, const QuantMultiplier& multiplier,
                       int32_t y_zero_point, bool zero_point_added, int64_t sum_lo, int64_t sum_hi) {
  auto put = [&](QDepthwiseRow row, int64_t index, auto value) {
    std::memcpy(record + row * kQdwRowBytes + index * int64_t(sizeof(value)), &value, sizeof(value));
  };
  // As RequantizeChannels::set: shifts within [0, 31] each way.
  const int32_t left = std::min(std::max(multiplier.shift, 0), 31), e = std::min(std::max(-multiplier.shift, 0), 31);
  put(kQdwBias, l, bias);
  put(kQdwMultiplier, l, multiplier.multiplier);
  if (l % 2) put(kQdwMultiplierOdd, l - 1, multiplier.multiplier);
  put(kQdwLeft, l, left);
  put(kQdwRight, l, e);
  const int64_t add = (int64_t(1) << 30) + (e > 0 ? int64_t(1) << (30 + e) : 0) +
                      (zero_point_added ? int64_t(y_zero_point) * (int64_t(1) << (31 + e)) : 0);
  put(QDepthwiseRow(kQdwAddEven + l % 2), l / 2, add);
  put(QDepthwiseRow(kQdwLimitEven + l % 2), l / 2, e > 0 ? -(int64_t(1) << 30) : INT64_MIN);
  put(QDepthwiseRow(kQdwShiftEven + l % 2), l / 2, int64_t(31 + e));
  Requant32 k;
  if (!requant32_constants(multiplier, y_zero_point, bias + sum_lo, bias + sum_hi, &k)) return false;
  put(kQdwLeft32, l, k.left);
  put(kQdwAdd32, l, k.add);
  put(kQdwCorrection32, l, k.correction);
  put(kQdwShift32, l, k.shift);
  return true;
}

void qconv_nhwc_int8(const QConvInt8Params& p, const void* x, const IntConvShape& s, void* y, ThreadPool* pool) {
  EK_CHECK(qconv_packed(p) && s.out_c == p.out_channels && s.in_c == p.in_per_group * p.group &&
               s.kernel_h == p.kernel_h && s.kernel_w == p.kernel_w && s.group == p.group &&
               (!p.row_taps || s.dilation_w == 1),
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
