// Reference GEMM shared by Conv, ConvTranspose, Gemm and MatMul.
//
//   C = alpha * op(A) * op(B) + beta * C        (all row-major)
//
// op(A) is M x K: A is stored M x K (row stride lda >= K), or with transA K x M (lda >= M).
// op(B) is K x N: B is stored K x N (ldb >= N), or with transB N x K (ldb >= K).
// C is M x N with row stride ldc >= N. beta == 0 means C is write-only: it is not read,
// so it may hold garbage or NaN.
//
// This is the single boundary of the optimised kernels: callers only ever go through
// gemm_f32 / gemm_ref, never loop over matrices themselves.
//
// Algorithm: Goto-style cache blocking. B is packed into KC x NR column panels and A into
// MC x KC row panels (k-major, zero-padded to whole tiles), so the MR x NR micro-kernel
// streams both operands contiguously and keeps its accumulators in registers. Packing
// also absorbs the transposes. Scratch is a per-thread buffer that grows once.
// With a thread pool, the larger of M and N is split into whole tiles across threads.
#pragma once
#include <cstdint>
#include <type_traits>

namespace edgekit {

class ThreadPool;

template <class T>
void gemm_ref(int64_t M, int64_t N, int64_t K, const T* A, int64_t lda, bool transA, const T* B, int64_t ldb,
              bool transB, T* C, int64_t ldc, T alpha, T beta, ThreadPool* pool = nullptr);

// The fast f32 path: the same blocking with the best micro-kernel of this CPU
// (kernels/simd/, chosen once at run time), and a GEMV for M == 1. gemm_ref<float> stays the
// reference it is tested against.
void gemm_f32(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, bool transA, const float* B, int64_t ldb,
              bool transB, float* C, int64_t ldc, float alpha = 1.f, float beta = 0.f, ThreadPool* pool = nullptr);

// gemm_f32's blocked path with a given micro-kernel (nullptr: the portable one), for tests.
struct SgemmMicroKernel;
void gemm_f32_with(const SgemmMicroKernel* kernel, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda,
                   bool transA, const float* B, int64_t ldb, bool transB, float* C, int64_t ldc, float alpha,
                   float beta, ThreadPool* pool);

// What ops call: the fast path for f32, the reference for the other types.
template <class T>
inline void gemm(int64_t M, int64_t N, int64_t K, const T* A, int64_t lda, bool transA, const T* B, int64_t ldb,
                 bool transB, T* C, int64_t ldc, T alpha, T beta, ThreadPool* pool = nullptr) {
  if constexpr (std::is_same_v<T, float>)
    gemm_f32(M, N, K, A, lda, transA, B, ldb, transB, C, ldc, alpha, beta, pool);
  else
    gemm_ref<T>(M, N, K, A, lda, transA, B, ldb, transB, C, ldc, alpha, beta, pool);
}

// gemm_ref is instantiated for: float, double, int32_t, int64_t, uint32_t, uint64_t.

}  // namespace edgekit
