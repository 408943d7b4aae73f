#include "kernels/gemm_ref.h"

#include <algorithm>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/simd/sgemm_micro.h"

namespace edgekit {
namespace {

// Tile sizes. MR x NR accumulators must fit the vector registers of a baseline x86-64 /
// AArch64 build (16 x 128-bit: 4 x 8 floats = 8 registers plus operands; 6 x 8 measured
// 3x slower with GCC 12, which then spills); KC x NR of B stays in L1, MC x KC of A in L2.
constexpr int64_t MR = 4, NR = 8;
constexpr int64_t KC = 256, MC = 120, NC = 2048;

// Packs op(A)[i0:i0+mc, p0:p0+kc] as ceil(mc/MR) panels, each kc x MR (k-major), zero-padded.
template <class T>
void pack_a(const T* A, int64_t lda, bool transA, int64_t i0, int64_t mc, int64_t p0, int64_t kc, T* out, int64_t MR) {
  for (int64_t ir = 0; ir < mc; ir += MR) {
    int64_t mr = std::min(MR, mc - ir);
    for (int64_t p = 0; p < kc; ++p) {
      T* dst = out + ir * kc + p * MR;
      int64_t i = 0;
      if (transA) {  // A stored K x M: the MR values are contiguous
        const T* src = A + (p0 + p) * lda + i0 + ir;
        for (; i < mr; ++i) dst[i] = src[i];
      } else {
        const T* src = A + (i0 + ir) * lda + p0 + p;
        for (; i < mr; ++i) dst[i] = src[i * lda];
      }
      for (; i < MR; ++i) dst[i] = T(0);
    }
  }
}

// Packs op(B)[p0:p0+kc, j0:j0+nc] as ceil(nc/NR) panels, each kc x NR (k-major), zero-padded.
template <class T>
void pack_b(const T* B, int64_t ldb, bool transB, int64_t p0, int64_t kc, int64_t j0, int64_t nc, T* out, int64_t NR) {
  for (int64_t jr = 0; jr < nc; jr += NR) {
    int64_t nr = std::min(NR, nc - jr);
    T* panel = out + jr * kc;
    if (!transB) {
      for (int64_t p = 0; p < kc; ++p) {
        const T* src = B + (p0 + p) * ldb + j0 + jr;
        T* dst = panel + p * NR;
        std::copy_n(src, nr, dst);
        std::fill(dst + nr, dst + NR, T(0));
      }
    } else {  // B stored N x K: walk each column of op(B) contiguously
      for (int64_t j = 0; j < NR; ++j) {
        if (j < nr) {
          const T* src = B + (j0 + jr + j) * ldb + p0;
          for (int64_t p = 0; p < kc; ++p) panel[p * NR + j] = src[p];
        } else {
          for (int64_t p = 0; p < kc; ++p) panel[p * NR + j] = T(0);
        }
      }
    }
  }
}

// C[0:mr, 0:nr] += alpha * (a panel) x (b panel). Fixed-size loops so the compiler keeps
// the accumulators in registers and vectorises over NR.
template <class T>
inline void micro_kernel(int64_t kc, const T* __restrict a, const T* __restrict b, T* c, int64_t ldc, int64_t mr,
                         int64_t nr, T alpha, bool accumulate) {
  T acc[MR][NR] = {};
  for (int64_t p = 0; p < kc; ++p) {
    const T* ap = a + p * MR;
    const T* bp = b + p * NR;
    for (int64_t i = 0; i < MR; ++i) {
      const T av = ap[i];
      for (int64_t j = 0; j < NR; ++j) acc[i][j] += av * bp[j];
    }
  }
  for (int64_t i = 0; i < mr; ++i) {
    T* crow = c + i * ldc;
    for (int64_t j = 0; j < nr; ++j) crow[j] = alpha * acc[i][j] + (accumulate ? crow[j] : T(0));
  }
}

// A micro-kernel and its tile: the portable one above, or an ISA-specific one for f32.
template <class T>
struct Tile {
  int64_t mr, nr;
  void (*run)(int64_t kc, const T* a, const T* b, T* c, int64_t ldc, int64_t mr, int64_t nr, T alpha, bool accumulate);
};

template <class T>
void portable_micro_kernel(int64_t kc, const T* a, const T* b, T* c, int64_t ldc, int64_t mr, int64_t nr, T alpha,
                           bool accumulate) {
  micro_kernel<T>(kc, a, b, c, ldc, mr, nr, alpha, accumulate);
}

template <class T>
Tile<T> portable_tile() {
  return {MR, NR, portable_micro_kernel<T>};
}

Tile<float> tile_of(const SgemmMicroKernel* k) { return k ? Tile<float>{k->mr, k->nr, k->run} : portable_tile<float>(); }

template <class T>
std::vector<T>& scratch(int which) {
  thread_local std::vector<T> buffers[2];
  return buffers[which];
}

template <class T>
void gemm_serial(int64_t M, int64_t N, int64_t K, const T* A, int64_t lda, bool transA, const T* B, int64_t ldb,
                 bool transB, T* C, int64_t ldc, T alpha, T beta, const Tile<T>& tile) {
  const int64_t MR = tile.mr, NR = tile.nr;
  if (M <= 0 || N <= 0) return;
  if (K <= 0 || alpha == T(0)) {  // C = beta * C only
    for (int64_t i = 0; i < M; ++i) {
      T* row = C + i * ldc;
      for (int64_t j = 0; j < N; ++j) row[j] = beta == T(0) ? T(0) : beta * row[j];
    }
    return;
  }
  // Scale C by beta first when it is kept; with beta == 0 the first K block overwrites C
  // instead, so C is neither cleared nor read.
  if (beta != T(0) && beta != T(1))
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) C[i * ldc + j] *= beta;

