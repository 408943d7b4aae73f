// int8 depthwise convolution (kernels/qconv_int8.h's qdepthwise_int8, where the layout is
// described): per output row and block of channels, each input column's rows interleaved
// into per-channel quads once (kept in a small buffer while the windows over it are
// computed), multiplied by the packed weight quads (vpdpbusd with AVX-512 VNNI, pairwise int16
// multiply-adds elsewhere); the four int32 accumulators are requantized in registers and
// narrowed to bytes. Groups of several pixels (few channels) and windows wider than the
// buffer interleave each window's columns as they go (at stride_w > 1 from an input split
// into column phases, so that a group's pixels are consecutive columns).
#ifndef HWY_WANT_AVX3_DL
#define HWY_WANT_AVX3_DL 1  // Highway 1.0.3 compiles the VNNI target only when asked
#endif
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/simd/qdepthwise_int8.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "kernels/simd/requantize-inl.h"
#include "kernels/simd/requantize_lanes-inl.h"

#include <algorithm>
#include <cstring>
#include <type_traits>

#include "kernels/qconv_int8.h"

HWY_BEFORE_NAMESPACE();
namespace edgekit {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;
namespace qdw {  // this file's helpers, apart from other files' in the same target namespace

// Highway 1.0.3's AVX3_DL target string names the VEX avxvnni, not avx512vnni: the functions
// that reach vpdpbusd add it (and are only inlined into functions that have it too). With
// avxvnni named, GCC picks the VEX encoding for the 256- and 128-bit forms, on which CPUs with
// AVX-512 VNNI but no AVX-VNNI (AMD Zen 4, Intel Ice Lake) fault: those are written in
// assembly with the EVEX encoding asked for.
#undef EK_QDW_ATTR
#if HWY_TARGET == HWY_AVX3_DL
#define EK_QDW_ATTR __attribute__((target(HWY_TARGET_STR ",avx512vnni")))
constexpr bool kVnni = true;
#else
#define EK_QDW_ATTR
constexpr bool kVnni = false;
#endif

// Row pointers of one output row's windows: row kh of the kernel (rows past the kernel
// repeat row 0; their weights are zero).
constexpr int64_t kMaxRowQuads = 4;  // kernels up to 16 rows

HWY_INLINE const uint8_t* const_row(const uint8_t* block, int64_t lane, QDepthwiseRow row) {
  return requant_row(block, lane, row);
}

#if HWY_TARGET != HWY_SCALAR
constexpr int64_t kWeightBytes = kVnni ? 1 : 2;  // bytes a weight takes in the packing

#if HWY_TARGET == HWY_AVX3_DL
// acc[i] += sum of the four products of x's and w's bytes i (u8 x s8).
EK_QDW_ATTR HWY_INLINE hn::Vec512<int32_t> dot4(hn::Vec512<int32_t> acc, hn::Vec512<uint8_t> x, const int8_t* w) {
  return hn::Vec512<int32_t>{_mm512_dpbusd_epi32(acc.raw, x.raw, _mm512_loadu_si512(w))};
}
EK_QDW_ATTR HWY_INLINE hn::Vec256<int32_t> dot4(hn::Vec256<int32_t> acc, hn::Vec256<uint8_t> x, const int8_t* w) {
  __m256i sum = acc.raw;
  asm("%{evex%} vpdpbusd %2, %1, %0" : "+v"(sum) : "v"(x.raw), "v"(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w))));
  return hn::Vec256<int32_t>{sum};
}
EK_QDW_ATTR HWY_INLINE hn::Vec128<int32_t> dot4(hn::Vec128<int32_t> acc, hn::Vec128<uint8_t> x, const int8_t* w) {
  __m128i sum = acc.raw;
  asm("%{evex%} vpdpbusd %2, %1, %0" : "+v"(sum) : "v"(x.raw), "v"(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w))));
  return hn::Vec128<int32_t>{sum};
}
#else
// The same without VNNI: x's even bytes (rows 0, 2) and odd bytes (rows 1, 3) as int16 times
// the weights stored as int16 pairs, summed pairwise into the int32 lanes (exact: 255 * 128 * 2
// fits). On x86 ReorderWidenMulAccumulate is one vpmaddwd; elsewhere it splits the pairs
// between two sums, added back here.
template <class V32, class VU8>
HWY_INLINE V32 dot4(V32 acc, VU8 x, const int8_t* w) {
  const hn::DFromV<V32> d32;
  const hn::Repartition<int16_t, decltype(d32)> d16;
  const hn::Repartition<uint16_t, decltype(d32)> du16;
  const int16_t* w16 = reinterpret_cast<const int16_t*>(w);
  const auto xu = hn::BitCast(du16, x);
  const auto even = hn::BitCast(d16, hn::And(xu, hn::Set(du16, 0xFF)));
  const auto odd = hn::BitCast(d16, hn::ShiftRight<8>(xu));
  V32 s1 = hn::Zero(d32);
  V32 s0 = hn::ReorderWidenMulAccumulate(d32, even, hn::LoadU(d16, w16), hn::Zero(d32), s1);
  s0 = hn::ReorderWidenMulAccumulate(d32, odd, hn::LoadU(d16, w16 + hn::Lanes(d16)), s0, s1);
  return hn::Add(acc, hn::RearrangeToOddPlusEven(s0, s1));
}
#endif

