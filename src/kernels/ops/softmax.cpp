// Softmax, LogSoftmax, Hardmax. Opset < 13: the input is coerced to 2D at `axis` (default 1)
// and the op runs over each row of prod(dims[axis:]) elements. Opset >= 13: the op runs along
// the single dim `axis` (default -1). Both are (outer, n, stride) walks over the same loop.
// Softmax subtracts the row max before exp, so large inputs do not overflow; sums are in double.
#include <limits>

#include "kernels/elementwise.h"

namespace edgekit {
namespace {

enum class Mode { softmax, log_softmax, hardmax };

template <Mode M>
class SoftmaxFamily final : public OpKernel {
 public:
  explicit SoftmaxFamily(const Node& node)
      : OpKernel(node),
        legacy_(node.opset != 0 && node.opset < 13),
        axis_(node.attr_int("axis", legacy_ ? 1 : -1)) {}

  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(1, 1);
    const TensorType& x = ctx.input_type(0);
    check_dtype(node(), "input 0", x.dtype, kFloatTypes);
    if (!x.shape_known) return ctx.set_output_unknown(0, x.dtype);
    normalize_axis(axis_, std::max<int64_t>(int64_t(x.shape.size()), 1), node());
    ctx.set_output(0, x.dtype, x.shape);
  }

  void run(RunContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    Tensor& y = ctx.output(0);
    Shape dims = x.shape();
    if (dims.empty()) dims = {1};  // a scalar is one row of one element
    const int64_t rank = int64_t(dims.size());
    const int64_t axis = normalize_axis(axis_, rank, node());
    int64_t outer = 1, n = 1, inner = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= dims[d];
    if (legacy_) {
      for (int64_t d = axis; d < rank; ++d) n *= dims[d];
    } else {
      n = dims[axis];
      for (int64_t d = axis + 1; d < rank; ++d) inner *= dims[d];
    }
    if (outer * n * inner == 0) return;
    visit_dtypes<kFloatTypes>(x.dtype(), node(), [&](auto tag) {
      using T = decltype(tag);
      const T* px = x.data<T>();
      T* py = y.data<T>();
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t i = 0; i < inner; ++i) {
          const int64_t base = o * n * inner + i;
          row(px + base, py + base, n, inner);
        }
    });
  }

 private:
  // One softmax row of n elements, `stride` apart.
  template <class T>
  static void row(const T* x, T* y, int64_t n, int64_t stride) {
    using C = compute_t<T>;
    C mx = -std::numeric_limits<C>::infinity();
    int64_t arg = 0;
    for (int64_t k = 0; k < n; ++k) {
      const C v = load(x[k * stride]);
      if (v > mx) {
        mx = v;
        arg = k;
      }
    }
    if constexpr (M == Mode::hardmax) {
      for (int64_t k = 0; k < n; ++k) y[k * stride] = store<T>(C(k == arg ? 1 : 0));
    } else {
      double sum = 0;
      for (int64_t k = 0; k < n; ++k) sum += std::exp(double(load(x[k * stride]) - mx));
      if constexpr (M == Mode::softmax) {
        const double inv = 1.0 / sum;
        for (int64_t k = 0; k < n; ++k)
          y[k * stride] = store<T>(C(std::exp(double(load(x[k * stride]) - mx)) * inv));
      } else {
        const C log_sum = C(std::log(sum));  // (x - max) - log_sum keeps precision for large x
        for (int64_t k = 0; k < n; ++k) y[k * stride] = store<T>((load(x[k * stride]) - mx) - log_sum);
      }
    }
  }

  bool legacy_;  // opset < 13: coerce to 2D
  int64_t axis_;
};

using Softmax = SoftmaxFamily<Mode::softmax>;
using LogSoftmax = SoftmaxFamily<Mode::log_softmax>;
using Hardmax = SoftmaxFamily<Mode::hardmax>;

}  // namespace
EK_REGISTER_OP("Softmax", Softmax);
EK_REGISTER_OP("LogSoftmax", LogSoftmax);
EK_REGISTER_OP("Hardmax", Hardmax);
}  // namespace edgekit
