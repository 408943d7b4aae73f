// QLinearMatMul (opset 10): numpy matmul of quantized a and b (b per tensor or per column),
// requantized to y's scale and zero point in float with round half to even, as ONNX specifies.
#include "kernels/elementwise.h"
#include "kernels/quant_ref.h"
#include "kernels/requantize.h"

namespace edgekit {
namespace {

constexpr DTypeSet k8Bit = dtype_bit(DType::i8) | dtype_bit(DType::u8);

class QLinearMatMul final : public OpKernel {
 public:
  explicit QLinearMatMul(const Node& node) : OpKernel(node) {}

  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(8, 8);
    const TensorType& a = ctx.input_type(0);
    const TensorType& b = ctx.input_type(3);
    check_dtype(node(), "input 0 (a)", a.dtype, k8Bit);
    check_dtype(node(), "input 3 (b)", b.dtype, k8Bit);
    const DType y = ctx.input_type(7).dtype;
    check_dtype(node(), "input 7 (y_zero_point)", y, k8Bit);
    if (!a.shape_known || !b.shape_known) return ctx.set_output_unknown(0, y);
    ctx.set_output(0, y, IntMatMulShape::of(node(), a.shape, b.shape).out);
  }

  void run(RunContext& ctx) const override {
    const Tensor& a = ctx.input(0);
    const Tensor& b = ctx.input(3);
    Tensor& y = ctx.output(0);
    const IntMatMulShape s = IntMatMulShape::of(node(), a.shape(), b.shape());
    const QuantParams aq = read_quant_params(node(), "a", ctx.input(1), &ctx.input(2), a.shape(), 0, false);
    const QuantParams bq = read_quant_params(node(), "b", ctx.input(4), &ctx.input(5), b.shape(), -1, true);
    const QuantParams yq = read_quant_params(node(), "y", ctx.input(6), &ctx.input(7), y.shape(), 0, false);
    std::vector<int32_t> acc(size_t(y.numel()));  // scratch: this is the reference path
    visit_dtypes<k8Bit, k8Bit>(a.dtype(), node(), [&](auto ta) {
      visit_dtypes<k8Bit, k8Bit>(b.dtype(), node(), [&](auto tb) {
        int_matmul_ref(a.data<decltype(ta)>(), aq.zero_point, b.data<decltype(tb)>(), bq.zero_point, s, acc.data());
      });
    });
    const QuantRange r = quant_range(y.dtype());
    visit_dtypes<k8Bit, k8Bit>(y.dtype(), node(), [&](auto ty) {
      using TY = decltype(ty);
      TY* out = y.data<TY>();
      for (int64_t i = 0; i < y.numel(); ++i) {
        const float mult = aq.scale[0] * bq.scale_at(size_t(i % s.N)) / yq.scale[0];
        out[i] = TY(requantize_float(acc[size_t(i)], mult, yq.zero_point[0], r.lo, r.hi));
      }
    });
  }
};

}  // namespace
EK_REGISTER_OP("QLinearMatMul", QLinearMatMul);
}  // namespace edgekit
