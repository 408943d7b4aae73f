// int8 GEMM micro-kernels for kernels/qconv_int8.h, written once with Highway and compiled for
// AVX-512 VNNI (AVX3_DL: vpdpbusd, u8 x s8 sums of four), AVX-512, AVX2, NEON and the portable
// 128-bit path (sign-extended to int16, pairwise multiply-adds, ReorderWidenMulAccumulate).
// One call: up to 8 rows of u8 x' against one packed panel of 16 output channels, int32 sums.
// This file is compiled once per target (hwy/foreach_target.h re-includes it).
#ifndef HWY_WANT_AVX3_DL
#define HWY_WANT_AVX3_DL 1  // Highway 1.0.3 compiles the VNNI target only when asked
#endif
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/simd/qgemm_int8.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "kernels/simd/requantize-inl.h"

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
template <int MR, class V>
HWY_INLINE void store_requantized(const QGemmOutput& o, V* acc) {
  const hn::ScalableTag<int32_t> d32;
  const auto bias = hn::LoadU(d32, o.bias), m = hn::LoadU(d32, o.multiplier);
  const auto left = hn::LoadU(d32, o.left), right = hn::LoadU(d32, o.right);
  const auto zp = hn::Set(d32, o.zero_point), lo = hn::Set(d32, o.lo), hi = hn::Set(d32, o.hi);
  for (int r = 0; r < MR; ++r) {
    auto v = requant_multiply(d32, hn::Add(acc[r], bias), m, left, right);
    v = hn::Min(hn::Max(hn::Add(v, zp), lo), hi);
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

// With few rows (a fully-connected layer on one input) there are too few sums to cover
// vpdpbusd's latency: the quads are split over kS independent sets, added at the end (int32
// sums wrap alike in any order, so the result is the same).
template <int MR>
HWY_NOINLINE __attribute__((target(HWY_TARGET_STR ",avx512vnni"))) void tile_vnni(const QGemmTile& t) {
  const hn::ScalableTag<int32_t> d32;
  static_assert(kP == 16, "one ZMM of int32 per panel");
  constexpr int kS = MR == 1 ? 8 : MR <= 4 ? 2 : 1;
  hn::Vec<decltype(d32)> acc[kS][MR];
  for (int s = 0; s < kS; ++s)
    for (int r = 0; r < MR; ++r) acc[s][r] = hn::Zero(d32);
  auto quad = [&](int s, int64_t q) HWY_ATTR {
    const __m512i w = _mm512_loadu_si512(t.w + q * 64);
    for (int r = 0; r < MR; ++r) {
      int32_t a;
      std::memcpy(&a, t.a + r * t.a_stride + q * 4, 4);
      acc[s][r] = hn::Vec<decltype(d32)>{_mm512_dpbusd_epi32(acc[s][r].raw, _mm512_set1_epi32(a), w)};
    }
  };
  const int64_t quads = t.k_padded / 4;
  int64_t q = 0;
  for (; q + kS <= quads; q += kS)
    for (int s = 0; s < kS; ++s) quad(s, q + s);
  for (; q < quads; ++q) quad(0, q);
  for (int s = 1; s < kS; ++s)
    for (int r = 0; r < MR; ++r) acc[0][r] = hn::Add(acc[0][r], acc[s][r]);
  if (t.out) return store_requantized<MR>(*t.out, acc[0]);
  for (int r = 0; r < MR; ++r) hn::StoreU(acc[0][r], d32, t.acc + r * t.acc_stride);
}

// The indirect form: the row base changes per tap, the weights stream on.
template <int MR>
HWY_NOINLINE __attribute__((target(HWY_TARGET_STR ",avx512vnni"))) void tile_vnni_indirect(const QGemmIndirectTile& t) {
  const hn::ScalableTag<int32_t> d32;
  hn::Vec<decltype(d32)> acc[MR];
  for (int r = 0; r < MR; ++r) acc[r] = hn::Zero(d32);
  const int64_t quads = t.kc / 4;
  const int8_t* w = t.w;
  for (int64_t tap = 0; tap < t.taps; ++tap) {
    const uint8_t* a[MR];
    for (int r = 0; r < MR; ++r) a[r] = t.bases[r] + t.offsets[tap];
    for (int64_t q = 0; q < quads; ++q, w += 64) {
      const __m512i wv = _mm512_loadu_si512(w);
      for (int r = 0; r < MR; ++r) {
        int32_t x;
        std::memcpy(&x, a[r] + q * 4, 4);
        acc[r] = hn::Vec<decltype(d32)>{_mm512_dpbusd_epi32(acc[r].raw, _mm512_set1_epi32(x), wv)};
      }
    }
  }
  if (t.out) return store_requantized<MR>(*t.out, acc);
  for (int r = 0; r < MR; ++r) hn::StoreU(acc[r], d32, t.acc + r * t.acc_stride);
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
  tile_vnni<MR>(t);
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

const char* QGemmTarget() { return hwy::TargetName(HWY_TARGET); }

bool QGemmIndirectAvailable() { return HWY_TARGET == HWY_AVX3_DL; }

void QGemmTileIndirectKernel(const QGemmIndirectTile& t) {
#if HWY_TARGET == HWY_AVX3_DL
  with_rows(t.mr, [&](auto mr) { tile_vnni_indirect<decltype(mr)::value>(t); });
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
HWY_EXPORT(QGemmIndirectAvailable);
HWY_EXPORT(QGemmTileIndirectKernel);
bool qgemm_int8_indirect_available() { return HWY_DYNAMIC_DISPATCH(QGemmIndirectAvailable)(); }
void qgemm_int8_tile_indirect(const QGemmIndirectTile& t) { HWY_DYNAMIC_DISPATCH(QGemmTileIndirectKernel)(t); }
void qgemm_int8_tile(const QGemmTile& t) { HWY_DYNAMIC_DISPATCH(QGemmTileKernel)(t); }
const char* qgemm_int8_target() { return HWY_DYNAMIC_DISPATCH(QGemmTarget)(); }
}  // namespace edgekit
#endif
