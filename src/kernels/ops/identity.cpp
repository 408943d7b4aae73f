// Identity: y = x, any dtype (a byte copy into the pre-allocated output).
#include <cstring>

#include "kernels/elementwise.h"

namespace edgekit {
namespace {

class Identity final : public OpKernel {
 public:
  explicit Identity(const Node& node) : OpKernel(node) {}
  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(1, 1);
    const TensorType& x = ctx.input_type(0);
    check_dtype(node(), "input 0", x.dtype, kAllTypes);
    if (x.shape_known) ctx.set_output(0, x.dtype, x.shape);
    else ctx.set_output_unknown(0, x.dtype);
  }
  void run(RunContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    Tensor& y = ctx.output(0);
    if (x.nbytes() && y.raw() != x.raw()) std::memcpy(y.raw(), x.raw(), x.nbytes());
  }
};

}  // namespace
EK_REGISTER_OP("Identity", Identity);
}  // namespace edgekit
