#include "kernels/winograd.h"

#include <algorithm>
#include <vector>

#include "core/error.h"
#include "core/packed_weights.h"
#include "core/tensor.h"
#include "core/thread_pool.h"
#include "kernels/simd/winograd_kernels.h"

namespace edgekit {
namespace {

constexpr int64_t kP = kWinogradPoints, kIn = kWinogradInput, kOut = kWinogradOutput;

// A block's V and M (36 x tiles x (C + M) floats) in about this much of L2.
constexpr int64_t kBlockBytes = 768 * 1024;
// Tiles a block at most: beyond this the transforms' share stops falling.
constexpr int64_t kMaxBlockTiles = 64;

float* aligned(std::vector<float>& buffer, int64_t floats) {
  if (int64_t(buffer.size()) < floats + 16) buffer.resize(size_t(floats + 16));
  return reinterpret_cast<float*>((reinterpret_cast<uintptr_t>(buffer.data()) + 63) & ~uintptr_t(63));
}

}  // namespace

bool winograd_applicable(const NhwcWindow& win, int64_t group) {
  return group == 1 && win.kernel_h == 3 && win.kernel_w == 3 && win.stride_h == 1 && win.stride_w == 1 &&
         win.dilation_h == 1 && win.dilation_w == 1;
}

bool winograd_pays(int64_t in_channels, int64_t out_channels, int64_t out_h, int64_t out_w) {
  const int64_t tiles = ((out_h + kOut - 1) / kOut) * ((out_w + kOut - 1) / kOut);
  // Multiply-adds a pixel against the direct 9: 2.25 times the tiles' share of padding.
  const double waste = double(tiles * kOut * kOut) / double(out_h * out_w);
  const double weight_bytes = double(kP * in_channels * out_channels * 4);
  // Few tiles still pay (ic_resnet8's 8x8x64: 4 tiles, the model 13% faster; ResNet-18's
  // 14x14x256: 16 tiles, 13%) while the transformed weights are at most 1 MB a tile: beyond,
  // they cost memory for little reuse (ResNet-18's 7x7x512 layers, 37.7 MB each for 4 tiles,
  // would be 9% faster at 85 MB more than ONNX Runtime's resident set).
  return in_channels >= 8 && out_channels >= 8 && tiles >= 4 && waste <= 1.35 &&
         weight_bytes <= double(tiles) * (1 << 20);
}

WinogradWeights::WinogradWeights(const float* w, const float* bias, int64_t out_channels, int64_t in_channels)
    : out_channels_(out_channels), in_channels_(in_channels) {
  EK_CHECK(out_channels >= 1 && in_channels >= 1, "Winograd weights: ", out_channels, " x ", in_channels,
           " channels, expected at least 1 each");
  panel_width_ = panel_width_for(out_channels);
  const WeightGeometry g{out_channels, in_channels, 1, 1};
  point_floats_ = packed_floats(kPanelsLayout, panel_width_, g);
  EK_CHECK(point_floats_ > 0, "Winograd weights: cannot pack ", out_channels, " x ", in_channels);
  packed_ = std::static_pointer_cast<float>(allocate_aligned(size_t(kP * point_floats_) * sizeof(float), false));
  winograd_pack_f32(w, out_channels, in_channels, panel_width_, point_floats_, packed_.get());
  bias_ = std::static_pointer_cast<float>(allocate_aligned(size_t(out_channels) * sizeof(float), true));
  if (bias) std::copy_n(bias, out_channels, bias_.get());
}

void nhwc_winograd_conv_f32(const WinogradWeights& w, const float* x, int64_t batch, const NhwcWindow& win, float* y,
                            const float* residual, const FusedActivation& activation, ThreadPool* pool,
                            int64_t y_stride) {
  EK_CHECK(winograd_applicable(win, 1), "Winograd convolution: expected a 3x3 kernel of stride 1, got ", win.kernel_h,
           "x", win.kernel_w, " of stride ", win.stride_h, "x", win.stride_w);
  const int64_t C = w.in_channels(), M = w.out_channels(), ldy = y_stride > 0 ? y_stride : M;
  const int64_t tiles_h = (win.out_h + kOut - 1) / kOut, tiles_w = (win.out_w + kOut - 1) / kOut;
  const int64_t image_tiles = tiles_h * tiles_w, tiles = batch * image_tiles;
  if (tiles == 0) return;
  const IgemmLayout L = igemm_f32_layout();
  const int64_t MR = L.mr, NR = w.panel_width(), panels = (M + NR - 1) / NR;
  const int64_t panel_floats = NR + C * NR;
  // Threads by the direct convolution's FLOPs (measured: by Winograd's own, a quarter, the
  // 16- and 32-channel layers of ic_resnet8 stayed on one thread and ran slower at 2).
  pool = worth_threads(pool, 2.0 * 9 * double(C * M) * double(batch * win.out_h * win.out_w));
  const int threads = pool ? pool->size() : 1;
  // Blocks of tiles whose V and M fit kBlockBytes, whole micro-tiles, at least one; with
  // threads, a multiple of their count of blocks of about one size.
  int64_t most = kBlockBytes / (kP * (C + M) * int64_t(sizeof(float)));
  most = std::clamp<int64_t>(most / MR * MR, MR, kMaxBlockTiles);
  int64_t blocks = (tiles + most - 1) / most;
  if (threads > 1) blocks = (std::max<int64_t>(blocks, threads) + threads - 1) / threads * threads;
  blocks = std::min(blocks, tiles);
  const int64_t per_block = (tiles + blocks - 1) / blocks;
  const int64_t rounded = (per_block + MR - 1) / MR * MR;  // V rows the micro-kernel may read
  const int64_t v_stride = rounded * C, m_stride = rounded * M;
  const float* zero = constant_row(std::max(C, M), false);
  // K (the input channels) in blocks whose slice of a panel stays in L1.
  const int64_t kc_step = k_block_channels(C, NR);
  bool post_activation = false;
  const NhwcEpilogue epi = register_epilogue(activation, &post_activation);

  parallel_for(pool, blocks, [&](int64_t begin, int64_t end) {
    thread_local std::vector<float> v_buffer, m_buffer;
    thread_local std::vector<const float*> rows;
    float* V = aligned(v_buffer, kP * v_stride);
    float* Mt = aligned(m_buffer, kP * m_stride);
    rows.resize(size_t(rounded));
    const float* px[kIn * kIn];
    float* out[kOut * kOut];
    const float* res[kOut * kOut];
    for (int64_t block = begin; block < end; ++block) {
      const int64_t t0 = block * per_block, count = std::min(per_block, tiles - t0);
      if (count <= 0) continue;
      // 1. Input transform, tile by tile.
      for (int64_t i = 0; i < count; ++i) {
        const int64_t t = t0 + i, n = t / image_tiles, ty = (t % image_tiles) / tiles_w, tx = t % tiles_w;
        const float* image = x + n * win.in_h * win.in_w * C;
        for (int64_t r = 0; r < kIn; ++r) {
          const int64_t iy = ty * kOut + r - win.pad_top;
          for (int64_t s = 0; s < kIn; ++s) {
            const int64_t ix = tx * kOut + s - win.pad_left;
            px[r * kIn + s] = iy >= 0 && iy < win.in_h && ix >= 0 && ix < win.in_w ? image + (iy * win.in_w + ix) * C
                                                                                    : zero;
          }
        }
        winograd_input_f32(px, C, V + i * C, v_stride);
        rows[size_t(i)] = V + i * C;
      }
      for (int64_t i = count; i < rounded; ++i) rows[size_t(i)] = rows[size_t(i - i % MR)];
      // 2. The 36 GEMMs, point by point: the point's weights (C x M) stay in L1/L2 for
      // every micro-tile of the block.
      for (int64_t p = 0; p < kP; ++p) {
        const float* wp = w.point(p);
        for (int64_t pan = 0; pan < panels; ++pan) {
          const float* panel = wp + pan * panel_floats;
          for (int64_t k0 = 0; k0 < C; k0 += kc_step) {
            const int64_t kc = std::min(kc_step, C - k0);
            for (int64_t mt = 0; mt * MR < count; ++mt) {
              IgemmTile tile{std::min(MR, count - mt * MR), std::min(NR, M - pan * NR), kc, 1,
                             rows.data() + mt * MR, p * v_stride + k0,
                             panel + NR + k0 * NR, C * NR, k0 == 0 ? panel : nullptr,
                             Mt + p * m_stride + mt * MR * M + pan * NR, M, k0 + kc >= C,
                             nullptr, 0, NhwcEpilogue{}, mt == 0, tile_vectors(NR)};
              igemm_f32(tile);
            }
          }
        }
      }
      // 3. Output transform, tile by tile, pixels past the image's edge skipped.
      for (int64_t i = 0; i < count; ++i) {
        const int64_t t = t0 + i, n = t / image_tiles, ty = (t % image_tiles) / tiles_w, tx = t % tiles_w;
        for (int64_t r = 0; r < kOut; ++r)
          for (int64_t s = 0; s < kOut; ++s) {
            const int64_t oy = ty * kOut + r, ox = tx * kOut + s;
            const bool inside = oy < win.out_h && ox < win.out_w;
            const int64_t pixel = (n * win.out_h + oy) * win.out_w + ox;
            out[r * kOut + s] = inside ? y + pixel * ldy : nullptr;
            res[r * kOut + s] = inside && residual ? residual + pixel * M : nullptr;
          }
        winograd_output_f32({Mt + i * M, m_stride, M, w.bias(), out, residual ? res : nullptr, epi});
        if (post_activation)
          for (int64_t k = 0; k < kOut * kOut; ++k)
            if (out[k]) activation.apply(out[k], M);
      }
    }
  });
}

}  // namespace edgekit
