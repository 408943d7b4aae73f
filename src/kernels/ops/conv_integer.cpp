// ConvInteger (opset 10): y (int32) = conv(x - x_zero_point, w - w_zero_point), 2-D, NCHW.
// x and w are i8 or u8; w_zero_point is per tensor or per output channel.
#include "kernels/elementwise.h"
#include "kernels/quant_ref.h"

namespace edgekit {
namespace {

constexpr DTypeSet k8Bit = dtype_bit(DType::i8) | dtype_bit(DType::u8);

class ConvInteger final : public OpKernel {
 public:
  explicit ConvInteger(const Node& node) : OpKernel(node), group_(node.attr_int("group", 1)) {}

  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(2, 4);
    const TensorType& x = ctx.input_type(0);
    const TensorType& w = ctx.input_type(1);
    check_dtype(node(), "input 0 (x)", x.dtype, k8Bit);
    check_dtype(node(), "input 1 (w)", w.dtype, k8Bit);
    if (!x.shape_known || !w.shape_known) return ctx.set_output_unknown(0, DType::i32);
    ctx.set_output(0, DType::i32, plan_int_conv(node(), x.shape, w.shape, group_, false).out);
  }

  void run(RunContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    const Tensor& w = ctx.input(1);
    const IntConvShape s = plan_int_conv(node(), x.shape(), w.shape(), group_, false).shape;
    const int32_t x_zp = read_zero_points(node(), "x_zero_point", ctx.has_input(2) ? &ctx.input(2) : nullptr, 1)[0];
    const std::vector<int32_t> w_zp =
        read_zero_points(node(), "w_zero_point", ctx.has_input(3) ? &ctx.input(3) : nullptr, s.out_c);
    int32_t* y = ctx.output(0).data<int32_t>();
    visit_dtypes<k8Bit>(x.dtype(), node(), [&](auto tx) {
      visit_dtypes<k8Bit>(w.dtype(), node(), [&](auto tw) {
        int_conv_ref(x.data<decltype(tx)>(), x_zp, w.data<decltype(tw)>(), w_zp, nullptr, s, y);
      });
    });
  }

 private:
  int64_t group_;
};

}  // namespace
EK_REGISTER_OP("ConvInteger", ConvInteger);
}  // namespace edgekit
