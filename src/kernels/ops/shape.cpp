// Shape (opset 15+: start/end slice the dims, clamped to [0, rank]) and Size. Both read only
// their input's shape, never its data.
#include <algorithm>

#include "kernels/data_movement.h"

namespace edgekit {
namespace {

class ShapeOp final : public OpKernel {
 public:
  explicit ShapeOp(const Node& node)
      : OpKernel(node), start_(node.attr_int("start", 0)), end_(node.attr_int("end", INT64_MAX)) {}

  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(1, 1);
    const TensorType& x = ctx.input_type(0);
    if (!x.shape_known) {
      set_output_unknown_dims(ctx, 0, DType::i64, 1);
      return;
    }
    auto [b, e] = range(int64_t(x.shape.size()));
    ctx.set_output(0, DType::i64, {e - b});
  }

  void run(RunContext& ctx) const override {
    const Shape& s = ctx.input(0).shape();
    auto [b, e] = range(int64_t(s.size()));
    int64_t* y = ctx.output(0).data<int64_t>();
    for (int64_t i = b; i < e; ++i) y[i - b] = s[size_t(i)];
  }

 private:
  std::pair<int64_t, int64_t> range(int64_t rank) const {
    auto clamp = [&](int64_t v) { return std::clamp(v < 0 ? v + rank : v, int64_t(0), rank); };
    int64_t b = clamp(start_), e = clamp(end_);
    return {b, std::max(b, e)};
  }
  int64_t start_, end_;
};

class Size final : public OpKernel {
 public:
  explicit Size(const Node& node) : OpKernel(node) {}
  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(1, 1);
    ctx.input_type(0);
    ctx.set_output(0, DType::i64, {});
  }
  void run(RunContext& ctx) const override { ctx.output(0).data<int64_t>()[0] = shape_numel(ctx.input(0).shape()); }
};

}  // namespace
EK_REGISTER_OP("Shape", ShapeOp);
EK_REGISTER_OP("Size", Size);
}  // namespace edgekit
