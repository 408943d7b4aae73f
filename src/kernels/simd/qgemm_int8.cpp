// int8 GEMM micro-kernels for kernels/qconv_int8.h, written once with Highway and compiled for
// AVX-512 VNNI (AVX3_DL: vpdpbusd, u8 x s8 sums of four), AVX-512, AVX2, NEON and the portable
// 128-bit path (sign-extended to int16, pairwise multiply-adds, ReorderWidenMulAccumulate).
// One call: up to 8 rows of u8 x' against one packed panel of 16 output channels (with VNNI, a
// full tile against two), int32 sums.
// This file is compiled once per target (hwy/foreach_target.h re-includes it).
#ifndef HWY_WANT_AVX3_DL
#define HWY_WANT_AVX3_DL 1  // Highway 1.0.3 compiles the VNNI target only when asked
#endif
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/simd/qgemm_int8.cpp"
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

constexpr int64_t kP = kQGemmPanel;

#if HWY_TARGET == HWY_AVX3_DL
// 16 channels = one 512-bit vector of int32; each quad: one weight load, mr vpdpbusd.
// Highway 1.0.3's AVX3_DL target string lacks avx512vnni (it names the VEX avxvnni), so the
// function adds it; it is not inlined into callers compiled without it.
// The sums of MR rows, requantized in registers and stored as int8/uint8 (QGemmOutput).
// The rounding from the panel's record (requantize_lanes-inl.h): Requant32's 32-bit form where
// the packing found the sums bounded enough, else 64-bit lanes; either about half the
// operations of requant_multiply's two 32-bit steps, which bound tiles of small K.
// acc (the bias in it already: initial_sums) requantized in place, the zero point added.
template <int MR, class V>
HWY_INLINE void requantize_sums(const QGemmOutput& o, V* acc) {
  const hn::ScalableTag<int32_t> d32;
  if (o.requant32) {  // the 32-bit form, the zero point in its rounding constant
    const RequantLanes32<decltype(d32)> k(d32, o.records, 0);
    for (int r = 0; r < MR; ++r) acc[r] = k.apply(d32, acc[r]);
  } else {
    const RequantLanes<decltype(d32)> k(d32, o.records, 0);
    const auto zp = hn::Set(d32, o.zero_point_added ? 0 : o.zero_point);
    for (int r = 0; r < MR; ++r) acc[r] = hn::Add(k.apply(d32, acc[r], o.shifts_left), zp);
  }
}

// One panel's requantized rows clamped and stored (o.channels of them).
template <int MR, class V>
HWY_INLINE void store_panel(const QGemmOutput& o, const V* acc) {
  const hn::ScalableTag<int32_t> d32;
  const auto lo = hn::Set(d32, o.lo), hi = hn::Set(d32, o.hi);
  for (int r = 0; r < MR; ++r) {
    const auto v = hn::Min(hn::Max(acc[r], lo), hi);
    auto store = [&](auto* y) {
      using T = std::remove_pointer_t<decltype(y)>;
      const hn::Rebind<T, decltype(d32)> dt;
      T* dst = y + r * o.y_stride;
      if (o.channels == kP) {
        hn::StoreU(hn::DemoteTo(dt, v), dt, dst);
      } else {
        alignas(16) T tmp[kP];
        hn::StoreU(hn::DemoteTo(dt, v), dt, tmp);
        std::memcpy(dst, tmp, size_t(o.channels));
      }
    };
    if (o.y_signed) store(static_cast<int8_t*>(o.y));
    else store(static_cast<uint8_t*>(o.y));
  }
}