// Bytes of two int16 vectors, a's eight lanes then b's in each 128-bit block, saturated.
#if HWY_ARCH_X86 && HWY_TARGET != HWY_EMU128
template <class TY>
HWY_INLINE hn::Vec128<TY> pack_bytes(hn::Vec128<int16_t> a, hn::Vec128<int16_t> b) {
  return hn::Vec128<TY>{std::is_signed_v<TY> ? _mm_packs_epi16(a.raw, b.raw) : _mm_packus_epi16(a.raw, b.raw)};
}
#if HWY_TARGET <= HWY_AVX2
template <class TY>
HWY_INLINE hn::Vec256<TY> pack_bytes(hn::Vec256<int16_t> a, hn::Vec256<int16_t> b) {
  return hn::Vec256<TY>{std::is_signed_v<TY> ? _mm256_packs_epi16(a.raw, b.raw) : _mm256_packus_epi16(a.raw, b.raw)};
}
#endif
#if HWY_TARGET <= HWY_AVX3
template <class TY>
HWY_INLINE hn::Vec512<TY> pack_bytes(hn::Vec512<int16_t> a, hn::Vec512<int16_t> b) {
  return hn::Vec512<TY>{std::is_signed_v<TY> ? _mm512_packs_epi16(a.raw, b.raw) : _mm512_packus_epi16(a.raw, b.raw)};
}
#endif
#else
template <class TY, class V16>
HWY_INLINE auto pack_bytes(V16 a, V16 b) {  // one 128-bit block
  const hn::DFromV<V16> d16;
  const hn::Rebind<TY, decltype(d16)> dh;
  return hn::Combine(hn::Twice<decltype(dh)>(), hn::DemoteTo(dh, b), hn::DemoteTo(dh, a));
}
#endif

// A layer's constants as plain pointers and values: copied once per call, they stay in
// registers (through the packing struct, every byte store would make the compiler reload them).
struct Consts {
  const int8_t* w;
  const uint8_t* constants;
  int32_t zero_point;  // added after requantizing (0 when the rounding constant holds it)
  int32_t lo, hi;
  bool shifts_left, y_signed;
  bool requant32;      // the packing's 32-bit rows (the zero point in them)
};


template <class DU8>
using Sums = hn::Vec<hn::Repartition<int32_t, DU8>>;

