// NonZero: int64 [rank, count] of the coordinates of non-zero elements, in row-major order.
// The count depends on the values: known at run time, -1 in static inference.
#include <algorithm>

#include "kernels/data_movement.h"
#include "kernels/util.h"

namespace edgekit {
namespace {

// Calls fn(i) for every non-zero element index i of x, whatever its dtype.
template <class Fn>
void for_each_nonzero(const Tensor& x, Fn&& fn) {
  visit_dtype(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* p = x.data<T>();
    for (int64_t i = 0, n = x.numel(); i < n; ++i) {
      bool nz;
      if constexpr (std::is_same_v<T, f16_t>) nz = (p[i].bits & 0x7fff) != 0;  // +0 and -0 are zero
      else nz = p[i] != T(0);
      if (nz) fn(i);
    }
  });
}

class NonZero final : public OpKernel {
 public:
  explicit NonZero(const Node& node) : OpKernel(node) {}

  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(1, 1);
    const TensorType& x = ctx.input_type(0);
    if (!x.shape_known) {
      set_output_unknown_dims(ctx, 0, DType::i64, 2);
      return;
    }
    int64_t count = -1;
    if (const Tensor* v = ctx.input_value(0)) {
      count = 0;
      for_each_nonzero(*v, [&](int64_t) { ++count; });
    }
    // A scalar is treated as rank 1 by onnxruntime and numpy's reference: one row.
    ctx.set_output(0, DType::i64, {int64_t(std::max<size_t>(x.shape.size(), 1)), count});
  }

  void run(RunContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    Tensor& y = ctx.output(0);
    const int64_t count = y.shape()[1];
    const size_t rank = x.rank();
    const std::vector<int64_t> st = strides_of(x.shape());
    int64_t* out = y.data<int64_t>();
    int64_t k = 0;
    for_each_nonzero(x, [&](int64_t i) {
      EK_CHECK(k < count, node().where(), ": input changed between infer and run");
      if (rank == 0) out[k] = 0;
      for (size_t d = 0; d < rank; ++d) {
        out[int64_t(d) * count + k] = i / st[d];
        i %= st[d];
      }
      ++k;
    });
  }
};

}  // namespace
EK_REGISTER_OP("NonZero", NonZero);
}  // namespace edgekit
