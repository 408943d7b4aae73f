#include "kernels/gemm_ref.h"

#include <algorithm>
#include <vector>

#include "core/thread_pool.h"

namespace edgekit {
namespace {

// Tile sizes. MR x NR accumulators must fit the vector registers of a baseline x86-64 /
// AArch64 build (16 x 128-bit: 4 x 8 floats = 8 registers plus operands; 6 x 8 measured
// 3x slower with GCC 12, which then spills); KC x NR of B stays in L1, MC x KC of A in L2.
constexpr int64_t MR = 4, NR = 8;
constexpr int64_t KC = 256, MC = 120, NC = 2048;

// Packs op(A)[i0:i0+mc, p0:p0+kc] as ceil(mc/MR) panels, each kc x MR (k-major), zero-padded.
template <class T>
void pack_a(const T* A, int64_t lda, bool transA, int64_t i0, int64_t mc, int64_t p0, int64_t kc, T* out) {
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
void pack_b(const T* B, int64_t ldb, bool transB, int64_t p0, int64_t kc, int64_t j0, int64_t nc, T* out) {
  for (int64_t jr = 0; jr < nc; jr += NR) {
    int64_t nr = std::min(NR, nc - jr);
    T* panel = out + jr * kc;
    if (!transB) {
      for (int64_t p = 0; p < kc; ++p) {
        const T* src = B + (p0 + p) * ldb + j0 + jr;
        T* dst = panel + p * NR;
        int64_t j = 0;
        for (; j < nr; ++j) dst[j] = src[j];
        for (; j < NR; ++j) dst[j] = T(0);
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
                         int64_t nr, T alpha) {
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
    for (int64_t j = 0; j < nr; ++j) crow[j] += alpha * acc[i][j];
  }
}

template <class T>
std::vector<T>& scratch(int which) {
  thread_local std::vector<T> buffers[2];
  return buffers[which];
}

template <class T>
void gemm_serial(int64_t M, int64_t N, int64_t K, const T* A, int64_t lda, bool transA, const T* B, int64_t ldb,
                 bool transB, T* C, int64_t ldc, T alpha, T beta) {
  if (M <= 0 || N <= 0) return;
  // Scale C by beta first; the blocked loop then only accumulates.
  for (int64_t i = 0; i < M; ++i) {
    T* row = C + i * ldc;
    if (beta == T(0)) {
      std::fill(row, row + N, T(0));
    } else if (beta != T(1)) {
      for (int64_t j = 0; j < N; ++j) row[j] *= beta;
    }
  }
  if (K <= 0 || alpha == T(0)) return;

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
      pack_b(B, ldb, transB, pc, kc, jc, nc, bpack.data());
      for (int64_t ic = 0; ic < M; ic += MC) {
        const int64_t mc = std::min(MC, M - ic);
        pack_a(A, lda, transA, ic, mc, pc, kc, apack.data());
        for (int64_t jr = 0; jr < nc; jr += NR) {
          const int64_t nr = std::min(NR, nc - jr);
          for (int64_t ir = 0; ir < mc; ir += MR) {
            const int64_t mr = std::min(MR, mc - ir);
            micro_kernel<T>(kc, apack.data() + ir * kc, bpack.data() + jr * kc, C + (ic + ir) * ldc + jc + jr, ldc,
                            mr, nr, alpha);
          }
        }
      }
    }
  }
}

}  // namespace

template <class T>
void gemm_ref(int64_t M, int64_t N, int64_t K, const T* A, int64_t lda, bool transA, const T* B, int64_t ldb,
              bool transB, T* C, int64_t ldc, T alpha, T beta, ThreadPool* pool) {
  // Below ~1 MFLOP, waking workers costs more than it saves.
  if (pool == nullptr || double(M) * double(N) * double(K) < 5e5) {
    gemm_serial(M, N, K, A, lda, transA, B, ldb, transB, C, ldc, alpha, beta);
    return;
  }
  // Split the larger output dim in whole tiles; each part is an independent GEMM.
  const bool split_n = N >= M;
  const int64_t tile = split_n ? NR : MR, dim = split_n ? N : M, tiles = (dim + tile - 1) / tile;
  parallel_for(pool, tiles, [&](int64_t b, int64_t e) {
    const int64_t lo = b * tile, hi = std::min(e * tile, dim);
    if (split_n) {
      gemm_serial(M, hi - lo, K, A, lda, transA, transB ? B + lo * ldb : B + lo, ldb, transB, C + lo, ldc, alpha, beta);
    } else {
      gemm_serial(hi - lo, N, K, transA ? A + lo : A + lo * lda, lda, transA, B, ldb, transB, C + lo * ldc, ldc, alpha,
                  beta);
    }
  });
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
