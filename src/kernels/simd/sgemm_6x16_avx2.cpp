// 6 x 16 fp32 micro-kernel for AVX2 + FMA: 12 ymm accumulators, 2 for the B row, 1 for the
// broadcast A value (15 of 16 registers), two FMAs per broadcast. On AMD Zen 4 this reaches the
// same peak as AVX-512 (which it executes as two 256-bit halves); an AVX-512 kernel would add
// speed on CPUs with two 512-bit FMA units. Compiled for AVX2 through a
// target attribute, so the rest of the build keeps the baseline ISA.
#include "kernels/simd/sgemm_micro.h"

#if defined(__x86_64__)
#include <immintrin.h>

namespace edgekit {
namespace {

constexpr int64_t kMR = 6, kNR = 16;

// Accumulators are named variables, not an array: GCC keeps an array in memory and stores
// it on every iteration, which halves the kernel's speed.
__attribute__((target("avx2,fma"))) void sgemm_6x16_avx2_fma(int64_t kc, const float* a, const float* b, float* c,
                                                              int64_t ldc, int64_t mr, int64_t nr, float alpha,
                                                              bool accumulate) {
  __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
  __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
  for (int64_t p = 0; p < kc; ++p) {
    const __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
    __m256 av = _mm256_broadcast_ss(a + 0);
    c00 = _mm256_fmadd_ps(av, b0, c00);
    c01 = _mm256_fmadd_ps(av, b1, c01);
    av = _mm256_broadcast_ss(a + 1);
    c10 = _mm256_fmadd_ps(av, b0, c10);
    c11 = _mm256_fmadd_ps(av, b1, c11);
    av = _mm256_broadcast_ss(a + 2);
    c20 = _mm256_fmadd_ps(av, b0, c20);
    c21 = _mm256_fmadd_ps(av, b1, c21);
    av = _mm256_broadcast_ss(a + 3);
    c30 = _mm256_fmadd_ps(av, b0, c30);
    c31 = _mm256_fmadd_ps(av, b1, c31);
    av = _mm256_broadcast_ss(a + 4);
    c40 = _mm256_fmadd_ps(av, b0, c40);
    c41 = _mm256_fmadd_ps(av, b1, c41);
    av = _mm256_broadcast_ss(a + 5);
    c50 = _mm256_fmadd_ps(av, b0, c50);
    c51 = _mm256_fmadd_ps(av, b1, c51);
    a += kMR;
    b += kNR;
  }
  const __m256 acc[kMR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
  const __m256 va = _mm256_set1_ps(alpha);
  if (mr == kMR && nr == kNR) {
    for (int i = 0; i < kMR; ++i) {
      float* row = c + i * ldc;
      if (accumulate) {
        _mm256_storeu_ps(row, _mm256_fmadd_ps(va, acc[i][0], _mm256_loadu_ps(row)));
        _mm256_storeu_ps(row + 8, _mm256_fmadd_ps(va, acc[i][1], _mm256_loadu_ps(row + 8)));
      } else {
        _mm256_storeu_ps(row, _mm256_mul_ps(va, acc[i][0]));
        _mm256_storeu_ps(row + 8, _mm256_mul_ps(va, acc[i][1]));
      }
    }
    return;
  }
  // Edge tile: spill the accumulators and add only the valid part (never touch C beyond mr x nr).
  alignas(32) float tile[kMR][kNR];
  for (int i = 0; i < kMR; ++i) {
    _mm256_store_ps(tile[i], acc[i][0]);
    _mm256_store_ps(tile[i] + 8, acc[i][1]);
  }
  for (int64_t i = 0; i < mr; ++i)
    for (int64_t j = 0; j < nr; ++j) c[i * ldc + j] = alpha * tile[i][j] + (accumulate ? c[i * ldc + j] : 0.f);
}

const SgemmMicroKernel kAvx2 = {"sgemm_6x16_avx2_fma", kMR, kNR, sgemm_6x16_avx2_fma};

}  // namespace

const SgemmMicroKernel* sgemm_avx2_kernel() {
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? &kAvx2 : nullptr;
}

}  // namespace edgekit

#else

namespace edgekit {
const SgemmMicroKernel* sgemm_avx2_kernel() { return nullptr; }
}  // namespace edgekit

#endif
