// QuantizeLinear: y = saturate(round_half_even(x / y_scale) + y_zero_point), per tensor or (from
// opset 13) per channel along `axis`. y's dtype is the zero point's, u8 when it is absent.
// x may be f32 or f16 (opset 19); the quotient is computed in float, as ONNX's reference does.
#include <type_traits>

#include "kernels/elementwise.h"
#include "kernels/requantize.h"

namespace edgekit {
namespace {
constexpr DTypeSet kInt8Types = dtype_bit(DType::i8) | dtype_bit(DType::u8);  // the outputs, both hot

class QuantizeLinear final : public OpKernel {
 public:
  explicit QuantizeLinear(const Node& node) : OpKernel(node), axis_(node.attr_int("axis", 1)) {}

  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(2, 3);
    const TensorType& x = ctx.input_type(0);
    check_dtype(node(), "input 0 (x)", x.dtype, dtype_bit(DType::f32) | dtype_bit(DType::f16));
    DType out = DType::u8;
    if (ctx.has_input(2)) {
      out = ctx.input_type(2).dtype;
      check_dtype(node(), "input 2 (y_zero_point)", out, dtype_bit(DType::i8) | dtype_bit(DType::u8));
    }
    if (x.shape_known) ctx.set_output(0, out, x.shape);
    else ctx.set_output_unknown(0, out);
  }

  void run(RunContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    Tensor& y = ctx.output(0);
    QuantParams q = read_quant_params(node(), "y", ctx.input(1), ctx.has_input(2) ? &ctx.input(2) : nullptr,
                                      x.shape(), axis_, node().opset == 0 || node().opset >= 13);
    const QuantRange r = quant_range(y.dtype());
    const Shape& s = x.shape();
    int64_t inner = 1, channels = 1;
    if (q.axis >= 0) {
      channels = s[size_t(q.axis)];
      for (size_t d = size_t(q.axis) + 1; d < s.size(); ++d) inner *= s[d];
    }
    visit_dtypes<dtype_bit(DType::f32) | dtype_bit(DType::f16)>(x.dtype(), node(), [&](auto tx) {
      using TX = decltype(tx);
      const TX* src = x.data<TX>();
      visit_dtypes<kInt8Types, kInt8Types>(y.dtype(), node(), [&](auto ty) {
        using TY = decltype(ty);
        TY* dst = y.data<TY>();
        const int64_t n = x.numel();
        if constexpr (std::is_same_v<TX, float>) {
          if (q.channels() == 1) {  // per tensor, from f32: the vector path
            if constexpr (std::is_same_v<TY, int8_t>) return quantize_f32_to_i8(src, n, q.scale[0], q.zero_point_at(0), dst);
            else return quantize_f32_to_u8(src, n, q.scale[0], q.zero_point_at(0), dst);
          }
        }
        // Channel c covers `inner` consecutive elements, channels cycling (no division per element).
        for (int64_t i = 0, c = 0, left = inner; i < n; ++i) {
          dst[i] = TY(quantize_value(load(src[i]), q.scale_at(size_t(c)), q.zero_point_at(size_t(c)), r));
          if (--left == 0) left = inner, c = c + 1 == channels ? 0 : c + 1;
        }
      });
    });
  }

 private:
  int64_t axis_;
};

}  // namespace
EK_REGISTER_OP("QuantizeLinear", QuantizeLinear);
}  // namespace edgekit