// The four quads of rows p[0..3] at byte `at`: accumulator q's inputs in x[q].
template <class DU8>
HWY_INLINE void interleave(DU8 du8, const uint8_t* const* p, int64_t at, hn::Vec<DU8>* x) {
  const hn::Repartition<uint16_t, DU8> du16;
  const auto r0 = hn::LoadU(du8, p[0] + at), r1 = hn::LoadU(du8, p[1] + at);
  const auto r2 = hn::LoadU(du8, p[2] + at), r3 = hn::LoadU(du8, p[3] + at);
  // Channels 0-7 and 8-15 of each 128-bit block as row pairs, then as quads of four rows.
  const auto lo01 = hn::BitCast(du16, hn::InterleaveLower(r0, r1)), hi01 = hn::BitCast(du16, hn::InterleaveUpper(du8, r0, r1));
  const auto lo23 = hn::BitCast(du16, hn::InterleaveLower(r2, r3)), hi23 = hn::BitCast(du16, hn::InterleaveUpper(du8, r2, r3));
  x[0] = hn::BitCast(du8, hn::InterleaveLower(lo01, lo23));
  x[1] = hn::BitCast(du8, hn::InterleaveUpper(du16, lo01, lo23));
  x[2] = hn::BitCast(du8, hn::InterleaveLower(hi01, hi23));
  x[3] = hn::BitCast(du8, hn::InterleaveUpper(du16, hi01, hi23));
}

// The four accumulators of a block (separate variables: in an array, GCC copied them in and
// out of other registers around every loop over taps).
template <class DU8>
struct Acc {
  Sums<DU8> a0, a1, a2, a3;
};

template <class DU8>
HWY_INLINE Acc<DU8> start(DU8 du8, const uint8_t* block) {
  const hn::Repartition<int32_t, DU8> d32;
  const int64_t per = int64_t(hn::Lanes(d32));
  auto bias = [&](int64_t q) HWY_ATTR {
    return hn::Load(d32, reinterpret_cast<const int32_t*>(const_row(block, q * per, kQdwBias)));
  };
  (void)du8;
  return {bias(0), bias(1), bias(2), bias(3)};
}

// Accumulator q += quad x_q times the weight quad at w + q vectors (q = 0..3).
template <class DU8>
EK_QDW_ATTR HWY_INLINE void accumulate(DU8 du8, Acc<DU8>& acc, hn::Vec<DU8> x0, hn::Vec<DU8> x1, hn::Vec<DU8> x2,
                                       hn::Vec<DU8> x3, const int8_t* w) {
  const int64_t vec = int64_t(hn::Lanes(du8)) * kWeightBytes;
  acc.a0 = dot4(acc.a0, x0, w);
  acc.a1 = dot4(acc.a1, x1, w + vec);
  acc.a2 = dot4(acc.a2, x2, w + 2 * vec);
  acc.a3 = dot4(acc.a3, x3, w + 3 * vec);
}

// MultiplyByQuantizedMultiplier + the zero point of the sums of lanes [lane, lane + Lanes(d32)).
template <class D32>
HWY_INLINE hn::Vec<D32> requantize(D32 d32, hn::Vec<D32> x, const Consts& k, const uint8_t* block, int64_t lane) {
#if HWY_TARGET <= HWY_AVX3 && HWY_ARCH_X86
  if (k.requant32) return RequantLanes32<D32>(d32, block, lane).apply(d32, x);
  return hn::Add(RequantLanes<D32>(d32, block, lane).apply(d32, x, k.shifts_left), hn::Set(d32, k.zero_point));
#else
  auto row = [&](QDepthwiseRow r) HWY_ATTR {
    return hn::Load(d32, reinterpret_cast<const int32_t*>(const_row(block, lane, r)));
  };
  return hn::Add(requant_multiply(d32, x, row(kQdwMultiplier), row(kQdwLeft), row(kQdwRight)), hn::Set(d32, k.zero_point));
#endif
}

// The bytes clamped to the output range and stored: n of them at out.
template <class DU8>
HWY_INLINE void store(DU8 du8, const Consts& k, hn::Vec<DU8> bytes, uint8_t* out, int64_t n) {
  if (k.y_signed) {
    const hn::Repartition<int8_t, DU8> di8;
    bytes = hn::BitCast(du8, hn::Min(hn::Max(hn::BitCast(di8, bytes), hn::Set(di8, int8_t(k.lo))), hn::Set(di8, int8_t(k.hi))));
  } else {
    bytes = hn::Min(hn::Max(bytes, hn::Set(du8, uint8_t(k.lo))), hn::Set(du8, uint8_t(k.hi)));
  }
  if (n == int64_t(hn::Lanes(du8))) {
    hn::StoreU(bytes, du8, out);
  } else if (HWY_TARGET <= HWY_AVX3 && HWY_ARCH_X86) {  // a true masked store (elsewhere it may rewrite the rest)
    hn::BlendedStore(bytes, hn::FirstN(du8, size_t(n)), du8, out);
  } else {
    alignas(64) uint8_t tmp[64];
    hn::StoreU(bytes, du8, tmp);
    std::memcpy(out, tmp, size_t(n));
  }
}

