// com.edgekit:QFullyConnected: y[..., N] = requantized x[..., K] x W^T + B, TFLite's int8
// FULLY_CONNECTED (and a fused QDQ Gemm / MatMul with constant weights).
//   inputs  x, x_scale, x_zero_point, w [N, K] (i8), w_scale and w_zero_point (per tensor or
//           per output channel), y_scale, y_zero_point, B [N] (i32, optional)
//   attrs   activation_min / activation_max
// Runs on the int8 GEMM engine of kernels/qconv_int8.h (a 1x1 convolution over the rows) when
// weights and parameters are constants; else the integer reference loop.
#include "kernels/qconv_int8.h"
#include "kernels/qop_common.h"

namespace edgekit {
namespace {

class QFullyConnected final : public OpKernel {
 public:
  explicit QFullyConnected(const Node& node) : OpKernel(node) {}

  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(8, 9);
    check_quant_input(ctx, 0, 2, "input 0 (x)");
    check_dtype(node(), "input 3 (w)", ctx.input_type(3).dtype, dtype_bit(DType::i8) | dtype_bit(DType::u8));
    const DType y = ctx.input_type(7).dtype;
    check_dtype(node(), "input 7 (y_zero_point)", y, kQuant8Types);
    const TensorType& x = ctx.input_type(0);
    const TensorType& w = ctx.input_type(3);
    if (!x.shape_known || !w.shape_known) return ctx.set_output_unknown(0, y);
    EK_CHECK(w.shape.size() == 2, node().where(), ": weights must be 2-D [N, K], got ", shape_str(w.shape));
    EK_CHECK(!x.shape.empty(), node().where(), ": input must have rank >= 1");
    EK_CHECK(x.shape.back() < 0 || w.shape[1] < 0 || x.shape.back() == w.shape[1], node().where(), ": input has K=",
             x.shape.back(), ", weights ", shape_str(w.shape), " expect K=", w.shape[1]);
    Shape out = x.shape;
    out.back() = w.shape[0];
    ctx.set_output(0, y, out);
  }

  void prepare(const PrepareContext& ctx) override {
    const Tensor* w = ctx.constant_input(3);
    auto xq = constant_quant_params(ctx, 1, "x");
    auto wq = w ? constant_quant_params(ctx, 4, "w", 0, w->shape()) : std::nullopt;
    auto yq = constant_quant_params(ctx, 6, "y");
    if (!w || !xq || !wq || !yq || (node().has_input(8) && !ctx.constant_input(8))) return;
    if (w->dtype() != DType::i8 || w->rank() != 2) return;
    auto p = std::make_shared<QConvInt8Params>(params(*w, *xq, *wq, *yq, ctx.constant_input(8), ctx.constant_input(7)->dtype()));
    pack_qconv_weights(*p, w->data<int8_t>(), wq->zero_point, w->dim(1), 1, 1, 1);
    if (qconv_packed(*p)) prepared_ = p;
  }

  void run(RunContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    const Tensor& w = ctx.input(3);
    Tensor& y = ctx.output(0);
    const int64_t k = w.dim(1), rows = k ? x.numel() / k : 0;
    if (prepared_ && x.dtype() == prepared_->x_dtype && y.dtype() == prepared_->y_dtype)
      return qgemm_int8(*prepared_, x.raw(), rows, y.raw(), ctx.threads());
    const QuantParams xq = run_quant_params(ctx, 1, "x");
    const QuantParams wq = run_quant_params(ctx, 4, "w", 0, w.shape());
    const QuantParams yq = run_quant_params(ctx, 6, "y");
    const QConvInt8Params p = params(w, xq, wq, yq, ctx.has_input(8) ? &ctx.input(8) : nullptr, y.dtype());
    IntMatMulShape s;
    s.a = {rows, k}, s.b = {k, w.dim(0)}, s.M = rows, s.K = k, s.N = w.dim(0);
    std::vector<int32_t> acc(size_t(y.numel()));
    Tensor wt(w.dtype(), {k, w.dim(0)});  // reference path: W^T as a [K, N] matrix
    visit_dtypes<kQuant8Types, kQuant8Types>(w.dtype(), node(), [&](auto tw) {
      using TW = decltype(tw);
      for (int64_t n = 0; n < w.dim(0); ++n)
        for (int64_t i = 0; i < k; ++i) wt.data<TW>()[i * w.dim(0) + n] = w.data<TW>()[n * k + i];
      visit_dtypes<kQuant8Types, kQuant8Types>(x.dtype(), node(), [&](auto tx) {
        int_matmul_ref(x.data<decltype(tx)>(), xq.zero_point, wt.data<TW>(), wq.zero_point, s, acc.data());
      });
    });
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t n = 0; n < s.N; ++n) acc[size_t(r * s.N + n)] += p.bias[size_t(n)];
    requantize_rows(p, acc.data(), rows, y.raw());
  }

 private:
  QConvInt8Params params(const Tensor& w, const QuantParams& xq, const QuantParams& wq, const QuantParams& yq,
                  const Tensor* b, DType y) const {
    return qconv_params(node(), w.dim(0), xq, wq, yq, b, y);
  }

  std::shared_ptr<const QConvInt8Params> prepared_;
};

}  // namespace
EK_REGISTER_OP_DOMAIN(kEdgekitDomain, "QFullyConnected", QFullyConnected);
}  // namespace edgekit
