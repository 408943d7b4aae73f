// Flatten: [d0..dn) -> [prod(d0..axis), prod(axis..dn)], axis in [-rank, rank].
#include <cstring>

#include "kernels/data_movement.h"

namespace edgekit {
namespace {

int64_t product(const Shape& s, size_t from, size_t to) {
  int64_t p = 1;
  for (size_t i = from; i < to; ++i) {
    if (s[i] < 0) return -1;
    p *= s[i];
  }
  return p;
}

class Flatten final : public OpKernel {
 public:
  explicit Flatten(const Node& node) : OpKernel(node), axis_(node.attr_int("axis", 1)) {}

  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(1, 1);
    const TensorType& x = ctx.input_type(0);
    if (!x.shape_known) {
      set_output_unknown_dims(ctx, 0, x.dtype, 2);
      return;
    }
    int64_t rank = int64_t(x.shape.size());
    EK_CHECK(axis_ >= -rank && axis_ <= rank, node().where(), ": axis ", axis_, " is out of range for rank ", rank,
             " (expected ", -rank, "..", rank, ")");
    size_t axis = size_t(axis_ < 0 ? axis_ + rank : axis_);
    int64_t a = product(x.shape, 0, axis), b = product(x.shape, axis, x.shape.size());
    ctx.set_output(0, x.dtype, {a, b});
  }

  void run(RunContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    if (x.nbytes()) std::memcpy(ctx.output(0).raw(), x.raw(), x.nbytes());
  }

 private:
  int64_t axis_;
};

}  // namespace
EK_REGISTER_OP("Flatten", Flatten);
}  // namespace edgekit
