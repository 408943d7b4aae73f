// Highway implementation of simd/nhwc_kernels.h. This file is compiled once per target ISA
// (hwy/foreach_target.h re-includes it); HWY_DYNAMIC_DISPATCH calls the best one this CPU runs.
// Tile sizes follow the register file: accumulators for MR x NV vectors, NV weight vectors,
// and the weights must fit, broadcasts coming from memory operands (AVX-512: 32 registers,
// 14 x 2 x 16 floats, measured 5-8% faster than 12 x 2; AVX2: 16 registers,
// 6 x 2 x 8; 128-bit NEON and the portable emulation: 6 x 2 x 4).
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/simd/nhwc_kernels.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/cache_control.h"
#include "hwy/highway.h"
#include "kernels/simd/nhwc_epilogue-inl.h"
#include "kernels/simd/nhwc_kernels.h"

#include <algorithm>
#include <type_traits>
#include <utility>

HWY_BEFORE_NAMESPACE();
namespace edgekit {
namespace HWY_NAMESPACE {

#if HWY_TARGET <= HWY_AVX3 && HWY_ARCH_X86
constexpr int64_t kMR = 14;
#else
constexpr int64_t kMR = 6;
#endif
constexpr int64_t kNV = 2;  // vectors per panel row

// For lambdas on the hot path, which GCC otherwise may leave as calls.
#define HWY_ATTR_INLINE __attribute__((always_inline))

#if HWY_TARGET == HWY_SCALAR
// The one-lane target (x86-64 without AVX2, other CPUs without a vector target): plain loops,
// correct on any geometry, instead of the register tiles below compiled for one lane (0.12 MB
// of the runtime for a path no AVX2 or NEON machine takes). The epilogue is the same code.

void Igemm(const IgemmTile& t) {
  const Epi epi(t.epilogue);
  const int64_t nr = t.vectors;  // floats a k row of the panel holds (one lane a vector)
  for (int64_t i = 0; i < t.mr; ++i) {
    for (int64_t j = 0; j < t.n; ++j) {
      float acc = t.bias ? t.bias[j] : t.c[i * t.ldc + j];
      for (int64_t tap = 0; tap < t.taps; ++tap) {
        const float* row = t.a[tap * kMR + i] + t.a_offset;
        const float* w = t.w + tap * t.w_tap_stride + j;
        for (int64_t k = 0; k < t.kc; ++k) acc += row[k] * w[k * nr];
      }
      if (t.last) {
        V v = hn::Set(D(), t.residual ? acc + t.residual[i * t.ldr + j] : acc);
        epi.apply<1>(&v);
        acc = hn::GetLane(v);
      }
      t.c[i * t.ldc + j] = acc;
    }
  }
}

void Depthwise(const DepthwiseRows& g, int64_t row_begin, int64_t row_end) {
  const Epi epi(g.epilogue);
  const int64_t C = g.channels, taps = g.kernel_h * g.kernel_w;  // one channel a block
  const int64_t c_end = g.block_end < 0 ? C : g.block_end;
  const int64_t XC = g.x_pixel_stride > 0 ? g.x_pixel_stride : C, xc0 = g.x_block_slab ? g.block_begin : 0;
  for (int64_t r = row_begin; r < row_end; ++r) {
    const int64_t img = r / g.out_h, iy0 = (r % g.out_h) * g.stride_h - g.pad_top;
    const float* image = g.x + img * g.in_h * g.in_w * XC;
    for (int64_t ox = 0; ox < g.out_w; ++ox) {
      const int64_t ix0 = ox * g.stride_w - g.pad_left, p = r * g.out_w + ox;
      for (int64_t c = g.block_begin; c < c_end; ++c) {
        const float* wc = g.w + c * (1 + taps);  // bias, then the taps
        float acc = wc[0];
        for (int64_t ky = 0; ky < g.kernel_h; ++ky) {
          const int64_t iy = iy0 + ky * g.dilation_h;
          if (iy < 0 || iy >= g.in_h) continue;
          for (int64_t kx = 0; kx < g.kernel_w; ++kx) {
            const int64_t ix = ix0 + kx * g.dilation_w;
            if (ix >= 0 && ix < g.in_w) acc += image[(iy * g.in_w + ix) * XC + c - xc0] * wc[1 + ky * g.kernel_w + kx];
          }
        }
        V v = hn::Set(D(), g.residual ? acc + g.residual[p * C + c] : acc);
        epi.apply<1>(&v);
        g.y[p * C + c] = hn::GetLane(v);
      }
    }
  }
}

#else  // vector targets

// R rows of accumulators (R >= t.mr; the pointer groups are always kMR apart), vectors of
// DT: the full width, or (panels of a quarter of the tile's width, t.vectors == 0) 8 lanes.
template <class DT, int64_t R, int64_t NV, bool kPrefetch>
HWY_INLINE void igemm_tile(const IgemmTile& t) {
  using V = hn::Vec<DT>;
  const DT d;
  const int64_t L = int64_t(hn::Lanes(d));
  V acc[R][NV];
  if (t.bias) {
    for (int64_t v = 0; v < NV; ++v) {
      const V b = hn::LoadU(d, t.bias + v * L);
      for (int64_t i = 0; i < R; ++i) acc[i][v] = b;
    }
  } else {
    for (int64_t i = 0; i < R; ++i) {
      const float* crow = t.c + (i < t.mr ? i : 0) * t.ldc;
      for (int64_t v = 0; v < NV; ++v) acc[i][v] = t.n > v * L ? load_n(d, crow + v * L, t.n - v * L) : hn::Zero(d);
    }
  }
  // With one or two rows there are too few accumulators to cover the FMA latency: k is
  // split over kS independent sets, summed at the end.
  constexpr int64_t kS = R <= 2 ? 4 : 1;
  V part[kS > 1 ? kS - 1 : 1][R][NV];
  if constexpr (kS > 1)
    for (int64_t s = 0; s < kS - 1; ++s)
      for (int64_t i = 0; i < R; ++i)
        for (int64_t v = 0; v < NV; ++v) part[s][i][v] = hn::Zero(d);
  for (int64_t tap = 0; tap < t.taps; ++tap) {
    const float* const* ap = t.a + tap * kMR;
    const float* rows[R];
    for (int64_t i = 0; i < R; ++i) rows[i] = ap[i] + t.a_offset;
    const float* w = t.w + tap * t.w_tap_stride;
    int64_t k = 0;
    if constexpr (kS > 1) {
      for (; k + kS <= t.kc; k += kS) {
        for (int64_t s = 0; s < kS; ++s) {
          V wv[NV];
          for (int64_t v = 0; v < NV; ++v) wv[v] = hn::LoadU(d, w + (s * NV + v) * L);
          for (int64_t i = 0; i < R; ++i) {
            const V ai = hn::Set(d, rows[i][k + s]);
            V* a = s == 0 ? acc[i] : part[s > 0 ? s - 1 : 0][i];
            for (int64_t v = 0; v < NV; ++v) a[v] = hn::MulAdd(ai, wv[v], a[v]);
          }
        }
        if constexpr (kPrefetch) {
          hwy::Prefetch(w + 16 * NV * L);
          hwy::Prefetch(w + 16 * NV * L + 64);
        }
        w += kS * NV * L;
      }
    }
    if constexpr (kS == 1 && NV == 1) {
      // One vector per row: a broadcast feeds a single multiply-add, so loading each row's
      // pointer per k would make the loads, not the FMAs, the limit. Four k per pointer load,
      // with the four weight vectors in registers.
      constexpr int64_t kU = 4;
      for (; k + kU <= t.kc; k += kU) {
        V wv[kU];
        for (int64_t u = 0; u < kU; ++u) wv[u] = hn::LoadU(d, w + u * L);
        if constexpr (kPrefetch) hwy::Prefetch(w + 16 * kU * L);
        w += kU * L;
        for (int64_t i = 0; i < R; ++i) {
          const float* a = rows[i] + k;
          for (int64_t u = 0; u < kU; ++u) acc[i][0] = hn::MulAdd(hn::Set(d, a[u]), wv[u], acc[i][0]);
        }
      }
    }
    for (; k < t.kc; ++k) {
      V wv[NV];
      for (int64_t v = 0; v < NV; ++v) wv[v] = hn::LoadU(d, w + v * L);
      if constexpr (kPrefetch) {
        hwy::Prefetch(w + 16 * NV * L);
        if (NV > 1) hwy::Prefetch(w + 16 * NV * L + 16);
      }
      w += NV * L;
      for (int64_t i = 0; i < R; ++i) {
        const V ai = hn::Set(d, rows[i][k]);
        for (int64_t v = 0; v < NV; ++v) acc[i][v] = hn::MulAdd(ai, wv[v], acc[i][v]);
      }
    }
  }
  if constexpr (kS > 1)
    for (int64_t s = 0; s < kS - 1; ++s)
      for (int64_t i = 0; i < R; ++i)
        for (int64_t v = 0; v < NV; ++v) acc[i][v] = hn::Add(acc[i][v], part[s][i][v]);
  if (!t.last) {
    for (int64_t i = 0; i < t.mr; ++i)
      for (int64_t v = 0; v < NV && t.n > v * L; ++v) store_n(d, acc[i][v], t.n - v * L, t.c + i * t.ldc + v * L);
    return;
  }
  const EpiT<DT> epi(t.epilogue);
  for (int64_t i = 0; i < t.mr; ++i) {
    float* crow = t.c + i * t.ldc;
    const float* rrow = t.residual ? t.residual + i * t.ldr : nullptr;
    for (int64_t v = 0; v < NV; ++v) {
      const int64_t n = t.n - v * L;
      if (n <= 0) break;
      V x = acc[i][v];
      if (rrow) x = hn::Add(x, load_n(d, rrow + v * L, n));
      store_n(d, epi(x), n, crow + v * L);
    }
  }
}

// Eight lanes (half an AVX-512 vector): panels of 8 output channels (layers of at most 8),
// at the same lane throughput where 256-bit FMAs issue twice as often (AMD Zen 4), never
// below a half-empty full vector.
using D8 = hn::CappedTag<float, 8>;

template <int64_t R>
HWY_INLINE void igemm_rows(const IgemmTile& t) {
  if (t.vectors <= 1) return t.prefetch ? igemm_tile<D, R, 1, true>(t) : igemm_tile<D, R, 1, false>(t);
  t.prefetch ? igemm_tile<D, R, kNV, true>(t) : igemm_tile<D, R, kNV, false>(t);
}

#if HWY_MAX_BYTES >= 64
// IgemmTile::paired (8 output channels, 16 lanes): accumulator lane 2m + p sums the products
// of the row's k of parity p for channel m, so a row of kc inputs takes ceil(kc / 2)
// full-width multiply-adds instead of kc half-width ones (an RGB first layer's 3x3 window
// rows of 9 floats: 5 instead of 9); the two parities are added once at the end. An odd last
// k is broadcast alone into the even lanes (the odd ones zero, so no infinity meets a zero
// weight there). One block of K: starts from the bias, ends with the epilogue.
typedef double PairOfFloats __attribute__((may_alias, aligned(4)));
template <int64_t R>
HWY_INLINE void igemm_pairs(const IgemmTile& t) {
  const D d;
  const hn::Repartition<double, D> dd;
  const hn::RebindToSigned<D> di;
  V acc[R];
  [&]<int64_t... kI>(std::integer_sequence<int64_t, kI...>) HWY_ATTR_INLINE {
    ((acc[kI] = hn::Zero(d)), ...);
  }(std::make_integer_sequence<int64_t, R>());
  const int64_t pairs = t.kc / 2;
  const auto even = hn::RebindMask(d, hn::Eq(hn::And(hn::Iota(di, 0), hn::Set(di, 1)), hn::Zero(di)));
  for (int64_t tap = 0; tap < t.taps; ++tap) {
    const float* const* ap = t.a + tap * kMR;
    const float* rows[R];
    for (int64_t i = 0; i < R; ++i) rows[i] = ap[i] + t.a_offset;
    const float* w = t.w + tap * t.w_tap_stride;
    for (int64_t j = 0; j < pairs; ++j, w += 16) {
      const V wv = hn::LoadU(d, w);
      for (int64_t i = 0; i < R; ++i) {
        // x[2j], x[2j + 1] as one 64-bit lane, repeated (vbroadcastsd from memory; through
        // memcpy GCC kept the accumulators in memory)
        const double two = *reinterpret_cast<const PairOfFloats*>(rows[i] + 2 * j);
        acc[i] = hn::MulAdd(hn::BitCast(d, hn::Set(dd, two)), wv, acc[i]);
      }
    }
    if (t.kc & 1) {
      const V wv = hn::LoadU(d, w);
      for (int64_t i = 0; i < R; ++i)
        acc[i] = hn::MulAdd(hn::IfThenElseZero(even, hn::Set(d, rows[i][t.kc - 1])), wv, acc[i]);
    }
  }
  const D8 d8;
  const EpiT<D8> epi(t.epilogue);
  const hn::Vec<D8> bias = hn::LoadU(d8, t.bias);
  // The channel totals (lane 2m) by compile-time row index (acc indexed at run time would be
  // kept in memory, zeroed first), then one copy of the epilogue over the tile's rows.
  auto totals = [&](V a) HWY_ATTR_INLINE {
    const V sums = hn::Add(a, hn::Shuffle2301(a));  // channel m's total in lane 2m
    return hn::LowerHalf(hn::ConcatEven(d, sums, sums));
  };
  hn::Vec<D8> out[R];
  [&]<int64_t... kI>(std::integer_sequence<int64_t, kI...>) HWY_ATTR_INLINE {
    ((out[kI] = totals(acc[kI])), ...);
  }(std::make_integer_sequence<int64_t, R>());
  for (int64_t i = 0; i < t.mr; ++i) {
    hn::Vec<D8> x = hn::Add(out[i], bias);
    if (t.residual) x = hn::Add(x, load_n(d8, t.residual + i * t.ldr, t.n));
    store_n(d8, epi(x), t.n, t.c + i * t.ldc);
  }
}
#endif

// The smallest tile that covers the rows: a short last tile (or a GEMV) does not pay for kMR.
void Igemm(const IgemmTile& t) {
#if HWY_MAX_BYTES >= 64
  if (t.paired) return t.mr <= 4 ? igemm_pairs<4>(t) : igemm_pairs<kMR>(t);  // two heights: 25 KB
#endif
  if constexpr (HWY_MAX_BYTES >= 64) {
    // Narrow layers (8-lane panels): three tile heights and no prefetch (few weights) keep
    // their share of the library small.
    if (t.vectors == 0) {
      if (t.mr == 1) return igemm_tile<D8, 1, 1, false>(t);
      if (t.mr <= 4) return igemm_tile<D8, 4, 1, false>(t);
      return igemm_tile<D8, kMR, 1, false>(t);
    }
  }
  if (t.mr == 1) return igemm_rows<1>(t);
  if (t.mr == 2) return igemm_rows<2>(t);
  if (t.mr <= 4) return igemm_rows<4>(t);
  if (kMR > 8 && t.mr <= 8) return igemm_rows<(kMR > 8 ? 8 : kMR)>(t);
  if (kMR > 12 && t.mr <= 12) return igemm_rows<(kMR > 12 ? 12 : kMR)>(t);
  igemm_rows<kMR>(t);
}

// Pixels computed together: independent accumulator chains hide the FMA latency. With 32
// registers eight chains fit beside nine 3x3 weights; with 16, four.
#if (HWY_TARGET <= HWY_AVX3 && HWY_ARCH_X86) || HWY_ARCH_ARM_A64
constexpr int64_t kDepthwisePixels = 8;
#else
constexpr int64_t kDepthwisePixels = 4;
#endif

// The sums (bias included) of kCount adjacent output pixels of one row, kK x kK kernel of
// stride kS, for one block of channels: rows[ky] points at input column `left` of the
// window's kernel row ky (null: the row is padding), columns xc floats apart; the window's
// first `left` and last `right` columns are padding too. Each input vector is loaded once for
// the up to kK multiply-adds that use it (30 loads for 8 pixels of a 3x3 at stride 1, not 72).
// Kernel rows and columns unrolled at compile time, by index sequences rather than loops and
// pragmas: with loops GCC kept the accumulators on the stack (a load and a store around most
// multiply-adds; 56x56x16 17.0 -> 15.0 us, 14x14x384 34 -> 28 us on AMD Zen 4).
// Inlined where it is used (a call, and the caller's vectors spilled around it, cost 25% on
// small images), except under the sanitizers: GCC's -O1 ASan build of this file took over 50
// minutes with every copy inlined, 2 with one a size.
#ifndef EK_ROW_SUMS_INLINE
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define EK_ROW_SUMS_INLINE HWY_NOINLINE
#else
#define EK_ROW_SUMS_INLINE HWY_INLINE
#endif
#endif
template <int64_t kCount, int64_t kS, int64_t kK, bool kFull>
EK_ROW_SUMS_INLINE void depthwise_row_sums(const float* const* rows, int64_t xc, int64_t left, int64_t right,
                                     const float* w, int64_t n, V* out) {
  const D d;
  const int64_t L = lanes();
  constexpr int64_t kCols = (kCount - 1) * kS + kK;
  const auto mask = hn::FirstN(d, size_t(n < L ? n : L));
  const V bias = hn::LoadU(d, w);
  V a[kCount];
  [&]<int64_t... kI>(std::integer_sequence<int64_t, kI...>) HWY_ATTR_INLINE {
    ((a[kI] = bias), ...);
  }(std::make_integer_sequence<int64_t, kCount>());
  auto kernel_row = [&](auto kyc) HWY_ATTR_INLINE {
    constexpr int64_t ky = decltype(kyc)::value;
    const float* q = rows[ky];
    if (!q) return;
    V wk[kK];
    [&]<int64_t... kX>(std::integer_sequence<int64_t, kX...>) HWY_ATTR_INLINE {
      ((wk[kX] = hn::LoadU(d, w + (1 + ky * kK + kX) * L)), ...);
    }(std::make_integer_sequence<int64_t, kK>());
    auto column = [&](auto jc) HWY_ATTR_INLINE {
      constexpr int64_t j = decltype(jc)::value;
      if ((j < kK / 2 && j < left) || (j >= kCols - kK / 2 && j >= kCols - right)) return;
      // Keeps q a walking pointer: GCC otherwise precomputes every column's offset once
      // and, out of registers, reads it from the stack before each load.
      asm("" : "+r"(q));
      V v;
      if constexpr (kFull)
        v = hn::LoadU(d, q);
      else
        v = hn::MaskedLoad(mask, d, q);
      q += xc;
      [&]<int64_t... kX>(std::integer_sequence<int64_t, kX...>) HWY_ATTR_INLINE {
        auto tap = [&](auto kxc) HWY_ATTR_INLINE {
          constexpr int64_t kx = decltype(kxc)::value;
          if constexpr (j >= kx && (j - kx) % kS == 0 && (j - kx) / kS < kCount)
            a[(j - kx) / kS] = hn::MulAdd(v, wk[kx], a[(j - kx) / kS]);
        };
        (tap(std::integral_constant<int64_t, kX>()), ...);
      }(std::make_integer_sequence<int64_t, kK>());
    };
    [&]<int64_t... kJ>(std::integer_sequence<int64_t, kJ...>) HWY_ATTR_INLINE {
      (column(std::integral_constant<int64_t, kJ>()), ...);
    }(std::make_integer_sequence<int64_t, kCols>());
  };
  [&]<int64_t... kY>(std::integer_sequence<int64_t, kY...>) HWY_ATTR_INLINE {
    (kernel_row(std::integral_constant<int64_t, kY>()), ...);
  }(std::make_integer_sequence<int64_t, kK>());
  [&]<int64_t... kI>(std::integer_sequence<int64_t, kI...>) HWY_ATTR_INLINE {
    ((out[kI] = a[kI]), ...);
  }(std::make_integer_sequence<int64_t, kCount>());
}

// One block of `lanes` channels over output rows [row_begin, row_end); the taps' weights stay
// in registers when there are few enough of them (3x3 kernels).
// When every window lies inside the image (no padding, or the image was copied with its
// border, see depthwise_conv), the rows' pixels are one run: groups of pixels may cross row
// ends, each pixel with its own window corner, so no row pays for a short tail. Otherwise rows
// go one by one, the pixels near the edges taking only their taps inside the image.
template <int64_t kTaps, bool kFull>  // kFull: the block has `lanes` channels (no mask)
HWY_INLINE void depthwise_block(const DepthwiseRows& g, int64_t cb, int64_t row_begin, int64_t row_end,
                                bool interior, const Epi& epi) {
  const D d;
  // With pixels_per_vector P > 1 a "pixel" below is P adjacent ones: C * P channels apart.
  const int64_t P = g.pixels_per_vector, out_w = g.out_w / P;
  const int64_t L = lanes(), c0 = cb * L, n = g.channels * P - c0, C = g.channels, ys = C * P;
  // The input: its pixels XC floats apart, this block's channels from xc0 (a block slab holds
  // only this block's channels).
  const int64_t XC = g.x_pixel_stride > 0 ? g.x_pixel_stride : C, xc0 = g.x_block_slab ? 0 : c0;
  const int64_t taps = kTaps > 0 ? kTaps : g.kernel_h * g.kernel_w;
  const float* wb = g.w + cb * (1 + taps) * L;
  const V bias = hn::LoadU(d, wb);
  V wv[kTaps > 0 && kTaps <= 9 ? kTaps : 1];
  int64_t off[kTaps > 0 ? kTaps : 1];
  if constexpr (kTaps > 0)
    for (int64_t k = 0; k < kTaps; ++k) off[k] = g.offsets[k] + xc0;
  if constexpr (kTaps > 0 && kTaps <= 9)
    for (int64_t k = 0; k < kTaps; ++k) wv[k] = hn::LoadU(d, wb + (1 + k) * L);
  const auto mask = hn::FirstN(d, size_t(n < L ? n : L));
  auto load = [&](const float* p) HWY_ATTR_INLINE {
    if constexpr (kFull)
      return hn::LoadU(d, p);
    else
      return hn::MaskedLoad(mask, d, p);
  };
  // 3x3 weights live in registers; 25 would crowd out the accumulators (GCC then spills
  // them all), so 5x5 weights are read from L1 with each multiply-add.
  auto weight = [&](int64_t k) HWY_ATTR_INLINE {
    if constexpr (kTaps > 0 && kTaps <= 9)
      return wv[k];
    else
      return hn::LoadU(d, wb + (1 + k) * L);
  };
  auto offset = [&](int64_t k) HWY_ATTR_INLINE {
    if constexpr (kTaps > 0)
      return off[k];
    else
      return g.offsets[k] + xc0;
  };
  // Residual, epilogue and store of `kCount` consecutive output pixels from pixel p. Not
  // forced inline: with the activations' switch it is most of the code, and a copy at every
  // call site made this file's sanitizer build take minutes more.
  auto finish_any = [&](int64_t p, V* acc, auto count) {
    constexpr int64_t kCount = decltype(count)::value;
    if (g.residual)
      for (int64_t i = 0; i < kCount; ++i) acc[i] = hn::Add(acc[i], load(g.residual + (p + i) * ys + c0));
    epi.apply<kCount>(acc);
    for (int64_t i = 0; i < kCount; ++i) {
      if constexpr (kFull)
        hn::StoreU(acc[i], d, g.y + (p + i) * ys + c0);
      else
        hn::BlendedStore(acc[i], mask, d, g.y + (p + i) * ys + c0);
    }
  };
  // The common epilogues (a clamp, HardSwish, or SiLU on full blocks; no residual) inline: the
  // call to finish_any and its accumulators through memory were a third of a 14x14x480 layer's
  // time with a clamp, 12% with SiLU (-18% on 56x56x144). SiLU inline on masked blocks too
  // would add 40 KB of code for layers' last blocks only.
  const bool hard_swish = g.epilogue.act == NhwcEpilogue::Act::hard_swish;
  const bool silu = kFull && g.epilogue.act == NhwcEpilogue::Act::silu;
  const bool cheap = !g.residual && (g.epilogue.act == NhwcEpilogue::Act::none || hard_swish || silu);
  auto finish = [&](int64_t p, V* acc, auto count) HWY_ATTR_INLINE {
    constexpr int64_t kCount = decltype(count)::value;
    if (!cheap) {
      // A copy's address escapes to the out-of-line epilogue, not the accumulators': theirs
      // escaping costs the common (inline) epilogues too, measured 56x56x16 15.5 -> 14.5 us
      // and 14x14x384 27.5 -> 26.0 us with the copy (AMD Zen 4).
      V out[kCount];
      for (int64_t i = 0; i < kCount; ++i) out[i] = acc[i];
      return finish_any(p, out, count);
    }
    for (int64_t i = 0; i < kCount; ++i) {
      V v = epi.clamp(acc[i]);
      if (hard_swish) v = epi.hard_swish(v);
      if constexpr (kFull)
        if (silu) v = hn::Mul(v, epi.sigmoid(v));
      if constexpr (kFull)
        hn::StoreU(v, d, g.y + (p + i) * ys + c0);
      else
        hn::BlendedStore(v, mask, d, g.y + (p + i) * ys + c0);
    }
  };
  // kCount pixels from p, pixel i's window corner at corner[i] (all taps inside).
  auto group = [&](int64_t p, const float* const* corner, auto count) HWY_ATTR_INLINE {
    constexpr int64_t kCount = decltype(count)::value;
    V a[kCount];
    for (int64_t i = 0; i < kCount; ++i) a[i] = bias;
    for (int64_t k = 0; k < taps; ++k) {
      const V wk = weight(k);
      const int64_t o = offset(k);
      for (int64_t i = 0; i < kCount; ++i) a[i] = hn::MulAdd(load(corner[i] + o), wk, a[i]);
    }
    finish(p, a, count);
  };
  // One pixel, two chains (the taps split between them).
  auto single = [&](int64_t p, const float* corner) HWY_ATTR_INLINE {
    V a0 = bias, a1 = hn::Zero(d);
    int64_t k = 0;
    for (; k + 2 <= taps; k += 2) {
      a0 = hn::MulAdd(load(corner + offset(k)), weight(k), a0);
      a1 = hn::MulAdd(load(corner + offset(k + 1)), weight(k + 1), a1);
    }
    if (k < taps) a0 = hn::MulAdd(load(corner + offset(k)), weight(k), a0);
    V acc = hn::Add(a0, a1);
    finish(p, &acc, std::integral_constant<int64_t, 1>());
  };
  using One = std::integral_constant<int64_t, 1>;
  using Four = std::integral_constant<int64_t, 4>;
  using Group = std::integral_constant<int64_t, kDepthwisePixels>;
  const int64_t step = g.stride_w * XC * P;
  // The window corner of output row r (column 0; may lie in the padding, never dereferenced there).
  auto row_corner = [&](int64_t r) HWY_ATTR_INLINE {
    const int64_t img = r / g.out_h, iy0 = (r % g.out_h) * g.stride_h - g.pad_top;
    return g.x + ((img * g.in_h + iy0) * g.in_w - g.pad_left) * XC;
  };

  // A kK x kK kernel (3 or 5), kCount adjacent pixels of output row r from column ox, stride
  // kS (depthwise_row_sums): pixel i's tap kx reads input column kS * i + kx of the window
  // rows, one pointer walking each row. Padding costs nothing: kernel rows outside the image
  // are skipped, and so are the window's first `left` and last `right` columns when they lie
  // outside it.
  auto row_group = [&](int64_t p, int64_t r, int64_t ox, int64_t left, int64_t right, auto count, auto stride,
                       auto ksize) HWY_ATTR_INLINE {
    constexpr int64_t kCount = decltype(count)::value, kS = decltype(stride)::value, kK = decltype(ksize)::value;
    const int64_t img = r / g.out_h, iy0 = (r % g.out_h) * g.stride_h - g.pad_top;
    const float* image = g.x + img * g.in_h * g.in_w * XC + xc0;
    const float* rows[kK];
    for (int64_t ky = 0; ky < kK; ++ky) {
      const int64_t iy = iy0 + ky * g.dilation_h;
      rows[ky] = iy < 0 || iy >= g.in_h ? nullptr : image + (iy * g.in_w + ox * kS - g.pad_left + left) * XC;
    }
    V a[kCount];
    depthwise_row_sums<kCount, kS, kK, kFull>(rows, XC, left, right, wb, n, a);
    finish(p, a, count);
  };
  // 3x3 (and, through the generic taps, 5x5) in the geometry of depthwise_by_rows, one pixel a
  // vector: by rows, in groups inside the row; the row's last pixels as a group ending at its
  // end (recomputing a few, the same values).
  if constexpr (kTaps == 9 || (kTaps == 0 && kFull)) {
    const int64_t over = depthwise_right_overflow(g);
    // 5x5 on full channel blocks only: a layer's masked last block takes the generic taps
    // (its own copy of the 5x5 rows would be 25 KB of code for one block a layer).
    if (P == 1 && depthwise_by_rows(g) && g.kernel_w == (kTaps == 9 ? 3 : 5)) {
      auto rows_by = [&](auto stride, auto ksize) HWY_ATTR_INLINE {
        auto at = [&](int64_t r, int64_t ox, auto count) HWY_ATTR_INLINE {
          constexpr int64_t kCount = decltype(count)::value;
          const int64_t left = std::max<int64_t>(0, g.pad_left - ox * g.stride_w);
          const int64_t right = std::max<int64_t>(0, over - (out_w - ox - kCount) * g.stride_w);
          row_group(r * out_w + ox, r, ox, left, right, count, stride, ksize);
        };
        // One call site a group size (each inlines a fully unrolled copy of the row sums).
        // With 32 registers, 3x3 at stride 1 on full blocks, a row's last 5-7 pixels are one
        // group of their own (rows of 5, 6, 7, 14 pixels computed once: kws_dscnn's 25x5x64
        // 4.1 -> 2.4 us); otherwise a group of 4 ending at the row's end, recomputing a few
        // (the other kernels' copies would add 70 KB to the runtime).
        for (int64_t r = row_begin; r < row_end; ++r)
          for (int64_t ox = 0; ox < out_w;) {
            const int64_t rest = out_w - ox;
            if (rest >= kDepthwisePixels) {
              at(r, ox, Group());
              ox += kDepthwisePixels;
              continue;
            }
            if constexpr (kDepthwisePixels == 8 && kFull && decltype(stride)::value == 1 && decltype(ksize)::value == 3) {
              if (rest >= 5) {
                if (rest == 5) at(r, ox, std::integral_constant<int64_t, 5>());
                else if (rest == 6) at(r, ox, std::integral_constant<int64_t, 6>());
                else at(r, ox, std::integral_constant<int64_t, 7>());
                break;
              }
            }
            const int64_t at_ox = std::min(ox, out_w - 4);
            at(r, at_ox, Four());
            ox = at_ox + 4;
          }
      };
      using K3 = std::integral_constant<int64_t, (kTaps == 9 ? 3 : 5)>;
      if (g.stride_w == 1)
        rows_by(std::integral_constant<int64_t, 1>(), K3());
      else
        rows_by(std::integral_constant<int64_t, 2>(), K3());
      return;
    }
  }

  if (interior) {
    const int64_t p_begin = row_begin * out_w, p_end = row_end * out_w;
    int64_t r = row_begin, ox = 0, p = p_begin;
    const float* row = row_corner(r);
    auto next = [&]() HWY_ATTR_INLINE {  // the next pixel's window corner, in row order
      const float* q = row + ox * step;
      if (++ox == out_w) {
        ox = 0;
        if (++r < row_end) row = row_corner(r);
      }
      return q;
    };
    auto corner_of = [&](int64_t q) { return row_corner(q / out_w) + (q % out_w) * step; };
    for (; p + kDepthwisePixels <= p_end; p += kDepthwisePixels) {
      const float* corner[kDepthwisePixels];
      for (int64_t i = 0; i < kDepthwisePixels; ++i) corner[i] = next();
      group(p, corner, Group());
    }
    if (kDepthwisePixels > 4 && p + 4 <= p_end) {
      const float* corner[4];
      for (int64_t i = 0; i < 4; ++i) corner[i] = next();
      group(p, corner, Four());
      p += 4;
    }
    // The last one to three: a group ending at p_end, recomputing a few (the same values),
    // rather than latency-bound single pixels.
    if (p < p_end && p_end - p_begin >= 4) {
      const float* corner[4];
      for (int64_t i = 0; i < 4; ++i) corner[i] = corner_of(p_end - 4 + i);
      group(p_end - 4, corner, Four());
      p = p_end;
    }
    for (; p < p_end; ++p) single(p, next());
    return;
  }

  for (int64_t r = row_begin; r < row_end; ++r) {  // set-up above once for all the rows
    const int64_t img = r / g.out_h, oy = r % g.out_h, iy0 = oy * g.stride_h - g.pad_top;
    const float* image = g.x + img * g.in_h * g.in_w * XC;
    const bool rows_inside = iy0 >= 0 && iy0 + (g.kernel_h - 1) * g.dilation_h < g.in_h;
    const int64_t lo = rows_inside ? g.ox_lo : g.out_w, hi = rows_inside ? g.ox_hi : g.out_w;
    const int64_t p_row = r * g.out_w;
    auto edge = [&](int64_t ox) {  // only the taps inside the image
      const int64_t ix0 = ox * g.stride_w - g.pad_left;
      V acc = bias;
      for (int64_t ky = 0; ky < g.kernel_h; ++ky) {
        const int64_t iy = iy0 + ky * g.dilation_h;
        if (iy < 0 || iy >= g.in_h) continue;
        for (int64_t kx = 0; kx < g.kernel_w; ++kx) {
          const int64_t ix = ix0 + kx * g.dilation_w;
          if (ix < 0 || ix >= g.in_w) continue;
          acc = hn::MulAdd(load(image + (iy * g.in_w + ix) * XC + xc0), hn::LoadU(d, wb + (1 + ky * g.kernel_w + kx) * L),
                           acc);
        }
      }
      finish(p_row + ox, &acc, One());
    };
    const float* row = row_corner(r);
    auto four = [&](int64_t at) HWY_ATTR_INLINE {
      const float* corner[4] = {row + at * step, row + (at + 1) * step, row + (at + 2) * step, row + (at + 3) * step};
      group(p_row + at, corner, Four());
    };
    int64_t ox = 0;
    for (; ox < lo; ++ox) edge(ox);
    const int64_t first = ox;
    for (; ox + 4 <= hi; ox += 4) four(ox);
    if (ox < hi && hi - first >= 4) four(hi - 4), ox = hi;
    for (; ox < hi; ++ox) single(p_row + ox, row + ox * step);
    for (; ox < g.out_w; ++ox) edge(ox);
  }
}

void Depthwise(const DepthwiseRows& g, int64_t row_begin, int64_t row_end) {
  const Epi epi(g.epilogue);
  const int64_t L = lanes(), taps = g.kernel_h * g.kernel_w;
  const int64_t all = (g.channels + L - 1) / L, b0 = g.block_begin, b1 = g.block_end < 0 ? all : g.block_end;
  const bool in = depthwise_windows_inside(g);
  auto block = [&](int64_t cb, int64_t r0, int64_t r1) HWY_ATTR_INLINE {
    const bool full = g.channels * g.pixels_per_vector - cb * L >= L;
    // 3x3 unrolled with its weights in registers; other sizes (5x5 reads its weights from L1
    // either way) through the loop over taps: an unrolled 5x5 was a third of this file's code
    // (0.26 MB of the runtime) for 0-3% on EfficientNet-B0 and MobileNetV3 (A/B).
    if (taps == 9)
      full ? depthwise_block<9, true>(g, cb, r0, r1, in, epi) : depthwise_block<9, false>(g, cb, r0, r1, in, epi);
    else
      full ? depthwise_block<0, true>(g, cb, r0, r1, in, epi) : depthwise_block<0, false>(g, cb, r0, r1, in, epi);
  };
  // Channel blocks outside, rows inside: a block's vector of channels is its own cache line
  // of every input pixel, so a block's pass reuses the window rows from L1 and no other
  // block needs them. (Rows outside for inputs beyond L2, as before, refetched each block's
  // window rows from L2: A/B 10-19% slower on 7x7 to 28x28 layers, equal on 112x112.)
  for (int64_t cb = b0; cb < b1; ++cb) block(cb, row_begin, row_end);
}

#endif  // HWY_TARGET == HWY_SCALAR

// Four panels a pass: one broadcast of x[k] for up to 8 vectors of weights; a last pass of
// one to three. The sums start at zero and are added to y at the end.
template <int64_t kPanels, int64_t NV>
HWY_INLINE void gemv_panels(const GemvRun& r, int64_t pan0) {
  const D d;
  const int64_t L = lanes();
  V acc[kPanels][NV];
  for (int64_t p = 0; p < kPanels; ++p)
    for (int64_t v = 0; v < NV; ++v) acc[p][v] = hn::Zero(d);
  const float* w[kPanels];
  for (int64_t p = 0; p < kPanels; ++p) w[p] = r.w + (pan0 + p) * r.panel_floats + r.nr;
  for (int64_t k = 0; k < r.kc; ++k) {
    const V xk = hn::Set(d, r.x[k]);
    for (int64_t p = 0; p < kPanels; ++p)
      for (int64_t v = 0; v < NV; ++v) acc[p][v] = hn::MulAdd(xk, hn::LoadU(d, w[p] + k * r.nr + v * L), acc[p][v]);
  }
  for (int64_t p = 0; p < kPanels; ++p)
    for (int64_t v = 0; v < NV; ++v) {
      const int64_t j = (pan0 + p) * r.nr + v * L, n = r.n - j;
      if (n <= 0) break;
      float* y = r.y + j;
      store_n(hn::Add(load_n(y, n), acc[p][v]), n, y);
    }
}

template <int64_t NV>
HWY_INLINE void gemv_all(const GemvRun& r) {
  int64_t pan = 0;
  for (; pan + 4 <= r.panels; pan += 4) gemv_panels<4, NV>(r, pan);
  switch (r.panels - pan) {
    case 3: return gemv_panels<3, NV>(r, pan);
    case 2: return gemv_panels<2, NV>(r, pan);
    case 1: return gemv_panels<1, NV>(r, pan);
    default: return;
  }
}

void Gemv(const GemvRun& r) {
  if (r.nr == 2 * lanes()) return gemv_all<2>(r);
  if (r.nr == lanes()) return gemv_all<1>(r);
  for (int64_t pan = 0; pan < r.panels; ++pan)  // any other width (one-lane targets): plain loops
    for (int64_t j = 0; j < r.nr && pan * r.nr + j < r.n; ++j) {
      const float* w = r.w + pan * r.panel_floats + r.nr + j;
      float sum = 0.f;
      for (int64_t k = 0; k < r.kc; ++k) sum += r.x[k] * w[k * r.nr];
      r.y[pan * r.nr + j] += sum;
    }
}

IgemmLayout Layout() { return {kMR, kNV * lanes(), hwy::TargetName(HWY_TARGET)}; }

int64_t DepthwiseLanes() { return lanes(); }

// Four pixels at a time (four independent max/add chains), full vectors unmasked.
template <bool kMax>
HWY_INLINE void pool(const PoolRun& r) {
  const D d;
  const int64_t L = lanes();
  auto combine = [](V a, V b) HWY_ATTR_INLINE { return kMax ? hn::Max(a, b) : hn::Add(a, b); };
  int64_t p = 0;
  for (; p + 4 <= r.pixels; p += 4) {
    const float* const* rows[4] = {r.rows + p * r.taps, r.rows + (p + 1) * r.taps, r.rows + (p + 2) * r.taps,
                                   r.rows + (p + 3) * r.taps};
    int64_t c0 = 0;
    for (; c0 + L <= r.channels; c0 += L) {
      V a[4];
      for (int j = 0; j < 4; ++j) a[j] = hn::LoadU(d, rows[j][0] + c0);
      for (int64_t k = 1; k < r.taps; ++k)
        for (int j = 0; j < 4; ++j) a[j] = combine(a[j], hn::LoadU(d, rows[j][k] + c0));
      for (int j = 0; j < 4; ++j) {
        float* y = r.y + (p + j) * r.ldy + c0;
        hn::StoreU(kMax ? a[j] : hn::Mul(a[j], hn::Set(d, r.scale[p + j])), d, y);
      }
    }
    if (c0 < r.channels) {
      const int64_t n = r.channels - c0;
      for (int j = 0; j < 4; ++j) {
        V acc = load_n(rows[j][0] + c0, n);
        for (int64_t k = 1; k < r.taps; ++k) acc = combine(acc, load_n(rows[j][k] + c0, n));
        store_n(kMax ? acc : hn::Mul(acc, hn::Set(d, r.scale[p + j])), n, r.y + (p + j) * r.ldy + c0);
      }
    }
  }
  for (; p < r.pixels; ++p) {
    const float* const* rows = r.rows + p * r.taps;
    float* y = r.y + p * r.ldy;
    for (int64_t c0 = 0; c0 < r.channels; c0 += L) {
      const int64_t n = r.channels - c0;
      V acc = load_n(rows[0] + c0, n);
      for (int64_t k = 1; k < r.taps; ++k) acc = combine(acc, load_n(rows[k] + c0, n));
      store_n(kMax ? acc : hn::Mul(acc, hn::Set(d, r.scale[p])), n, y + c0);
    }
  }
}

void MaxPool(const PoolRun& r) { pool<true>(r); }
void AvgPool(const PoolRun& r) { pool<false>(r); }

// NV vectors of channels from c, summed over the pixels in registers: even and odd pixels in
// separate accumulators (independent add chains), added at the end. `n` lanes are valid.
template <int NV>
HWY_INLINE void channel_sum_block(const float* x, int64_t pixels, int64_t channels, int64_t n, float* y) {
  const D d;
  const int64_t L = lanes();
  V even[NV], odd[NV];
  for (int v = 0; v < NV; ++v) even[v] = odd[v] = hn::Zero(d);
  int64_t p = 0;
  for (; p + 2 <= pixels; p += 2) {
    const float* r = x + p * channels;
    for (int v = 0; v < NV; ++v) {
      even[v] = hn::Add(even[v], load_n(r + v * L, n - v * L));
      odd[v] = hn::Add(odd[v], load_n(r + channels + v * L, n - v * L));
    }
  }
  if (p < pixels)
    for (int v = 0; v < NV; ++v) even[v] = hn::Add(even[v], load_n(x + p * channels + v * L, n - v * L));
  for (int v = 0; v < NV; ++v) store_n(hn::Add(even[v], odd[v]), n - v * L, y + v * L);
}

void ChannelSum(const float* x, int64_t pixels, int64_t channels, float* y) {
  const int64_t L = lanes();
  int64_t c = 0;
  for (; c + 4 * L <= channels; c += 4 * L) channel_sum_block<4>(x + c, pixels, channels, 4 * L, y + c);
  const int64_t rest = channels - c;  // below 4 * L: up to four more vectors, the last partial
  switch ((rest + L - 1) / L) {
    case 4: return channel_sum_block<4>(x + c, pixels, channels, rest, y + c);
    case 3: return channel_sum_block<3>(x + c, pixels, channels, rest, y + c);
    case 2: return channel_sum_block<2>(x + c, pixels, channels, rest, y + c);
    case 1: return channel_sum_block<1>(x + c, pixels, channels, rest, y + c);
    default: return;
  }
}

// Vectors of d's lanes along the pixels; when there are fewer than a vector's left and at
// least one vector in all, the last vector overlaps the one before (rewriting some outputs
// with the same values: x and y do not overlap), so short rows (a channel shuffle's 58) stay
// vectorised.
template <class DT, class T>
HWY_INLINE void interleave_channels(DT d, const T* x, int64_t channels, int64_t pixels, T* y) {
  const int64_t L = int64_t(hn::Lanes(d));
  const T *x0 = x, *x1 = x + pixels, *x2 = x + 2 * pixels, *x3 = x + 3 * pixels;
  auto vector_at = [&](int64_t p) HWY_ATTR {
    switch (channels) {
      case 1: hn::StoreU(hn::LoadU(d, x0 + p), d, y + p); break;
      case 2: hn::StoreInterleaved2(hn::LoadU(d, x0 + p), hn::LoadU(d, x1 + p), d, y + 2 * p); break;
      case 3:
        hn::StoreInterleaved3(hn::LoadU(d, x0 + p), hn::LoadU(d, x1 + p), hn::LoadU(d, x2 + p), d, y + 3 * p);
        break;
      default:
        hn::StoreInterleaved4(hn::LoadU(d, x0 + p), hn::LoadU(d, x1 + p), hn::LoadU(d, x2 + p), hn::LoadU(d, x3 + p),
                              d, y + 4 * p);
    }
  };
  int64_t p = 0;
  for (; p + L <= pixels; p += L) vector_at(p);
  if (p < pixels && pixels >= L) return vector_at(pixels - L);
  for (; p < pixels; ++p)
    for (int64_t c = 0; c < channels; ++c) y[p * channels + c] = x[c * pixels + p];
}

void InterleaveChannels(const float* x, int64_t channels, int64_t pixels, float* y) {
  interleave_channels(D(), x, channels, pixels, y);
}

// Bytes 16 at a time: rows as short as a channel shuffle's (58 channels a half) fill them.
void InterleaveChannelsU8(const uint8_t* x, int64_t channels, int64_t pixels, uint8_t* y) {
  interleave_channels(hn::CappedTag<uint8_t, 16>(), x, channels, pixels, y);
}

}  // namespace HWY_NAMESPACE
}  // namespace edgekit
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace edgekit {
HWY_EXPORT(Layout);
HWY_EXPORT(Igemm);
HWY_EXPORT(Gemv);
HWY_EXPORT(DepthwiseLanes);
HWY_EXPORT(Depthwise);
HWY_EXPORT(MaxPool);
HWY_EXPORT(AvgPool);
HWY_EXPORT(ChannelSum);
HWY_EXPORT(InterleaveChannels);
HWY_EXPORT(InterleaveChannelsU8);

IgemmLayout igemm_f32_layout() { return HWY_DYNAMIC_DISPATCH(Layout)(); }
void igemm_f32(const IgemmTile& tile) { HWY_DYNAMIC_DISPATCH(Igemm)(tile); }
void gemv_f32(const GemvRun& run) { HWY_DYNAMIC_DISPATCH(Gemv)(run); }
int64_t depthwise_f32_lanes() { return HWY_DYNAMIC_DISPATCH(DepthwiseLanes)(); }
void depthwise_f32(const DepthwiseRows& run, int64_t row_begin, int64_t row_end) {
  HWY_DYNAMIC_DISPATCH(Depthwise)(run, row_begin, row_end);
}
void max_pool_f32(const PoolRun& run) { HWY_DYNAMIC_DISPATCH(MaxPool)(run); }
void avg_pool_f32(const PoolRun& run) { HWY_DYNAMIC_DISPATCH(AvgPool)(run); }
void channel_sum_f32(const float* x, int64_t pixels, int64_t channels, float* y) {
  HWY_DYNAMIC_DISPATCH(ChannelSum)(x, pixels, channels, y);
}
void interleave_channels_f32(const float* x, int64_t channels, int64_t pixels, float* y) {
  HWY_DYNAMIC_DISPATCH(InterleaveChannels)(x, channels, pixels, y);
}
void interleave_channels_u8(const uint8_t* x, int64_t channels, int64_t pixels, uint8_t* y) {
  HWY_DYNAMIC_DISPATCH(InterleaveChannelsU8)(x, channels, pixels, y);
}
}  // namespace edgekit
#endif
