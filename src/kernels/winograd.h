// 3x3 convolutions of stride 1 by Winograd's F(4x4, 3x3) in NHWC (simd/winograd_kernels.h has
// the transforms). Per block of 4x4 output tiles, on one thread:
//   1. each tile's 6x6 input pixels are transformed into V[36][tiles][C];
//   2. 36 GEMMs M[p] = V[p] x U[p] (tiles x C times C x M) on the igemm micro-kernel, with U,
//      the transformed weights, packed once like a 1x1 convolution's panels, one set a point;
//   3. each tile's 36 products are transformed back into its 4x4 output pixels, with the bias,
//      the residual and the fused activation.
// The block's V and M stay in L2 (the block's size is chosen for that). Four times fewer
// multiply-adds than the direct convolution, for weights four times larger (36 points for 9
// taps) and three transforms; so it pays on images of many tiles with channels enough for the
// GEMMs to dominate, which `winograd_pays` decides for the pass that picks it
// (passes/choose_winograd.cpp). Results differ from the direct convolution's in the last bits
// (the transforms round differently); they do not depend on the thread count.
#pragma once
#include <cstdint>
#include <memory>

#include "kernels/epilogue.h"
#include "kernels/nhwc_conv.h"

namespace edgekit {

class ThreadPool;

// Whether a 3x3 convolution of this geometry can run by Winograd: stride 1, no dilation, one
// group (padding of any amount).
bool winograd_applicable(const NhwcWindow& win, int64_t group);
// Whether it is expected to be faster than the direct convolution for C input and M output
// channels on an out_h x out_w image (a model of this machine's kernels, measured on the zoo).
bool winograd_pays(int64_t in_channels, int64_t out_channels, int64_t out_h, int64_t out_w);

// Transformed and packed weights, once: w [M, C, 3, 3] (OIHW), bias [M] or null.
class WinogradWeights {
 public:
  WinogradWeights(const float* w, const float* bias, int64_t out_channels, int64_t in_channels);
  int64_t out_channels() const { return out_channels_; }
  int64_t in_channels() const { return in_channels_; }
  int64_t panel_width() const { return panel_width_; }
  // Point p's panels: per panel of panel_width() output channels, that many zeros (the
  // micro-kernel's bias slot) then C rows of the panel's weights.
  const float* point(int64_t p) const { return packed_.get() + p * point_floats_; }
  const float* bias() const { return bias_.get(); }  // M floats

 private:
  int64_t out_channels_, in_channels_, panel_width_, point_floats_;
  std::shared_ptr<float> packed_, bias_;
};

// y[N, OH, OW, M] = act(conv3x3(x[N, H, W, C], w) + bias (+ residual)), as nhwc_conv_f32 (output
// pixels y_stride floats apart, 0: M) for a window that winograd_applicable accepts.
void nhwc_winograd_conv_f32(const WinogradWeights& w, const float* x, int64_t batch, const NhwcWindow& win, float* y,
                            const float* residual, const FusedActivation& activation, ThreadPool* pool,
                            int64_t y_stride = 0);

}  // namespace edgekit
