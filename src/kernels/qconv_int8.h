// The int8 convolution / fully-connected engine behind com.edgekit:QLinearConvNhwc and
// QFullyConnected (NHWC activations, int32 accumulation, fixed-point requantization).
//
// A convolution is a GEMM of output pixels x output channels. For a chunk of output pixels
// the input taps are gathered into rows of K = KH*KW*C/group bytes (padding pixels hold the
// input zero point, so they add nothing), stored as unsigned bytes x' = x + 128 for int8 x
// (x itself for uint8), each row padded to a multiple of 4. The weights (int8, symmetric:
// zero point 0) are packed once in panels of 16 output channels, four k at a time:
//   panel p, quad q: [16 channels][4 bytes] = w[c][4q .. 4q+3]
// with k = tap * C/group + channel; or, where the channels of a tap do not fill whole quads and
// VNNI runs (a first layer on 1 or 3 channels), k = kh * kc + kw * C + c with kc = KW * C
// rounded up to 4 and zero weights in the gaps ("row taps": one kernel row is one tap of kc
// contiguous input bytes). The order is that of AVX-512 VNNI's vpdpbusd (u8 x s8 -> i32 sums of four); the
// AVX2 and portable paths sign-extend it to int16 and use pairwise multiply-adds
// (simd/qgemm_int8.cpp). Because x' = x + off, the accumulator is corrected once per channel:
//   acc = B[m] - (x_zp + off) * sum_k w[m][k] + sum_k x'[k] w[m][k]
// The correction is folded into the packed bias. With VNNI the micro-kernel reads the taps in
// place (no gather): x' is copied once a run into the calling thread's buffer inside a border
// of the pad byte, so every window lies inside it and the taps of a pixel are one base pointer
// plus fixed offsets. Depthwise convolutions (one channel per group) run their own kernel
// (below). Results do not depend on the ISA or the thread
// count: integer arithmetic throughout, requantized by requantize.h's TFLite rules.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "core/dtype.h"
#include "kernels/quant_ref.h"
#include "kernels/requantize.h"

