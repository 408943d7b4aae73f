// 2-D convolution and pooling in NHWC, the layout the fast path runs convolutional networks in
// (passes/layout_nhwc.cpp moves them there). Channels are contiguous, so
//   - a convolution is an indirect GEMM: output pixels x output channels, the left operand
//     read through one pointer per (pixel, tap) to that tap's input channels (no im2col), the
//     weights packed once into the micro-kernel's panels with the bias in front;
//   - depthwise convolution and pooling vectorise over channels, whatever the image size.
// The micro-kernels are in simd/nhwc_kernels.h; this file plans the work: row pointers built
// per chunk of output pixels (reused by every panel, and kept for the next run while the input
// stays at the same address), chunks and panels split over threads,
// the fused activation run in registers when it is a clamp/HardSwish/LeakyRelu, else on
// each chunk right after it is computed. Results do not depend on the thread count.
#pragma once
#include <cstdint>
#include <array>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "core/packed_weights.h"
#include "kernels/conv_geometry.h"
#include "kernels/epilogue.h"

namespace edgekit {

class ThreadPool;

// The window of a 2-D op on one input: from WindowGeometry (pads may differ begin/end; only
// the begin pads matter here, the output size carries the rest).
struct NhwcWindow {
  int64_t in_h = 0, in_w = 0, out_h = 0, out_w = 0;
  int64_t kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1, dilation_h = 1, dilation_w = 1;
  int64_t pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  static NhwcWindow from(const WindowGeometry& g);  // g.rank() == 2
  int64_t taps() const { return kernel_h * kernel_w; }
  bool pointwise() const;  // 1x1, stride 1, no padding: the input rows are the GEMM rows
};

// The row pointers of a convolution (and a depthwise conv's padded input), kept between runs:
// they depend only on where the input is and on the geometry, and a Session's arena does not
// move (XNNPACK keeps its indirection buffer for the same reason). Shared by copies of the weights; a run that finds it in use
// by another thread builds its own.
struct NhwcRowCache {
  std::mutex mutex;
  bool valid = false;
  std::array<int64_t, 11> key{};  // input address, zero row, geometry and chunking it was built for
  std::vector<const float*> rows;
};

// Conv weights packed for this CPU's micro-kernel (core/packed_weights.h layouts), once.
class NhwcConvWeights {
 public:
  // w: [M, C/group, KH, KW] (ONNX's OIHW), bias: [M] or null.
  NhwcConvWeights(const float* w, const float* bias, int64_t out_channels, int64_t in_channels_per_group,
                  int64_t kernel_h, int64_t kernel_w, int64_t group);
  // Weights packed elsewhere (an .ekm), used in place when they are in the layout and width
  // this CPU's kernels read for their geometry; nullopt otherwise (the caller packs again).
  static std::optional<NhwcConvWeights> adopt(const PackedWeights& packed, int64_t kernel_h, int64_t kernel_w);
  // The packed form, for edgekit compile to store: the plain tensor's dims, and whether it
  // was [K, M] (k_major) rather than [M, C/group, KH, KW] or [M, K].
  PackedWeights describe(std::vector<int64_t> plain_dims, bool k_major) const;
  int64_t out_channels() const { return out_channels_; }
  int64_t in_channels() const { return in_per_group_ * group_; }
  int64_t group() const { return group_; }
  int64_t kernel_h() const { return kernel_h_; }
  int64_t kernel_w() const { return kernel_w_; }
  bool depthwise() const { return depthwise_; }  // group == C == M: the channel-vector kernel
  const float* packed() const { return packed_.get(); }
  int64_t panel_width() const { return panel_width_; }  // output channels per packed panel
  int64_t group_stride() const { return group_stride_; }  // floats between groups' panels
  NhwcRowCache& row_cache() const { return *row_cache_; }
  // A first layer of at most 8 output channels on a 16-lane ISA (8-lane panels, one group, a
  // kernel row's KW x C floats <= 64): its weights again, each kernel row's KW x C in pairs
  // (IgemmTile::paired), else null. Made from the panel when the weights are.
  const float* pairs() const { return pairs_.get(); }

