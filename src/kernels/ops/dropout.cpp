// Dropout at inference: output = input, optional mask output all true. edgekit does not
// train through this kernel, so training mode with a non-zero ratio is an error rather than a
// silently different random result. Opset < 12: ratio is an attribute; opset >= 12: optional
// inputs ratio (default 0.5) and training_mode (default false).
#include <cstring>

#include "kernels/elementwise.h"

namespace edgekit {
namespace {

class Dropout final : public OpKernel {
 public:
  explicit Dropout(const Node& node) : OpKernel(node), inputs_mode_(node.opset == 0 || node.opset >= 12) {}

  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(1, inputs_mode_ ? 3 : 1);
    const TensorType& x = ctx.input_type(0);
    check_dtype(node(), "input 0 (data)", x.dtype, kFloatTypes);
    if (ctx.has_input(1)) check_dtype(node(), "input 1 (ratio)", ctx.input_type(1).dtype, kFloatTypes);
    if (ctx.has_input(2)) check_dtype(node(), "input 2 (training_mode)", ctx.input_type(2).dtype, kBoolType);
    check_mode(ctx.has_input(1) ? ctx.input_value(1) : nullptr, ctx.has_input(2) ? ctx.input_value(2) : nullptr);
    for (size_t i = 0; i < ctx.num_outputs() && i < 2; ++i) {
      if (!ctx.has_output(i)) continue;
      DType t = i == 0 ? x.dtype : DType::boolean;
      if (x.shape_known) ctx.set_output(i, t, x.shape);
      else ctx.set_output_unknown(i, t);
    }
  }

  void run(RunContext& ctx) const override {
    check_mode(ctx.has_input(1) ? &ctx.input(1) : nullptr, ctx.has_input(2) ? &ctx.input(2) : nullptr);
    const Tensor& x = ctx.input(0);
    if (ctx.has_output(0) && x.nbytes()) std::memcpy(ctx.output(0).raw(), x.raw(), x.nbytes());
    if (ctx.has_output(1)) {
      Tensor& mask = ctx.output(1);
      bool* m = mask.data<bool>();
      std::fill(m, m + mask.numel(), true);
    }
  }

 private:
  // Throws when training mode is on with a non-zero ratio; unknown values (static inference)
  // pass and are checked again at run time.
  void check_mode(const Tensor* ratio_t, const Tensor* training_t) const {
    if (!training_t) return;
    EK_CHECK(training_t->numel() == 1, node().where(), ": training_mode must be a scalar, got shape ",
             shape_str(training_t->shape()));
    if (!training_t->data<bool>()[0]) return;
    double ratio = 0.5;
    if (ratio_t) {
      EK_CHECK(ratio_t->numel() == 1, node().where(), ": ratio must be a scalar, got shape ",
               shape_str(ratio_t->shape()));
      ratio = ratio_t->as_double(0);
    } else if (node().has_input(1)) {
      return;  // ratio not known yet
    }
    EK_CHECK(ratio == 0.0, node().where(), ": training_mode is true with ratio ", ratio,
             "; edgekit runs Dropout for inference only (set training_mode false or ratio 0)");
  }

  bool inputs_mode_;  // ratio and training_mode come as inputs (opset >= 12)
};

}  // namespace
EK_REGISTER_OP("Dropout", Dropout);
}  // namespace edgekit