// Requantized, narrowed, clamped and stored: n of the block's channels at out. Saturating to
// the output type and then clamping gives the clamp of the int32 values.
template <class DU8>
HWY_INLINE void finish(DU8 du8, const Consts& k, const uint8_t* block, const Acc<DU8>& acc, uint8_t* out, int64_t n) {
  const hn::Repartition<int32_t, DU8> d32;
  const hn::Repartition<int16_t, DU8> d16;
  constexpr size_t kWidth = hn::MaxLanes(DU8());
  const int64_t per = int64_t(kWidth / 4);
  auto narrow = [&](Sums<DU8> v0, Sums<DU8> v1, Sums<DU8> v2, Sums<DU8> v3) HWY_ATTR {
    const auto lo = hn::ReorderDemote2To(d16, v0, v1), hi = hn::ReorderDemote2To(d16, v2, v3);
    return k.y_signed ? hn::BitCast(du8, pack_bytes<int8_t>(lo, hi)) : pack_bytes<uint8_t>(lo, hi);
  };
#if HWY_TARGET <= HWY_AVX3 && HWY_ARCH_X86
  // Narrow blocks: the accumulators joined into 512-bit vectors to requantize (their lanes'
  // constants lie together, see QDepthwisePacked::constants).
  const hn::ScalableTag<int32_t> dz;
  if constexpr (kWidth == 16) {  // the four accumulators one after the other are channels 0..15
    const hn::Half<decltype(dz)> dh;
    auto v = requantize(dz, hn::Combine(dz, hn::Combine(dh, acc.a3, acc.a2), hn::Combine(dh, acc.a1, acc.a0)), k, block, 0);
    // Clamped first: Highway 1.0.3's int32 -> uint8 DemoteTo on AVX-512 turns 32768..33023 into 0..255.
    v = hn::Min(hn::Max(v, hn::Set(dz, k.lo)), hn::Set(dz, k.hi));
    const hn::Rebind<int8_t, decltype(dz)> di8;
    const hn::Rebind<uint8_t, decltype(dz)> du8z;
    return store(du8, k, k.y_signed ? hn::BitCast(du8, hn::DemoteTo(di8, v)) : hn::DemoteTo(du8z, v), out, n);
  } else if constexpr (kWidth == 32) {
    const auto v01 = requantize(dz, hn::Combine(dz, acc.a1, acc.a0), k, block, 0);
    const auto v23 = requantize(dz, hn::Combine(dz, acc.a3, acc.a2), k, block, 16);
    return store(du8, k, narrow(hn::LowerHalf(v01), hn::UpperHalf(d32, v01), hn::LowerHalf(v23), hn::UpperHalf(d32, v23)),
                 out, n);
  }
#endif
  store(du8, k,
        narrow(requantize(d32, acc.a0, k, block, 0), requantize(d32, acc.a1, k, block, per),
               requantize(d32, acc.a2, k, block, 2 * per), requantize(d32, acc.a3, k, block, 3 * per)),
        out, n);
}

// Interleaved columns a block keeps (column, row quad): 18 KB of 64-byte quads.
constexpr int64_t kColumnSlots = 72;