 private:
  NhwcConvWeights(int64_t out_channels, int64_t in_channels_per_group, int64_t kernel_h, int64_t kernel_w,
                  int64_t group);
  void choose_layout();
  void make_pairs();
  WeightGeometry geometry() const { return {out_channels_, in_per_group_, kernel_h_ * kernel_w_, group_}; }

  int64_t out_channels_, in_per_group_, kernel_h_, kernel_w_, group_;
  bool depthwise_;
  const char* layout_ = kPanelsLayout;
  int64_t group_stride_ = 0;
  int64_t panel_width_ = 0;
  std::shared_ptr<float> packed_;
  std::shared_ptr<NhwcRowCache> row_cache_ = std::make_shared<NhwcRowCache>();
  std::shared_ptr<const float> pairs_;
};

// y[N, OH, OW, M] = act(conv(x[N, H, W, C], w) + bias (+ residual, [N, OH, OW, M])). The output
// pixels are y_stride floats apart (0: M), so a convolution can write its channels of a
// wider tensor (a Concat's, see passes/concat_in_place.cpp); not for depthwise ones.
void nhwc_conv_f32(const NhwcConvWeights& w, const float* x, int64_t batch, const NhwcWindow& win, float* y,
                   const float* residual, const FusedActivation& activation, ThreadPool* pool, int64_t y_stride = 0);

// Y[M, N] = act(A[M, K] x W^T + bias) with W packed as NhwcConvWeights(w, bias, N, K, 1, 1, 1):
// a Gemm or MatMul with constant weights is a 1x1 convolution over M "pixels".
void packed_gemm_f32(const NhwcConvWeights& w, const float* a, int64_t m, float* y, const FusedActivation& activation,
                     ThreadPool* pool);

// y[N] = init[N] + W x[K] (a matrix-vector product; init may alias y), W packed as above.
// Straight to the micro-kernel: for recurrent cells, which make one per time step.
void packed_gemv_f32(const NhwcConvWeights& w, const float* x, const float* init, float* y);

// Pooling, x: [N, H, W, C], y: [N, OH, OW, C]. Average pooling divides by the whole window
// (count_include_pad) or by the taps inside the image.
void nhwc_max_pool_f32(const float* x, int64_t batch, int64_t channels, const NhwcWindow& win, float* y,
                       ThreadPool* pool);
void nhwc_avg_pool_f32(const float* x, int64_t batch, int64_t channels, const NhwcWindow& win,
                       bool count_include_pad, float* y, ThreadPool* pool);
// y[N, 1, 1, C] = mean over H x W: sums of blocks of pixels (on the threads), added in
// block order, so the result does not depend on the thread count.
void nhwc_global_avg_pool_f32(const float* x, int64_t batch, int64_t pixels, int64_t channels, float* y,
                              ThreadPool* pool);

// Shared with kernels/winograd.cpp:
// n floats of zeros (conv, average pool) or -inf (max pool), rows that padding taps point at.
// Grown on demand and never freed, so pointers handed out stay valid.
const float* constant_row(int64_t n, bool neg_inf);
// The pool when a layer of these FLOPs (or weights this large) is worth splitting, else null.
ThreadPool* worth_threads(ThreadPool* pool, double flops, double weight_bytes = 0);
// The panel width (core/packed_weights.h) of `out_channels` a group for this CPU's
// micro-kernel: the tile's full width, half of it (one vector) for at most half a panel, or
// with 16-lane vectors a quarter (8 lanes) for at most 8; and IgemmTile::vectors for it.
int64_t panel_width_for(int64_t out_channels);
int64_t tile_vectors(int64_t nr);
// A K block's slice of a weight panel stays in L1: kWeightBlockBytes of it. Channels a block
// when `channels` of a tap are more than fit (split into equal parts), panels `nr` wide.
inline constexpr int64_t kWeightBlockBytes = 32 * 1024;
int64_t k_block_channels(int64_t channels, int64_t nr);
// The part of a fused activation the micro-kernels run in registers; *rest tells whether the
// caller must still apply it to the stored rows.
struct NhwcEpilogue;
NhwcEpilogue register_epilogue(const FusedActivation& a, bool* rest);

// The micro-kernel ISA chosen for this CPU, e.g. "AVX3" (for inspect and bench output).
const char* nhwc_kernel_isa();

}  // namespace edgekit
