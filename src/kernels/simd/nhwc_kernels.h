// The f32 NHWC micro-kernels behind kernels/nhwc_conv.h, written once with Highway
// (libhwy) and compiled for every x86 and ARM vector ISA it knows; the best one for this CPU
// is chosen at the first call (AVX-512, AVX2, NEON, SVE, or a portable 128-bit emulation).
// Callers prepare operands in the layouts described here and never touch vectors themselves.
//
// Indirect GEMM (as XNNPACK's igemm): the left operand is not a matrix but row pointers, one
// per output pixel and kernel tap, each to `kc` contiguous input channels (or to a zero row
// for padding), so a KxK convolution runs without im2col. The right operand is the weights,
// packed once in panels of `nr` output channels:
//   panel p: nr biases, then for each tap, for each k < kc: nr weights (zero-padded columns)
// A pointwise convolution or a GEMM is the case taps = 1.
#pragma once
#include <cstddef>
#include <cstdint>

namespace edgekit {

// What runs in the micro-kernel's registers after bias (and residual) are added: a clamp
// (Relu: lo = 0; Relu6: 0..6), then one activation. Gelu is applied by the caller on the
// stored rows.
struct NhwcEpilogue {
  enum class Act : uint8_t { none, hard_swish, leaky_relu, sigmoid, silu, hard_sigmoid, tanh };
  float lo = -__builtin_inff(), hi = __builtin_inff();
  Act act = Act::none;
  float alpha = 0.f, beta = 0.f;  // LeakyRelu: alpha; HardSigmoid: alpha * x + beta
};

// One tile of output pixels against one weight panel, over one block of the K dimension
// (taps x channels): blocks keep the panel's slice of weights in L1. The first block starts
// from the bias, later ones from the partial sums already in c; the last one adds the
// residual and runs the epilogue.
struct IgemmTile {
  int64_t mr;                // rows (pixels) in this tile, 1..IgemmLayout::mr
  int64_t n;                 // valid columns of the panel, 1..IgemmLayout::nr
  int64_t kc, taps;          // this block: kc channels of each of `taps` taps
  const float* const* a;     // [taps][layout.mr] row pointers; rows >= mr may repeat any valid row
  int64_t a_offset;          // added to every row pointer (the group's and block's first channel)
  const float* w;            // the block's first weight row in the panel
  int64_t w_tap_stride;      // floats between a tap's weights and the next tap's
  const float* bias;         // the panel's nr biases: first block; null: add to c
  float* c;                  // output row 0; row i at c + i * ldc
  int64_t ldc;
  bool last;                 // the last block: residual, then the epilogue
  const float* residual;     // same layout as c (row stride ldr), or null
  int64_t ldr;
  NhwcEpilogue epilogue;
  bool prefetch;             // the first tile of a block: weights come from memory, fetch ahead
  int64_t vectors;           // panel width: 2 vectors (nr), 1 (nr / 2, for narrow layers), or 0
                             // (nr / 4 = 8 lanes, layers of at most 8 channels; 16-lane ISAs)
  // With vectors 0 and one K block (bias given, last): w holds the panel's k rows in pairs,
  // interleaved by output channel (pair j of a tap, lane 2m + p: weight of k = 2j + p for
  // channel m; zero past kc), ceil(kc / 2) * 16 floats a tap: each multiply-add takes two k
  // of the row, broadcast as one 64-bit pair, over all 16 lanes (NhwcConvWeights::pairs).
  bool paired = false;
};

// y[j] += sum over k < kc of x[k] * w[k][j], for j < n, with w the f32 panels layout (the
// igemm's, taps = 1): `panels` panels of nr columns (a multiple of the vector's lanes),
// panel_floats apart, each nr biases (skipped) then kc rows of nr weights. A matrix-vector
// product, four panels a pass sharing each broadcast of x[k] (the recurrent cells' h x R).
struct GemvRun {
  const float* w;
  int64_t panels, nr, panel_floats, kc, n;
  const float* x;
  float* y;
};
void gemv_f32(const GemvRun& run);

struct IgemmLayout {
  int64_t mr, nr;  // tile rows and (full) panel width of the chosen ISA
  const char* isa;
};

IgemmLayout igemm_f32_layout();
// c[i][j] (=|+=) sum over the block of a[t][i][k] * w[t][k][j], for i < mr, j < n; the first
// block starts from bias[j], the last adds residual[i][j] and applies the epilogue.
void igemm_f32(const IgemmTile& tile);

// Depthwise convolution over output rows [row_begin, row_end) of N x OH (row r is image
// r / OH, output row r % OH), weights packed per block of `lanes` channels:
//   block b: lanes biases, then taps x lanes weights (zero-padded channels)
// Pixels whose window lies inside the image ([ox_lo, ox_hi) of rows whose window rows are all
// inside) read their taps at fixed offsets; the others skip the taps that fall outside.
struct DepthwiseRows {
  const float* x;            // [N, H, W, C]
  int64_t in_h, in_w, channels, out_h, out_w;
  int64_t kernel_h, kernel_w, stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left;
  int64_t ox_lo, ox_hi;
  const int64_t* offsets;    // [taps]: (ky * dilation_h * W + kx * dilation_w) * C
  const float* w;
  float* y;                  // [N, OH, OW, C]
  const float* residual;     // same layout as y, or null
  NhwcEpilogue epilogue;
  int64_t block_begin = 0, block_end = -1;  // channel blocks to compute (-1: to the last)
  // > 1: channels * pixels_per_vector == lanes, stride_w 1, every window inside the image,
  // out_w a multiple; each vector holds that many adjacent pixels (weights packed repeated).
  int64_t pixels_per_vector = 1;
  // > 0: floats between input pixels (else `channels`). With x_block_slab, x holds only the
  // channels of block block_begin (one block a call), from its first.
  int64_t x_pixel_stride = 0;
  bool x_block_slab = false;
};
// Every window inside the image: no padding left or on top, and the last row's window fits
// (valid convolutions, and small images copied with their border by depthwise_conv).
inline bool depthwise_windows_inside(const DepthwiseRows& g) {
  return g.pad_top == 0 && g.pad_left == 0 && g.ox_lo == 0 && g.ox_hi == g.out_w &&
         (g.out_h - 1) * g.stride_h + (g.kernel_h - 1) * g.dilation_h < g.in_h;
}
// Window columns of the last output column past the image's right edge (<= 0: none).
inline int64_t depthwise_right_overflow(const DepthwiseRows& g) {
  return (g.out_w - 1) * g.stride_w - g.pad_left + g.kernel_w - g.in_w;
}
// The geometry the kernel runs by output rows, padding skipped in the kernel: a 3x3 or 5x5
// kernel undilated across, stride 1 or 2, padded by at most half the kernel each side, rows of
// at least 4 pixels (rows of 5 and 6 recompute some in a group of 4 ending at the row's end,
// and still beat the groups across rows of an image copied inside its border: 6x6x128
// 3.0 -> 1.9 us, 25x5x64 5.0 -> 4.3 us on AMD Zen 4). The kernel also needs one pixel a vector.
inline bool depthwise_by_rows(const DepthwiseRows& g) {
  const int64_t K = g.kernel_w, over = depthwise_right_overflow(g);
  return g.kernel_h == K && (K == 3 || K == 5) && g.dilation_w == 1 && (g.stride_w == 1 || g.stride_w == 2) &&
         g.pad_left <= K / 2 && over <= K / 2 && g.out_w >= 4;
}
int64_t depthwise_f32_lanes();  // the channel block width of the chosen ISA
void depthwise_f32(const DepthwiseRows& run, int64_t row_begin, int64_t row_end);

// Pooling over one run of output pixels with the same row pointers (padding points at a row
// of -inf for max, of zeros for average). `scale` holds one multiplier per pixel (average:
// 1 / count) or is null (max).
struct PoolRun {
  int64_t pixels, taps, channels;
  const float* const* rows;  // [pixels][taps]
  const float* scale;        // [pixels] or null for max
  float* y;
  int64_t ldy;
};
void max_pool_f32(const PoolRun& run);
void avg_pool_f32(const PoolRun& run);

// y[c] = sum over `pixels` rows x[p * channels + c] (part of a GlobalAveragePool). The sum's
// order depends only on `pixels`.
void channel_sum_f32(const float* x, int64_t pixels, int64_t channels, float* y);

// y[p][c] = x[c][p] for c < channels (1..4), p < pixels: an NCHW image with few channels
// (RGB) to NHWC, or a channel shuffle's two halves interleaved, with interleaving stores.
void interleave_channels_f32(const float* x, int64_t channels, int64_t pixels, float* y);
void interleave_channels_u8(const uint8_t* x, int64_t channels, int64_t pixels, uint8_t* y);

}  // namespace edgekit
