// Integer requantization, as TFLite (and gemmlowp) define it, so int8 results are the same
// bit for bit on every machine.
//
// A real multiplier M (e.g. input_scale * weight_scale / output_scale) is held as a Q31
// integer m in [2^30, 2^31) and a power-of-two exponent: M = m * 2^(shift - 31).
// Multiplying an int32 accumulator by it is
//   MultiplyByQuantizedMultiplier(x, m, shift) =
//     RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(x << max(shift, 0), m), max(-shift, 0))
// where the high multiply rounds half away from zero and the division by 2^e rounds half away
// from zero (TFLite's default, double-rounding build). No float is touched at run time.
//
// Also here: the quantization parameters of a tensor (per tensor, or per channel along an
// axis), read from the scale / zero-point inputs ONNX's quantized ops take, and the value
// conversions both directions with ONNX's semantics (round half to even, saturate).
#pragma once
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "core/tensor.h"
#include "graph/graph.h"

namespace edgekit {

struct QuantMultiplier {
  int32_t multiplier = 0;  // Q31, in [2^30, 2^31) unless the real multiplier is 0
  int shift = 0;           // left shift when > 0, right shift when < 0
};

// TFLite's QuantizeMultiplier: frexp, then round(q * 2^31) half away from zero; multipliers
// below 2^-31 become 0. `real` must be finite and >= 0 (callers check and name the node).
QuantMultiplier quantize_multiplier(double real);

inline int32_t saturating_rounding_doubling_high_mul(int32_t a, int32_t b) {
  if (a == b && a == std::numeric_limits<int32_t>::min()) return std::numeric_limits<int32_t>::max();
  int64_t ab = int64_t(a) * int64_t(b);
  int64_t nudge = ab >= 0 ? (int64_t(1) << 30) : (1 - (int64_t(1) << 30));
  return int32_t((ab + nudge) / (int64_t(1) << 31));
}

// x / 2^exponent rounded half away from zero; exponent in [0, 31].
inline int32_t rounding_divide_by_pot(int32_t x, int exponent) {
  const int32_t mask = int32_t((int64_t(1) << exponent) - 1);
  const int32_t remainder = x & mask;
  const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

inline int32_t multiply_by_quantized_multiplier(int32_t x, int32_t multiplier, int shift) {
  const int left = shift > 0 ? shift : 0, right = shift > 0 ? 0 : -shift;
  // x << left wraps like TFLite's int32 multiply (done unsigned: no UB on hostile scales).
  const int32_t shifted = int32_t(uint32_t(x) * (uint32_t(1) << left));
  return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(shifted, multiplier), right);
}
inline int32_t multiply_by_quantized_multiplier(int32_t x, QuantMultiplier m) {
  return multiply_by_quantized_multiplier(x, m.multiplier, m.shift);
}

// The same plus a zero point, for x known to lie in [x_lo, x_hi], in 32-bit arithmetic (the
// vector kernels' cheaper form; bit-identical where requant32_constants accepts the range):
//   H = (x << (left + 2)) m >> 32          (the high half: floor(x' m / 2^30), x' = x << left)
//   y = (H + add - (H < 0 ? correction : 0)) >> (e + 1)
//   add = 1 + (e > 0 ? 2^e : 0) + zp 2^(e+1), correction = (e > 0 ? 2 : 0).
// Why: SaturatingRoundingDoublingHighMul is floor((x' m + 2^30) / 2^31) = floor((H + 1) / 2)
// (it needs x' m's bit 30, hence 4x' rather than 2x'), and RoundingDivideByPOT(v, e) is
// floor((v + 2^(e-1) - [v < 0]) / 2^e); nested floors of integer divisions are one floor, so
// y - zp = floor((H + 1 + 2^e - 2 [v < 0]) / 2^(e+1)). v < 0 is H < -1; at H = -1 either test
// gives 0 (2^e - 2 < 2^(e+1)), so the sign bit of H will do.
struct Requant32 {
  int32_t multiplier = 0, left = 0, add = 0, correction = 0, shift = 0;  // left = shift's left part + 2; shift = e + 1
};
// The constants, or false when for some x in [x_lo, x_hi] x << (left + 2) or the sum leaves
// int32 (or e > 30): then only the 64-bit or two-step forms are exact.
bool requant32_constants(const QuantMultiplier& m, int32_t zero_point, int64_t x_lo, int64_t x_hi, Requant32* k);
inline int32_t requant32_apply(const Requant32& k, int32_t x) {
  const int32_t shifted = int32_t(uint32_t(x) << k.left);
  const int32_t high = int32_t((int64_t(shifted) * k.multiplier) >> 32);
  return (high + k.add - (high < 0 ? k.correction : 0)) >> k.shift;
}

// Per-channel multipliers as arrays, the form the vector path reads: shift split into a left
// and a right shift, each within [0, 31]; 16 zero entries past the channels.
struct RequantizeChannels {
  std::vector<int32_t> multiplier, left, right;
  void set(const std::vector<QuantMultiplier>& multipliers);
};

// out[i] = clamp(zero_point + MultiplyByQuantizedMultiplier(acc[i] + bias[i], channel i), lo, hi)
// for i < n, vectorised (simd/requantize_simd.cpp) and bit-identical to the scalar functions
// above. bias may be null; the channel arrays are indexed like acc, or null (all three) for one
// multiplier `uniform` for every element. out may be acc (in place).
struct RequantizeArgs {
  const int32_t* acc;
  const int32_t* bias;
  const int32_t* multiplier;
  const int32_t* left;
  const int32_t* right;
  int64_t n;
  int32_t zero_point, lo, hi;
  QuantMultiplier uniform{};
};
void requantize_to_i8(const RequantizeArgs& args, int8_t* out);
void requantize_to_u8(const RequantizeArgs& args, uint8_t* out);
void requantize_to_i32(const RequantizeArgs& args, int32_t* out);  // chained fixed-point steps; zero_point 0

// ONNX QuantizeLinear of n floats with one scale and zero point (quantize_value below, a vector
// at a time; the same results, NaN included).
void quantize_f32_to_i8(const float* x, int64_t n, float scale, int32_t zero_point, int8_t* out);
void quantize_f32_to_u8(const float* x, int64_t n, float scale, int32_t zero_point, uint8_t* out);

// The integer range of an 8-bit dtype (i8: -128..127, u8: 0..255; i32 for bias tensors).
struct QuantRange {
  int32_t lo, hi;
};
QuantRange quant_range(DType t);  // throws for other dtypes
inline bool is_quant_dtype(DType t) { return t == DType::i8 || t == DType::u8; }

// Quantization parameters of one tensor: real = scale[c] * (q - zero_point[c]), with c the
// index along `axis` when there is more than one scale.
struct QuantParams {
  std::vector<float> scale;
  std::vector<int32_t> zero_point;
  DType dtype = DType::u8;  // the quantized dtype (from the zero point; u8 when it is absent)
  int64_t axis = -1;        // per-channel axis (normalised), -1 per tensor

