// com.edgekit:QLinearConvNhwc: 2-D int8/uint8 convolution in NHWC with TFLite's arithmetic.
//   inputs  x [N,H,W,C], x_scale, x_zero_point, w [M, C/group, KH, KW] (OIHW, i8), w_scale and
//           w_zero_point (per tensor or per output channel), y_scale, y_zero_point, B [M] (i32,
//           scale x_scale * w_scale, optional)
//   attrs   kernel_shape, strides, pads, dilations, group (as Conv); activation_min/max
//   output  y [N,OH,OW,M] of y_zero_point's dtype:
//           clamp(y_zp + MultiplyByQuantizedMultiplier(B[m] + sum (x - x_zp)(w - w_zp[m]), M[m]))
//           with M[m] = x_scale * w_scale[m] / y_scale in fixed point.
// With constant weights and parameters, prepare() packs the weights for the int8 micro-kernels
// (kernels/qconv_int8.h); otherwise the integer reference loop runs.
#include "kernels/conv_geometry.h"
#include "kernels/qconv_int8.h"
#include "kernels/qop_common.h"
#include "kernels/quant_ref.h"

namespace edgekit {
namespace {

class QLinearConvNhwc final : public OpKernel {
 public:
  explicit QLinearConvNhwc(const Node& node) : OpKernel(node), group_(node.attr_int("group", 1)) {}

  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(8, 9);
    check_quant_input(ctx, 0, 2, "input 0 (x)");
    check_dtype(node(), "input 3 (w)", ctx.input_type(3).dtype, dtype_bit(DType::i8) | dtype_bit(DType::u8));
    const DType y = ctx.input_type(7).dtype;
    check_dtype(node(), "input 7 (y_zero_point)", y, kQuant8Types);
    if (ctx.has_input(8)) check_dtype(node(), "input 8 (B)", ctx.input_type(8).dtype, dtype_bit(DType::i32));
    const TensorType& x = ctx.input_type(0);
    const TensorType& w = ctx.input_type(3);
    if (!x.shape_known || !w.shape_known) return ctx.set_output_unknown(0, y);
    ctx.set_output(0, y, plan_int_conv(node(), x.shape, w.shape, group_, true).out);
  }

  void prepare(const PrepareContext& ctx) override {
    const Tensor* w = ctx.constant_input(3);
    auto xq = constant_quant_params(ctx, 1, "x");
    auto wq = w ? constant_quant_params(ctx, 4, "w", 0, w->shape()) : std::nullopt;
    auto yq = constant_quant_params(ctx, 6, "y");
    if (!w || !xq || !wq || !yq || (node().has_input(8) && !ctx.constant_input(8))) return;
    if (w->dtype() != DType::i8 || w->rank() != 4) return;
    auto p = std::make_shared<QConvInt8Params>(reference_params(*w, *xq, *wq, *yq, ctx.constant_input(8),
                                                                ctx.constant_input(7)->dtype()));
    const std::vector<int64_t> dilations = node().attr_ints("dilations", {1, 1});
    pack_qconv_weights(*p, w->data<int8_t>(), wq->zero_point, w->dim(1), w->dim(2), w->dim(3), group_,
                       dilations.size() == 2 ? dilations[1] : 1);
    if (qconv_packed(*p)) prepared_ = p;
  }

  void run(RunContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    const Tensor& w = ctx.input(3);
    Tensor& y = ctx.output(0);
    const IntConvShape& s = shape_.get({x.dim(0), x.dim(1), x.dim(2), x.dim(3), w.dim(0), w.dim(1), w.dim(2), w.dim(3)},
                                       [&] { return plan_int_conv(node(), x.shape(), w.shape(), group_, true).shape; });
    if (prepared_ && x.dtype() == prepared_->x_dtype && y.dtype() == prepared_->y_dtype)
      return qconv_nhwc_int8(*prepared_, x.raw(), s, y.raw(), ctx.threads());
    // Unprepared (e.g. constant folding): the reference loop.
    const QuantParams xq = run_quant_params(ctx, 1, "x");
    const QuantParams wq = run_quant_params(ctx, 4, "w", 0, w.shape());
    const QuantParams yq = run_quant_params(ctx, 6, "y");
    const Tensor* b = ctx.has_input(8) ? &ctx.input(8) : nullptr;
    QConvInt8Params p = reference_params(w, xq, wq, yq, b, y.dtype());
    std::vector<int32_t> acc(size_t(y.numel()));
    visit_dtypes<kQuant8Types, kQuant8Types>(x.dtype(), node(), [&](auto tx) {
      visit_dtypes<kQuant8Types, kQuant8Types>(w.dtype(), node(), [&](auto tw) {
        int_conv_ref(x.data<decltype(tx)>(), xq.zero_point[0], w.data<decltype(tw)>(), wq.zero_point,
                     p.bias.data(), s, acc.data());
      });
    });
    requantize_rows(p, acc.data(), y.numel() / s.out_c, y.raw());
  }

 private:
  QConvInt8Params reference_params(const Tensor& w, const QuantParams& xq, const QuantParams& wq, const QuantParams& yq,
                  const Tensor* b, DType y) const {
    return qconv_params(node(), w.dim(0), xq, wq, yq, b, y);
  }

  int64_t group_;
  mutable SizeKeyed<IntConvShape, 8> shape_;
  std::shared_ptr<const QConvInt8Params> prepared_;
};

}  // namespace
EK_REGISTER_OP_DOMAIN(kEdgekitDomain, "QLinearConvNhwc", QLinearConvNhwc);
}  // namespace edgekit
