#include "core/packed_weights.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"

namespace edgekit {

namespace {

constexpr int64_t kMaxWidth = 4096;
constexpr int64_t kMaxFloats = int64_t(1) << 40;

bool is_panels(const std::string& layout) { return layout == kPanelsLayout; }
bool is_depthwise(const std::string& layout) { return layout == kDepthwiseLayout; }

// a * b, or -1 when either is -1 or the product passes kMaxFloats (both operands are >= 0).
int64_t product(int64_t a, int64_t b) {
  if (a < 0 || b < 0) return -1;
  if (a != 0 && b > kMaxFloats / a) return -1;
  return a * b;
}

// Where plain weight (m, k, t) lives: OIHW, or [K, M] for a k-major matrix.
int64_t plain_index(const WeightGeometry& g, bool k_major, int64_t m, int64_t k, int64_t t) {
  return k_major ? k * g.out_channels + m : (m * g.in_per_group + k) * g.taps + t;
}

}  // namespace

int64_t packed_floats(const std::string& layout, int64_t width, const WeightGeometry& g) {
  if (width < 1 || width > kMaxWidth || g.out_channels < 1 || g.in_per_group < 1 || g.taps < 1 || g.group < 1 ||
      g.out_channels % g.group != 0)
    return -1;
  if (is_depthwise(layout)) {
    if (g.in_per_group != 1 || g.group != g.out_channels) return -1;
    const int64_t blocks = (g.out_channels + width - 1) / width;
    return product(blocks, product(1 + g.taps, width));
  }
  if (!is_panels(layout)) return -1;
  const int64_t panels = (g.out_channels / g.group + width - 1) / width;
  const int64_t panel = product(product(g.taps, g.in_per_group), width);
  return panel < 0 ? -1 : product(product(g.group, panels), panel + width);
}

void pack_weights(const std::string& layout, int64_t width, const WeightGeometry& g, const float* w,
                  const float* bias, float* out) {
  const int64_t taps = g.taps, M = g.out_channels;
  if (is_depthwise(layout)) {
    const int64_t L = width;
    std::fill(out, out + packed_floats(layout, width, g), 0.f);  // a small buffer: lanes past the channels stay 0
    const int64_t copies = M < L && L % M == 0 ? L / M : 1;
    for (int64_t c = 0; c < M; ++c) {
      float* block = out + (c / L) * (1 + taps) * L;
      for (int64_t r = 0; r < copies; ++r) {
        const int64_t lane = c % L + r * M;
        block[lane] = bias ? bias[c] : 0.f;
        for (int64_t t = 0; t < taps; ++t) block[(1 + t) * L + lane] = w[c * taps + t];
      }
    }
    return;
  }
  // Written in order, a panel row at a time (reading NR strided weights, which share cache
  // lines from one k to the next): scattered writes made this most of a model's load time.
  // Not zero-filled first: every float is written, the columns past a group's channels with 0.
  const int64_t NR = width, cg = g.in_per_group, Mg = M / g.group, panels = (Mg + NR - 1) / NR;
  const int64_t panel = NR + taps * cg * NR;
  for (int64_t gi = 0; gi < g.group; ++gi)
    for (int64_t pi = 0; pi < panels; ++pi) {
      float* pan = out + (gi * panels + pi) * panel;
      const int64_t m0 = gi * Mg + pi * NR, nj = std::min(NR, Mg - pi * NR);
      for (int64_t j = 0; j < nj; ++j) pan[j] = bias ? bias[m0 + j] : 0.f;
      std::fill(pan + nj, pan + NR, 0.f);
      for (int64_t t = 0; t < taps; ++t)
        for (int64_t k = 0; k < cg; ++k) {
          float* row = pan + NR + (t * cg + k) * NR;
          const float* src = w + k * taps + t + m0 * cg * taps;
          for (int64_t j = 0; j < nj; ++j) row[j] = src[j * cg * taps];
          std::fill(row + nj, row + NR, 0.f);
        }
    }
}

void unpack_weights(const PackedWeights& p, float* w, const std::string& what) {
  const WeightGeometry& g = p.geometry;
  const int64_t want = packed_floats(p.layout, p.width, g);
  EK_CHECK(want >= 0, what, ": packed weights in layout '", p.layout, "' of width ", p.width, " cannot hold ",
           g.out_channels, " output channels of ", g.in_per_group, " inputs x ", g.taps, " taps in ", g.group,
           " groups");
  EK_CHECK(p.floats == want, what, ": ", p.floats, " packed floats, expected ", want, " for layout '", p.layout,
           "' of width ", p.width);
  EK_CHECK(!p.k_major || (g.group == 1 && g.taps == 1 && is_panels(p.layout)), what,
           ": k-major weights must be one group of one tap in panels");
  const int64_t taps = g.taps, M = g.out_channels;
  if (is_depthwise(p.layout)) {
    const int64_t L = p.width;
    for (int64_t c = 0; c < M; ++c)
      for (int64_t t = 0; t < taps; ++t) w[c * taps + t] = p.data[(c / L) * (1 + taps) * L + (1 + t) * L + c % L];
    return;
  }
  const int64_t NR = p.width, cg = g.in_per_group, Mg = M / g.group, panels = (Mg + NR - 1) / NR;
  const int64_t panel = NR + taps * cg * NR;
  for (int64_t gi = 0; gi < g.group; ++gi)
    for (int64_t pi = 0; pi < panels; ++pi) {
      const float* pan = p.data + (gi * panels + pi) * panel;
      const int64_t m0 = gi * Mg + pi * NR, nj = std::min(NR, Mg - pi * NR);
      for (int64_t t = 0; t < taps; ++t)
        for (int64_t k = 0; k < cg; ++k)
          for (int64_t j = 0; j < nj; ++j) w[plain_index(g, p.k_major, m0 + j, k, t)] = pan[NR + (t * cg + k) * NR + j];
    }
}

}  // namespace edgekit