  bool per_channel() const { return scale.size() > 1 || axis >= 0; }
  size_t channels() const { return scale.size(); }
  float scale_at(size_t c) const { return scale.size() == 1 ? scale[0] : scale[c]; }
  int32_t zero_point_at(size_t c) const { return zero_point.size() == 1 ? zero_point[0] : zero_point[c]; }
};

// Reads scale (f32 or f16) and zero point (optional: `zero_point` may be null) tensors as
// ONNX's QuantizeLinear / DequantizeLinear / QLinear* take them: scalars (or one element) per
// tensor, else 1-D along `axis` of a tensor of `data_shape` (axis may be negative; pass
// allow_axis = false where the op has per-tensor parameters only). Checks that scales are
// finite and positive, zero points fit their dtype and lengths match; errors name `what` and
// the node.
QuantParams read_quant_params(const Node& node, const char* what, const Tensor& scale, const Tensor* zero_point,
                              const Shape& data_shape, int64_t axis, bool allow_axis);

// ONNX QuantizeLinear for one value: saturate(round_half_even(x / scale) + zero_point).
inline int32_t quantize_value(float x, float scale, int32_t zero_point, QuantRange r) {
  float q = std::nearbyint(x / scale);  // the default rounding mode is to nearest even
  if (std::isnan(q)) return zero_point < r.lo ? r.lo : zero_point > r.hi ? r.hi : zero_point;
  double v = double(q) + double(zero_point);
  return v < r.lo ? r.lo : v > r.hi ? r.hi : int32_t(v);
}

// TFLite's clamp bounds of a fused activation in the quantized domain: [lo, hi] real (either
// may be infinite) to quantized, rounded half away from zero and clamped to the dtype range.
QuantRange quantized_activation_range(float lo, float hi, float scale, int32_t zero_point, DType t);

}  // namespace edgekit
