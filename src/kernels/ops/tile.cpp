// Tile: repeats the input repeats[d] times along each dim. Viewing the output as
// [r0, d0, r1, d1, ...] makes it a strided copy with stride 0 on every repeat dim.
#include "kernels/data_movement.h"
#include "kernels/util.h"

namespace edgekit {
namespace {

class Tile final : public OpKernel {
 public:
  explicit Tile(const Node& node) : OpKernel(node) {}

  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(2, 2);
    const TensorType& x = ctx.input_type(0);
    EK_CHECK(ctx.input_type(1).dtype == DType::i64, node().where(), ": repeats must be int64, got ",
             dtype_name(ctx.input_type(1).dtype));
    if (!x.shape_known) {
      ctx.set_output_unknown(0, x.dtype);
      return;
    }
    auto reps = input_ints(ctx, 1);
    if (!reps) {
      set_output_unknown_dims(ctx, 0, x.dtype, x.shape.size());
      return;
    }
    check(x.shape, *reps);
    Shape out(x.shape.size());
    for (size_t d = 0; d < out.size(); ++d) out[d] = x.shape[d] < 0 ? -1 : checked_mul(x.shape[d], (*reps)[d], node());
    ctx.set_output(0, x.dtype, out);
  }

  void run(RunContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    std::vector<int64_t> reps = ctx.input(1).to_int_vector();
    check(x.shape(), reps);
    std::vector<int64_t> st = strides_of(x.shape());
    Shape view;
    std::vector<int64_t> strides;
    for (size_t d = 0; d < x.rank(); ++d) {
      view.insert(view.end(), {reps[d], x.shape()[d]});
      strides.insert(strides.end(), {0, st[d]});
    }
    Tensor y = ctx.output(0).reshaped(view);  // shares the output's buffer
    strided_copy(x, 0, strides, y);
  }

 private:
  void check(const Shape& x, const std::vector<int64_t>& reps) const {
    EK_CHECK(reps.size() == x.size(), node().where(), ": repeats ", shape_str(reps), " has ", reps.size(),
             " entries for an input of rank ", x.size());
    for (int64_t r : reps) EK_CHECK(r >= 0, node().where(), ": negative repeat in ", shape_str(reps));
  }
};

}  // namespace
EK_REGISTER_OP("Tile", Tile);
}  // namespace edgekit
