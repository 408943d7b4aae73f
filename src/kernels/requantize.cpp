#include "kernels/requantize.h"

#include <algorithm>

namespace edgekit {

QuantMultiplier quantize_multiplier(double real) {
  QuantMultiplier m;
  if (real == 0.0) return m;
  int shift = 0;
  const double q = std::frexp(real, &shift);
  int64_t fixed = int64_t(std::round(q * double(int64_t(1) << 31)));
  if (fixed == (int64_t(1) << 31)) {
    fixed /= 2;
    ++shift;
  }
  if (shift < -31) return m;  // below 2^-31: every int32 times it rounds to 0
  // Above 2^30 the shifted accumulator wraps in any int32 runtime; keep TFLite's limit.
  EK_CHECK(shift <= 30, "requantization multiplier ", real, " is too large (>= 2^30)");
  m.multiplier = int32_t(fixed);
  m.shift = shift;
  return m;
}

bool requant32_constants(const QuantMultiplier& m, int32_t zero_point, int64_t x_lo, int64_t x_hi, Requant32* k) {
  const int left = m.shift > 0 ? m.shift : 0, e = m.shift > 0 ? 0 : -m.shift;
  if (left > 29 || e > 30 || m.multiplier < 0 || x_lo > x_hi) return false;
  constexpr int64_t lo32 = std::numeric_limits<int32_t>::min(), hi32 = std::numeric_limits<int32_t>::max();
  const int64_t scaled_lo = x_lo * (int64_t(1) << (left + 2)), scaled_hi = x_hi * (int64_t(1) << (left + 2));
  if (x_lo < lo32 || x_hi > hi32 || scaled_lo < lo32 || scaled_hi > hi32) return false;
  const int64_t add = 1 + (e > 0 ? int64_t(1) << e : 0) + int64_t(zero_point) * (int64_t(1) << (e + 1));
  const int64_t correction = e > 0 ? 2 : 0;
  // H is monotone in x (m >= 0); >> on int64 is a floor.
  const int64_t high_lo = (scaled_lo * m.multiplier) >> 32, high_hi = (scaled_hi * m.multiplier) >> 32;
  if (add < lo32 || add > hi32 || high_lo + add - correction < lo32 || high_hi + add > hi32) return false;
  *k = {m.multiplier, left + 2, int32_t(add), int32_t(correction), e + 1};
  return true;
}

QuantRange quant_range(DType t) {
  switch (t) {
    case DType::i8: return {-128, 127};
    case DType::u8: return {0, 255};
    case DType::i32: return {std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max()};
    default: fail("dtype ", dtype_name(t), " is not a quantized type (expected i8 or u8)");
  }
}

QuantParams read_quant_params(const Node& node, const char* what, const Tensor& scale, const Tensor* zero_point,
                              const Shape& data_shape, int64_t axis, bool allow_axis) {
  QuantParams p;
  EK_CHECK(scale.dtype() == DType::f32 || scale.dtype() == DType::f16, node.where(), ": ", what,
           " scale has dtype ", dtype_name(scale.dtype()), ", expected f32 or f16");
  const int64_t n = scale.numel();
  const bool per_axis = scale.rank() == 1 && n > 1;
  EK_CHECK(scale.rank() == 0 || (scale.rank() == 1 && n >= 1), node.where(), ": ", what, " scale must be a scalar or 1-D, got shape ",
           shape_str(scale.shape()));
  if (per_axis) {
    EK_CHECK(allow_axis, node.where(), ": ", what, " scale must be a scalar (per tensor), got shape ",
             shape_str(scale.shape()));
    const int64_t rank = int64_t(data_shape.size());
    EK_CHECK(axis >= -rank && axis < rank, node.where(), ": axis ", axis, " is out of range for ", what, " of rank ",
             rank);
    p.axis = axis < 0 ? axis + rank : axis;
    EK_CHECK(data_shape[size_t(p.axis)] < 0 || data_shape[size_t(p.axis)] == n, node.where(), ": ", what, " has ",
             data_shape[size_t(p.axis)], " elements along axis ", p.axis, " but ", n, " scales");
  }
  p.scale.resize(size_t(n));
  for (int64_t i = 0; i < n; ++i) {
    double s = scale.as_double(i);
    EK_CHECK(std::isfinite(s) && s > 0, node.where(), ": ", what, " scale ", s, " must be finite and positive");
    p.scale[size_t(i)] = float(s);
  }
  if (zero_point) {
    EK_CHECK(zero_point->numel() == n, node.where(), ": ", what, " zero point has ", zero_point->numel(),
             " elements, its scale ", n);
    EK_CHECK(is_quant_dtype(zero_point->dtype()) || zero_point->dtype() == DType::i32, node.where(), ": ", what,
             " zero point has dtype ", dtype_name(zero_point->dtype()), ", expected i8, u8 or i32");
    p.dtype = zero_point->dtype();
    for (int64_t i = 0; i < n; ++i) p.zero_point.push_back(int32_t(zero_point->as_int(i)));
  } else {
    p.zero_point.assign(size_t(n), 0);
  }
  return p;
}

QuantRange quantized_activation_range(float lo, float hi, float scale, int32_t zero_point, DType t) {
  QuantRange r = quant_range(t);
  auto q = [&](float v) {
    double x = double(zero_point) + double(std::round(v / scale));  // in float, as TFLite
    return int32_t(std::clamp(x, double(r.lo), double(r.hi)));
  };
  if (std::isfinite(lo)) r.lo = std::max(r.lo, q(lo));
  if (std::isfinite(hi)) r.hi = std::min(r.hi, q(hi));
  return r;
}

}  // namespace edgekit