// Two full panels' requantized rows (32 channels a row): each row's two vectors narrowed
// together (saturating packs to int16, then to bytes: exact once clamped, and the clamp done
// on the 32 bytes), three shuffles for 32 outputs instead of three for 16.
template <int MR, class V>
HWY_INLINE void store_panel_pair(const QGemmOutput& o, const V* acc0, const V* acc1) {
  // After the packs, 128-bit block i holds dwords [acc0 4i..4i+3, acc1 4i..4i+3, the same]:
  // dwords 0, 4, 8, 12 are acc0's 16 bytes, 1, 5, 9, 13 acc1's.
  const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 0, 0, 0, 0, 0, 0, 0, 0);
  uint8_t* y = static_cast<uint8_t*>(o.y);
  for (int r = 0; r < MR; ++r) {
    const __m512i words = _mm512_packs_epi32(acc0[r].raw, acc1[r].raw);
    __m256i bytes;
    if (o.y_signed) {
      bytes = _mm512_castsi512_si256(_mm512_permutexvar_epi32(order, _mm512_packs_epi16(words, words)));
      bytes = _mm256_min_epi8(_mm256_max_epi8(bytes, _mm256_set1_epi8(int8_t(o.lo))), _mm256_set1_epi8(int8_t(o.hi)));
    } else {
      bytes = _mm512_castsi512_si256(_mm512_permutexvar_epi32(order, _mm512_packus_epi16(words, words)));
      bytes = _mm256_min_epu8(_mm256_max_epu8(bytes, _mm256_set1_epi8(char(uint8_t(o.lo)))), _mm256_set1_epi8(char(uint8_t(o.hi))));
    }
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(y + r * o.y_stride), bytes);
  }
}

// Panel p's sums start from its bias when the tile stores requantized output (one add fewer a
// row), else from zero (the caller adds it).
HWY_INLINE hn::Vec<hn::ScalableTag<int32_t>> initial_sums(const QGemmOutput* out, int p) {
  const hn::ScalableTag<int32_t> d32;
  return out ? hn::LoadU(d32, out->bias + p * kP) : hn::Zero(d32);
}

// With few rows (a fully-connected layer on one input) there are too few sums to cover
// vpdpbusd's latency: the quads are split over kS independent sets, added at the end (int32
// sums wrap alike in any order, so the result is the same).
// The sums of NP panels (NP = 2: the second panel's 16 channels follow the first's).
template <int MR, int NP, class V>
HWY_INLINE void store_panels(const QGemmTile& t, const QGemmOutput* out, V (*acc)[MR]) {
  const hn::ScalableTag<int32_t> d32;
  if (!out) {
    for (int p = 0; p < NP; ++p)
      for (int r = 0; r < MR; ++r) hn::StoreU(acc[p][r], d32, t.acc + r * t.acc_stride + p * kP);
    return;
  }
  QGemmOutput o[NP];
  for (int p = 0; p < NP; ++p) {
    o[p] = *out;
    o[p].records += p * kRequantRecordBytes;  // (the bias is in the sums already)
    o[p].channels = std::min<int64_t>(kP, out->channels - p * kP);
    o[p].y = static_cast<uint8_t*>(out->y) + p * kP;  // one byte an element
    requantize_sums<MR>(o[p], acc[p]);
  }
  if constexpr (NP == 2) {
    if (out->channels == 2 * kP) return store_panel_pair<MR>(*out, acc[0], acc[1]);
  }
  for (int p = 0; p < NP; ++p) store_panel<MR>(o[p], acc[p]);
}

