// Convolution and matrix weights packed for edgekit's f32 micro-kernels: the layouts the
// kernels compute with (kernels/nhwc_conv.h packs into them at load) and that an .ekm may store
// instead of the plain tensor, so that loading uses them in place (docs/ekm-format.md,
// "Packed weights"). Here: the layouts' definition (pack, unpack, size) and nothing else, so the
// .ekm reader can turn stored panels back into the plain tensor without knowing any kernel.
//
// The plain weights are [M, C/group, KH, KW] (ONNX's OIHW; [M, K] is KH = KW = 1) or, when
// `k_major`, [K, M] (a MatMul or Gemm B that is not transposed; group 1, one tap). Layouts:
//   - "f32_panels", width NR: per group, per panel of NR output channels of that group: NR
//     biases, then for each tap t, for each input channel k of the group, the NR weights
//     w[m0 + j][k][t], j < NR. Columns past the group's channels are 0.
//   - "f32_depthwise", width L (group == M, one input channel a group): per block of L
//     channels: L biases, then for each tap L weights. Lanes past the channels are 0, except
//     that when M < L and M divides L, the M channels repeat across the block.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace edgekit {

inline constexpr const char* kPanelsLayout = "f32_panels";
inline constexpr const char* kDepthwiseLayout = "f32_depthwise";

// The shape of the plain weights as the layouts see it.
struct WeightGeometry {
  int64_t out_channels = 0;  // M
  int64_t in_per_group = 0;  // C / group (K for a matrix)
  int64_t taps = 1;          // KH x KW
  int64_t group = 1;
};

// Packed weights and what they were packed as. `data` holds `floats` floats, 64-byte aligned,
// kept alive by `owner`.
struct PackedWeights {
  std::string layout;  // kPanelsLayout or kDepthwiseLayout
  int64_t width = 0;   // NR or L
  WeightGeometry geometry;
  bool k_major = false;       // the plain tensor is [K, M]
  std::vector<int64_t> dims;  // the plain tensor's
  const float* data = nullptr;
  int64_t floats = 0;
  std::shared_ptr<const void> owner;
};

// Floats the layout takes for this geometry; -1 when the layout name is unknown, the width is
// not in 1..4096 or the geometry does not fit it (M not a multiple of group, depthwise with
// more than one input channel a group, a dimension below 1, a product beyond 2^40).
int64_t packed_floats(const std::string& layout, int64_t width, const WeightGeometry& g);

// Packs plain [M, C/group, taps] weights and M biases (or none: zeros) into `out`, which holds
// packed_floats(layout, width, g) floats. Every float of `out` is written.
void pack_weights(const std::string& layout, int64_t width, const WeightGeometry& g, const float* w,
                  const float* bias, float* out);

// The plain tensor back from packed weights (numel M x C/group x taps floats; [K, M] when
// p.k_major). Throws Error naming `what` when p does not describe a valid layout of its size.
void unpack_weights(const PackedWeights& p, float* w, const std::string& what);

}  // namespace edgekit
