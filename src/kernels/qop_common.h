// What edgekit's own int8 ops (com.edgekit:QLinearConvNhwc, QFullyConnected, QAdd, QMul,
// QAveragePoolNhwc, QGlobalAveragePoolNhwc, QLookup) share. They take their quantization
// parameters as inputs, in ONNX's QLinear* order (value, scale, zero point, ...), so one graph
// carries them whether it came from a TFLite int8 model or from fusing QDQ ONNX; the
// fixed-point multipliers follow from the scales once, in prepare() when they are constants,
// else at each run. Results use TFLite's integer arithmetic (kernels/requantize.h), so they
// match the TFLite interpreter bit for bit.
//
// A fused activation is the pair of float attributes activation_min / activation_max (real
// values; absent means unbounded), turned into a quantized clamp as TFLite does.
#pragma once
#include <cmath>
#include <limits>
#include <optional>

#include "kernels/elementwise.h"
#include "kernels/qconv_int8.h"
#include "kernels/requantize.h"

namespace edgekit {

constexpr DTypeSet kQuant8Types = dtype_bit(DType::i8) | dtype_bit(DType::u8);

// The (scale, zero point) at inputs i and i+1 of a quantized op, as given at prepare (when both
// are constants) or at run.
inline std::optional<QuantParams> constant_quant_params(const PrepareContext& ctx, size_t i, const char* what,
                                                        int64_t axis = -1, const Shape& data_shape = {}) {
  const Tensor* s = ctx.constant_input(i);
  const Tensor* z = ctx.constant_input(i + 1);
  if (!s || !z) return std::nullopt;
  return read_quant_params(ctx.node(), what, *s, z, data_shape, axis, axis >= 0);
}
inline QuantParams run_quant_params(const RunContext& ctx, size_t i, const char* what, int64_t axis = -1,
                                    const Shape& data_shape = {}) {
  EK_CHECK(ctx.has_input(i) && ctx.has_input(i + 1), ctx.node().where(), ": ", what, " scale and zero point (inputs ",
           i, ", ", i + 1, ") are required");
  return read_quant_params(ctx.node(), what, ctx.input(i), &ctx.input(i + 1), data_shape, axis, axis >= 0);
}

// The quantized clamp of the node's fused activation on an output of params y.
inline QuantRange activation_range(const Node& node, const QuantParams& y, DType t) {
  const float inf = std::numeric_limits<float>::infinity();
  return quantized_activation_range(node.attr_float("activation_min", -inf), node.attr_float("activation_max", inf),
                                    y.scale[0], y.zero_point[0], t);
}

// Checks a per-tensor quantized value's dtype (i8/u8) against its zero point's.
inline void check_quant_input(const InferContext& ctx, size_t value, size_t zero_point, const char* what) {
  const DType t = ctx.input_type(value).dtype;
  check_dtype(ctx.node(), what, t, kQuant8Types);
  if (ctx.has_input(zero_point))
    EK_CHECK(ctx.input_type(zero_point).dtype == t, ctx.node().where(), ": ", what, " has dtype ", dtype_name(t),
             ", its zero point ", dtype_name(ctx.input_type(zero_point).dtype));
}

// The frame of the two-input int8 ops (QAdd, QMul): inputs a, a_scale, a_zero_point, b,
// b_scale, b_zero_point, y_scale, y_zero_point, per tensor; y of the broadcast shape, its dtype
// y_zero_point's. Params (the op's fixed-point constants) come from params() once in prepare()
// when the scales are constants, else at each run (run_params).
template <class Params>
class QuantBinaryKernel : public OpKernel {
 public:
  using OpKernel::OpKernel;

  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(8, 8);
    check_quant_input(ctx, 0, 2, "input 0 (a)");
    check_quant_input(ctx, 3, 5, "input 3 (b)");
    const DType y = ctx.input_type(7).dtype;
    check_dtype(node(), "input 7 (y_zero_point)", y, kQuant8Types);
    const TensorType& a = ctx.input_type(0);
    const TensorType& b = ctx.input_type(3);
    if (!a.shape_known || !b.shape_known) return ctx.set_output_unknown(0, y);
    ctx.set_output(0, y, broadcast_shapes({a.shape, b.shape}, node()));
  }

  void prepare(const PrepareContext& ctx) override {
    auto aq = constant_quant_params(ctx, 1, "a"), bq = constant_quant_params(ctx, 4, "b");
    auto yq = constant_quant_params(ctx, 6, "y");
    if (aq && bq && yq) prepared_ = params(*aq, *bq, *yq, ctx.constant_input(7)->dtype());
  }

 protected:
  virtual Params params(const QuantParams& a, const QuantParams& b, const QuantParams& y, DType t) const = 0;

  Params run_params(const RunContext& ctx) const {
    if (prepared_) return *prepared_;
    return params(run_quant_params(ctx, 1, "a"), run_quant_params(ctx, 4, "b"), run_quant_params(ctx, 6, "y"),
                  ctx.output(0).dtype());
  }

  // fn(a, b, y) with the three tensors' element types (each int8 or uint8) as tag values.
  template <class Fn>
  void visit_types(const Tensor& a, const Tensor& b, const Tensor& y, const Fn& fn) const {
    visit_dtypes<kQuant8Types, kQuant8Types>(a.dtype(), node(), [&](auto ta) {
      visit_dtypes<kQuant8Types, kQuant8Types>(b.dtype(), node(), [&](auto tb) {
        visit_dtypes<kQuant8Types, kQuant8Types>(y.dtype(), node(), [&](auto ty) { fn(ta, tb, ty); });
      });
    });
  }

 private:
  std::optional<Params> prepared_;
};

// Multiplier for real = in_scale * w_scale / out_scale, computed in double as TFLite does;
// names the node when the result cannot be represented.
inline QuantMultiplier conv_multiplier(const Node& node, float in_scale, float w_scale, float out_scale) {
  const double real = double(in_scale) * double(w_scale) / double(out_scale);
  try {
    return quantize_multiplier(real);
  } catch (const Error& e) {
    fail(node.where(), ": ", e.what());
  }
}

// Everything the int8 conv / fully-connected engine needs but the packed weights: zero points,
// the output clamp, the bias (B, i32 [M], optional) and one multiplier per output channel.
inline QConvInt8Params qconv_params(const Node& node, int64_t out_channels, const QuantParams& xq,
                                    const QuantParams& wq, const QuantParams& yq, const Tensor* b, DType y) {
  QConvInt8Params p;
  p.out_channels = out_channels;
  p.x_dtype = xq.dtype, p.y_dtype = y;
  p.x_zero_point = xq.zero_point[0], p.y_zero_point = yq.zero_point[0];
  p.act = activation_range(node, yq, y);
  p.bias.assign(size_t(out_channels), 0);
  if (b) {
    EK_CHECK(b->dtype() == DType::i32 && b->numel() == out_channels, node.where(), ": B must be i32 with ",
             out_channels, " values, got ", dtype_name(b->dtype()), " ", shape_str(b->shape()));
    for (int64_t i = 0; i < out_channels; ++i) p.bias[size_t(i)] = b->data<int32_t>()[i];
  }
  EK_CHECK(wq.channels() == 1 || int64_t(wq.channels()) == out_channels, node.where(), ": w has ", wq.channels(),
           " scales for ", out_channels, " output channels");
  for (int64_t i = 0; i < out_channels; ++i)
    p.multiplier.push_back(conv_multiplier(node, xq.scale[0], wq.scale_at(size_t(i)), yq.scale[0]));
  return p;
}

}  // namespace edgekit
