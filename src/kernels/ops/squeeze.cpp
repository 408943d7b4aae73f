// Squeeze and Unsqueeze: remove / insert size-1 dims. Axes are an attribute before opset 13
// and an optional (Squeeze) or required (Unsqueeze) int64 input from 13 on.
#include <algorithm>
#include <cstring>

#include "kernels/data_movement.h"
#include "kernels/util.h"

namespace edgekit {
namespace {

// Returns the axes when known; `given` tells whether axes were specified at all.
std::optional<std::vector<int64_t>> read_axes(const InferContext& ctx, const Node& node, bool& given) {
  if (opset_of(node) < 13) {
    given = node.has_attr("axes");
    return node.attr_ints("axes", {});
  }
  given = ctx.has_input(1);
  if (!given) return std::vector<int64_t>{};
  return input_ints(ctx, 1);
}

// Normalises axes against `rank` and rejects duplicates.
std::vector<int64_t> normalized_axes(const std::vector<int64_t>& axes, int64_t rank, const Node& node) {
  std::vector<int64_t> out;
  for (int64_t a : axes) {
    int64_t n = int64_t(axis_index(a, rank, node));
    EK_CHECK(std::find(out.begin(), out.end(), n) == out.end(), node.where(), ": axis ", a,
             " is repeated in axes ", shape_str(axes));
    out.push_back(n);
  }
  return out;
}

void copy_bytes(RunContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (x.nbytes()) std::memcpy(ctx.output(0).raw(), x.raw(), x.nbytes());
}

class Squeeze final : public OpKernel {
 public:
  explicit Squeeze(const Node& node) : OpKernel(node) {}

  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(1, 2);
    const TensorType& x = ctx.input_type(0);
    bool given = false;
    auto axes = read_axes(ctx, node(), given);
    if (!x.shape_known || !axes) {
      ctx.set_output_unknown(0, x.dtype);
      return;
    }
    int64_t rank = int64_t(x.shape.size());
    std::vector<bool> drop(size_t(rank), false);
    if (!axes->empty()) {  // empty axes squeeze every 1, as onnxruntime does
      for (int64_t a : normalized_axes(*axes, rank, node())) {
        int64_t d = x.shape[size_t(a)];
        EK_CHECK(d == 1 || d == -1, node().where(), ": cannot squeeze axis ", a, " of size ", d, " in shape ",
                 shape_str(x.shape));
        drop[size_t(a)] = true;
      }
    } else {
      for (size_t i = 0; i < drop.size(); ++i) {
        if (x.shape[i] < 0) {  // might or might not be 1: the rank is unknown
          ctx.set_output_unknown(0, x.dtype);
          return;
        }
        drop[i] = x.shape[i] == 1;
      }
    }
    Shape out;
    for (size_t i = 0; i < drop.size(); ++i)
      if (!drop[i]) out.push_back(x.shape[i]);
    ctx.set_output(0, x.dtype, out);
  }

  void run(RunContext& ctx) const override { copy_bytes(ctx); }
};

class Unsqueeze final : public OpKernel {
 public:
  explicit Unsqueeze(const Node& node) : OpKernel(node) {}

  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(opset_of(node()) < 13 ? 1 : 2, opset_of(node()) < 13 ? 1 : 2);
    const TensorType& x = ctx.input_type(0);
    bool given = false;
    auto axes = read_axes(ctx, node(), given);
    EK_CHECK(given, node().where(), ": axes are required");
    if (!x.shape_known || !axes) {
      if (x.shape_known && ctx.input_type(1).shape_known && ctx.input_type(1).shape.size() == 1 &&
          ctx.input_type(1).shape[0] >= 0)
        set_output_unknown_dims(ctx, 0, x.dtype, x.shape.size() + size_t(ctx.input_type(1).shape[0]));
      else
        ctx.set_output_unknown(0, x.dtype);
      return;
    }
    int64_t out_rank = int64_t(x.shape.size() + axes->size());
    std::vector<bool> inserted(size_t(out_rank), false);
    for (int64_t a : normalized_axes(*axes, out_rank, node())) inserted[size_t(a)] = true;
    Shape out;
    size_t k = 0;
    for (size_t i = 0; i < inserted.size(); ++i) out.push_back(inserted[i] ? 1 : x.shape[k++]);
    ctx.set_output(0, x.dtype, out);
  }

  void run(RunContext& ctx) const override { copy_bytes(ctx); }
};

}  // namespace
EK_REGISTER_OP("Squeeze", Squeeze);
EK_REGISTER_OP("Unsqueeze", Unsqueeze);
}  // namespace edgekit
