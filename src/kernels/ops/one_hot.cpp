// OneHot: out has the indices' shape with a new dim of size `depth` inserted at `axis`;
// out[..., d, ...] = values[1] where indices == d (negative indices count from depth), else values[0].
#include <cstring>

#include "kernels/data_movement.h"

namespace edgekit {
namespace {

class OneHot final : public OpKernel {
 public:
  explicit OneHot(const Node& node) : OpKernel(node), axis_(node.attr_int("axis", -1)) {}

  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(3, 3);
    const TensorType& idx = ctx.input_type(0);
    const TensorType& vals = ctx.input_type(2);
    EK_CHECK(!vals.shape_known || known_numel(vals.shape) < 0 || known_numel(vals.shape) == 2, node().where(),
             ": values must hold [off, on], got shape ", shape_str(vals.shape));
    if (!idx.shape_known) {
      ctx.set_output_unknown(0, vals.dtype);
      return;
    }
    const Tensor* depth = ctx.input_value(1);
    Shape out = idx.shape;
    out.insert(out.begin() + long(axis_of(idx.shape.size())), depth ? depth_of(*depth) : -1);
    ctx.set_output(0, vals.dtype, out);
  }

  void run(RunContext& ctx) const override {
    const Tensor& it = ctx.input(0);
    const Tensor& vals = ctx.input(2);
    EK_CHECK(vals.numel() == 2, node().where(), ": values must hold [off, on], got shape ", shape_str(vals.shape()));
    const int64_t depth = depth_of(ctx.input(1));
    const size_t axis = axis_of(it.rank());
    int64_t outer = 1, inner = 1;
    for (size_t d = 0; d < axis; ++d) outer *= it.shape()[d];
    for (size_t d = axis; d < it.rank(); ++d) inner *= it.shape()[d];
    std::vector<int64_t> idx(size_t(it.numel()));
    for (int64_t i = 0; i < it.numel(); ++i) {
      double v = it.as_double(i);  // indices may be float; they are truncated
      idx[size_t(i)] = int64_t(v) < 0 ? int64_t(v) + depth : int64_t(v);
    }
    const size_t es = dtype_size(vals.dtype());
    const auto* off = static_cast<const uint8_t*>(vals.raw());
    const uint8_t* on = off + es;
    auto* dst = static_cast<uint8_t*>(ctx.output(0).raw());
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t d = 0; d < depth; ++d)
        for (int64_t i = 0; i < inner; ++i, dst += es)
          std::memcpy(dst, idx[size_t(o * inner + i)] == d ? on : off, es);
  }

 private:
  size_t axis_of(size_t in_rank) const {
    const int64_t r = int64_t(in_rank) + 1;
    EK_CHECK(axis_ >= -r && axis_ < r, node().where(), ": axis ", axis_, " is out of range for output rank ", r);
    return size_t(axis_ < 0 ? axis_ + r : axis_);
  }
  int64_t depth_of(const Tensor& t) const {
    EK_CHECK(t.numel() == 1, node().where(), ": depth must be a scalar, got shape ", shape_str(t.shape()));
    double d = t.as_double(0);
    EK_CHECK(d >= 1 && d < 1e9, node().where(), ": depth must be positive, got ", d);
    return int64_t(d);
  }
  int64_t axis_;
};

}  // namespace
EK_REGISTER_OP("OneHot", OneHot);
}  // namespace edgekit
