// Trilu: keeps the upper (j - i >= k) or lower (j - i <= k) triangle of the last two dims,
// zeroing the rest; k is an optional scalar input.
#include <algorithm>
#include <cstring>

#include "kernels/data_movement.h"

namespace edgekit {
namespace {

class Trilu final : public OpKernel {
 public:
  explicit Trilu(const Node& node) : OpKernel(node), upper_(node.attr_int("upper", 1) != 0) {}

  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(1, 2);
    const TensorType& x = ctx.input_type(0);
    EK_CHECK(!x.shape_known || x.shape.size() >= 2, node().where(), ": input must have rank >= 2, got shape ",
             shape_str(x.shape));
    if (ctx.has_input(1))
      EK_CHECK(ctx.input_type(1).dtype == DType::i64, node().where(), ": k must be int64, got ",
               dtype_name(ctx.input_type(1).dtype));
    if (x.shape_known) ctx.set_output(0, x.dtype, x.shape);
    else ctx.set_output_unknown(0, x.dtype);
  }

  void run(RunContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    Tensor& y = ctx.output(0);
    int64_t k = 0;
    if (ctx.has_input(1)) {
      EK_CHECK(ctx.input(1).numel() == 1, node().where(), ": k must be a scalar, got shape ",
               shape_str(ctx.input(1).shape()));
      k = ctx.input(1).as_int(0);
    }
    const int64_t rows = x.dim(-2), cols = x.dim(-1);
    const int64_t mats = rows * cols == 0 ? 0 : x.numel() / (rows * cols);
    if (x.nbytes()) std::memcpy(y.raw(), x.raw(), x.nbytes());
    const size_t es = dtype_size(x.dtype());
    auto* out = static_cast<uint8_t*>(y.raw());
    for (int64_t m = 0; m < mats; ++m)
      for (int64_t i = 0; i < rows; ++i) {
        // Zeroed columns of row i: [0, i + k) for upper, [i + k + 1, cols) for lower.
        int64_t b = upper_ ? 0 : std::clamp<int64_t>(i + k + 1, 0, cols);
        int64_t e = upper_ ? std::clamp<int64_t>(i + k, 0, cols) : cols;
        if (e > b) std::memset(out + size_t((m * rows + i) * cols + b) * es, 0, size_t(e - b) * es);
      }
  }

 private:
  bool upper_;
};

}  // namespace
EK_REGISTER_OP("Trilu", Trilu);
}  // namespace edgekit
