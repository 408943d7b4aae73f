// The machine's fp32 peak on one core: independent FMA chains that never wait on each other,
// with enough accumulators to cover the FMA latency on both issue ports. What a GEMM can hope
// to reach; bench/compare.py reports ResNet-18's achieved fraction of it.
#include <immintrin.h>

#include <chrono>
#include <cstdio>
#include <string_view>

namespace {

constexpr long kIters = 200'000'000 / 16;

__attribute__((target("avx2,fma"))) double gflops_avx2() {
  __m256 acc[12];
  for (int i = 0; i < 12; ++i) acc[i] = _mm256_set1_ps(float(i));
  const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
  auto t0 = std::chrono::steady_clock::now();
  for (long it = 0; it < kIters; ++it)
    for (int i = 0; i < 12; ++i) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  float sink = 0;
  for (auto& v : acc) sink += _mm256_cvtss_f32(v);
  if (sink == 12345.f) std::puts("");  // keep the loop alive
  return double(kIters) * 12 * 8 * 2 / s * 1e-9;
}

__attribute__((target("avx512f"))) double gflops_avx512() {
  __m512 acc[16];
  for (int i = 0; i < 16; ++i) acc[i] = _mm512_set1_ps(float(i));
  const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
  auto t0 = std::chrono::steady_clock::now();
  for (long it = 0; it < kIters; ++it)
    for (int i = 0; i < 16; ++i) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  float sink = 0;
  for (auto& v : acc) sink += _mm512_reduce_add_ps(v);
  if (sink == 12345.f) std::puts("");
  return double(kIters) * 16 * 16 * 2 / s * 1e-9;
}

}  // namespace

int main(int argc, char** argv) {
  bool json = argc > 1 && std::string_view(argv[1]) == "--json";
  double avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? gflops_avx2() : 0;
  double avx512 = __builtin_cpu_supports("avx512f") ? gflops_avx512() : 0;
  double peak = avx512 > avx2 ? avx512 : avx2;
  if (json)
    std::printf("{\"avx2_gflops\": %.1f, \"avx512_gflops\": %.1f, \"peak_gflops\": %.1f}\n", avx2, avx512, peak);
  else
    std::printf("fp32 peak, one core: AVX2+FMA %.1f GFLOP/s, AVX-512 %.1f GFLOP/s\n", avx2, avx512);
  return 0;
}
