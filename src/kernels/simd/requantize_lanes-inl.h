// MultiplyByQuantizedMultiplier in 64-bit lanes with both of TFLite's rounding steps as one
// shift, from per-lane constants in records of 16 lanes (kernels/qconv_int8.h's
// QDepthwiseRow rows; written by pack_requant_lane): the int8 depthwise kernel's and, with
// VNNI, the GEMM micro-kernel's requantization; with one multiplier for every lane
// (RequantLanes's second constructor) QAdd's and QMul's. AVX-512 only (64-bit variable shifts, vpermt2d);
// included once per target, as Highway's -inl.h headers are.
//   (x m + add - (x m < limit ? 2^31 : 0)) >> shift,  add = 2^30 + 2^(30+e) [+ zp_y 2^(31+e)],
//   limit = -2^30 (e > 0; else never), shift = 31 + e
// for the even lanes and for the odd ones swapped down, put back together. Shuffles rather than
// shifts where there is a choice: 512-bit shifts and multiplies share one port. Where the
// packing bounded the accumulators, RequantLanes32: requantize.h's Requant32 in 32-bit lanes.
#if defined(EDGEKIT_KERNELS_SIMD_REQUANTIZE_LANES_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef EDGEKIT_KERNELS_SIMD_REQUANTIZE_LANES_INL_H_
#undef EDGEKIT_KERNELS_SIMD_REQUANTIZE_LANES_INL_H_
#else
#define EDGEKIT_KERNELS_SIMD_REQUANTIZE_LANES_INL_H_
#endif

#include <algorithm>
#include <cstdint>

#include "hwy/highway.h"
#include "kernels/qconv_int8.h"
#include "kernels/requantize.h"
#include "kernels/simd/requantize-inl.h"

HWY_BEFORE_NAMESPACE();
namespace edgekit {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Row `row` of a block of records from its (int32) lane `lane` on.
HWY_INLINE const uint8_t* requant_row(const uint8_t* block, int64_t lane, QDepthwiseRow row) {
  return block + ((lane / 16) * kQdwRows + row) * kQdwRowBytes + lane % 16 * 4;
}

#if HWY_TARGET <= HWY_AVX3 && HWY_ARCH_X86
// Lanes 2k + kOdd of a and of b as lanes 2k and 2k + 1 (vpermt2d): kOdd 0 puts the 64-bit
// form's even and odd results together, kOdd 1 the high halves of two vectors of products.
template <int kOdd>
HWY_INLINE hn::Vec512<int32_t> interleave_pairs(hn::Vec512<int32_t> a, hn::Vec512<int32_t> b) {
  const __m512i index = _mm512_add_epi32(_mm512_setr_epi32(0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30),
                                         _mm512_set1_epi32(kOdd));
  return hn::Vec512<int32_t>{_mm512_permutex2var_epi32(a.raw, index, b.raw)};
}
template <int kOdd>
HWY_INLINE hn::Vec256<int32_t> interleave_pairs(hn::Vec256<int32_t> a, hn::Vec256<int32_t> b) {
  const __m256i index = _mm256_add_epi32(_mm256_setr_epi32(0, 8, 2, 10, 4, 12, 6, 14), _mm256_set1_epi32(kOdd));
  return hn::Vec256<int32_t>{_mm256_permutex2var_epi32(a.raw, index, b.raw)};
}
template <int kOdd>
HWY_INLINE hn::Vec128<int32_t> interleave_pairs(hn::Vec128<int32_t> a, hn::Vec128<int32_t> b) {
  return hn::Vec128<int32_t>{_mm_permutex2var_epi32(a.raw, _mm_add_epi32(_mm_setr_epi32(0, 4, 2, 6), _mm_set1_epi32(kOdd)), b.raw)};
}

// requantize.h's Requant32 of lanes [lane, lane + Lanes(d32)) from the records' 32-bit rows
// (valid where the packing set requant32): 9 operations for 16 lanes, against 12 (13 with a
// left shift) for the 64-bit form below. The zero point is in `add`.
template <class D32>
struct RequantLanes32 {
  using V = hn::Vec<D32>;
  V multiplier, multiplier_odd, left, add, correction, shift;