// One block of Lanes(du8) channels from c0 (the b-th block) over a whole output row, output
// pixels in tiles of `tile`: each tile's input columns interleaved once into the buffer, then
// every window of the tile read from there. n channels stored a pixel. kKw, kRq: the kernel
// width and row quads when known at compile time (0: the layer's), so that the loops over
// taps unroll and the accumulators stay in their registers (in the loops with run-time
// bounds GCC moved them through others at every tap: 240x14x14 5x5 int8 45 -> 27 us).
template <int64_t kKw, int64_t kRq, class DU8>
EK_QDW_ATTR HWY_INLINE void block_columns(DU8 du8, const QDepthwiseRows& r, const Consts k, const uint8_t* const* rows,
                                          int64_t c0, int64_t b, int64_t tile, uint8_t* out, int64_t n) {
  const int64_t C = r.channels, P = r.pixel_bytes, width = int64_t(hn::Lanes(du8));
  const int64_t rq = kRq ? kRq : (r.kernel_h + 3) / 4, kernel_w = kKw ? kKw : r.kernel_w;
  const int64_t quad_bytes = 4 * width * kWeightBytes;
  const int8_t* w = k.w + c0 * kernel_w * rq * 4 * kWeightBytes;
  const uint8_t* block = k.constants + b * kQdwBlockConstants;
  alignas(64) uint8_t buf[kColumnSlots * 4 * 64];
  for (int64_t ow0 = 0; ow0 < r.out_w; ow0 += tile) {
    const int64_t ow1 = std::min(r.out_w, ow0 + tile), first = ow0 * r.stride_w;
    const int64_t cols = (ow1 - 1) * r.stride_w + (kernel_w - 1) * r.dilation_w + 1 - first;
    for (int64_t c = 0; c < cols; ++c)
      for (int64_t g = 0; g < rq; ++g) {
        hn::Vec<DU8> x[4];
        interleave(du8, rows + 4 * g, (first + c) * P + c0, x);
        for (int64_t q = 0; q < 4; ++q) hn::Store(x[q], du8, buf + ((c * rq + g) * 4 + q) * 64);
      }
    for (int64_t ow = ow0; ow < ow1; ++ow) {
      Acc<DU8> acc = start(du8, block);
#if !defined(__clang__)  // clang unrolls the constant bounds itself, and warns on the others
#pragma GCC unroll 8
#endif
      for (int64_t kw = 0; kw < kernel_w; ++kw) {
        const uint8_t* x = buf + (ow * r.stride_w - first + kw * r.dilation_w) * rq * 4 * 64;
#if !defined(__clang__)
#pragma GCC unroll 4
#endif
        for (int64_t g = 0; g < rq; ++g, x += 4 * 64)
          accumulate(du8, acc, hn::Load(du8, x), hn::Load(du8, x + 64), hn::Load(du8, x + 128), hn::Load(du8, x + 192),
                     w + (kw * rq + g) * quad_bytes);
      }
      finish(du8, k, block, acc, out + ow * C + c0, n);
    }
  }
}

// block_columns with the common kernels' bounds fixed at compile time. (A function, not a
// lambda: clang will not inline the VNNI function into a lambda without the feature.)
template <class DU8>
EK_QDW_ATTR HWY_INLINE void block_columns_of(DU8 du8, const QDepthwiseRows& r, const Consts k,
                                             const uint8_t* const* rows, int64_t c0, int64_t b, int64_t tile,
                                             uint8_t* out, int64_t n) {
  const int64_t rq = (r.kernel_h + 3) / 4;
  if (r.kernel_w == 3 && rq == 1) block_columns<3, 1>(du8, r, k, rows, c0, b, tile, out, n);
  else if (r.kernel_w == 5 && rq == 2) block_columns<5, 2>(du8, r, k, rows, c0, b, tile, out, n);
  else block_columns<0, 0>(du8, r, k, rows, c0, b, tile, out, n);
}

// One block of Lanes(du8) lanes from c0 (the b-th block) of the group whose first output pixel
// reads input column col0 at tap 0 and col0 + taps[kw] at tap kw (taps null: kw * dilation_w):
// its windows' columns interleaved as they are used. n lanes stored at out.
template <class DU8>
EK_QDW_ATTR HWY_INLINE void block_direct(DU8 du8, const QDepthwiseRows& r, const Consts k, const uint8_t* const* rows,
                                         int64_t c0, int64_t b, int64_t col0, const int64_t* taps, uint8_t* out,
                                         int64_t n) {
  const int64_t width = int64_t(hn::Lanes(du8)), rq = (r.kernel_h + 3) / 4;
  const int64_t quad_bytes = 4 * width * kWeightBytes;
  const int8_t* w = k.w + c0 * r.kernel_w * rq * 4 * kWeightBytes;
  const uint8_t* block = k.constants + b * kQdwBlockConstants;
  Acc<DU8> acc = start(du8, block);
  for (int64_t kw = 0; kw < r.kernel_w; ++kw)
    for (int64_t g = 0; g < rq; ++g, w += quad_bytes) {
      hn::Vec<DU8> x[4];
      interleave(du8, rows + 4 * g, (col0 + (taps ? taps[kw] : kw * r.dilation_w)) * r.pixel_bytes + c0, x);
      accumulate(du8, acc, x[0], x[1], x[2], x[3], w);
    }
  finish(du8, k, block, acc, out, n);
}

