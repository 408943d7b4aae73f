// CumSum: running sum along `axis` (a scalar input); exclusive leaves out the current
// element, reverse runs from the end.
#include <algorithm>

#include "kernels/data_movement.h"
#include "kernels/util.h"

namespace edgekit {
namespace {

class CumSum final : public OpKernel {
 public:
  explicit CumSum(const Node& node)
      : OpKernel(node), exclusive_(node.attr_int("exclusive", 0) != 0), reverse_(node.attr_int("reverse", 0) != 0) {}

  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(2, 2);
    const TensorType& x = ctx.input_type(0);
    const TensorType& a = ctx.input_type(1);
    check_numeric_or_f16(x.dtype, node());
    EK_CHECK(a.dtype == DType::i32 || a.dtype == DType::i64, node().where(), ": axis must be int32 or int64, got ",
             dtype_name(a.dtype));
    if (x.shape_known && ctx.input_value(1)) axis_of(*ctx.input_value(1), int64_t(x.shape.size()));
    if (x.shape_known) ctx.set_output(0, x.dtype, x.shape);
    else ctx.set_output_unknown(0, x.dtype);
  }

  void run(RunContext& ctx) const override {
    if (ctx.input(0).dtype() != DType::f16) return cumsum(ctx.input(0), ctx.input(1), ctx.output(0));
    Tensor y32(DType::f32, ctx.output(0).shape());
    cumsum(widen_f16(ctx.input(0)), ctx.input(1), y32);
    narrow_to_f16(y32, ctx.output(0));
  }

 private:
  void cumsum(const Tensor& x, const Tensor& axis_tensor, Tensor& y) const {
    const size_t axis = axis_of(axis_tensor, int64_t(x.rank()));
    int64_t outer = 1, inner = 1;
    for (size_t d = 0; d < axis; ++d) outer *= x.shape()[d];
    for (size_t d = axis + 1; d < x.rank(); ++d) inner *= x.shape()[d];
    const int64_t len = x.rank() ? x.shape()[axis] : 1;
    visit_numeric(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* src = x.data<T>();
      T* dst = y.data<T>();
      std::vector<T> acc(static_cast<size_t>(inner));
      for (int64_t o = 0; o < outer; ++o) {
        std::fill(acc.begin(), acc.end(), T(0));
        for (int64_t s = 0; s < len; ++s) {
          const int64_t k = reverse_ ? len - 1 - s : s;
          const int64_t base = (o * len + k) * inner;
          for (int64_t i = 0; i < inner; ++i) {
            if (exclusive_) {
              dst[base + i] = acc[size_t(i)];
              acc[size_t(i)] = T(acc[size_t(i)] + src[base + i]);
            } else {
              acc[size_t(i)] = T(acc[size_t(i)] + src[base + i]);
              dst[base + i] = acc[size_t(i)];
            }
          }
        }
      }
    });
  }

  size_t axis_of(const Tensor& a, int64_t rank) const {
    EK_CHECK(a.numel() == 1, node().where(), ": axis must be a scalar, got shape ", shape_str(a.shape()));
    return size_t(normalize_axis(a.as_int(0), rank, node()));
  }
  bool exclusive_, reverse_;
};

}  // namespace
EK_REGISTER_OP("CumSum", CumSum);
}  // namespace edgekit
