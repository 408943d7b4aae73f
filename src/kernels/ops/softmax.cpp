// Softmax, LogSoftmax, Hardmax. Opset < 13: the input is coerced to 2D at `axis` (default 1)
// and the op runs over each row of prod(dims[axis:]) elements. Opset >= 13: the op runs along
// the single dim `axis` (default -1). Both walk [outer, n, inner] blocks (inner = 1 in 2D).
// Softmax subtracts the row max before exp, so large inputs do not overflow; sums are in double.
#include <algorithm>
#include <limits>
#include <vector>

#include "kernels/elementwise.h"
#include "kernels/fast_math.h"
#include "kernels/simd/vector_math.h"

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
      Scratch<compute_t<T>> scratch(inner);
      for (int64_t o = 0; o < outer; ++o) block(px + o * n * inner, py + o * n * inner, n, inner, scratch);
    });
  }

 private:
  // Per-position state of one block (reference-kernel scratch, sized by the innermost extent).
  template <class C>
  struct Scratch {
    explicit Scratch(int64_t inner) : max(size_t(inner)), arg(size_t(inner)), sum(size_t(inner)) {}
    std::vector<C> max;
    std::vector<int64_t> arg;
    std::vector<double> sum;
  };

  // One [n, inner] block: the op runs along n for each of the `inner` positions. The loops walk
  // rows of `inner` contiguous elements, so a softmax over NCHW channels stays cache-friendly;
  // with inner == 1 this is the plain row case.
  // Softmax of one contiguous f32 row (inner == 1, the attention case): max, exp and sum into
  // the output with vector exp (simd/vector_math.h), then scale.
  // Returns false (nothing written) for rows the general path must handle: all -inf, a NaN
  // maximum, or +inf.
  static bool softmax_row_f32(const float* x, float* y, int64_t n) {
    float m = -std::numeric_limits<float>::infinity();
    for (int64_t k = 0; k < n; ++k) m = x[k] > m ? x[k] : m;
    if (!(m > -std::numeric_limits<float>::infinity()) || m == std::numeric_limits<float>::infinity()) return false;
    const double sum = exp_shifted_f32(x, y, n, m);
    const float inv = float(1.0 / sum);
    for (int64_t k = 0; k < n; ++k) y[k] *= inv;
    return true;
  }

  template <class T, class C>
  static void block(const T* x, T* y, int64_t n, int64_t inner, Scratch<C>& s) {
    if constexpr (M == Mode::softmax && std::is_same_v<T, float>) {
      if (inner == 1 && n > 0 && softmax_row_f32(x, y, n)) return;
    }
    std::fill(s.max.begin(), s.max.end(), -std::numeric_limits<C>::infinity());
    std::fill(s.arg.begin(), s.arg.end(), 0);
    for (int64_t k = 0; k < n; ++k) {
      const T* r = x + k * inner;
      for (int64_t i = 0; i < inner; ++i) {
        const C v = load(r[i]);
        if (v > s.max[i]) {  // strict: the first maximum wins (Hardmax)
          s.max[i] = v;
          s.arg[i] = k;
        }
      }
    }
    if constexpr (M == Mode::hardmax) {
      for (int64_t k = 0; k < n; ++k)
        for (int64_t i = 0; i < inner; ++i) y[k * inner + i] = store<T>(C(s.arg[i] == k ? 1 : 0));
      return;
    }
    std::fill(s.sum.begin(), s.sum.end(), 0.0);
    for (int64_t k = 0; k < n; ++k) {
      const T* r = x + k * inner;
      for (int64_t i = 0; i < inner; ++i) s.sum[i] += std::exp(double(load(r[i]) - s.max[i]));
    }
    if constexpr (M == Mode::softmax) {
      for (int64_t i = 0; i < inner; ++i) s.sum[i] = 1.0 / s.sum[i];
      for (int64_t k = 0; k < n; ++k)
        for (int64_t i = 0; i < inner; ++i)
          y[k * inner + i] = store<T>(C(std::exp(double(load(x[k * inner + i]) - s.max[i])) * s.sum[i]));
    } else {
      // (x - max) - log(sum) rather than x - (max + log(sum)): keeps precision for large x.
      for (int64_t i = 0; i < inner; ++i) s.sum[i] = std::log(s.sum[i]);
      for (int64_t k = 0; k < n; ++k)
        for (int64_t i = 0; i < inner; ++i)
          y[k * inner + i] = store<T>((load(x[k * inner + i]) - s.max[i]) - C(s.sum[i]));
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