EK_QDW_ATTR void rows(const QDepthwiseRows& r, int64_t row_begin, int64_t row_end) {
  const hn::ScalableTag<uint8_t> d_full;
  const hn::CappedTag<uint8_t, 32> d_half;
  const hn::CappedTag<uint8_t, 16> d_quarter;
  const int64_t vector_bytes = int64_t(hn::Lanes(d_full));
  const QDepthwisePacked& packed = *r.packed;
  constexpr bool kRecordsHoldZeroPoint = HWY_TARGET <= HWY_AVX3 && HWY_ARCH_X86;  // else requantize adds it
  const bool requant32 = kRecordsHoldZeroPoint && packed.requant32;
  const Consts k{packed.w.get(), packed.constants.get(),
                 kRecordsHoldZeroPoint && (packed.zero_point_added || requant32) ? 0 : r.y_zero_point,
                 r.lo, r.hi, packed.shifts_left, r.y_signed, requant32};
  const int64_t C = r.channels, lanes = packed.lanes, rq = (r.kernel_h + 3) / 4, row_bytes = r.out_w * C;
  // Interleaved columns are kept when windows share them (stride within the window) and a
  // window's columns fit the buffer.
  const int64_t extent_w = (r.kernel_w - 1) * r.dilation_w + 1, slots = kColumnSlots / rq;
  const bool columns = packed.pixels == 1 && r.kernel_w > 1 && r.stride_w <= extent_w && slots >= extent_w;
  const int64_t tile = columns ? (slots - extent_w) / r.stride_w + 1 : 0;
  const uint8_t* rows_at[kMaxRowQuads * 4];
  // Column phases: the taps' columns from tap 0's, once (the divisions cost as much as a tap).
  int64_t phased_taps[kQdwMaxPhasedTaps];
  const int64_t* taps = nullptr;
  if (r.phase_w) {
    for (int64_t kw = 0; kw < r.kernel_w; ++kw) phased_taps[kw] = qdepthwise_column(r, 0, kw);
    taps = phased_taps;
  }
  for (int64_t row = row_begin; row < row_end; ++row) {
    const int64_t n = row / r.out_h, oh = row % r.out_h;
    const uint8_t* base = r.x + (n * r.in_h + oh * r.stride_h) * r.in_w * r.pixel_bytes;
    for (int64_t i = 0; i < rq * 4; ++i) rows_at[i] = base + (i < r.kernel_h ? i * r.dilation_h : 0) * r.in_w * r.pixel_bytes;
    uint8_t* out = static_cast<uint8_t*>(r.y) + row * row_bytes;
    if (columns) {
      for (int64_t c0 = 0, width = 0, b = 0; c0 < C; c0 += width, ++b) {
        width = qdepthwise_block_width(C - c0, vector_bytes);
        const int64_t n_out = std::min(width, C - c0);
        if (width == vector_bytes) block_columns_of(d_full, r, k, rows_at, c0, b, tile, out, n_out);
        else if (width == 32) block_columns_of(d_half, r, k, rows_at, c0, b, tile, out, n_out);
        else block_columns_of(d_quarter, r, k, rows_at, c0, b, tile, out, n_out);
      }
      continue;
    }
    for (int64_t at = 0; at < row_bytes; at += lanes) {
      const int64_t valid = std::min(lanes, row_bytes - at), ow0 = at / C;  // a row's last group may be short
      const int64_t col0 = r.phase_w ? ow0 : ow0 * r.stride_w;  // tap 0's column
      for (int64_t c0 = 0, width = 0, b = 0; c0 < valid; c0 += width, ++b) {
        width = qdepthwise_block_width(lanes - c0, vector_bytes);
        const int64_t n_out = std::min(width, valid - c0);
        if (width == vector_bytes) block_direct(d_full, r, k, rows_at, c0, b, col0, taps, out + at + c0, n_out);
        else if (width == 32) block_direct(d_half, r, k, rows_at, c0, b, col0, taps, out + at + c0, n_out);
        else block_direct(d_quarter, r, k, rows_at, c0, b, col0, taps, out + at + c0, n_out);
      }
    }
  }
}

