// com.edgekit:QFullyConnected: y[..., N] = requantized x[..., K] x W^T + B, TFLite's int8
// FULLY_CONNECTED (and a fused QDQ Gemm / MatMul with constant weights).
//   inputs  x, x_scale, x_zero_point, w [N, K] (i8), w_scale and w_zero_point (per tensor or
//           per output channel), y_scale, y_zero_point, B [N] (i32, optional)
//   attrs   activation_min / activation_max
// Without y_scale and y_zero_point (both inputs empty) y is float, the int32 sums dequantized
// once: y = x_scale * w_scale[n] * (Σ_k (x - x_zp) w + B[n]), as ONNX Runtime's QGemm with no
// output scale (a QDQ Gemm / MatMul whose output is not quantized, such as a classifier's
// logits). Weights must then be symmetric (zero point 0).
// Runs on the int8 GEMM engine of kernels/qconv_int8.h (a 1x1 convolution over the rows; float
// output: kernels/dynamic_qgemm.h's) when weights and parameters are constants; else the
// integer reference loop.
#include "kernels/dynamic_qgemm.h"
#include "kernels/qconv_int8.h"
#include "kernels/qop_common.h"

namespace edgekit {
namespace {

class QFullyConnected final : public OpKernel {
 public:
  explicit QFullyConnected(const Node& node) : OpKernel(node) {}

  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(6, 9);  // 6 when the output is float and there is no bias
    check_quant_input(ctx, 0, 2, "input 0 (x)");
    check_dtype(node(), "input 3 (w)", ctx.input_type(3).dtype, dtype_bit(DType::i8) | dtype_bit(DType::u8));
    EK_CHECK(ctx.has_input(6) == ctx.has_input(7), node().where(),
             ": y_scale and y_zero_point (inputs 6, 7) must be given together (neither: float output)");
    const DType y = float_output() ? DType::f32 : ctx.input_type(7).dtype;
    if (!float_output()) check_dtype(node(), "input 7 (y_zero_point)", y, kQuant8Types);
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
    if (float_output()) return prepare_float(w, xq, wq, ctx.constant_input(8), node().has_input(8));
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
    if (float_prepared_ && x.dtype() == float_prepared_->x_dtype)
      return run_float_packed(*float_prepared_, x, rows, y, ctx);
    const QuantParams xq = run_quant_params(ctx, 1, "x");
    const QuantParams wq = run_quant_params(ctx, 4, "w", 0, w.shape());
    if (float_output()) return run_float_reference(x, xq, w, wq, ctx.has_input(8) ? &ctx.input(8) : nullptr, y);
    const QuantParams yq = run_quant_params(ctx, 6, "y");
    const QConvInt8Params p = params(w, xq, wq, yq, ctx.has_input(8) ? &ctx.input(8) : nullptr, y.dtype());
    std::vector<int32_t> acc = reference_sums(x, xq, w, wq);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t n = 0; n < w.dim(0); ++n) acc[size_t(r * w.dim(0) + n)] += p.bias[size_t(n)];
    requantize_rows(p, acc.data(), rows, y.raw());
  }

 private:
  QConvInt8Params params(const Tensor& w, const QuantParams& xq, const QuantParams& wq, const QuantParams& yq,
                  const Tensor* b, DType y) const {
    return qconv_params(node(), w.dim(0), xq, wq, yq, b, y);
  }

  // The integer reference: rows x N sums of (x - x_zp)(w - w_zp) over K, no bias.
  std::vector<int32_t> reference_sums(const Tensor& x, const QuantParams& xq, const Tensor& w,
                                      const QuantParams& wq) const {
    const int64_t k = w.dim(1), n_out = w.dim(0), rows = k ? x.numel() / k : 0;
    IntMatMulShape s;
    s.a = {rows, k}, s.b = {k, n_out}, s.M = rows, s.K = k, s.N = n_out;
    std::vector<int32_t> acc(size_t(rows * n_out));
    Tensor wt(w.dtype(), {k, n_out});  // W^T as a [K, N] matrix
    visit_dtypes<kQuant8Types, kQuant8Types>(w.dtype(), node(), [&](auto tw) {
      using TW = decltype(tw);
      for (int64_t n = 0; n < n_out; ++n)
        for (int64_t i = 0; i < k; ++i) wt.data<TW>()[i * n_out + n] = w.data<TW>()[n * k + i];
      visit_dtypes<kQuant8Types, kQuant8Types>(x.dtype(), node(), [&](auto tx) {
        int_matmul_ref(x.data<decltype(tx)>(), xq.zero_point, wt.data<TW>(), wq.zero_point, s, acc.data());
      });
    });
    return acc;
  }

