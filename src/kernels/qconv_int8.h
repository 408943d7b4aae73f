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
// plus fixed offsets. Depthwise convolutions (one channel per group) run a channel-vector loop
// instead. Results do not depend on the ISA or the thread
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
  std::shared_ptr<int8_t> packed;           // panels (GEMM) or [taps][M] (depthwise)
  int64_t panels_per_group = 0;
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

// One output row (image n, row oh) of a depthwise convolution (simd/qdepthwise_int8.cpp).
struct QDepthwiseRow {
  const uint8_t* x;        // x' of image n, NHWC: unsigned bytes (int8 inputs offset by 128)
  int64_t in_h, in_w, channels;
  int64_t ih0;             // oh * stride_h - pad_top
  int64_t kernel_h, kernel_w, stride_w, pad_left, dilation_h, dilation_w, out_w;
  int32_t x_zero_point;    // of x' (the input's zero point plus the offset)
  const int8_t* w;         // [taps][channels]
  const int32_t* bias;     // [channels]
  const int32_t *multiplier, *left, *right;  // [channels] (RequantizeChannels)
  int32_t y_zero_point, lo, hi;
  void* y;                 // [out_w][channels]
  bool y_signed;           // int8, else uint8
};
void qdepthwise_int8_row(const QDepthwiseRow& r);  // dispatched to the best ISA

// The micro-kernel's ISA on this CPU ("AVX3_DL" when VNNI runs), for inspect/bench output.
const char* qgemm_int8_target();

// Requantized output written by the micro-kernel itself (qgemm_int8_indirect_available() ISAs):
// the 16 channels of the panel from `bias` etc. (arrays readable for 16 entries), `channels` of
// them stored, row r at y + r * y_stride elements.
struct QGemmOutput {
  const int32_t* bias;
  const int32_t *multiplier, *left, *right;
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