  std::vector<T>& bpack = scratch<T>(0);
  std::vector<T>& apack = scratch<T>(1);
  // Packed panels are zero-padded to whole tiles: round the largest block up.
  const int64_t nc_max = (std::min(NC, N) + NR - 1) / NR * NR;
  const int64_t mc_max = (std::min(MC, M) + MR - 1) / MR * MR;
  const int64_t kc_max = std::min(KC, K);
  if (int64_t(bpack.size()) < nc_max * kc_max) bpack.resize(nc_max * kc_max);
  if (int64_t(apack.size()) < mc_max * kc_max) apack.resize(mc_max * kc_max);

  for (int64_t jc = 0; jc < N; jc += NC) {
    const int64_t nc = std::min(NC, N - jc);
    for (int64_t pc = 0; pc < K; pc += KC) {
      const int64_t kc = std::min(KC, K - pc);
      pack_b(B, ldb, transB, pc, kc, jc, nc, bpack.data(), NR);
      for (int64_t ic = 0; ic < M; ic += MC) {
        const int64_t mc = std::min(MC, M - ic);
        pack_a(A, lda, transA, ic, mc, pc, kc, apack.data(), MR);
        for (int64_t jr = 0; jr < nc; jr += NR) {
          const int64_t nr = std::min(NR, nc - jr);
          for (int64_t ir = 0; ir < mc; ir += MR) {
            const int64_t mr = std::min(MR, mc - ir);
            tile.run(kc, apack.data() + ir * kc, bpack.data() + jr * kc, C + (ic + ir) * ldc + jc + jr, ldc, mr, nr,
                     alpha, pc > 0 || beta != T(0));
          }
        }
      }
    }
  }
}

template <class T>
void gemm_blocked(int64_t M, int64_t N, int64_t K, const T* A, int64_t lda, bool transA, const T* B, int64_t ldb,
                  bool transB, T* C, int64_t ldc, T alpha, T beta, ThreadPool* pool, const Tile<T>& t) {
  // Below ~2 MFLOP (~25 us on one core) splitting costs more than it saves: each part packs
  // its own copy of A, and the threads must meet at the end.
  if (pool == nullptr || double(M) * double(N) * double(K) < 1e6) {
    gemm_serial(M, N, K, A, lda, transA, B, ldb, transB, C, ldc, alpha, beta, t);
    return;
  }
  // Split the larger output dim in whole tiles; each part is an independent GEMM, so the
  // result does not depend on the thread count.
  const bool split_n = N >= M;
  const int64_t tile = split_n ? t.nr : t.mr, dim = split_n ? N : M, tiles = (dim + tile - 1) / tile;
  parallel_for(pool, tiles, [&](int64_t b, int64_t e) {
    const int64_t lo = b * tile, hi = std::min(e * tile, dim);
    if (split_n) {
      gemm_serial(M, hi - lo, K, A, lda, transA, transB ? B + lo * ldb : B + lo, ldb, transB, C + lo, ldc, alpha, beta,
                  t);
    } else {
      gemm_serial(hi - lo, N, K, transA ? A + lo : A + lo * lda, lda, transA, B, ldb, transB, C + lo * ldc, ldc, alpha,
                  beta, t);
    }
  });
}

// M == 1 (a fully connected layer at batch 1): packing B would cost more than the product,
// so B is read once in place. Eight partial sums per dot product let the compiler vectorise
// without reassociating a single float sum.
void gemv_f32(int64_t N, int64_t K, const float* A, int64_t a_stride, const float* B, int64_t ldb, bool transB,
              float* C, float alpha, float beta, ThreadPool* pool) {
  std::vector<float> a(static_cast<size_t>(K));
  for (int64_t k = 0; k < K; ++k) a[size_t(k)] = A[k * a_stride];
  // Waking a sleeping worker costs tens of microseconds: small products stay on one thread.
  if (double(N) * double(K) < 2.5e5) pool = nullptr;
  parallel_for(pool, N, [&](int64_t lo, int64_t hi) {
    if (transB) {  // C[j] = dot(a, B row j)
      for (int64_t j = lo; j < hi; ++j) {
        const float* row = B + j * ldb;
        float part[8] = {};
        int64_t k = 0;
        for (; k + 8 <= K; k += 8)
          for (int l = 0; l < 8; ++l) part[l] += a[size_t(k + l)] * row[k + l];
        float sum = 0;
        for (int l = 0; l < 8; ++l) sum += part[l];
        for (; k < K; ++k) sum += a[size_t(k)] * row[k];
        C[j] = alpha * sum + (beta == 0.f ? 0.f : beta * C[j]);
      }
    } else {  // C[lo:hi] = sum_k a[k] * B row k
      for (int64_t j = lo; j < hi; ++j) C[j] = beta == 0.f ? 0.f : beta * C[j];
      for (int64_t k = 0; k < K; ++k) {
        const float s = alpha * a[size_t(k)];
        const float* row = B + k * ldb;
        for (int64_t j = lo; j < hi; ++j) C[j] += s * row[j];
      }
    }
  }, 64);
}

}  // namespace

