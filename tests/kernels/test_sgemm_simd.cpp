// Every fp32 GEMM path this CPU can run (each SIMD micro-kernel, the portable tile, the M == 1
// GEMV) against gemm_ref<float>, over shapes that do not divide the tiles.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/gemm_ref.h"
#include "kernels/simd/sgemm_micro.h"

namespace edgekit {

namespace {
struct Case {
  int64_t M, N, K;
  bool ta, tb;
  float alpha, beta;
  int64_t pad;  // extra leading-dimension elements
};

void check(const Case& c, const std::function<void(const float*, int64_t, const float*, int64_t, float*, int64_t)>& run,
           std::mt19937& rng) {
  std::uniform_real_distribution<float> d(-1, 1);
  const int64_t lda = (c.ta ? c.M : c.K) + c.pad, ldb = (c.tb ? c.K : c.N) + c.pad, ldc = c.N + c.pad;
  std::vector<float> A(size_t((c.ta ? c.K : c.M) * lda)), B(size_t((c.tb ? c.N : c.K) * ldb)), C(size_t(c.M * ldc));
  for (auto& v : A) v = d(rng);
  for (auto& v : B) v = d(rng);
  for (auto& v : C) v = c.beta == 0.f ? NAN : d(rng);  // beta 0: C must not be read
  std::vector<float> want = C;
  if (c.beta == 0.f)
    for (auto& v : want) v = 0;
  gemm_ref<float>(c.M, c.N, c.K, A.data(), lda, c.ta, B.data(), ldb, c.tb, want.data(), ldc, c.alpha, c.beta);
  run(A.data(), lda, B.data(), ldb, C.data(), ldc);
  for (int64_t i = 0; i < c.M; ++i)
    for (int64_t j = 0; j < c.N; ++j) {
      double scale = 0;  // sum |a||b| bounds the rounding error of any summation order
      for (int64_t k = 0; k < c.K; ++k)
        scale += std::fabs(A[size_t(c.ta ? k * lda + i : i * lda + k)]) * std::fabs(B[size_t(c.tb ? j * ldb + k : k * ldb + j)]);
      const float got = C[size_t(i * ldc + j)], exp = want[size_t(i * ldc + j)];
      ASSERT_NEAR(got, exp, 1e-5 * (scale * std::fabs(c.alpha) + 1)) << "M " << c.M << " N " << c.N << " K " << c.K
                                                                     << " at " << i << "," << j;
    }
}

std::vector<Case> cases(std::mt19937& rng) {
  std::vector<Case> v;
  const int64_t dims[] = {1, 2, 5, 6, 7, 13, 16, 17, 31, 97, 130};
  for (int t = 0; t < 120; ++t) {
    Case c{dims[rng() % 11], dims[rng() % 11], dims[rng() % 11], bool(rng() % 2), bool(rng() % 2),
           t % 5 == 0 ? -0.5f : 1.f, t % 3 == 0 ? 0.f : (t % 3 == 1 ? 1.f : 0.25f), int64_t(rng() % 3)};
    v.push_back(c);
  }
  v.push_back({300, 260, 700, false, false, 1.f, 0.f, 0});  // several KC/MC blocks
  return v;
}
}  // namespace

TEST(SgemmSimd, EveryMicroKernelMatchesReference) {
  int count = 0;
  const SgemmMicroKernel* const* kernels = available_sgemm_micro_kernels(&count);
  std::vector<const SgemmMicroKernel*> all(kernels, kernels + count);
  all.push_back(nullptr);  // the portable tile through the same driver
  std::mt19937 rng(5);
  for (const SgemmMicroKernel* k : all)
    for (int threads : {1, 3}) {
      ThreadPool pool(threads);
      SCOPED_TRACE(k ? k->name : "portable");
      for (const Case& c : cases(rng))
        check(c, [&](const float* A, int64_t lda, const float* B, int64_t ldb, float* C, int64_t ldc) {
          gemm_f32_with(k, c.M, c.N, c.K, A, lda, c.ta, B, ldb, c.tb, C, ldc, c.alpha, c.beta, &pool);
        }, rng);
    }
}

TEST(SgemmSimd, PublicEntryIncludingGemvMatchesReference) {
  std::mt19937 rng(9);
  ThreadPool pool(2);
  for (const Case& c : cases(rng))
    check(c, [&](const float* A, int64_t lda, const float* B, int64_t ldb, float* C, int64_t ldc) {
      gemm_f32(c.M, c.N, c.K, A, lda, c.ta, B, ldb, c.tb, C, ldc, c.alpha, c.beta, &pool);
    }, rng);
}

TEST(SgemmSimd, ResultDoesNotDependOnThreadCount) {
  std::mt19937 rng(2);
  std::uniform_real_distribution<float> d(-1, 1);
  const int64_t M = 70, N = 333, K = 129;
  std::vector<float> A(M * K), B(K * N), C1(M * N), C3(M * N);
  for (auto& v : A) v = d(rng);
  for (auto& v : B) v = d(rng);
  ThreadPool one(1), three(3);
  gemm_f32(M, N, K, A.data(), K, false, B.data(), N, false, C1.data(), N, 1.f, 0.f, &one);
  gemm_f32(M, N, K, A.data(), K, false, B.data(), N, false, C3.data(), N, 1.f, 0.f, &three);
  EXPECT_EQ(C1, C3);
}

}  // namespace edgekit
