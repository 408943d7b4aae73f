// MatMulInteger (opset 10): y (int32) = (A - a_zero_point) x (B - b_zero_point), numpy
// matmul shapes; a_zero_point per tensor or per row of A, b_zero_point per tensor or per column.
#include "kernels/elementwise.h"
#include "kernels/quant_ref.h"

namespace edgekit {
namespace {

constexpr DTypeSet k8Bit = dtype_bit(DType::i8) | dtype_bit(DType::u8);

class MatMulInteger final : public OpKernel {
 public:
  explicit MatMulInteger(const Node& node) : OpKernel(node) {}

  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(2, 4);
    const TensorType& a = ctx.input_type(0);
    const TensorType& b = ctx.input_type(1);
    check_dtype(node(), "input 0 (A)", a.dtype, k8Bit);
    check_dtype(node(), "input 1 (B)", b.dtype, k8Bit);
    if (!a.shape_known || !b.shape_known) return ctx.set_output_unknown(0, DType::i32);
    ctx.set_output(0, DType::i32, IntMatMulShape::of(node(), a.shape, b.shape).out);
  }

  void run(RunContext& ctx) const override {
    const Tensor& a = ctx.input(0);
    const Tensor& b = ctx.input(1);
    const IntMatMulShape s = IntMatMulShape::of(node(), a.shape(), b.shape());
    const auto a_zp = read_zero_points(node(), "a_zero_point", ctx.has_input(2) ? &ctx.input(2) : nullptr, s.M);
    const auto b_zp = read_zero_points(node(), "b_zero_point", ctx.has_input(3) ? &ctx.input(3) : nullptr, s.N);
    visit_dtypes<k8Bit>(a.dtype(), node(), [&](auto ta) {
      visit_dtypes<k8Bit>(b.dtype(), node(), [&](auto tb) {
        int_matmul_ref(a.data<decltype(ta)>(), a_zp, b.data<decltype(tb)>(), b_zp, s, ctx.output(0).data<int32_t>());
      });
    });
  }
};

}  // namespace
EK_REGISTER_OP("MatMulInteger", MatMulInteger);
}  // namespace edgekit