template <class T>
void gemm_ref(int64_t M, int64_t N, int64_t K, const T* A, int64_t lda, bool transA, const T* B, int64_t ldb,
              bool transB, T* C, int64_t ldc, T alpha, T beta, ThreadPool* pool) {
  gemm_blocked(M, N, K, A, lda, transA, B, ldb, transB, C, ldc, alpha, beta, pool, portable_tile<T>());
}

void gemm_f32_with(const SgemmMicroKernel* kernel, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda,
                   bool transA, const float* B, int64_t ldb, bool transB, float* C, int64_t ldc, float alpha,
                   float beta, ThreadPool* pool) {
  gemm_blocked(M, N, K, A, lda, transA, B, ldb, transB, C, ldc, alpha, beta, pool, tile_of(kernel));
}

void gemm_f32(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, bool transA, const float* B, int64_t ldb,
              bool transB, float* C, int64_t ldc, float alpha, float beta, ThreadPool* pool) {
  if (M == 1 && N > 0 && K > 0 && alpha != 0.f) {
    gemv_f32(N, K, A, transA ? lda : 1, B, ldb, transB, C, alpha, beta, pool);
    return;
  }
  static const SgemmMicroKernel* const best = best_sgemm_micro_kernel();
  gemm_f32_with(best, M, N, K, A, lda, transA, B, ldb, transB, C, ldc, alpha, beta, pool);
}

#define EK_INSTANTIATE_GEMM(T)                                                                                  \
  template void gemm_ref<T>(int64_t, int64_t, int64_t, const T*, int64_t, bool, const T*, int64_t, bool, T*, \
                            int64_t, T, T, ThreadPool*);
EK_INSTANTIATE_GEMM(float)
EK_INSTANTIATE_GEMM(double)
EK_INSTANTIATE_GEMM(int32_t)
EK_INSTANTIATE_GEMM(int64_t)
EK_INSTANTIATE_GEMM(uint32_t)
EK_INSTANTIATE_GEMM(uint64_t)
#undef EK_INSTANTIATE_GEMM

}  // namespace edgekit