// NP = 2 (full tiles of 8 rows): two consecutive panels a call, so each broadcast row quad
// feeds two vpdpbusd (the loads, not the multiply-adds, bound one panel).
template <int MR, int NP>
HWY_NOINLINE __attribute__((target(HWY_TARGET_STR ",avx512vnni"))) void tile_vnni(const QGemmTile& t) {
  const hn::ScalableTag<int32_t> d32;
  static_assert(kP == 16, "one ZMM of int32 per panel");
  constexpr int kS = MR == 1 ? 8 : MR <= 4 ? 2 : 1;
  hn::Vec<decltype(d32)> acc[kS][NP][MR];
  for (int s = 0; s < kS; ++s)
    for (int p = 0; p < NP; ++p)
      for (int r = 0; r < MR; ++r) acc[s][p][r] = s == 0 ? initial_sums(t.out, p) : hn::Zero(d32);
  const int64_t panel_bytes = t.k_padded * kP;
  auto quad = [&](int s, int64_t q) __attribute__((target(HWY_TARGET_STR ",avx512vnni"))) {  // clang: lambdas do not inherit it
    __m512i w[NP];
    for (int p = 0; p < NP; ++p) w[p] = _mm512_loadu_si512(t.w + p * panel_bytes + q * 64);
    for (int r = 0; r < MR; ++r) {
      int32_t a;
      std::memcpy(&a, t.a + r * t.a_stride + q * 4, 4);
      const __m512i av = _mm512_set1_epi32(a);
      for (int p = 0; p < NP; ++p)
        acc[s][p][r] = hn::Vec<decltype(d32)>{_mm512_dpbusd_epi32(acc[s][p][r].raw, av, w[p])};
    }
  };
  const int64_t quads = t.k_padded / 4;
  int64_t q = 0;
  for (; q + kS <= quads; q += kS)
    for (int s = 0; s < kS; ++s) quad(s, q + s);
  for (; q < quads; ++q) quad(0, q);
  for (int s = 1; s < kS; ++s)
    for (int p = 0; p < NP; ++p)
      for (int r = 0; r < MR; ++r) acc[0][p][r] = hn::Add(acc[0][p][r], acc[s][p][r]);
  store_panels<MR, NP>(t, t.out, acc[0]);
}

// One row against many panels (a matrix-vector product: a recurrent op's state times R): four
// panels a pass, so each quad of the row is broadcast once for four vpdpbusd, and two sets of
// sums (even and odd quads) to cover the instruction's latency; one call for the whole row
// instead of one tile (and one dispatch) a panel.
HWY_NOINLINE __attribute__((target(HWY_TARGET_STR ",avx512vnni"))) void gemv_vnni(const uint8_t* a, int64_t k_padded,
                                                                                  const int8_t* w, int64_t panels,
                                                                                  int32_t* sums) {
  const int64_t quads = k_padded / 4, panel_bytes = k_padded * kP;
  auto pass = [&](auto np) __attribute__((target(HWY_TARGET_STR ",avx512vnni"))) {  // np panels from w
    constexpr int NP = decltype(np)::value;
    __m512i acc[2][NP];
    for (int s = 0; s < 2; ++s)
      for (int p = 0; p < NP; ++p) acc[s][p] = _mm512_setzero_si512();
    // The set is a constant at each call (no run-time index), so the sums stay in registers.
    auto quad = [&](int64_t q, int s) __attribute__((target(HWY_TARGET_STR ",avx512vnni"))) {
      int32_t x;
      std::memcpy(&x, a + q * 4, 4);
      const __m512i xv = _mm512_set1_epi32(x);
      for (int p = 0; p < NP; ++p)
        acc[s][p] = _mm512_dpbusd_epi32(acc[s][p], xv, _mm512_loadu_si512(w + p * panel_bytes + q * 64));
    };
    int64_t q = 0;
    for (; q + 2 <= quads; q += 2) quad(q, 0), quad(q + 1, 1);
    if (q < quads) quad(q, 0);
    for (int p = 0; p < NP; ++p) _mm512_storeu_si512(sums + p * kP, _mm512_add_epi32(acc[0][p], acc[1][p]));
  };
  int64_t p = 0;
  for (; p + 4 <= panels; p += 4, w += 4 * panel_bytes, sums += 4 * kP) pass(std::integral_constant<int, 4>());
  for (; p < panels; ++p, w += panel_bytes, sums += kP) pass(std::integral_constant<int, 1>());
}