  HWY_INLINE RequantLanes32(D32 d32, const uint8_t* block, int64_t lane) {
    auto row = [&](QDepthwiseRow r) HWY_ATTR {
      return hn::Load(d32, reinterpret_cast<const int32_t*>(requant_row(block, lane, r)));
    };
    multiplier = row(kQdwMultiplier), multiplier_odd = row(kQdwMultiplierOdd), left = row(kQdwLeft32);
    add = row(kQdwAdd32), correction = row(kQdwCorrection32), shift = row(kQdwShift32);
  }
  // One multiplier for every lane.
  HWY_INLINE RequantLanes32(D32 d32, const Requant32& k)
      : multiplier(hn::Set(d32, k.multiplier)), multiplier_odd(multiplier), left(hn::Set(d32, k.left)),
        add(hn::Set(d32, k.add)), correction(hn::Set(d32, k.correction)), shift(hn::Set(d32, k.shift)) {}

  HWY_INLINE V apply(D32 d32, V x) const {
    const hn::RebindToUnsigned<D32> du32;
    x = hn::BitCast(d32, hn::BitCast(du32, x) << hn::BitCast(du32, left));
    const V high = interleave_pairs<1>(hn::BitCast(d32, hn::MulEven(x, multiplier)),
                                       hn::BitCast(d32, hn::MulEven(hn::Shuffle2301(x), multiplier_odd)));
    const V sum = hn::Add(high, add);
    return hn::IfThenElse(hn::Lt(high, hn::Zero(d32)), hn::Sub(sum, correction), sum) >> shift;
  }
};

// The constants of lanes [lane, lane + Lanes(d32)), loaded once (kept in registers over the
// rows of a tile: through memory, every byte store would make the compiler reload them).
template <class D32>
struct RequantLanes {
  using V = hn::Vec<D32>;
  using V64 = hn::Vec<hn::Repartition<int64_t, D32>>;
  V multiplier, multiplier_odd, left;
  V64 add_even, add_odd, limit_even, limit_odd, shift_even, shift_odd;

  HWY_INLINE RequantLanes(D32 d32, const uint8_t* block, int64_t lane) {
    const hn::Repartition<int64_t, D32> d64;
    auto row32 = [&](QDepthwiseRow row) HWY_ATTR {
      return hn::Load(d32, reinterpret_cast<const int32_t*>(requant_row(block, lane, row)));
    };
    auto row64 = [&](QDepthwiseRow row) HWY_ATTR {
      return hn::Load(d64, reinterpret_cast<const int64_t*>(requant_row(block, lane, row)));
    };
    multiplier = row32(kQdwMultiplier), multiplier_odd = row32(kQdwMultiplierOdd), left = row32(kQdwLeft);
    add_even = row64(kQdwAddEven), add_odd = row64(kQdwAddOdd);
    limit_even = row64(kQdwLimitEven), limit_odd = row64(kQdwLimitOdd);
    shift_even = row64(kQdwShiftEven), shift_odd = row64(kQdwShiftOdd);
  }

  // One multiplier for every lane: pack_requant_lane's constants (its shifts within [0, 31]
  // each way; without the zero point), broadcast.
  HWY_INLINE RequantLanes(D32 d32, const QuantMultiplier& m) {
    const hn::Repartition<int64_t, D32> d64;
    const int32_t e = std::min(std::max(-m.shift, 0), 31);
    multiplier = multiplier_odd = hn::Set(d32, m.multiplier);
    left = hn::Set(d32, std::min(std::max(m.shift, 0), 31));
    add_even = add_odd = hn::Set(d64, (int64_t(1) << 30) + (e > 0 ? int64_t(1) << (30 + e) : 0));
    limit_even = limit_odd = hn::Set(d64, e > 0 ? -(int64_t(1) << 30) : INT64_MIN);
    shift_even = shift_odd = hn::Set(d64, int64_t(31 + e));
  }

