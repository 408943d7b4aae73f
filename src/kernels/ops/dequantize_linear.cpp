// DequantizeLinear: y = (x - x_zero_point) * x_scale, per tensor or (from opset 13) per
// channel along `axis`. x is i8, u8 or i32 (an int32 x, e.g. a bias, has zero point 0); y
// has the scale's dtype (f32, or f16 from opset 19). Computed in float, as ONNX's reference.
#include "kernels/elementwise.h"
#include "kernels/requantize.h"

namespace edgekit {
namespace {

constexpr DTypeSet kQuantizedInputs = dtype_bit(DType::i8) | dtype_bit(DType::u8) | dtype_bit(DType::i32);

class DequantizeLinear final : public OpKernel {
 public:
  explicit DequantizeLinear(const Node& node) : OpKernel(node), axis_(node.attr_int("axis", 1)) {}

  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(2, 3);
    const TensorType& x = ctx.input_type(0);
    check_dtype(node(), "input 0 (x)", x.dtype, kQuantizedInputs);
    DType out = ctx.input_type(1).dtype;
    check_dtype(node(), "input 1 (x_scale)", out, dtype_bit(DType::f32) | dtype_bit(DType::f16));
    if (ctx.has_input(2)) {
      DType zp = ctx.input_type(2).dtype;
      EK_CHECK(zp == x.dtype, node().where(), ": x_zero_point has dtype ", dtype_name(zp), ", x has ",
               dtype_name(x.dtype));
    }
    if (x.shape_known) ctx.set_output(0, out, x.shape);
    else ctx.set_output_unknown(0, out);
  }

  void run(RunContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    Tensor& y = ctx.output(0);
    QuantParams q = read_quant_params(node(), "x", ctx.input(1), ctx.has_input(2) ? &ctx.input(2) : nullptr,
                                      x.shape(), axis_, node().opset == 0 || node().opset >= 13);
    if (x.dtype() == DType::i32)
      for (int32_t z : q.zero_point) EK_CHECK(z == 0, node().where(), ": an int32 x must have zero point 0, got ", z);
    const Shape& s = x.shape();
    int64_t inner = 1, channels = 1;
    if (q.axis >= 0) {
      channels = s[size_t(q.axis)];
      for (size_t d = size_t(q.axis) + 1; d < s.size(); ++d) inner *= s[d];
    }
    visit_dtypes<kQuantizedInputs, kQuantizedInputs>(x.dtype(), node(), [&](auto tx) {
      using TX = decltype(tx);
      const TX* src = x.data<TX>();
      visit_dtypes<dtype_bit(DType::f32) | dtype_bit(DType::f16)>(y.dtype(), node(), [&](auto ty) {
        using TY = decltype(ty);
        TY* dst = y.data<TY>();
        for (int64_t i = 0, n = x.numel(); i < n; ++i) {
          size_t c = size_t((i / inner) % channels);
          dst[i] = store<TY>((float(src[i]) - float(q.zero_point_at(c))) * q.scale_at(c));
        }
      });
    });
  }

 private:
  int64_t axis_;
};

}  // namespace
EK_REGISTER_OP("DequantizeLinear", DequantizeLinear);
}  // namespace edgekit
