// Concat: joins inputs along `axis`; all other dims must agree.
#include <algorithm>
#include <cstring>

#include "core/thread_pool.h"
#include "kernels/data_movement.h"
#include "kernels/util.h"

namespace edgekit {
namespace {

class Concat final : public OpKernel {
 public:
  explicit Concat(const Node& node) : OpKernel(node), axis_(node.attr_int("axis")) {}

  void infer(InferContext& ctx) const override {
    EK_CHECK(ctx.num_inputs() >= 1, node().where(), ": expected at least 1 input");
    const TensorType* ref = nullptr;  // first input whose rank is known
    DType dtype = ctx.input_type(0).dtype;
    for (size_t i = 0; i < ctx.num_inputs(); ++i) {
      const TensorType& t = ctx.input_type(i);
      EK_CHECK(t.dtype == dtype, node().where(), ": input ", i, " has dtype ", dtype_name(t.dtype),
               ", expected ", dtype_name(dtype), " like input 0");
      if (t.shape_known && !ref) ref = &t;
    }
    if (!ref) {
      ctx.set_output_unknown(0, dtype);
      return;
    }
    int64_t rank = int64_t(ref->shape.size());
    size_t axis = axis_index(axis_, rank, node());
    Shape out = ref->shape;
    out[axis] = 0;
    for (size_t i = 0; i < ctx.num_inputs(); ++i) {
      const TensorType& t = ctx.input_type(i);
      if (!t.shape_known) {
        out[axis] = -1;
        continue;
      }
      EK_CHECK(int64_t(t.shape.size()) == rank, node().where(), ": input ", i, " has rank ", t.shape.size(),
               ", expected ", rank, " (shapes ", shape_str(ref->shape), " and ", shape_str(t.shape), ")");
      for (size_t d = 0; d < out.size(); ++d) {
        if (d == axis) continue;
        if (out[d] < 0) out[d] = t.shape[d];
        EK_CHECK(t.shape[d] < 0 || t.shape[d] == out[d], node().where(), ": input ", i, " has shape ",
                 shape_str(t.shape), ", which differs from ", shape_str(ref->shape), " outside axis ", axis);
      }
      out[axis] = (out[axis] < 0 || t.shape[axis] < 0) ? -1 : out[axis] + t.shape[axis];
    }
    ctx.set_output(0, dtype, out);
  }

  void run(RunContext& ctx) const override {
    Tensor& y = ctx.output(0);
    size_t axis = axis_index(axis_, int64_t(y.rank()), node());
    int64_t outer = 1;
    for (size_t d = 0; d < axis; ++d) outer *= y.shape()[d];
    const size_t out_row = y.numel() == 0 ? 0 : y.nbytes() / size_t(outer);
    auto* dst = static_cast<uint8_t*>(y.raw());
    // Outer indices split over the threads when the copy is large (pieces of at least
    // kMinParallelBytes), each piece copying its rows of every input.
    constexpr size_t kMinParallelBytes = size_t(1) << 18;
    const int64_t min_rows = int64_t(kMinParallelBytes / std::max<size_t>(out_row, 1)) + 1;
    parallel_for(ctx.threads(), outer, [&](int64_t o0, int64_t o1) {
      size_t col = 0;  // byte offset of the current input inside one output row
      for (size_t i = 0; i < ctx.num_inputs(); ++i) {
        const Tensor& x = ctx.input(i);
        if (x.numel() == 0) continue;
        const size_t row = x.nbytes() / size_t(outer);
        const auto* src = static_cast<const uint8_t*>(x.raw());
        if (row % 64 == 0 && row <= 4096) {  // short rows (channels of NHWC pixels): inline 64-byte moves, no call each
          for (int64_t o = o0; o < o1; ++o) {
            uint8_t* d = dst + size_t(o) * out_row + col;
            const uint8_t* s = src + size_t(o) * row;
            for (size_t b = 0; b < row; b += 64) __builtin_memcpy(d + b, s + b, 64);
          }
        } else {
          for (int64_t o = o0; o < o1; ++o) std::memcpy(dst + size_t(o) * out_row + col, src + size_t(o) * row, row);
        }
        col += row;
      }
    }, min_rows);
  }

 private:
  int64_t axis_;
};

}  // namespace
EK_REGISTER_OP("Concat", Concat);
}  // namespace edgekit
