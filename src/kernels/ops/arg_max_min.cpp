// ArgMax and ArgMin: int64 index of the first (or, with select_last_index, the last) extreme
// element along `axis`; keepdims keeps the reduced dim as 1.
#include "kernels/data_movement.h"
#include "kernels/util.h"

namespace edgekit {
namespace {

class ArgExtreme final : public OpKernel {
 public:
  explicit ArgExtreme(const Node& node)
      : OpKernel(node),
        max_(node.op_type == "ArgMax"),
        axis_(node.attr_int("axis", 0)),
        keepdims_(node.attr_int("keepdims", 1) != 0),
        last_(node.attr_int("select_last_index", 0) != 0) {}

  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(1, 1);
    const TensorType& x = ctx.input_type(0);
    check_numeric_or_f16(x.dtype, node());
    if (!x.shape_known) {
      ctx.set_output_unknown(0, DType::i64);
      return;
    }
    const size_t axis = axis_index(axis_, int64_t(x.shape.size()), node());
    EK_CHECK(x.shape[axis] != 0, node().where(), ": cannot take ", node().op_type, " over the empty axis ", axis,
             " of shape ", shape_str(x.shape));
    Shape out = x.shape;
    if (keepdims_) out[axis] = 1;
    else out.erase(out.begin() + long(axis));
    ctx.set_output(0, DType::i64, out);
  }

  void run(RunContext& ctx) const override {
    const Tensor x = ctx.input(0).dtype() == DType::f16 ? widen_f16(ctx.input(0)) : ctx.input(0);
    const size_t axis = axis_index(axis_, int64_t(x.rank()), node());
    const int64_t len = x.shape()[axis];
    int64_t outer = 1, inner = 1;
    for (size_t d = 0; d < axis; ++d) outer *= x.shape()[d];
    for (size_t d = axis + 1; d < x.rank(); ++d) inner *= x.shape()[d];
    int64_t* out = ctx.output(0).data<int64_t>();
    visit_numeric(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* src = x.data<T>();
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t i = 0; i < inner; ++i) {
          const T* s = src + o * len * inner + i;
          int64_t best = 0;
          for (int64_t j = 1; j < len; ++j) {
            const T v = s[j * inner], b = s[best * inner];
            const bool better = max_ ? (last_ ? v >= b : v > b) : (last_ ? v <= b : v < b);
            if (better) best = j;
          }
          out[o * inner + i] = best;
        }
    });
  }

 private:
  bool max_;
  int64_t axis_;
  bool keepdims_, last_;
};

}  // namespace
EK_REGISTER_OP("ArgMax", ArgExtreme);
EK_REGISTER_OP("ArgMin", ArgExtreme);
}  // namespace edgekit