QDepthwiseLayout Layout() { return {int64_t(hn::Lanes(hn::ScalableTag<uint8_t>())), kVnni}; }

#else  // HWY_SCALAR: the packing of 16-channel blocks (lane i = channel i) without VNNI, a lane at a time

void rows(const QDepthwiseRows& r, int64_t row_begin, int64_t row_end) {
  const QDepthwisePacked& k = *r.packed;
  const int64_t C = r.channels, lanes = k.lanes, rq = (r.kernel_h + 3) / 4, row_bytes = r.out_w * C;
  for (int64_t row = row_begin; row < row_end; ++row) {
    const uint8_t* base = r.x + (row / r.out_h * r.in_h + row % r.out_h * r.stride_h) * r.in_w * r.pixel_bytes;
    for (int64_t at = 0; at < row_bytes; at += lanes)
      for (int64_t i = 0; i < std::min(lanes, row_bytes - at); ++i) {
        const int64_t q = i % 16 / 4, kk = i % 4;
        const int8_t* w = k.w.get() + i / 16 * 16 * r.kernel_w * rq * 8;
        const uint8_t* block = k.constants.get() + i / 16 * kQdwBlockConstants;
        auto constant = [&](QDepthwiseRow row) {
          int32_t v;
          std::memcpy(&v, const_row(block, i % 16, row), 4);
          return v;
        };
        int32_t acc = constant(kQdwBias);
        for (int64_t kw = 0; kw < r.kernel_w; ++kw)
          for (int64_t kh = 0; kh < r.kernel_h; ++kh) {
            int16_t wt;  // quad (kw, kh / 4), accumulator q: int16 pairs of rows 0 and 2, then of 1 and 3
            const int64_t quad = kw * rq + kh / 4, slot = kh % 4;
            std::memcpy(&wt, w + (quad * 4 + q) * 32 + (slot & 1) * 16 + (2 * kk + slot / 2) * 2, 2);
            acc += int32_t(base[(kh * r.dilation_h * r.in_w + qdepthwise_column(r, at / C, kw)) * r.pixel_bytes + i]) * wt;
          }
        const int shift = constant(kQdwLeft) > 0 ? constant(kQdwLeft) : -constant(kQdwRight);
        const int32_t v = multiply_by_quantized_multiplier(acc, constant(kQdwMultiplier), shift) + r.y_zero_point;
        const int32_t clamped = std::min(std::max(v, r.lo), r.hi);
        uint8_t* out = static_cast<uint8_t*>(r.y) + row * row_bytes + at + i;
        if (r.y_signed) *out = uint8_t(int8_t(clamped));
        else *out = uint8_t(clamped);
      }
  }
}

QDepthwiseLayout Layout() { return {16, false}; }
#endif

}  // namespace qdw

QDepthwiseLayout QDepthwiseLayoutKernel() { return qdw::Layout(); }

void QDepthwiseRowsKernel(const QDepthwiseRows& r, int64_t row_begin, int64_t row_end) { qdw::rows(r, row_begin, row_end); }

}  // namespace HWY_NAMESPACE
}  // namespace edgekit
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace edgekit {
HWY_EXPORT(QDepthwiseRowsKernel);
HWY_EXPORT(QDepthwiseLayoutKernel);
void qdepthwise_int8(const QDepthwiseRows& r, int64_t row_begin, int64_t row_end) {
  HWY_DYNAMIC_DISPATCH(QDepthwiseRowsKernel)(r, row_begin, row_end);
}
QDepthwiseLayout qdepthwise_int8_layout() { return HWY_DYNAMIC_DISPATCH(QDepthwiseLayoutKernel)(); }
}  // namespace edgekit
#endif