// The indirect form: the row base changes per tap, the weights stream on.
template <int MR, int NP>
HWY_NOINLINE __attribute__((target(HWY_TARGET_STR ",avx512vnni"))) void tile_vnni_indirect(const QGemmIndirectTile& t) {
  const hn::ScalableTag<int32_t> d32;
  hn::Vec<decltype(d32)> acc[NP][MR];
  for (int p = 0; p < NP; ++p)
    for (int r = 0; r < MR; ++r) acc[p][r] = initial_sums(t.out, p);
  const int64_t quads = t.kc / 4, panel_bytes = t.taps * t.kc * kP;
  const int8_t* w = t.w;
  for (int64_t tap = 0; tap < t.taps; ++tap) {
    const uint8_t* a[MR];
    for (int r = 0; r < MR; ++r) a[r] = t.bases[r] + t.offsets[tap];
    for (int64_t q = 0; q < quads; ++q, w += 64) {
      __m512i wv[NP];
      for (int p = 0; p < NP; ++p) wv[p] = _mm512_loadu_si512(w + p * panel_bytes);
      for (int r = 0; r < MR; ++r) {
        int32_t x;
        std::memcpy(&x, a[r] + q * 4, 4);
        const __m512i xv = _mm512_set1_epi32(x);
        for (int p = 0; p < NP; ++p) acc[p][r] = hn::Vec<decltype(d32)>{_mm512_dpbusd_epi32(acc[p][r].raw, xv, wv[p])};
      }
    }
  }
  QGemmTile sums{};  // where store_panels writes the int32 sums when there is no output
  sums.acc = t.acc, sums.acc_stride = t.acc_stride;
  store_panels<MR, NP>(sums, t.out, acc);
}
#endif

// Generic: int16 lanes hold [channel][4 k]; a vector of int16 covers Lanes/4 channels. Rows
// are widened to int16 once per call, then each weight vector is reused by every row.
template <int MR>
HWY_INLINE void tile_i16(const QGemmTile& t) {
  const hn::ScalableTag<int16_t> d16;
  const hn::Repartition<int32_t, decltype(d16)> d32;
  const hn::Repartition<int64_t, decltype(d16)> d64;
  const hn::Rebind<int8_t, decltype(d16)> d8;
  const int64_t l16 = int64_t(hn::Lanes(d16)), cpv = l16 / 4;  // channels per vector
  constexpr int64_t kMaxK = 1024;  // rows widened in blocks of k (16 KB of stack at MR = 8)
  alignas(64) int16_t a16[MR][kMaxK];
  alignas(64) int32_t part[kP * 2];
  for (int64_t v0 = 0; v0 < kP; v0 += cpv) {
    hn::Vec<decltype(d32)> acc0[MR], acc1[MR];
    for (int r = 0; r < MR; ++r) acc0[r] = acc1[r] = hn::Zero(d32);
    for (int64_t kb = 0; kb < t.k_padded; kb += kMaxK) {
      const int64_t kn = std::min<int64_t>(kMaxK, t.k_padded - kb);
      for (int r = 0; r < MR; ++r)
        for (int64_t k = 0; k < kn; ++k) a16[r][k] = int16_t(t.a[r * t.a_stride + kb + k]);
      for (int64_t q = 0; q < kn / 4; ++q) {
        const auto w = hn::PromoteTo(d16, hn::LoadU(d8, t.w + (kb / 4 + q) * 4 * kP + v0 * 4));
        for (int r = 0; r < MR; ++r) {
          int64_t bits;
          std::memcpy(&bits, &a16[r][q * 4], 8);
          const auto a = hn::BitCast(d16, hn::Set(d64, bits));
          acc0[r] = hn::ReorderWidenMulAccumulate(d32, w, a, acc0[r], acc1[r]);
        }
      }
    }
    // Lane 2c + {0,1} of the odd-plus-even sums hold channel c's two partial sums.
    for (int r = 0; r < MR; ++r) {
      hn::StoreU(hn::RearrangeToOddPlusEven(acc0[r], acc1[r]), d32, part);
      for (int64_t c = 0; c < cpv; ++c) t.acc[r * t.acc_stride + v0 + c] = part[2 * c] + part[2 * c + 1];
    }
  }
}

