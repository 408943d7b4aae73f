// com.edgekit:QLookup's vector path (kernels/qlookup_int8.h).
//
// 16-entry lookups (TableLookupBytesOr0 gives table[i & 15] for an index below 0x80, 0 for an
// index of 0x80 or more; the And keeps only those two kinds of index, so every target agrees).
// For the half of the table holding x (x ^ 0x80 for the upper half) and high nibble k of
// eight, SaturatedAdd(x, 0x70 - 16k) is below 0x80 exactly when x < 16 (k + 1), with x's low
// nibble. So sub-table k answers for x of nibble j <= k, and the lookups XOR to
// S'_j ^ ... ^ S'_7; with S'_k = S_k ^ S_{k+1} (S'_7 = S_7) that is S_j, the right entry.
//
// This file also compiles Highway's AVX3_DL target (AVX-512 VBMI and its group), which the
// rest of the library leaves out: HWY_WANT_AVX3_DL before the first Highway header. Dispatch
// picks per file among the targets the file compiled (ChosenTarget::GetIndex).
#ifndef HWY_WANT_AVX3_DL
#define HWY_WANT_AVX3_DL 1
#endif
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/simd/qlookup_int8.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"

#include <algorithm>

#include "core/thread_pool.h"
#include "kernels/elementwise.h"
#include "kernels/qlookup_int8.h"

HWY_BEFORE_NAMESPACE();
namespace edgekit {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

HWY_INLINE void lookup_scalar(const ByteTable& t, const uint8_t* x, uint8_t* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = t[x[i]];
}

#if HWY_TARGET == HWY_AVX3_DL
void LookupBytes(const ByteTable& t, const uint8_t* x, uint8_t* y, int64_t n) {
  const __m512i t0 = _mm512_loadu_si512(t.data()), t1 = _mm512_loadu_si512(t.data() + 64);
  const __m512i t2 = _mm512_loadu_si512(t.data() + 128), t3 = _mm512_loadu_si512(t.data() + 192);
  int64_t i = 0;
  for (; i + 64 <= n; i += 64) {
    const __m512i v = _mm512_loadu_si512(x + i);
    const __m512i lo = _mm512_permutex2var_epi8(t0, v, t1), hi = _mm512_permutex2var_epi8(t2, v, t3);
    _mm512_storeu_si512(y + i, _mm512_mask_blend_epi8(_mm512_movepi8_mask(v), lo, hi));
  }
  if (i < n) {  // the tail under a mask: no byte outside [x, x + n) is read or written
    const __mmask64 m = _cvtu64_mask64(~uint64_t(0) >> (64 - (n - i)));
    const __m512i v = _mm512_maskz_loadu_epi8(m, x + i);
    const __m512i lo = _mm512_permutex2var_epi8(t0, v, t1), hi = _mm512_permutex2var_epi8(t2, v, t3);
    _mm512_mask_storeu_epi8(y + i, m, _mm512_mask_blend_epi8(_mm512_movepi8_mask(v), lo, hi));
  }
}
#elif HWY_TARGET == HWY_SCALAR || HWY_TARGET == HWY_EMU128
void LookupBytes(const ByteTable& t, const uint8_t* x, uint8_t* y, int64_t n) { lookup_scalar(t, x, y, n); }
#else
void LookupBytes(const ByteTable& t, const uint8_t* x, uint8_t* y, int64_t n) {
  const hn::ScalableTag<uint8_t> d;
  const int64_t L = int64_t(hn::Lanes(d));
  using V = hn::Vec<decltype(d)>;
  // sub[h][k]: half h (x < 128, x >= 128), high nibble k within it, XOR-ed with the next.
  alignas(16) uint8_t sub[2][8][16];
  for (int h = 0; h < 2; ++h)
    for (int k = 0; k < 8; ++k)
      for (int j = 0; j < 16; ++j) {
        const int at = h * 128 + k * 16 + j;
        sub[h][k][j] = uint8_t(t[size_t(at)] ^ (k < 7 ? t[size_t(at + 16)] : 0));
      }
  V tables[2][8];
  for (int h = 0; h < 2; ++h)
    for (int k = 0; k < 8; ++k) tables[h][k] = hn::LoadDup128(d, sub[h][k]);
  const V keep = hn::Set(d, uint8_t(0x8F)), top = hn::Set(d, uint8_t(0x80));
  int64_t i = 0;
  for (; i + L <= n; i += L) {
    const V v = hn::LoadU(d, x + i);
    const V halves[2] = {v, hn::Xor(v, top)};
    V r = hn::Zero(d);
    for (int h = 0; h < 2; ++h)
      for (int k = 0; k < 8; ++k) {
        const V idx = hn::And(hn::SaturatedAdd(halves[h], hn::Set(d, uint8_t(0x70 - 16 * k))), keep);
        r = hn::Xor(r, hn::TableLookupBytesOr0(tables[h][k], idx));
      }
    hn::StoreU(r, d, y + i);
  }
  lookup_scalar(t, x + i, y + i, n - i);
}
#endif

const char* LookupBytesIsa() { return hwy::TargetName(HWY_TARGET); }

}  // namespace HWY_NAMESPACE
}  // namespace edgekit
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace edgekit {
HWY_EXPORT(LookupBytes);
HWY_EXPORT(LookupBytesIsa);

void lookup_bytes(const ByteTable& table, const uint8_t* x, uint8_t* y, int64_t n, ThreadPool* pool) {
  parallel_for(pool, n, [&](int64_t begin, int64_t end) {
    HWY_DYNAMIC_DISPATCH(LookupBytes)(table, x + begin, y + begin, end - begin);
  }, kMinParallelElements);
}

const char* lookup_bytes_isa() { return HWY_DYNAMIC_DISPATCH(LookupBytesIsa)(); }

}  // namespace edgekit
#endif
