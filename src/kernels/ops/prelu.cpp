// PRelu: y = x < 0 ? slope * x : x, where slope broadcasts unidirectionally to x
// (the output always has x's shape). Integer dtypes since opset 16.
#include "kernels/elementwise.h"

namespace edgekit {
namespace {

class PRelu final : public OpKernel {
 public:
  explicit PRelu(const Node& node) : OpKernel(node) {}

  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(2, 2);
    const TensorType& x = ctx.input_type(0);
    const TensorType& slope = ctx.input_type(1);
    check_dtype(node(), "input 0 (X)", x.dtype, kFloatTypes | kSignedIntTypes | kUnsignedIntTypes);
    EK_CHECK(slope.dtype == x.dtype, node().where(), ": slope dtype ", dtype_name(slope.dtype),
             " differs from input dtype ", dtype_name(x.dtype));
    if (!x.shape_known) return ctx.set_output_unknown(0, x.dtype);
    if (slope.shape_known) check_unidirectional(x.shape, slope.shape);
    ctx.set_output(0, x.dtype, x.shape);
  }

  void run(RunContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    const Tensor& slope = ctx.input(1);
    Tensor& y = ctx.output(0);
    check_unidirectional(x.shape(), slope.shape());
    BroadcastPlan plan = plan_broadcast(node(), y.shape(), x.shape(), slope.shape());
    visit_dtypes<kNumericTypes>(x.dtype(), node(), [&](auto tag) {
      using T = decltype(tag);
      broadcast_binary(plan, x.data<T>(), slope.data<T>(), y.data<T>(),
                       [](auto v, auto s) { return v < decltype(v)(0) ? wrapping_mul(v, s) : v; });
    });
  }

 private:
  void check_unidirectional(const Shape& x, const Shape& slope) const {
    Shape b = broadcast_shapes({x, slope}, node());
    bool ok = b.size() == x.size();
    for (size_t i = 0; ok && i < b.size(); ++i) ok = b[i] == x[i] || x[i] == -1;
    EK_CHECK(ok, node().where(), ": slope of shape ", shape_str(slope), " does not broadcast to input shape ",
             shape_str(x), " (unidirectional broadcasting)");
  }
};

}  // namespace
EK_REGISTER_OP("PRelu", PRelu);
}  // namespace edgekit
