#include "kernels/fast_math.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace edgekit {

namespace {

template <bool kSilu>
void sigmoid_scalar(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = kSilu ? x[i] * sigmoid_f32(x[i]) : sigmoid_f32(x[i]);
}

#if defined(__x86_64__)
// e^t for t <= 0, the arithmetic of exp_f32 eight lanes at a time (0 below the normal range).
__attribute__((target("avx2,fma"))) inline __m256 exp_nonpositive_avx2(__m256 t_in) {
  const __m256 lo = _mm256_set1_ps(-87.3f), log2e = _mm256_set1_ps(1.44269504088896341f);
  const __m256 round = _mm256_set1_ps(12582912.0f), c1 = _mm256_set1_ps(0.693359375f), c2 = _mm256_set1_ps(2.12194440e-4f);
  const __m256 t = _mm256_max_ps(t_in, lo);
  const __m256 nn = _mm256_sub_ps(_mm256_fmadd_ps(t, log2e, round), round);
  __m256 r = _mm256_fnmadd_ps(nn, c1, t);
  r = _mm256_fmadd_ps(nn, c2, r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  p = _mm256_add_ps(_mm256_fmadd_ps(_mm256_mul_ps(p, r), r, r), _mm256_set1_ps(1.0f));
  const __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(nn), _mm256_set1_epi32(127)), 23);
  const __m256 e = _mm256_mul_ps(p, _mm256_castsi256_ps(bits));
  return _mm256_blendv_ps(e, _mm256_setzero_ps(), _mm256_cmp_ps(t_in, lo, _CMP_LT_OQ));
}

template <bool kSilu>
__attribute__((target("avx2,fma"))) void sigmoid_avx2(const float* x, float* y, int64_t n) {
  const __m256 one = _mm256_set1_ps(1.0f), zero = _mm256_setzero_ps(), sign = _mm256_set1_ps(-0.0f);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_loadu_ps(x + i);
    const __m256 e = exp_nonpositive_avx2(_mm256_or_ps(v, sign));  // e^-|x| never overflows
    const __m256 s = _mm256_div_ps(one, _mm256_add_ps(one, e));
    __m256 out = _mm256_blendv_ps(_mm256_mul_ps(e, s), s, _mm256_cmp_ps(v, zero, _CMP_GE_OQ));
    out = _mm256_blendv_ps(out, v, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));  // NaN stays NaN
    if (kSilu) out = _mm256_mul_ps(v, out);
    _mm256_storeu_ps(y + i, out);
  }
  sigmoid_scalar<kSilu>(x + i, y + i, n - i);
}

__attribute__((target("avx2,fma"))) void tanh_avx2(const float* x, float* y, int64_t n) {
  const __m256 one = _mm256_set1_ps(1.0f), sign = _mm256_set1_ps(-0.0f), small = _mm256_set1_ps(0.125f);
  const __m256 c3 = _mm256_set1_ps(-1.0f / 3.0f), c5 = _mm256_set1_ps(2.0f / 15.0f);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_loadu_ps(x + i);
    const __m256 neg_abs = _mm256_or_ps(v, sign);
    const __m256 e = exp_nonpositive_avx2(_mm256_add_ps(neg_abs, neg_abs));
    const __m256 r = _mm256_div_ps(_mm256_sub_ps(one, e), _mm256_add_ps(one, e));
    __m256 out = _mm256_or_ps(r, _mm256_and_ps(v, sign));  // the sign of x
    const __m256 x2 = _mm256_mul_ps(v, v);
    const __m256 series = _mm256_mul_ps(v, _mm256_fmadd_ps(x2, _mm256_fmadd_ps(x2, c5, c3), one));
    out = _mm256_blendv_ps(out, series, _mm256_cmp_ps(_mm256_andnot_ps(sign, v), small, _CMP_LT_OQ));
    out = _mm256_blendv_ps(out, v, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
    _mm256_storeu_ps(y + i, out);
  }
  for (; i < n; ++i) y[i] = tanh_f32(x[i]);
}
#endif

using SigmoidArray = void (*)(const float*, float*, int64_t);

template <bool kSilu>
SigmoidArray choose() {
#if defined(__x86_64__)
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return sigmoid_avx2<kSilu>;
#endif
  return sigmoid_scalar<kSilu>;
}

}  // namespace

void sigmoid_f32_array(const float* x, float* y, int64_t n) {
  static const SigmoidArray fn = choose<false>();
  fn(x, y, n);
}

void silu_f32_array(const float* x, float* y, int64_t n) {
  static const SigmoidArray fn = choose<true>();
  fn(x, y, n);
}

}  // namespace edgekit

namespace edgekit {
void tanh_f32_array(const float* x, float* y, int64_t n) {
#if defined(__x86_64__)
  static const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (avx2) return tanh_avx2(x, y, n);
#endif
  for (int64_t i = 0; i < n; ++i) y[i] = tanh_f32(x[i]);
}
}  // namespace edgekit
