#include "kernels/nhwc_conv.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <mutex>

#include "core/tensor.h"
#include "core/thread_pool.h"
#include "kernels/simd/nhwc_kernels.h"

namespace edgekit {

// First layers of few input channels take each kernel row as one tap of KW x C contiguous
// floats (igemm_conv) when that row holds at most this many.
constexpr int64_t kMaxRowTapFloats = 64;

// Rows of zeros or -inf (nhwc_conv.h), one buffer of each kept for the process.
const float* constant_row(int64_t n, bool neg_inf) {
  static std::mutex mutex;
  static std::vector<std::shared_ptr<void>> keep;
  static const float* rows[2] = {nullptr, nullptr};
  static int64_t sizes[2] = {0, 0};
  std::lock_guard<std::mutex> lock(mutex);
  const int which = neg_inf ? 1 : 0;
  if (sizes[which] < n) {
    const int64_t size = std::max<int64_t>(n + 64, 4096);
    auto buf = allocate_aligned(size_t(size) * sizeof(float), false);
    float* p = static_cast<float*>(buf.get());
    std::fill(p, p + size, neg_inf ? -std::numeric_limits<float>::infinity() : 0.f);
    keep.push_back(buf);
    rows[which] = p;
    sizes[which] = size;
  }
  return rows[which];
}

NhwcEpilogue register_epilogue(const FusedActivation& a, bool* rest) {
  using K = FusedActivation::Kind;
  using A = NhwcEpilogue::Act;
  NhwcEpilogue e;
  *rest = false;
  switch (a.kind()) {
    case K::none: break;
    case K::relu: e.lo = 0.f; break;
    case K::clip: e.lo = a.alpha(), e.hi = a.beta(); break;
    case K::hard_swish: e.act = A::hard_swish; break;
    case K::leaky_relu: e.act = A::leaky_relu, e.alpha = a.alpha(); break;
    case K::sigmoid: e.act = A::sigmoid; break;
    case K::silu: e.act = A::silu; break;
    case K::hard_sigmoid: e.act = A::hard_sigmoid, e.alpha = a.alpha(), e.beta = a.beta(); break;
    case K::tanh: e.act = A::tanh; break;
    default: *rest = true; break;
  }
  return e;
}

// Work below ~2 MFLOP stays on the calling thread: handing part of it to a worker (whose
// cache does not hold the layer's input) costs more than it saves; splitting layers of
// 0.25-0.5 MFLOP made kws_dscnn 50% and vww 12% slower at 2 threads. Layers with large weights
// are split whatever their FLOPs: they stream their weights, and two cores fetch them faster
// (fashion_cnn's 1.6 MB Gemm: the model -18% at 2 threads).
ThreadPool* worth_threads(ThreadPool* pool, double flops, double weight_bytes) {
  return flops >= 2e6 || weight_bytes >= double(512 << 10) ? pool : nullptr;
}

// Layouts are asked of the kernels each time rather than cached: tests switch Highway's
// target to cover every ISA.
int64_t panel_width_for(int64_t out_channels) {
  const int64_t full = igemm_f32_layout().nr;
  return out_channels <= full / 4 && full >= 32 ? full / 4 : out_channels <= full / 2 ? full / 2 : full;
}

int64_t tile_vectors(int64_t nr) {
  const int64_t full = igemm_f32_layout().nr;
  return nr == full ? 2 : nr * 2 == full ? 1 : 0;
}

int64_t k_block_channels(int64_t channels, int64_t nr) {
  const int64_t steps = std::max<int64_t>(1, kWeightBlockBytes / (nr * int64_t(sizeof(float))));
  const int64_t parts = (channels + steps - 1) / steps;
  return (channels + parts - 1) / parts;
}

namespace {

IgemmLayout layout() { return igemm_f32_layout(); }

// Row pointers of output pixels [p0, p0 + count): the entry of pixel i and tap t is at
// out[(i / g) * taps * g + t * g + i % g] (g = 1: [pixel][tap]; g = MR: per GEMM tile, tap-major).
void build_rows(const float* x, int64_t channels, const NhwcWindow& w, int64_t p0, int64_t count, int64_t g,
                const float* pad, const float** out) {
  const int64_t hw = w.out_h * w.out_w, taps = w.taps();
  const int64_t rounded = (count + g - 1) / g * g;
  if (w.pointwise()) {  // output pixel p reads input pixel p
    for (int64_t i = 0; i < count; ++i) out[i] = x + (p0 + i) * channels;
    for (int64_t i = count; i < rounded; ++i) out[i] = out[i - i % g];
    return;
  }
  // Pixels whose window lies inside the image take their taps at fixed offsets.
  constexpr int64_t kMaxTaps = 64;
  int64_t offset[kMaxTaps];
  const bool offsets = taps <= kMaxTaps;
  if (offsets)
    for (int64_t ky = 0; ky < w.kernel_h; ++ky)
      for (int64_t kx = 0; kx < w.kernel_w; ++kx)
        offset[ky * w.kernel_w + kx] = (ky * w.dilation_h * w.in_w + kx * w.dilation_w) * channels;
  const int64_t ext_h = (w.kernel_h - 1) * w.dilation_h, ext_w = (w.kernel_w - 1) * w.dilation_w;
  int64_t n = p0 / hw, oy = (p0 % hw) / w.out_w, ox = p0 % w.out_w;
  int64_t tile = 0, lane = 0;  // i / g and i % g, kept incrementally
  for (int64_t i = 0; i < count; ++i) {
    const float* image = x + n * w.in_h * w.in_w * channels;
    const int64_t iy0 = oy * w.stride_h - w.pad_top, ix0 = ox * w.stride_w - w.pad_left;
    const float** o = out + tile * taps * g + lane;
    if (offsets && iy0 >= 0 && iy0 + ext_h < w.in_h && ix0 >= 0 && ix0 + ext_w < w.in_w) {
      const float* corner = image + (iy0 * w.in_w + ix0) * channels;
      for (int64_t t = 0; t < taps; ++t) o[t * g] = corner + offset[t];
    } else {
      for (int64_t ky = 0; ky < w.kernel_h; ++ky) {
        const int64_t iy = iy0 + ky * w.dilation_h;
        const bool row_in = iy >= 0 && iy < w.in_h;
        for (int64_t kx = 0; kx < w.kernel_w; ++kx, o += g) {
          const int64_t ix = ix0 + kx * w.dilation_w;
          *o = row_in && ix >= 0 && ix < w.in_w ? image + (iy * w.in_w + ix) * channels : pad;
        }
      }
    }
    if (++lane == g) lane = 0, ++tile;
    if (++ox == w.out_w) {
      ox = 0;
      if (++oy == w.out_h) oy = 0, ++n;
    }
  }
  // A last partial tile repeats its first row so the micro-kernel reads only valid memory.
  for (int64_t i = count; i < rounded; ++i)
    for (int64_t t = 0; t < taps; ++t) out[(i / g) * taps * g + t * g + i % g] = out[(i / g) * taps * g + t * g];
}

// Row pointers a convolution keeps between runs at most (8 bytes each): 1 MB a layer.
constexpr int64_t kMaxCachedRows = int64_t(1) << 17;

std::vector<const float*>& row_scratch(size_t n) {
  thread_local std::vector<const float*> rows;
  if (rows.size() < n) rows.resize(n);
  return rows;
}

// Pixels per chunk: at most about 256 (the row pointers and input rows of a chunk sit in L2
// next to a weight panel), whole tiles, and with threads a multiple of their count of chunks,
// all of about one size: each thread's range of the loop (core/thread_pool.h) then holds as
// many pixels (784 pixels as 252 + 252 + 252 + 28 gave one thread twice the other's work).
// Images of only a few tiles a thread, when there are panels enough, stay one chunk: the
// threads split its panels instead, evenly (7x7 layers: 28 + 21 pixels did not).
int64_t chunk_pixels(int64_t pixels, int64_t tile, int threads, int64_t panels = 0) {
  const int64_t most = std::max<int64_t>(tile, 256 / tile * tile);
  int64_t chunks = (pixels + most - 1) / most;
  if (threads > 1) {
    if (pixels < 4 * tile * threads && panels >= 2 * threads)
      chunks = 1;
    else
      chunks = (std::max<int64_t>(chunks, threads) + threads - 1) / threads * threads;
  }
  const int64_t chunk = (pixels + chunks - 1) / std::max<int64_t>(1, chunks);
  return std::max<int64_t>(tile, (chunk + tile - 1) / tile * tile);
}

int pool_size(ThreadPool* pool) { return pool ? pool->size() : 1; }

// The K dimension (taps x channels) in blocks whose slice of a weight panel stays in L1
// (kWeightBlockBytes, nhwc_conv.h): whole taps when a tap's channels fit, else channel
// ranges of one tap (k_block_channels wide).
struct KBlock {
  int64_t tap0, taps, k0, kc;
};
const std::vector<KBlock>& k_blocks(int64_t taps, int64_t channels, int64_t nr) {
  const int64_t steps = std::max<int64_t>(1, kWeightBlockBytes / (nr * int64_t(sizeof(float))));
  thread_local std::vector<KBlock> blocks;  // the calling thread's; no allocation once grown
  blocks.clear();
  if (channels <= steps) {
    const int64_t per = std::max<int64_t>(1, steps / channels);
    for (int64_t t = 0; t < taps; t += per) blocks.push_back({t, std::min(per, taps - t), 0, channels});
  } else {
    const int64_t kc = k_block_channels(channels, nr);
    for (int64_t t = 0; t < taps; ++t)
      for (int64_t k = 0; k < channels; k += kc) blocks.push_back({t, 1, k, std::min(kc, channels - k)});
  }
  return blocks;
}

}  // namespace

NhwcWindow NhwcWindow::from(const WindowGeometry& g) {
  EK_CHECK(g.rank() == 2, "NhwcWindow: expected 2 spatial dims, got ", g.rank());
  NhwcWindow w;
  w.in_h = g.input[0], w.in_w = g.input[1], w.out_h = g.output[0], w.out_w = g.output[1];
  w.kernel_h = g.kernel[0], w.kernel_w = g.kernel[1], w.stride_h = g.strides[0], w.stride_w = g.strides[1];
  w.dilation_h = g.dilations[0], w.dilation_w = g.dilations[1], w.pad_top = g.pad_begin[0], w.pad_left = g.pad_begin[1];
  w.pad_bottom = g.pad_end[0], w.pad_right = g.pad_end[1];
  return w;
}

bool NhwcWindow::pointwise() const {
  return kernel_h == 1 && kernel_w == 1 && stride_h == 1 && stride_w == 1 && pad_top == 0 && pad_left == 0 &&
         out_h == in_h && out_w == in_w;
}

NhwcConvWeights::NhwcConvWeights(const float* w, const float* bias, int64_t out_channels,
                                 int64_t in_channels_per_group, int64_t kernel_h, int64_t kernel_w, int64_t group)
    : out_channels_(out_channels), in_per_group_(in_channels_per_group), kernel_h_(kernel_h), kernel_w_(kernel_w),
      group_(group), depthwise_(in_channels_per_group == 1 && group == out_channels) {
  choose_layout();
  const int64_t floats = packed_floats(layout_, panel_width_, geometry());
  EK_CHECK(floats >= 0, "cannot pack conv weights of ", out_channels, " x ", in_channels_per_group, " x ", kernel_h,
           " x ", kernel_w, " in ", group, " groups");
  // Not zero-filled: pack_weights writes every float (filling first wrote the buffer twice).
  packed_ = std::static_pointer_cast<float>(allocate_aligned(size_t(floats) * sizeof(float), false));
  pack_weights(layout_, panel_width_, geometry(), w, bias, packed_.get());
  make_pairs();
}

void NhwcConvWeights::make_pairs() {
  const int64_t kch = kernel_w_ * in_per_group_;  // a kernel row's floats (see igemm_conv)
  if (depthwise_ || group_ != 1 || panel_width_ != 8 || tile_vectors(8) != 0 || kernel_w_ < 2 || kch > kMaxRowTapFloats)
    return;
  const int64_t pairs = (kch + 1) / 2;
  std::vector<float> v(size_t(kernel_h_ * pairs * 16), 0.f);
  const float* panel = packed_.get() + 8;  // past the biases: row ky * kch + k holds 8 channels
  for (int64_t ky = 0; ky < kernel_h_; ++ky)
    for (int64_t k = 0; k < kch; ++k)
      for (int64_t m = 0; m < 8; ++m) v[size_t((ky * pairs + k / 2) * 16 + 2 * m + k % 2)] = panel[(ky * kch + k) * 8 + m];
  auto owned = std::make_shared<std::vector<float>>(std::move(v));
  pairs_ = std::shared_ptr<const float>(owned, owned->data());
}

std::optional<NhwcConvWeights> NhwcConvWeights::adopt(const PackedWeights& p, int64_t kernel_h, int64_t kernel_w) {
  const WeightGeometry& g = p.geometry;
  if (kernel_h < 1 || kernel_w < 1 || g.taps != kernel_h * kernel_w || g.out_channels < 1 || g.group < 1 ||
      g.out_channels % g.group != 0)
    return std::nullopt;
  NhwcConvWeights w(g.out_channels, g.in_per_group, kernel_h, kernel_w, g.group);
  w.choose_layout();
  if (p.layout != w.layout_ || p.width != w.panel_width_ || p.floats != packed_floats(p.layout, p.width, g) ||
      p.floats < 0 || !p.data || reinterpret_cast<uintptr_t>(p.data) % 64 != 0)
    return std::nullopt;
  w.packed_ = std::shared_ptr<float>(p.owner, const_cast<float*>(p.data));  // read only, in place
  w.make_pairs();
  return w;
}

PackedWeights NhwcConvWeights::describe(std::vector<int64_t> plain_dims, bool k_major) const {
  PackedWeights p;
  p.layout = layout_;
  p.width = panel_width_;
  p.geometry = geometry();
  p.k_major = k_major;
  p.dims = std::move(plain_dims);
  p.data = packed_.get();
  p.floats = packed_floats(layout_, panel_width_, p.geometry);
  p.owner = packed_;
  return p;
}

NhwcConvWeights::NhwcConvWeights(int64_t out_channels, int64_t in_channels_per_group, int64_t kernel_h,
                                 int64_t kernel_w, int64_t group)
    : out_channels_(out_channels), in_per_group_(in_channels_per_group), kernel_h_(kernel_h), kernel_w_(kernel_w),
      group_(group), depthwise_(in_channels_per_group == 1 && group == out_channels) {}

// The layout this CPU's micro-kernels read: depthwise blocks of the vector's channels, or
// panels of the GEMM tile's width; groups of at most half a panel get half-width panels (one
// vector), not mostly zeros, and with 16-lane vectors groups of at most 8 quarter-width ones
// (8-lane vectors, simd/nhwc_kernels.h).
void NhwcConvWeights::choose_layout() {
  if (depthwise_) {
    layout_ = kDepthwiseLayout;
    panel_width_ = depthwise_f32_lanes();
    return;
  }
  const int64_t Mg = out_channels_ / group_;
  layout_ = kPanelsLayout;
  panel_width_ = panel_width_for(Mg);
  const int64_t panels = (Mg + panel_width_ - 1) / panel_width_;
  group_stride_ = panels * (panel_width_ + kernel_h_ * kernel_w_ * in_per_group_ * panel_width_);
}

namespace {
float* align_up(float* p) {
  return reinterpret_cast<float*>((reinterpret_cast<uintptr_t>(p) + 63) & ~uintptr_t(63));
}

// A depthwise slab (see depthwise_conv): this thread's buffer, hp x wp pixels of `stride`
// floats, 64-byte aligned, zero outside the image. Only the image is written into it, so the
// border stays zero while consecutive layers have the same geometry.
constexpr int64_t kMaxSlabFloats = int64_t(64) << 10;
float* depthwise_slab(int64_t hp, int64_t wp, int64_t stride, const NhwcWindow& win) {
  thread_local std::vector<float> buffer;
  thread_local std::array<int64_t, 6> made_for{-1, -1, -1, -1, -1, -1};
  const std::array<int64_t, 6> key{hp, wp, stride, win.in_h, win.in_w, win.pad_top * 4096 + win.pad_left};
  if (key != made_for) {
    buffer.assign(size_t(hp * wp * stride + 16), 0.f);
    made_for = key;
  }
  return align_up(buffer.data());
}

// Depthwise: by output rows, channel-vector kernels (simd/nhwc_kernels.h DepthwiseRows).
void depthwise_conv(const NhwcConvWeights& w, const float* x, int64_t batch, const NhwcWindow& win, float* y, const float* residual,
                 const FusedActivation& activation, const NhwcEpilogue& epi, bool post_activation, ThreadPool* pool) {
  const int64_t C = w.in_channels(), M = w.out_channels(), taps = win.taps();
  const int threads = pool_size(pool);
  const int64_t KH = win.kernel_h, KW = win.kernel_w;
  thread_local std::vector<int64_t> offsets;  // the calling thread's; workers only read it
  offsets.resize(static_cast<size_t>(taps));
  for (int64_t ky = 0; ky < KH; ++ky)
    for (int64_t kx = 0; kx < KW; ++kx)
      offsets[size_t(ky * KW + kx)] = (ky * win.dilation_h * win.in_w + kx * win.dilation_w) * C;
  // Outputs [lo, hi) along one axis whose window (extent `ext` past its first tap) is inside.
  auto inside = [](int64_t out, int64_t in, int64_t ext, int64_t stride, int64_t pad) {
    const int64_t lo = std::min(out, (pad + stride - 1) / stride);
    const int64_t last = in - 1 - ext + pad;  // the largest first tap + pad that fits
    return std::pair<int64_t, int64_t>{lo, std::max(lo, std::min(out, last >= 0 ? last / stride + 1 : 0))};
  };
  const int64_t ext_w = (KW - 1) * win.dilation_w;
  const std::pair<int64_t, int64_t> cols = inside(win.out_w, win.in_w, ext_w, win.stride_w, win.pad_left);
  const std::pair<int64_t, int64_t> rows_in = inside(win.out_h, win.in_h, (KH - 1) * win.dilation_h, win.stride_h, win.pad_top);
  const int64_t ox_lo = cols.first, ox_hi = cols.second;
  DepthwiseRows g{x, win.in_h, win.in_w, C, win.out_h, win.out_w, KH, KW, win.stride_h, win.stride_w,
                  win.dilation_h, win.dilation_w, win.pad_top, win.pad_left, ox_lo, ox_hi, offsets.data(),
                  w.packed(), y, residual, epi};
  // Padded images where edge pixels are a large share are copied with their zero border, so
  // every pixel takes the interior path (groups of pixels): an edge pixel goes alone, its taps
  // one dependent multiply-add after another. The copy is one channel block at a time (a
  // "slab": the block's channels of every pixel, lanes floats apart) into a per-thread buffer
  // that every layer reuses, so it stays in cache: a copy of the whole tensor, kept per layer,
  // came back from memory each run (in EfficientNet-B0 its 7x7x1152 5x5 layers took 250 us
  // against 75 us alone). Small images always (the copy is cheap); larger ones when an eighth
  // or more of the pixels are edge ones for 5x5 and larger kernels, a third or more for 3x3
  // (copying every padded image that fits made mobilenet_v2's 56x56 and 28x28 layers 10-60%
  // slower).
  const int64_t pb = std::max<int64_t>(0, (win.out_h - 1) * win.stride_h + (KH - 1) * win.dilation_h + 1 - win.pad_top - win.in_h);
  const int64_t pr = std::max<int64_t>(0, (win.out_w - 1) * win.stride_w + ext_w + 1 - win.pad_left - win.in_w);
  const int64_t hp = win.in_h + win.pad_top + pb, wp = win.in_w + win.pad_left + pr;
  const int64_t L = depthwise_f32_lanes(), XS = std::min(C, L);  // a slab's pixel stride
  const int64_t edge_pixels = win.out_h * win.out_w - (rows_in.second - rows_in.first) * (ox_hi - ox_lo);
  const bool many_edges = taps >= 25 ? 8 * edge_pixels >= win.out_h * win.out_w : 3 * edge_pixels >= win.out_h * win.out_w;
  // 3x3 and 5x5 rows of full channel blocks skip the padding in the kernel
  // (simd/nhwc_kernels.h depthwise_by_rows): no copy.
  const bool padded_rows = depthwise_by_rows(g) && C >= L && (KW == 3 || C % L == 0);
  const bool slabs = !padded_rows && (win.pad_top | win.pad_left | pb | pr) != 0 && hp * wp * XS <= kMaxSlabFloats &&
                     (hp * wp * C <= (int64_t(32) << 10) || (taps >= 9 && many_edges));
  if (slabs) {
    for (int64_t ky = 0; ky < KH; ++ky)
      for (int64_t kx = 0; kx < KW; ++kx)
        offsets[size_t(ky * KW + kx)] = (ky * win.dilation_h * wp + kx * win.dilation_w) * XS;
    g.in_h = hp, g.in_w = wp, g.pad_top = g.pad_left = 0, g.ox_lo = 0, g.ox_hi = win.out_w;
    g.x_pixel_stride = XS, g.x_block_slab = true;
  }
  // Fewer channels than lanes (8 on AVX-512): with stride 1, L / C adjacent output pixels
  // read adjacent input pixels, so one vector computes them all (the weights repeat, see
  // the packing) when every window is inside the image and the rows split evenly.
  if (C < L && L % C == 0 && win.stride_w == 1 && win.out_w % (L / C) == 0 && depthwise_windows_inside(g))
    g.pixels_per_vector = L / C;
  // Tasks of output rows (about 512 pixels each), cut finer over threads, and over channel
  // blocks too when the image has few rows (7x7 layers with a thousand channels).
  const int64_t rows = batch * win.out_h, blocks = (C + L - 1) / L;
  const int64_t want = threads > 1 ? int64_t(ThreadPool::kPiecesPerThread) * threads : 1;
  int64_t per_task = std::max<int64_t>(1, 512 / std::max<int64_t>(1, win.out_w));
  if (threads > 1) per_task = std::min(per_task, std::max<int64_t>(1, rows / want));
  const int64_t row_tasks = (rows + per_task - 1) / per_task;
  const int64_t splits = row_tasks >= want ? 1 : std::min(blocks, (want + row_tasks - 1) / row_tasks);
  const int64_t blocks_per_split = (blocks + splits - 1) / splits;
  const int64_t image_out = win.out_h * win.out_w * M;
  // Output rows [r0, r1) of image n, channel block cb, from its slab (the rows they read copied).
  auto slab_rows = [&](int64_t n, int64_t cb, int64_t r0, int64_t r1) {
    float* slab = depthwise_slab(hp, wp, XS, win);
    const int64_t c0 = cb * L, nc = std::min(XS, C - c0);
    const int64_t iy_lo = std::max<int64_t>(0, r0 * win.stride_h - win.pad_top);
    const int64_t iy_hi = std::min(win.in_h, (r1 - 1) * win.stride_h - win.pad_top + (KH - 1) * win.dilation_h + 1);
    for (int64_t iy = iy_lo; iy < iy_hi; ++iy) {
      const float* src = x + ((n * win.in_h + iy) * win.in_w) * C + c0;
      float* dst = slab + ((iy + win.pad_top) * wp + win.pad_left) * XS;
      if (XS == C) {
        std::memcpy(dst, src, size_t(win.in_w * C) * sizeof(float));
      } else {
        for (int64_t ix = 0; ix < win.in_w; ++ix, src += C, dst += XS) std::copy_n(src, nc, dst);
      }
    }
    DepthwiseRows part = g;
    part.x = slab, part.y = y + n * image_out, part.residual = residual ? residual + n * image_out : nullptr;
    part.block_begin = cb, part.block_end = cb + 1;
    depthwise_f32(part, r0, r1);
  };
  parallel_for(pool, row_tasks * splits, [&](int64_t begin, int64_t end) {
    for (int64_t task = begin; task < end; ++task) {
      const int64_t r0 = task / splits * per_task, r1 = std::min(rows, r0 + per_task), sp = task % splits;
      const int64_t b0 = sp * blocks_per_split, b1 = std::min(blocks, b0 + blocks_per_split);
      if (b0 >= b1) continue;
      if (slabs) {
        for (int64_t cb = b0; cb < b1; ++cb)
          for (int64_t r = r0; r < r1;) {  // the task's rows, image by image
            const int64_t n = r / win.out_h, stop = std::min(r1, (n + 1) * win.out_h);
            slab_rows(n, cb, r - n * win.out_h, stop - n * win.out_h);
            r = stop;
          }
      } else {
        DepthwiseRows part = g;
        part.block_begin = b0, part.block_end = b1;
        depthwise_f32(part, r0, r1);
      }
      if (post_activation) {
        const int64_t c0 = b0 * L, c1 = std::min(C, b1 * L);
        for (int64_t p = r0 * win.out_w; p < r1 * win.out_w; ++p) activation.apply(y + p * M + c0, c1 - c0);
      }
    }
  });
}

// Dense and grouped convolution: the indirect GEMM over chunks of output pixels.
void igemm_conv(const NhwcConvWeights& w, const float* x, int64_t batch, const NhwcWindow& win, float* y, int64_t ldy,
                const float* residual, const FusedActivation& activation, const NhwcEpilogue& epi, bool post_activation,
                ThreadPool* pool) {
  const int64_t C = w.in_channels(), M = w.out_channels(), G = w.group(), taps = win.taps();
  const int64_t pixels = batch * win.out_h * win.out_w;
  const int threads = pool_size(pool);

  const IgemmLayout L = layout();
  const int64_t MR = L.mr, NR = w.panel_width(), Cg = C / G, Mg = M / G, panels = (Mg + NR - 1) / NR;
  const int64_t panel_floats = NR + taps * Cg * NR;

  // Few input channels (a first layer on RGB): a pointer per tap would feed only C
  // multiply-adds. With the input padded left and right, the KW taps of one kernel row read
  // KW * C contiguous floats, so each kernel row is one "tap" of KW * C channels; the packed
  // weights are in that order already (tap-major, channel-minor).
  const float* src = x;
  NhwcWindow kwin = win;  // the window the row pointers are built for
  int64_t ktaps = taps, kch = Cg;  // K as taps x channels, as the micro-kernel sees it
  const bool rows_as_taps = G == 1 && win.kernel_w > 1 && win.dilation_w == 1 && C * win.kernel_w <= kMaxRowTapFloats;
  if (rows_as_taps) {
    const int64_t right = std::max<int64_t>(0, (win.out_w - 1) * win.stride_w - win.pad_left + win.kernel_w - win.in_w);
    const int64_t wp = win.in_w + win.pad_left + right;
    // The zero border stays between runs of the same geometry; only the image is copied.
    thread_local std::vector<float> padded;
    thread_local int64_t padded_for[4] = {-1, -1, -1, -1};
    const int64_t key[4] = {batch * win.in_h, wp, C, win.pad_left};
    if (!std::equal(key, key + 4, padded_for)) {
      padded.assign(size_t(batch * win.in_h * wp * C), 0.f);
      std::copy(key, key + 4, padded_for);
    }
    for (int64_t r = 0; r < batch * win.in_h; ++r)
      std::memcpy(padded.data() + (r * wp + win.pad_left) * C, x + r * win.in_w * C, size_t(win.in_w * C) * sizeof(float));
    src = padded.data();
    kwin.in_w = wp, kwin.pad_left = 0, kwin.kernel_w = 1;
    ktaps = win.kernel_h, kch = win.kernel_w * C;
  }
  const float* zero = constant_row(std::max(C, kch), false);
  const std::vector<KBlock>& blocks = k_blocks(ktaps, kch, NR);
  const bool small_k = blocks.size() == 1 && panels * panel_floats * int64_t(sizeof(float)) <= kWeightBlockBytes;
  const bool paired = rows_as_taps && small_k && w.pairs() != nullptr;  // IgemmTile::paired
  const int64_t chunk = chunk_pixels(pixels, MR, threads, panels * G), chunks = (pixels + chunk - 1) / chunk;
  // Few chunks for the threads (small images, many channels): split the panels too, into
  // enough pieces that threads claiming them as they come free finish together.
  const int64_t want = threads > 1 ? int64_t(ThreadPool::kPiecesPerThread) * threads : 1;
  const int64_t splits = chunks >= want ? 1 : std::min<int64_t>(panels, (want + chunks - 1) / chunks);
  const int64_t panels_per_split = (panels + splits - 1) / splits;
  // Row pointers of every chunk come from the weights' cache when it was built for this input
  // address and geometry, else are built (into the cache when it is free and not too big).
  const int64_t chunk_rows = (chunk + MR - 1) / MR * MR * ktaps;
  NhwcRowCache& cache = w.row_cache();
  std::unique_lock<std::mutex> cache_lock(cache.mutex, std::try_to_lock);
  const bool use_cache = cache_lock.owns_lock() && chunks * chunk_rows <= kMaxCachedRows;
  const std::array<int64_t, 11> key = {int64_t(reinterpret_cast<uintptr_t>(src)), int64_t(reinterpret_cast<uintptr_t>(zero)),
                                    batch, kwin.in_h, kwin.in_w, kwin.out_h, kwin.out_w, kwin.kernel_w, chunk, MR, C};
  const bool cached = use_cache && cache.valid && cache.key == key;
  if (use_cache && !cached) {
    cache.valid = false;  // again only once every chunk is built
    cache.rows.resize(size_t(chunks * chunk_rows));
  }
  parallel_for(pool, chunks * splits, [&](int64_t begin, int64_t end) {
    for (int64_t task = begin; task < end; ++task) {
      const int64_t c = task / splits, s = task % splits;
      const int64_t p0 = c * chunk, count = std::min(chunk, pixels - p0), tiles = (count + MR - 1) / MR;
      // A chunk cut into panel splits has one task per split: the first fills the cache,
      // the others build their own copy.
      const bool own = use_cache && (cached || s == 0);
      const float** rows_ptr = own ? cache.rows.data() + c * chunk_rows : row_scratch(size_t(chunk_rows)).data();
      if (!cached || !own) build_rows(src, C, kwin, p0, count, MR, zero, rows_ptr);
      const int64_t pan_begin = s * panels_per_split, pan_end = std::min(panels, (s + 1) * panels_per_split);
      auto run_tile = [&](int64_t g, int64_t pan, size_t b, int64_t t) {
        const KBlock& kb = blocks[b];
        const float* bias = w.packed() + g * w.group_stride() + pan * panel_floats;
        const int64_t col = g * Mg + pan * NR, row0 = p0 + t * MR;
        IgemmTile tile{std::min(MR, count - t * MR), std::min(NR, Mg - pan * NR), kb.kc, kb.taps,
                       rows_ptr + (t * ktaps + kb.tap0) * MR, g * Cg + kb.k0,
                       bias + NR + (kb.tap0 * kch + kb.k0) * NR, kch * NR, b == 0 ? bias : nullptr,
                       y + row0 * ldy + col, ldy, b + 1 == blocks.size(),
                       residual ? residual + row0 * M + col : nullptr, M, epi, t == 0 || (small_k && pan == pan_begin),
                       tile_vectors(NR)};
        if (paired) tile.paired = true, tile.w = w.pairs(), tile.w_tap_stride = (kch + 1) / 2 * 16;
        igemm_f32(tile);
      };
      for (int64_t g = 0; g < G; ++g) {
        if (small_k) {
          // All of K in one block, and the weights of every panel in L1: each tile's rows are
          // read once and its output rows written whole, panel after panel.
          for (int64_t t = 0; t < tiles; ++t)
            for (int64_t pan = pan_begin; pan < pan_end; ++pan) run_tile(g, pan, 0, t);
        } else {
          for (int64_t pan = pan_begin; pan < pan_end; ++pan)
            for (size_t b = 0; b < blocks.size(); ++b)
              for (int64_t t = 0; t < tiles; ++t) run_tile(g, pan, b, t);
        }
      }
      if (post_activation) {  // on this task's columns of each row
        const int64_t c0 = s * panels_per_split * NR;
        const int64_t c1 = std::min(Mg, (s + 1) * panels_per_split * NR);
        for (int64_t p = p0; p < p0 + count; ++p)
          for (int64_t g = 0; g < G && c0 < c1; ++g) activation.apply(y + p * ldy + g * Mg + c0, c1 - c0);
      }
    }
  });
  if (use_cache && !cached) cache.key = key, cache.valid = true;
}
}  // namespace

void nhwc_conv_f32(const NhwcConvWeights& w, const float* x, int64_t batch, const NhwcWindow& win, float* y,
                   const float* residual, const FusedActivation& activation, ThreadPool* pool, int64_t y_stride) {
  bool post_activation = false;
  const NhwcEpilogue epi = register_epilogue(activation, &post_activation);
  const int64_t C = w.in_channels(), M = w.out_channels(), G = w.group(), taps = win.taps();
  const int64_t pixels = batch * win.out_h * win.out_w;
  if (pixels == 0 || M == 0) return;
  const double flops = 2.0 * double(pixels) * double(M) * double(taps) * double(C / G);
  // Depthwise runs at a quarter of the GEMM's FLOP rate (one load per multiply-add): weigh
  // its FLOPs so the thread threshold is about the same time.
  pool = worth_threads(pool, w.depthwise() ? 4 * flops : flops,
                       w.depthwise() ? 0.0 : 4.0 * double(M) * double(C / G) * double(win.kernel_h * win.kernel_w));
  if (w.depthwise()) {
    EK_CHECK(y_stride == 0 || y_stride == M, "nhwc_conv_f32: a depthwise convolution writes contiguous pixels (",
             M, " channels), got an output pixel stride of ", y_stride);
    depthwise_conv(w, x, batch, win, y, residual, activation, epi, post_activation, pool);
  } else {
    igemm_conv(w, x, batch, win, y, y_stride > 0 ? y_stride : M, residual, activation, epi, post_activation, pool);
  }
}

void packed_gemm_f32(const NhwcConvWeights& w, const float* a, int64_t m, float* y, const FusedActivation& activation,
                     ThreadPool* pool) {
  NhwcWindow win;
  win.in_h = win.out_h = m, win.in_w = win.out_w = 1;
  nhwc_conv_f32(w, a, 1, win, y, nullptr, activation, pool);
}

void packed_gemv_f32(const NhwcConvWeights& w, const float* x, const float* init, float* y) {
  const IgemmLayout L = layout();
  const int64_t N = w.out_channels(), K = w.in_channels(), NR = w.panel_width(), panels = (N + NR - 1) / NR;
  const int64_t panel_floats = NR + K * NR;
  if (init != y) std::copy_n(init, N, y);
  if (tile_vectors(NR) > 0) {  // panels of whole vectors: the matrix-vector kernel
    gemv_f32({w.packed(), panels, NR, panel_floats, K, N, x, y});
    return;
  }
  const float* rows[16];
  for (int64_t i = 0; i < L.mr && i < 16; ++i) rows[i] = x;
  const std::vector<KBlock>& blocks = k_blocks(1, K, NR);
  for (int64_t pan = 0; pan < panels; ++pan) {
    const float* bias = w.packed() + pan * panel_floats;
    for (size_t b = 0; b < blocks.size(); ++b) {
      const KBlock& kb = blocks[b];
      IgemmTile tile{1, std::min(NR, N - pan * NR), kb.kc, 1, rows, kb.k0, bias + NR + kb.k0 * NR, K * NR, nullptr,
                     y + pan * NR, N, b + 1 == blocks.size(), nullptr, 0, NhwcEpilogue{}, true, tile_vectors(NR)};
      igemm_f32(tile);
    }
  }
}

namespace {
template <bool kMax>
void nhwc_pool(const float* x, int64_t batch, int64_t channels, const NhwcWindow& win, bool count_include_pad,
               float* y, ThreadPool* pool) {
  const int64_t taps = win.taps(), pixels = batch * win.out_h * win.out_w;
  if (pixels == 0 || channels == 0) return;
  // A pool, like a depthwise convolution, does a load per operation: weigh it the same way.
  pool = worth_threads(pool, 4.0 * double(pixels) * double(taps) * double(channels));
  const float* pad = constant_row(channels, kMax);
  const int64_t chunk = chunk_pixels(pixels, 1, pool_size(pool)), chunks = (pixels + chunk - 1) / chunk;
  parallel_for(pool, chunks, [&](int64_t begin, int64_t end) {
    for (int64_t c = begin; c < end; ++c) {
      const int64_t p0 = c * chunk, count = std::min(chunk, pixels - p0);
      auto& rows = row_scratch(size_t(count * taps));
      build_rows(x, channels, win, p0, count, 1, pad, rows.data());
      thread_local std::vector<float> scale;
      if (!kMax) {
        scale.resize(size_t(count));
        const int64_t hw = win.out_h * win.out_w;
        for (int64_t i = 0; i < count; ++i) {
          const int64_t oy = ((p0 + i) % hw) / win.out_w, ox = (p0 + i) % win.out_w;
          // Taps inside the image, or inside image + pads with count_include_pad (never the
          // positions past the end pad that ceil_mode adds).
          const int64_t lo_h = count_include_pad ? -win.pad_top : 0, hi_h = win.in_h + (count_include_pad ? win.pad_bottom : 0);
          const int64_t lo_w = count_include_pad ? -win.pad_left : 0, hi_w = win.in_w + (count_include_pad ? win.pad_right : 0);
          int64_t rows_in = 0, cols_in = 0;
          for (int64_t k = 0; k < win.kernel_h; ++k) {
            const int64_t iy = oy * win.stride_h - win.pad_top + k * win.dilation_h;
            rows_in += iy >= lo_h && iy < hi_h;
          }
          for (int64_t k = 0; k < win.kernel_w; ++k) {
            const int64_t ix = ox * win.stride_w - win.pad_left + k * win.dilation_w;
            cols_in += ix >= lo_w && ix < hi_w;
          }
          const int64_t n = rows_in * cols_in;
          scale[size_t(i)] = n > 0 ? 1.f / float(n) : 0.f;
        }
      }
      PoolRun r{count, taps, channels, rows.data(), kMax ? nullptr : scale.data(), y + p0 * channels, channels};
      kMax ? max_pool_f32(r) : avg_pool_f32(r);
    }
  });
}
}  // namespace

void nhwc_max_pool_f32(const float* x, int64_t batch, int64_t channels, const NhwcWindow& win, float* y,
                       ThreadPool* pool) {
  nhwc_pool<true>(x, batch, channels, win, false, y, pool);
}

void nhwc_avg_pool_f32(const float* x, int64_t batch, int64_t channels, const NhwcWindow& win,
                       bool count_include_pad, float* y, ThreadPool* pool) {
  nhwc_pool<false>(x, batch, channels, win, count_include_pad, y, pool);
}

void nhwc_global_avg_pool_f32(const float* x, int64_t batch, int64_t pixels, int64_t channels, float* y,
                              ThreadPool* pool) {
  if (batch == 0 || channels == 0) return;
  // Blocks of pixels small enough to split a 56x56 image a few ways, large enough that one
  // block's sums cost more than handing it to a thread.
  constexpr int64_t kBlockPixels = 256;
  const int64_t blocks = std::max<int64_t>(1, (pixels + kBlockPixels - 1) / kBlockPixels);
  thread_local std::vector<float> sums;  // [batch][blocks][channels], the caller's; workers write disjoint parts
  sums.resize(size_t(batch * blocks * channels));
  float* partial = sums.data();
  pool = worth_threads(pool, 4.0 * double(batch * pixels * channels));
  parallel_for(pool, batch * blocks, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const int64_t n = t / blocks, p0 = t % blocks * kBlockPixels, count = std::min(kBlockPixels, pixels - p0);
      float* out = partial + t * channels;
      if (count > 0) channel_sum_f32(x + (n * pixels + p0) * channels, count, channels, out);
      else std::fill(out, out + channels, 0.f);
    }
  });
  // The blocks' sums added and divided in double, as the NCHW reference sums.
  for (int64_t n = 0; n < batch; ++n) {
    const float* first = partial + n * blocks * channels;
    for (int64_t c = 0; c < channels; ++c) {
      double sum = 0;
      for (int64_t b = 0; b < blocks; ++b) sum += double(first[b * channels + c]);
      y[n * channels + c] = pixels > 0 ? float(sum / double(pixels)) : 0.f;
    }
  }
}

const char* nhwc_kernel_isa() { return layout().isa; }

}  // namespace edgekit
