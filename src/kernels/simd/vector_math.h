// Elementwise math on f32 arrays, vectorised with Highway for the CPU's best ISA (as
// simd/nhwc_kernels.h): for the ops and epilogues whose scalar libm calls dominated.
#pragma once
#include <cstdint>

namespace edgekit {

// y[i] = 0.5 x (1 + erf(x / sqrt 2)) (exact GELU) written as 0.5 x erfc(-x / sqrt 2), with
// erfc from a Chebyshev fit of relative error below 1.2e-7 (Numerical Recipes' erfcc), so
// the negative tail keeps its relative accuracy: below 2e-6 for |x| < 5, below 1e-5 beyond
// (the float argument of exp, about -x^2 / 2, rounds). x and y may alias.
void gelu_f32_array(const float* x, float* y, int64_t n);

// y[i] = exp(x[i] - shift); returns the sum of the y[i] (softmax's denominator).
float exp_shifted_f32(const float* x, float* y, int64_t n, float shift);

}  // namespace edgekit