// One-lane targets (HWY_SCALAR): plain loops.
template <int MR>
HWY_INLINE void tile_scalar(const QGemmTile& t) {
  for (int r = 0; r < MR; ++r)
    for (int64_t c = 0; c < kP; ++c) {
      int32_t sum = 0;
      for (int64_t k = 0; k < t.k_padded; ++k)
        sum += int32_t(t.a[r * t.a_stride + k]) * int32_t(t.w[(k / 4) * 4 * kP + c * 4 + k % 4]);
      t.acc[r * t.acc_stride + c] = sum;
    }
}

template <int MR>
HWY_INLINE void tile(const QGemmTile& t) {
#if HWY_TARGET == HWY_AVX3_DL
  if (MR == 8 && t.panels == 2) return tile_vnni<8, 2>(t);
  tile_vnni<MR, 1>(t);
#elif HWY_TARGET == HWY_SCALAR
  tile_scalar<MR>(t);
#else
  tile_i16<MR>(t);
#endif
}

// fn(std::integral_constant<int, MR>) for the tile's row count 1..8 (above 8: 8).
template <class Fn>
HWY_INLINE void with_rows(int64_t mr, const Fn& fn) {
  switch (mr) {
    case 1: return fn(std::integral_constant<int, 1>());
    case 2: return fn(std::integral_constant<int, 2>());
    case 3: return fn(std::integral_constant<int, 3>());
    case 4: return fn(std::integral_constant<int, 4>());
    case 5: return fn(std::integral_constant<int, 5>());
    case 6: return fn(std::integral_constant<int, 6>());
    case 7: return fn(std::integral_constant<int, 7>());
    default: return fn(std::integral_constant<int, 8>());
  }
}

void QGemmTileKernel(const QGemmTile& t) {
  with_rows(t.mr, [&](auto mr) { tile<decltype(mr)::value>(t); });
}

void QGemvKernel(const uint8_t* a, int64_t k_padded, const int8_t* w, int64_t panels, int32_t* sums) {
#if HWY_TARGET == HWY_AVX3_DL
  gemv_vnni(a, k_padded, w, panels, sums);
#else
  for (int64_t p = 0; p < panels; ++p)
    with_rows(1, [&](auto mr) { tile<decltype(mr)::value>({1, k_padded, a, k_padded, w + p * k_padded * kP, sums + p * kP}); });
#endif
}

const char* QGemmTarget() { return hwy::TargetName(HWY_TARGET); }

bool QGemmIndirectAvailable() { return HWY_TARGET == HWY_AVX3_DL; }

void QGemmTileIndirectKernel(const QGemmIndirectTile& t) {
#if HWY_TARGET == HWY_AVX3_DL
  if (t.mr == 8 && t.panels == 2) return tile_vnni_indirect<8, 2>(t);
  with_rows(t.mr, [&](auto mr) { tile_vnni_indirect<decltype(mr)::value, 1>(t); });
#else
  (void)t;  // callers check qgemm_int8_indirect_available() first
  HWY_ASSERT(false);
#endif
}

}  // namespace HWY_NAMESPACE
}  // namespace edgekit
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace edgekit {
HWY_EXPORT(QGemmTileKernel);
HWY_EXPORT(QGemmTarget);
HWY_EXPORT(QGemvKernel);
HWY_EXPORT(QGemmIndirectAvailable);
HWY_EXPORT(QGemmTileIndirectKernel);
bool qgemm_int8_indirect_available() { return HWY_DYNAMIC_DISPATCH(QGemmIndirectAvailable)(); }
void qgemm_int8_tile_indirect(const QGemmIndirectTile& t) { HWY_DYNAMIC_DISPATCH(QGemmTileIndirectKernel)(t); }
void qgemm_int8_tile(const QGemmTile& t) { HWY_DYNAMIC_DISPATCH(QGemmTileKernel)(t); }
const char* qgemm_int8_target() { return HWY_DYNAMIC_DISPATCH(QGemmTarget)(); }
void qgemv_int8(const uint8_t* a, int64_t k_padded, const int8_t* w, int64_t panels, int32_t* sums) {
  HWY_DYNAMIC_DISPATCH(QGemvKernel)(a, k_padded, w, panels, sums);
}
}  // namespace edgekit
#endif
