// Sum, Mean, Min, Max: one or more inputs, numpy-broadcast together (ONNX opset 8+).
// The output is built in place: y = in0 op in1, then y = y op in_k for each further input
// (f16 accumulates in a float scratch); Mean divides once at the end. Min/Max propagate NaN, as numpy's minimum/maximum do.
#include <vector>

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
    visit_dtypes<Fn::kTypes>(y.dtype(), node(), [&](auto tag) {
      using T = decltype(tag);
      using C = compute_t<T>;
      T* out = y.data<T>();
      if constexpr (std::is_same_v<T, C>) {
        accumulate<T>(ctx, out);
        finish(out, out, y.numel(), ctx.num_inputs());
      } else {  // f16: accumulate in a float scratch so each step does not round to f16
        std::vector<C> acc(size_t(y.numel()));
        accumulate<T>(ctx, acc.data());
        finish(acc.data(), out, y.numel(), ctx.num_inputs());
      }
    });
  }

 private:
  // acc = in0 op in1 op ... broadcast to the output's shape.
  template <class T, class A>
  void accumulate(const RunContext& ctx, A* acc) const {
    const Shape& out = ctx.output(0).shape();
    const Tensor& x0 = ctx.input(0);
    if (ctx.num_inputs() == 1) {
      BroadcastPlan plan = plan_broadcast(node(), out, x0.shape());
      for_each_row(plan, [&](const BroadcastStrides& off, int64_t o, int64_t len, const BroadcastStrides&) {
        for (int64_t i = 0; i < len; ++i) acc[o + i] = store<A>(load(x0.data<T>()[off[0] + i]));
      });
      return;
    }
    const Tensor& x1 = ctx.input(1);
    broadcast_binary(plan_broadcast(node(), out, x0.shape(), x1.shape()), x0.data<T>(), x1.data<T>(), acc, fn_);
    for (size_t k = 2; k < ctx.num_inputs(); ++k) {
      const Tensor& xk = ctx.input(k);
      broadcast_binary(plan_broadcast(node(), out, out, xk.shape()), static_cast<const A*>(acc), xk.data<T>(), acc,
                       fn_);
    }
  }

  // out = acc (divided by the input count for Mean).
  template <class A, class T>
  static void finish(const A* acc, T* out, int64_t n, size_t num_inputs) {
    if constexpr (Fn::kMean) {
      const auto count = compute_t<T>(num_inputs);
      for (int64_t i = 0; i < n; ++i) out[i] = store<T>(load(acc[i]) / count);
    } else if constexpr (!std::is_same_v<A, T>) {
      for (int64_t i = 0; i < n; ++i) out[i] = store<T>(acc[i]);
    }
  }

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