  // x << left (shifts_left: some multiplier > 1), then the multiply and both roundings.
  HWY_INLINE V apply(D32 d32, V x, bool shifts_left) const {
    const hn::Repartition<int64_t, D32> d64;
    if (shifts_left) {
      const hn::RebindToUnsigned<decltype(d32)> du32;
      x = hn::BitCast(d32, hn::BitCast(du32, x) << hn::BitCast(du32, left));
    }
    const auto two31 = hn::Set(d64, int64_t(1) << 31);
    auto round = [&](V64 p, V64 add, V64 limit, V64 shift) HWY_ATTR {
      const auto t = hn::Add(p, add);
      return hn::BitCast(d32, hn::IfThenElse(hn::Lt(p, limit), hn::Sub(t, two31), t) >> shift);
    };
    const auto even = round(hn::MulEven(x, multiplier), add_even, limit_even, shift_even);
    const auto odd = round(hn::MulEven(hn::Shuffle2301(x), multiplier_odd), add_odd, limit_odd, shift_odd);
    return interleave_pairs<0>(even, odd);
  }
};
#endif

#if HWY_TARGET != HWY_SCALAR
// multiply_by_quantized_multiplier(x, m) of every lane, its constants made once: the 64-bit
// form above on AVX-512, requantize-inl.h's 32-bit steps elsewhere.
template <class D32>
struct RequantOne {
#if HWY_TARGET <= HWY_AVX3 && HWY_ARCH_X86
  RequantLanes<D32> lanes;
  bool shifts_left;
  HWY_INLINE RequantOne(D32 d32, const QuantMultiplier& m) : lanes(d32, m), shifts_left(m.shift > 0) {}
  HWY_INLINE hn::Vec<D32> apply(D32 d32, hn::Vec<D32> x) const { return lanes.apply(d32, x, shifts_left); }
#else
  hn::Vec<D32> multiplier, left, right;
  HWY_INLINE RequantOne(D32 d32, const QuantMultiplier& m)
      : multiplier(hn::Set(d32, m.multiplier)), left(hn::Set(d32, std::max(m.shift, 0))),
        right(hn::Set(d32, std::max(-m.shift, 0))) {}
  HWY_INLINE hn::Vec<D32> apply(D32 d32, hn::Vec<D32> x) const { return requant_multiply(d32, x, multiplier, left, right); }
#endif
};

// multiply_by_quantized_multiplier(x, m) + zero_point for x known to lie in [x_lo, x_hi]: on
// AVX-512 Requant32's 32-bit form where the range lets it, else RequantOne's.
template <class D32>
struct RequantWithZeroPoint {
  RequantOne<D32> general;
  hn::Vec<D32> zero_point;
#if HWY_TARGET <= HWY_AVX3 && HWY_ARCH_X86
  bool narrow_fits;
  RequantLanes32<D32> narrow;
  static Requant32 narrow_constants(const QuantMultiplier& m, int32_t zp, int64_t x_lo, int64_t x_hi, bool* fits) {
    Requant32 k;
    *fits = requant32_constants(m, zp, x_lo, x_hi, &k);
    return k;
  }
  HWY_INLINE RequantWithZeroPoint(D32 d32, const QuantMultiplier& m, int32_t zp, int64_t x_lo, int64_t x_hi)
      : general(d32, m), zero_point(hn::Set(d32, zp)), narrow(d32, narrow_constants(m, zp, x_lo, x_hi, &narrow_fits)) {}
  HWY_INLINE hn::Vec<D32> apply(D32 d32, hn::Vec<D32> x) const {
    return narrow_fits ? narrow.apply(d32, x) : hn::Add(general.apply(d32, x), zero_point);
  }
#else
  HWY_INLINE RequantWithZeroPoint(D32 d32, const QuantMultiplier& m, int32_t zp, int64_t, int64_t)
      : general(d32, m), zero_point(hn::Set(d32, zp)) {}
  HWY_INLINE hn::Vec<D32> apply(D32 d32, hn::Vec<D32> x) const { return hn::Add(general.apply(d32, x), zero_point); }
#endif
};
#endif

}  // namespace HWY_NAMESPACE
}  // namespace edgekit
HWY_AFTER_NAMESPACE();

#endif  // EDGEKIT_KERNELS_SIMD_REQUANTIZE_LANES_INL_H_ toggle
