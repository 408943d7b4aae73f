// Integer reference loops the quantized ops share: convolution and matrix multiplication of
// 8-bit operands with zero points into int32 accumulators. They are the ground truth the fast
// int8 kernels (qconv_int8.h) are tested against, and the kernels of ONNX's ConvInteger,
// MatMulInteger, QLinearConv and QLinearMatMul.
#pragma once
#include <cmath>
#include <cstdint>
#include <vector>

#include "core/tensor.h"
#include "graph/graph.h"
#include "kernels/conv_geometry.h"
#include "kernels/requantize.h"

namespace edgekit {

// A 2-D convolution's sizes; x and y are NCHW or NHWC (`nhwc`), w is OIHW: [M, C/group, KH, KW].
struct IntConvShape {
  int64_t batch = 1, in_c = 0, in_h = 0, in_w = 0, out_c = 0, out_h = 0, out_w = 0;
  int64_t kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1, dilation_h = 1, dilation_w = 1;
  int64_t pad_top = 0, pad_left = 0, group = 1;
  bool nhwc = false;
  static IntConvShape from(const WindowGeometry& g, int64_t batch, int64_t in_c, int64_t out_c, int64_t group,
                           bool nhwc);
};

// Output shape and sizes of a 2-D integer conv on x ([N,C,H,W], or [N,H,W,C] when nhwc) and
// w [M, C/group, KH, KW], from the node's window attributes; dims may be -1 (static inference).
struct IntConvPlan {
  Shape out;
  IntConvShape shape;  // meaningful when every dim is known
};
IntConvPlan plan_int_conv(const Node& node, const Shape& x, const Shape& w, int64_t group, bool nhwc);

// acc[n, m, oh, ow] = bias[m] + sum (x - x_zp) * (w - w_zp[m]) over the window (padding adds 0);
// w_zp has one entry, or one per output channel. acc has y's layout. bias may be null.
template <class TX, class TW>
void int_conv_ref(const TX* x, int32_t x_zp, const TW* w, const std::vector<int32_t>& w_zp, const int32_t* bias,
                  const IntConvShape& s, int32_t* acc);

// numpy matmul sizes of A [..., M, K] x B [..., K, N] (1-D operands promoted, batch dims
// broadcast), as MatMul; checks name the node.
struct IntMatMulShape {
  Shape a, b, batch, out;
  int64_t M = 0, K = 0, N = 0;
  static IntMatMulShape of(const Node& node, const Shape& a, const Shape& b);
};

// acc = (A - a_zp[row]) x (B - b_zp[col]); a_zp has 1 or M entries, b_zp 1 or N.
template <class TA, class TB>
void int_matmul_ref(const TA* a, const std::vector<int32_t>& a_zp, const TB* b, const std::vector<int32_t>& b_zp,
                    const IntMatMulShape& s, int32_t* acc);

// ONNX's requantization of QLinearConv / QLinearMatMul: saturate(round_half_even(acc * m) + zp),
// in float as ONNX's reference and ONNX Runtime compute it.
inline int32_t requantize_float(int32_t acc, float multiplier, int32_t zero_point, int32_t lo, int32_t hi) {
  float v = std::nearbyint(float(acc) * multiplier) + float(zero_point);
  return v < float(lo) ? lo : v > float(hi) ? hi : int32_t(v);
}

// com.edgekit:QMul's arithmetic, TFLite's int8 MUL: the centred inputs' product in int32,
// requantized by one fixed-point multiplier (a_scale * b_scale / y_scale):
//   y = clamp(y_zp + MultiplyByQuantizedMultiplier((a - a_zp) * (b - b_zp), m), act.lo, act.hi)
// |a - a_zp|, |b - b_zp| <= 255, so the product needs 17 bits, and m's left shift is at most 15
// (QMul's prepare refuses larger multipliers): the shifted product never wraps.
struct QMulParams {
  int32_t a_zp = 0, b_zp = 0, y_zp = 0;
  QuantMultiplier multiplier;
  QuantRange act{-128, 127};
};
inline int32_t qmul_value(const QMulParams& p, int32_t a, int32_t b) {
  const int32_t v = multiply_by_quantized_multiplier((a - p.a_zp) * (b - p.b_zp), p.multiplier) + p.y_zp;
  return v < p.act.lo ? p.act.lo : v > p.act.hi ? p.act.hi : v;
}

// QAdd (TFLite's ADD): both inputs centred and scaled to 2^20-scaled fixed point, each
// rescaled to twice the larger input scale, summed, then requantized to the output.
constexpr int kQAddLeftShift = 20;
struct QAddParams {
  int32_t a_zp = 0, b_zp = 0, y_zp = 0;
  QuantMultiplier a_mult, b_mult, y_mult;
  QuantRange act{-128, 127};
};
inline int32_t qadd_value(const QAddParams& p, int32_t a, int32_t b) {
  const int32_t sa = multiply_by_quantized_multiplier((a - p.a_zp) * (1 << kQAddLeftShift), p.a_mult);
  const int32_t sb = multiply_by_quantized_multiplier((b - p.b_zp) * (1 << kQAddLeftShift), p.b_mult);
  const int32_t v = multiply_by_quantized_multiplier(sa + sb, p.y_mult) + p.y_zp;
  return v < p.act.lo ? p.act.lo : v > p.act.hi ? p.act.hi : v;
}

// The reference: qmul_value over numpy broadcasting of a (shape as) and b (shape bs) to ys,
// one element at a time with an odometer (the fast path, kernels/qmul_int8.h, is tested
// against it).
template <class TA, class TB, class TY>
void qmul_ref(const QMulParams& p, const TA* a, const Shape& as, const TB* b, const Shape& bs, TY* y, const Shape& ys);

// Reads input `i` as a zero point of an 8-bit dtype (absent: 0) for ConvInteger-style ops:
// one value, or `per` values (1-D); names the node.
std::vector<int32_t> read_zero_points(const Node& node, const char* what, const Tensor* t, int64_t per);

}  // namespace edgekit
