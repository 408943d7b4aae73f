// Branch-free float exp and sigmoid that compilers vectorise (libm's expf is a call per
// element). exp_f32 is Cephes' approach: n = round(x / ln 2), r = x - n ln 2 with ln 2 split
// in two for exactness, a degree-6 polynomial for e^r, then scaling by 2^n through the
// exponent bits. Relative error below 2e-7 over the whole float range (tested against
// std::exp); results below the normal range are 0 and large inputs saturate near FLT_MAX
// instead of reaching infinity.
#pragma once
#include <cstdint>
#include <cstring>

namespace edgekit {

inline float exp_f32(float x_in) {
  const float x = x_in < -87.3f ? -87.3f : (x_in > 88.3f ? 88.3f : x_in);
  // Round to nearest by adding and subtracting 1.5 * 2^23: plain SSE2 arithmetic (floorf is a
  // library call on baseline x86-64), valid for |x / ln 2| < 2^22.
  const float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  float r = x - n * 0.693359375f;
  r = r + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const int32_t bits = (int32_t(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, 4);
  return x_in < -87.3f ? 0.0f : p * scale;  // below the normal range: 0, like expf
}

// 1 / (1 + e^-x), computed from e^-|x| so it neither overflows nor loses precision for
// large |x|; NaN stays NaN.
inline float sigmoid_f32(float x) {
  const float e = exp_f32(x < 0 ? x : -x);
  const float s = 1.0f / (1.0f + e);
  return x != x ? x : (x >= 0 ? s : e * s);
}

// tanh from e = e^-2|x|: sign(x) (1 - e) / (1 + e), and for |x| < 1/8, where 1 - e
// cancels, the series x - x^3/3 + 2x^5/15. Relative error below 1e-6.
inline float tanh_f32(float x) {
  const float a = x < 0 ? -x : x;
  if (a < 0.125f) {
    const float x2 = x * x;
    return x * (1.0f + x2 * (-1.0f / 3.0f + x2 * (2.0f / 15.0f)));
  }
  const float e = exp_f32(-2.0f * a);
  const float r = (1.0f - e) / (1.0f + e);
  return x != x ? x : (x < 0 ? -r : r);
}

}  // namespace edgekit

namespace edgekit {

// The same functions over arrays, vectorised for the CPU's best ISA (simd/vector_math.cpp,
// with simd/fast_math-inl.h: the reciprocal estimate and a Newton step stand in for the
// division, so values differ from the scalar ones in the last bits). x and y may be the
// same array.
void sigmoid_f32_array(const float* x, float* y, int64_t n);
// y[i] = x[i] * sigmoid(x[i]) (SiLU, also called Swish).
void silu_f32_array(const float* x, float* y, int64_t n);
void tanh_f32_array(const float* x, float* y, int64_t n);

}  // namespace edgekit