namespace edgekit {

class ThreadPool;

// Depthwise convolutions (simd/qdepthwise_int8.cpp). The input is copied as x' with a border
// of its zero point zp', so every window lies inside the image and the zero-point term is a
// per-channel constant folded into the bias: acc = B[c] - zp' sum_t w[c][t] + sum_t x'[t] w[c][t].
// Channels go in blocks (a vector of bytes, or a half or quarter of one for the last
// channels), taps in quads down a kernel column (rows 4g .. 4g + 3 of column kw; rows past
// the kernel have zero weights): the four rows' bytes are interleaved so that one int32 lane
// holds one channel's four inputs, multiplied by its four weights and summed in one step
// (AVX-512 VNNI's vpdpbusd; elsewhere two pairwise int16 multiply-adds). An interleaved input
// column serves every output pixel whose window covers it. The interleave works within
// 128-bit blocks, so in a block of `width` channels lane k of accumulator q (of four) holds
// channel 16 (k / 4) + 4 q + k % 4; weights and requantization constants are packed in that
// lane order, and the saturating packs that narrow the four accumulators to bytes restore
// the channel order.
struct QDepthwiseLayout {  // of the kernel this CPU runs
  int64_t vector_bytes = 0;
  bool vnni = false;       // weights as byte quads (vpdpbusd), else as int16 pairs
  bool operator==(const QDepthwiseLayout& o) const { return vector_bytes == o.vector_bytes && vnni == o.vnni; }
};
QDepthwiseLayout qdepthwise_int8_layout();

// The width of the block that starts `remaining` channels before the end: a whole vector
// while more than half of one remains, else the smallest of its halves down to 16 that holds them.
inline int64_t qdepthwise_block_width(int64_t remaining, int64_t vector_bytes) {
  int64_t width = vector_bytes;
  while (width > 16 && remaining <= width / 2) width /= 2;
  return width;
}

// The channel of lane i of a block of `width` channels (i = q * width / 4 + k, as above).
inline int64_t qdepthwise_lane_channel(int64_t width, int64_t i) {
  const int64_t per_accumulator = width / 4, q = i / per_accumulator, k = i % per_accumulator;
  return 16 * (k / 4) + 4 * q + k % 4;
}

// Weights and constants of one depthwise layer for `pixels` adjacent output pixels at a time
// (stride 1: their inputs are adjacent too), so a layer of few channels still fills a vector:
// a group's lane l is channel l % C of pixel l / C.
struct QDepthwisePacked {
  int64_t pixels = 1, lanes = 0;  // lanes = pixels * C
  int64_t padded_lanes = 0;       // rounded up to whole blocks
  // Per block, per quad (kernel column kw, rows 4g..: quad kw * row_quads + g), per
  // accumulator q: `width` bytes of byte quads (VNNI), or 2 x `width` bytes of int16 pairs
  // (rows 0 and 2, then rows 1 and 3).
  std::shared_ptr<int8_t> w;
  // Per block (the i-th, whatever its width): the constants of its lanes i = q * width / 4 + k
  // (the four accumulators one after the other) as rows of 64 bytes (QDepthwiseRow), 16 lanes
  // at a time: lanes 16v .. 16v + 15 in record v, so that one pointer reaches them all and a
  // narrow block's accumulators joined into one vector find theirs together. AVX-512
  // requantizes in 64-bit lanes: both rounding steps of MultiplyByQuantizedMultiplier
  // ((x m + 2^30) >> 31, then round half away from zero by 2^e) as one shift,
  // (x m + add - (x m < limit ? 2^31 : 0)) >> shift with add = 2^30 + 2^(30+e) (+ zp_y 2^(31+e)
  // when zero_point_added), limit -2^30 (e > 0; else never) and shift 31 + e, for the even
  // lanes and for the odd ones. Where the weights and biases bound every accumulator tightly
  // enough (requant32), the cheaper 32-bit form of requantize.h's Requant32 instead, the zero
  // point always in its rounding constant.
  std::shared_ptr<uint8_t> constants;
  bool zero_point_added = false;  // every e small enough for zp_y 2^(31+e) to fit
  bool shifts_left = false;       // some multiplier > 1 (x << left first)
  bool requant32 = false;         // every lane's Requant32 rows valid
};
enum QDepthwiseRow : int64_t {
  kQdwBias, kQdwMultiplier, kQdwMultiplierOdd /* lane 2k: lane 2k + 1's */, kQdwLeft, kQdwRight,
  kQdwAddEven, kQdwAddOdd, kQdwLimitEven, kQdwLimitOdd, kQdwShiftEven, kQdwShiftOdd,
  kQdwLeft32, kQdwAdd32, kQdwCorrection32, kQdwShift32,  // Requant32's (zero when it does not fit)
  kQdwRows
};
constexpr int64_t kQdwRowBytes = 64, kQdwBlockConstants = 4 * kQdwRows * kQdwRowBytes;
constexpr int64_t kRequantRecordBytes = kQdwRows * kQdwRowBytes;  // 16 lanes

// Lane l (0..15) of a record of those rows: one channel's bias (zero-point term folded in),
// multiplier and the 64-bit rounding constants (the zero point in them when zero_point_added),
// and the 32-bit ones for sums in [sum_lo, sum_hi] (before the bias). Returns whether those fit.
bool pack_requant_lane(uint8_t* record, int64_t l, int32_t bias, const QuantMultiplier& multiplier,
                       int32_t y_zero_point, bool zero_point_added, int64_t sum_lo, int64_t sum_hi);

struct QConvInt8Params {
  int64_t out_channels = 0;
  DType x_dtype = DType::i8, y_dtype = DType::i8;
  int32_t x_zero_point = 0, y_zero_point = 0;
  QuantRange act{-128, 127};                // output clamp (dtype range and fused activation)
  std::vector<int32_t> bias;                // [M] as given (reference path)
  std::vector<QuantMultiplier> multiplier;  // [M]
  RequantizeChannels channels;              // the same, as arrays (set by pack_qconv_weights; 16 spare)
  // Packed by pack_qconv_weights:
  int64_t in_per_group = 0, kernel_h = 1, kernel_w = 1, group = 1;
  int64_t k = 0, k_padded = 0;              // per group: KH*KW*C/group (row taps: KH*kc), rounded up to 4
  bool row_taps = false;                    // k = kh * kc + kw * C + c (group 1, dilation_w 1)
  int64_t kc = 0;                           // bytes a tap: C/group, or row taps: KW*C rounded up to 4
  bool depthwise = false;                   // C/group == 1 and M == group
  std::vector<int32_t> packed_bias;         // [M + 16] with the zero-point correction (16 spare zeros)
  std::shared_ptr<int8_t> packed;           // panels (GEMM); depthwise: dw_one.w
  int64_t panels_per_group = 0;
  // With VNNI: the GEMM tiles' requantization constants, one record (kRequantRecordBytes) a
  // panel (group-major, lane j = the panel's channel j), as the depthwise kernel's, and its flags.
  std::shared_ptr<uint8_t> panel_records;
  bool records_zero_point_added = false, records_shift_left = false, records_requant32 = false;
  // Depthwise (qdepthwise_int8): one pixel a group, and several when C is at most half a
  // vector (else dw_many.w is null).
  QDepthwiseLayout dw_layout;
  QDepthwisePacked dw_one, dw_many;
};

constexpr int64_t kQGemmPanel = 16;  // output channels per packed panel

// Packs OIHW int8 weights with zero points w_zp (must all be 0 for the fast path; else the
// params stay unpacked and the op runs its reference loop). Row taps are chosen here (they need
// the convolution's dilation_w to be 1).
void pack_qconv_weights(QConvInt8Params& p, const int8_t* w, const std::vector<int32_t>& w_zp, int64_t in_per_group,
                        int64_t kernel_h, int64_t kernel_w, int64_t group, int64_t dilation_w = 1);
inline bool qconv_packed(const QConvInt8Params& p) { return p.packed != nullptr; }

// y = requantized conv(x); x, y NHWC of p's dtypes, s with nhwc = true.
void qconv_nhwc_int8(const QConvInt8Params& p, const void* x, const IntConvShape& s, void* y, ThreadPool* pool);

// y[rows, M] = requantized x[rows, K] x W^T: a fully-connected layer (a 1x1 conv over rows).
void qgemm_int8(const QConvInt8Params& p, const void* x, int64_t rows, void* y, ThreadPool* pool);

// y[r, m] = clamp(y_zp + MBQM(acc[r, m], multiplier[m])): the reference requantization
// (acc already holds the bias).
void requantize_rows(const QConvInt8Params& p, const int32_t* acc, int64_t rows, void* y);

struct QDepthwiseRows {
  const uint8_t* x;          // x' with its border, [N][in_h][in_w] pixels; readable 128 bytes past the end
  int64_t in_h, in_w, channels, out_h, out_w, stride_h, stride_w;
  int64_t pixel_bytes;       // between input pixels: C, or more (whole blocks: loads stay aligned) when pixels is 1
  int64_t kernel_h, kernel_w, dilation_h, dilation_w;
  const QDepthwisePacked* packed;
  int32_t y_zero_point, lo, hi;
  void* y;                   // [N][out_h][out_w][C]
  bool y_signed;             // int8, else uint8
  // 0: x's columns in order. Else (several pixels a group at stride_w > 1, kernel_w at most
  // kQdwMaxPhasedTaps) each row's columns by phase, column c at (c % stride_w) * phase_w +
  // c / stride_w: a group's pixels then read each tap from consecutive columns, as at stride 1.
  int64_t phase_w = 0;
};
constexpr int64_t kQdwMaxPhasedTaps = 16;
// Where x holds input column ow * stride_w + kw * dilation_w, the tap kw of output pixel ow
// (pixel ow + k's is k columns on, in either order).
inline int64_t qdepthwise_column(const QDepthwiseRows& r, int64_t ow, int64_t kw) {
  const int64_t c = ow * r.stride_w + kw * r.dilation_w;
  return r.phase_w ? c % r.stride_w * r.phase_w + c / r.stride_w : c;
}
// Output rows [row_begin, row_end) of N x out_h, dispatched to the best ISA.
void qdepthwise_int8(const QDepthwiseRows& r, int64_t row_begin, int64_t row_end);

// The micro-kernel's ISA on this CPU ("AVX3_DL" when VNNI runs), for inspect/bench output.
const char* qgemm_int8_target();

// Requantized output written by the micro-kernel itself (qgemm_int8_indirect_available() ISAs):
// the 16 channels of the panel from `bias` (readable for 16 entries) and `records`, `channels`
// of them stored, row r at y + r * y_stride elements.
struct QGemmOutput {
  const int32_t* bias;
  const uint8_t* records;  // the panels' requantization (QConvInt8Params::panel_records), NP of them
  bool zero_point_added, shifts_left, requant32;
  int64_t channels;
  int32_t zero_point, lo, hi;
  void* y;
  int64_t y_stride;
  bool y_signed;
};

// One tile for the micro-kernel: rows x' [mr][k_padded] (u8), one panel, out acc [mr][16].
struct QGemmTile {
  int64_t mr;             // 1..8
  int64_t k_padded;       // multiple of 4
  const uint8_t* a;       // row r at a + r * a_stride
  int64_t a_stride;
  const int8_t* w;        // the panel: k_padded / 4 quads of 64 bytes
  int32_t* acc;           // [mr][16] at acc + r * acc_stride, overwritten
  int64_t acc_stride = kQGemmPanel;
  const QGemmOutput* out = nullptr;  // set: requantized int8 to out->y instead of acc (VNNI only)
  int64_t panels = 1;     // 2: this panel and the next (the 16 channels after), mr 8, VNNI only
};
void qgemm_int8_tile(const QGemmTile& t);  // dispatched to the best ISA

// One row x' [k_padded] (u8) against `panels` consecutive packed panels: sums[p * 16 + j] for
// channel j of panel p, int32 (what qgemm_int8_tile gives with mr 1, panel by panel, in one call).
void qgemv_int8(const uint8_t* a, int64_t k_padded, const int8_t* w, int64_t panels, int32_t* sums);

// The same with the rows read in place (no gather): tap t of row r is the `kc` contiguous bytes
// at bases[r] + offsets[t] (kc a multiple of 4). The weights' quads of tap t start at quad
// t * kc / 4, as pack_qconv_weights lays them out.
struct QGemmIndirectTile {
  int64_t mr, taps, kc;
  const uint8_t* const* bases;  // [mr]
  const int64_t* offsets;       // [taps]
  const int8_t* w;
  int32_t* acc;                // [mr][16] at acc + r * acc_stride, overwritten
  int64_t acc_stride;
  const QGemmOutput* out = nullptr;  // as QGemmTile::out
  int64_t panels = 1;                // as QGemmTile::panels
};
// Whether this CPU's best ISA has the indirect kernel and the fused requantized output
// (AVX-512 VNNI); else callers gather and requantize the sums themselves.
bool qgemm_int8_indirect_available();
void qgemm_int8_tile_indirect(const QGemmIndirectTile& t);

}  // namespace edgekit
