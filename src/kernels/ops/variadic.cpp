// Sum, Mean, Min, Max: one or more inputs, numpy-broadcast together (ONNX opset 8+).
// The output is built in place: y = in0 op in1, then y = y op in_k for each further input;
// Mean divides once at the end. Min/Max propagate NaN, as numpy's minimum/maximum do.
#include "kernels/elementwise.h"

namespace edgekit {
namespace {

struct SumFn {
  static constexpr DTypeSet kTypes = kNumericTypes;
  static constexpr bool kMean = false;
  template <class C> C operator()(C a, C b) const { return wrapping_add(a, b); }
};
struct MeanFn : SumFn {
  static constexpr DTypeSet kTypes = kFloatTypes;
  static constexpr bool kMean = true;
};
struct MinFn {
  static constexpr DTypeSet kTypes = kNumericTypes;
  static constexpr bool kMean = false;
  template <class C> C operator()(C a, C b) const { return (a < b || a != a) ? a : b; }
};
struct MaxFn {
  static constexpr DTypeSet kTypes = kNumericTypes;
  static constexpr bool kMean = false;
  template <class C> C operator()(C a, C b) const { return (a > b || a != a) ? a : b; }
};

template <class Fn>
class Variadic final : public OpKernel {
 public:
  explicit Variadic(const Node& node) : OpKernel(node) {}

  void infer(InferContext& ctx) const override {
    EK_CHECK(ctx.num_inputs() >= 1, node().where(), ": expected at least 1 input, got 0");
    const DType t = ctx.input_type(0).dtype;
    check_dtype(node(), "input 0", t, Fn::kTypes);
    for (size_t i = 1; i < ctx.num_inputs(); ++i)
      EK_CHECK(ctx.input_type(i).dtype == t, node().where(), ": all inputs must have the same dtype; input 0 is ",
               dtype_name(t), ", input ", i, " is ", dtype_name(ctx.input_type(i).dtype));
    infer_broadcast_output(ctx, 0, ctx.num_inputs(), t);
  }

  void run(RunContext& ctx) const override {
    Tensor& y = ctx.output(0);
    const size_t n = ctx.num_inputs();
    visit_dtypes<Fn::kTypes>(y.dtype(), node(), [&](auto tag) {
      using T = decltype(tag);
      T* out = y.data<T>();
      const Tensor& x0 = ctx.input(0);
      if (n == 1) {
        BroadcastPlan plan = plan_broadcast(node(), y.shape(), x0.shape());
        for_each_row(plan, [&](const BroadcastStrides& off, int64_t o, int64_t len, const BroadcastStrides&) {
          std::copy(x0.data<T>() + off[0], x0.data<T>() + off[0] + len, out + o);
        });
      } else {
        const Tensor& x1 = ctx.input(1);
        broadcast_binary(plan_broadcast(node(), y.shape(), x0.shape(), x1.shape()), x0.data<T>(), x1.data<T>(),
                         out, fn_);
        for (size_t k = 2; k < n; ++k) {
          const Tensor& xk = ctx.input(k);
          broadcast_binary(plan_broadcast(node(), y.shape(), y.shape(), xk.shape()), static_cast<const T*>(out),
                           xk.data<T>(), out, fn_);
        }
      }
      if constexpr (Fn::kMean) {
        const auto inv = compute_t<T>(n);
        for (int64_t i = 0, m = y.numel(); i < m; ++i) out[i] = store<T>(load(out[i]) / inv);
      }
    });
  }

 private:
  Fn fn_;
};

using Sum = Variadic<SumFn>;
using Mean = Variadic<MeanFn>;
using Min = Variadic<MinFn>;
using Max = Variadic<MaxFn>;

}  // namespace
EK_REGISTER_OP("Sum", Sum);
EK_REGISTER_OP("Mean", Mean);
EK_REGISTER_OP("Min", Min);
EK_REGISTER_OP("Max", Max);
}  // namespace edgekit
