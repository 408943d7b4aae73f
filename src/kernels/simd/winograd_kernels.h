// The transforms of Winograd's minimal filtering F(4x4, 3x3) (Lavin & Gray, "Fast Algorithms
// for Convolutional Neural Networks", 2016) in NHWC, vectorised over channels: a pixel's
// channels are contiguous, so each of the 36 points of a tile is one vector of channels and
// the transforms are adds and multiplies between vectors. With interpolation points
// 0, 1, -1, 2, -2 and infinity, for one 6x6 input tile d, one 3x3 kernel g and the 4x4 output
// tile y:
//   y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A
// The product ⊙ over all channels is 36 GEMMs (kernels/winograd.h runs them on the igemm
// micro-kernel), 2.25 multiply-adds an output per channel pair instead of 9.
#pragma once
#include <cstdint>

#include "kernels/simd/nhwc_kernels.h"

namespace edgekit {

inline constexpr int64_t kWinogradInput = 6;    // input tile side
inline constexpr int64_t kWinogradOutput = 4;   // output tile side
inline constexpr int64_t kWinogradPoints = 36;  // transformed points a tile

// v[p * v_stride + c] = (Bᵀ d B)[p] for channels c < `channels`, where d is the 6x6 tile
// whose pixel (i, j) is at px[6 i + j] (a row of zeros for pixels outside the image).
void winograd_input_f32(const float* const* px, int64_t channels, float* v, int64_t v_stride);

// One output tile: out[4 i + j][c] = act((Aᵀ m A)[i][j] + bias[c] + residual[4 i + j][c]),
// m[p * m_stride + c] the tile's 36 products. A null out[k] is a pixel past the image's edge
// (neither written nor its residual read); residual is null when there is none.
struct WinogradOutputTile {
  const float* m;
  int64_t m_stride;
  int64_t channels;
  const float* bias;               // `channels` floats
  float* const* out;               // [16]
  const float* const* residual;    // [16] or null
  NhwcEpilogue epilogue;
};
void winograd_output_f32(const WinogradOutputTile& tile);

// The weights transformed and packed, once at load: w [M, C, 3, 3] (OIHW) to, for each point
// p, U[p] = (G g Gᵀ)[p] over all (m, c) in the f32 panel layout of a 1x1 convolution of C -> M
// channels with zero biases (core/packed_weights.h, width nr), point_floats floats a point.
// Vectorised over output channels (a panel row's), in float.
void winograd_pack_f32(const float* w, int64_t out_channels, int64_t in_channels, int64_t nr, int64_t point_floats,
                       float* out);

}  // namespace edgekit
