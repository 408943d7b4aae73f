// GlobalAveragePool, GlobalMaxPool and GlobalLpPool: reduce every spatial dim of
// N x C x spatial... to 1, one plane at a time. One class; the reduction is a template parameter.
#include <cmath>
#include <limits>

#include "kernels/nn_common.h"
#include "kernels/op.h"

namespace edgekit {
namespace {

enum class GlobalKind { average, max, lp };

template <GlobalKind kind>
class GlobalPool final : public OpKernel {
 public:
  explicit GlobalPool(const Node& node) : OpKernel(node), p_(node.attr_int("p", 2)) {
    EK_CHECK(p_ >= 1, node.where(), ": p must be >= 1, got ", p_);
  }

  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(1, 1);
    const TensorType& x = ctx.input_type(0);
    check_float_input(node(), "X", x.dtype);
    if (!x.shape_known) return ctx.set_output_unknown(0, x.dtype);
    EK_CHECK(x.shape.size() >= 3, node().where(), ": input X has shape ", shape_str(x.shape),
             ", expected rank >= 3 (N, C, spatial...)");
    Shape out(x.shape.size(), 1);
    out[0] = x.shape[0];
    out[1] = x.shape[1];
    ctx.set_output(0, x.dtype, out);
  }

  void run(RunContext& ctx) const override {
    visit_float(ctx.input(0).dtype(), [&](auto tag) {
      using T = decltype(tag);
      const Tensor& x = ctx.input(0);
      const int64_t planes = x.dim(0) * x.dim(1), inner = x.numel() / std::max<int64_t>(planes, 1);
      const T* X = x.data<T>();
      T* Y = ctx.output(0).data<T>();
      for (int64_t pl = 0; pl < planes; ++pl) Y[pl] = reduce(X + pl * inner, inner);
    });
  }

 private:
  template <class T>
  T reduce(const T* v, int64_t n) const {
    if constexpr (kind == GlobalKind::max) {
      T m = n > 0 ? v[0] : std::numeric_limits<T>::lowest();
      for (int64_t i = 1; i < n; ++i) m = v[i] > m ? v[i] : m;
      return m;
    } else if constexpr (kind == GlobalKind::average) {
      double s = 0;
      for (int64_t i = 0; i < n; ++i) s += v[i];
      return n > 0 ? T(s / double(n)) : T(0);
    } else {
      double s = 0;
      for (int64_t i = 0; i < n; ++i) s += std::pow(std::fabs(double(v[i])), double(p_));
      return T(std::pow(s, 1.0 / double(p_)));
    }
  }

  int64_t p_;
};

using GlobalAveragePool = GlobalPool<GlobalKind::average>;
using GlobalMaxPool = GlobalPool<GlobalKind::max>;
using GlobalLpPool = GlobalPool<GlobalKind::lp>;

}  // namespace
EK_REGISTER_OP("GlobalAveragePool", GlobalAveragePool);
EK_REGISTER_OP("GlobalMaxPool", GlobalMaxPool);
EK_REGISTER_OP("GlobalLpPool", GlobalLpPool);
}  // namespace edgekit
