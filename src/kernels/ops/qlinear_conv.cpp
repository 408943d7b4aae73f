// QLinearConv (opset 10): 2-D NCHW convolution of quantized x and w (zero points, scales; w
// per tensor or per output channel) with an optional int32 bias B of scale x_scale * w_scale,
// requantized to y's scale and zero point as ONNX specifies it: in float, round half to even.
// (edgekit's own int8 convolution, com.edgekit:QLinearConvNhwc, requantizes in fixed point.)
#include "kernels/elementwise.h"
#include "kernels/quant_ref.h"
#include "kernels/requantize.h"

namespace edgekit {
namespace {

constexpr DTypeSet k8Bit = dtype_bit(DType::i8) | dtype_bit(DType::u8);

class QLinearConv final : public OpKernel {
 public:
  explicit QLinearConv(const Node& node) : OpKernel(node), group_(node.attr_int("group", 1)) {}

  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(8, 9);
    const TensorType& x = ctx.input_type(0);
    const TensorType& w = ctx.input_type(3);
    check_dtype(node(), "input 0 (x)", x.dtype, k8Bit);
    check_dtype(node(), "input 3 (w)", w.dtype, k8Bit);
    const DType y = ctx.input_type(7).dtype;
    check_dtype(node(), "input 7 (y_zero_point)", y, k8Bit);
    if (ctx.has_input(8)) check_dtype(node(), "input 8 (B)", ctx.input_type(8).dtype, dtype_bit(DType::i32));
    if (!x.shape_known || !w.shape_known) return ctx.set_output_unknown(0, y);
    ctx.set_output(0, y, plan_int_conv(node(), x.shape, w.shape, group_, false).out);
  }

  void run(RunContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    const Tensor& w = ctx.input(3);
    Tensor& y = ctx.output(0);
    const IntConvShape s = plan_int_conv(node(), x.shape(), w.shape(), group_, false).shape;
    const QuantParams xq = read_quant_params(node(), "x", ctx.input(1), &ctx.input(2), x.shape(), 1, false);
    const QuantParams wq = read_quant_params(node(), "w", ctx.input(4), &ctx.input(5), w.shape(), 0, true);
    const QuantParams yq = read_quant_params(node(), "y", ctx.input(6), &ctx.input(7), y.shape(), 1, false);
    const int32_t* bias = nullptr;
    if (ctx.has_input(8)) {
      EK_CHECK(ctx.input(8).numel() == s.out_c, node().where(), ": B has ", ctx.input(8).numel(), " values, expected ",
               s.out_c);
      bias = ctx.input(8).data<int32_t>();
    }
    std::vector<int32_t> acc(size_t(y.numel()));  // scratch: this is the reference path
    visit_dtypes<k8Bit, k8Bit>(x.dtype(), node(), [&](auto tx) {
      visit_dtypes<k8Bit, k8Bit>(w.dtype(), node(), [&](auto tw) {
        int_conv_ref(x.data<decltype(tx)>(), xq.zero_point[0], w.data<decltype(tw)>(), wq.zero_point, bias, s,
                     acc.data());
      });
    });
    const QuantRange r = quant_range(y.dtype());
    const int64_t pixels = s.out_h * s.out_w;
    visit_dtypes<k8Bit, k8Bit>(y.dtype(), node(), [&](auto ty) {
      using TY = decltype(ty);
      TY* out = y.data<TY>();
      for (int64_t i = 0; i < y.numel(); ++i) {
        const size_t m = size_t((i / pixels) % s.out_c);
        const float mult = xq.scale[0] * wq.scale_at(m) / yq.scale[0];
        out[i] = TY(requantize_float(acc[size_t(i)], mult, yq.zero_point[0], r.lo, r.hi));
      }
    });
  }

 private:
  int64_t group_;
};

}  // namespace
EK_REGISTER_OP("QLinearConv", QLinearConv);
}  // namespace edgekit
