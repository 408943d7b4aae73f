// fp32 GEMM micro-kernels: C[0:mr, 0:nr] (+)= alpha * A_panel x B_panel over kc steps (added to
// C when `accumulate`, else C is overwritten without being read), where
// A_panel is kc x MR (k-major) and B_panel kc x NR, both packed and zero-padded by the caller
// (kernels/gemm_ref.cpp). Each ISA's kernel lives in a file of its own and is chosen once at
// run time from the CPU's features, so one binary serves every x86-64 machine.
#pragma once
#include <cstdint>

namespace edgekit {

struct SgemmMicroKernel {
  const char* name;  // e.g. "sgemm_6x16_avx2_fma"
  int64_t mr, nr;
  void (*run)(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int64_t mr, int64_t nr,
              float alpha, bool accumulate);
};

// The best kernel this CPU supports, or nullptr when none beats the portable one.
const SgemmMicroKernel* best_sgemm_micro_kernel();
// Every kernel this CPU can run (for differential tests).
const SgemmMicroKernel* const* available_sgemm_micro_kernels(int* count);

}  // namespace edgekit
