// Chooses the fp32 micro-kernel once from the CPU's features. Newer ISAs go first.
#include "kernels/simd/sgemm_micro.h"

namespace edgekit {

const SgemmMicroKernel* sgemm_avx2_kernel();  // simd/sgemm_6x16_avx2.cpp

namespace {
struct Available {
  const SgemmMicroKernel* kernels[4] = {};
  int count = 0;
  Available() {
    if (const SgemmMicroKernel* k = sgemm_avx2_kernel()) kernels[count++] = k;
  }
};
const Available& available() {
  static const Available a;
  return a;
}
}  // namespace

const SgemmMicroKernel* best_sgemm_micro_kernel() { return available().count ? available().kernels[0] : nullptr; }

const SgemmMicroKernel* const* available_sgemm_micro_kernels(int* count) {
  *count = available().count;
  return available().kernels;
}

}  // namespace edgekit