  bool float_output() const { return !node().has_input(6) && !node().has_input(7); }

  // The float-output form on the dynamic int8 GEMM's packing: x as uint8 (int8 x shifted by
  // 128, its zero point with it), and per row n the integer offset (x_zp Σ_k w[n][k] - B[n])
  // taken from the sums before their one conversion to float, so that the packed path rounds
  // exactly as the reference below.
  struct FloatPacked {
    DynamicQWeights w;  // its row_sums replaced by the offsets
    float x_scale = 1.f;
    DType x_dtype = DType::u8;
  };

  void prepare_float(const Tensor* w, const std::optional<QuantParams>& xq, const std::optional<QuantParams>& wq,
                     const Tensor* b, bool has_bias) {
    if (!w || !xq || !wq || (has_bias && !b) || w->dtype() != DType::i8 || w->rank() != 2 || xq->per_channel()) return;
    const int64_t n = w->dim(0), k = w->dim(1);
    if (n == 0 || k == 0) return;
    for (size_t c = 0; c < wq->channels(); ++c)
      if (wq->zero_point_at(c) != 0) return;  // the dynamic packing is symmetric: the reference loop runs
    if (b && (b->dtype() != DType::i32 || b->numel() != n)) return;
    auto p = std::make_shared<FloatPacked>();
    p->w = pack_dynamic_qweights(w->data<int8_t>(), n, k, wq->scale.data(), int64_t(wq->scale.size()));
    p->x_dtype = xq->dtype;
    p->x_scale = xq->scale_at(0);
    const int32_t zx = xq->zero_point_at(0) + (xq->dtype == DType::i8 ? 128 : 0);
    for (int64_t m = 0; m < n; ++m)
      p->w.row_sums[size_t(m)] = zx * p->w.row_sums[size_t(m)] - (b ? b->data<int32_t>()[m] : 0);
    float_prepared_ = p;
  }

  static void run_float_packed(const FloatPacked& p, const Tensor& x, int64_t rows, Tensor& y, RunContext& ctx) {
    const int64_t k = p.w.cols, kp = p.w.k_padded;
    const uint8_t* q = static_cast<const uint8_t*>(x.raw());
    thread_local std::vector<uint8_t> shifted;  // the rows as uint8 at a stride of kp (when x is not that already)
    if (x.dtype() == DType::i8 || kp != k) {
      shifted.assign(size_t(rows * kp), 0);  // capacity kept between runs
      const uint8_t flip = x.dtype() == DType::i8 ? 0x80 : 0;
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t i = 0; i < k; ++i) shifted[size_t(r * kp + i)] = uint8_t(q[r * k + i] ^ flip);
      q = shifted.data();
    }
    // dynamic_qgemm dequantizes x_scale * scale[n] * float(Σ - zp * row_sums[n]): with zp 1 and
    // the offsets as row sums, that is the formula above.
    dynamic_qgemm(p.w, q, rows, DynamicQuantized{p.x_scale, 1}, nullptr, y.data<float>(), p.w.rows, ctx.threads());
  }

  void run_float_reference(const Tensor& x, const QuantParams& xq, const Tensor& w, const QuantParams& wq,
                           const Tensor* b, Tensor& y) const {
    EK_CHECK(!xq.per_channel(), node().where(), ": x must be quantized per tensor, got ", xq.channels(), " scales");
    const int64_t n_out = w.dim(0), k = w.dim(1), rows = k ? x.numel() / k : 0;
    if (b) EK_CHECK(b->dtype() == DType::i32 && b->numel() == n_out, node().where(), ": bias must be i32 [", n_out, "]");
    const std::vector<int32_t> acc = reference_sums(x, xq, w, wq);
    float* out = y.data<float>();
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t m = 0; m < n_out; ++m)
        out[r * n_out + m] = xq.scale_at(0) * wq.scale_at(size_t(m)) *
                             float(acc[size_t(r * n_out + m)] + (b ? b->data<int32_t>()[m] : 0));
  }

  std::shared_ptr<const QConvInt8Params> prepared_;
  std::shared_ptr<const FloatPacked> float_prepared_;
};

}  // namespace
EK_REGISTER_OP_DOMAIN(kEdgekitDomain, "QFullyConnected", QFullyConnected);
}  // namespace edgekit
