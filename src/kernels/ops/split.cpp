// Split: cuts the input along `axis` into outputs. Sizes come from `split` (attribute before
// opset 13, input from 13), else equal parts; opset 18's num_outputs allows a smaller last chunk.
#include <algorithm>
#include <cstring>

#include "kernels/data_movement.h"
#include "kernels/util.h"

namespace edgekit {
namespace {

class Split final : public OpKernel {
 public:
  explicit Split(const Node& node) : OpKernel(node), axis_(node.attr_int("axis", 0)) {
    if (node.has_attr("num_outputs")) {
      int64_t n = node.attr_int("num_outputs");
      EK_CHECK(n == int64_t(node.outputs.size()), node.where(), ": num_outputs is ", n, " but the node has ",
               node.outputs.size(), " outputs");
    }
    EK_CHECK(!node.outputs.empty(), node.where(), ": has no outputs");
  }

  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(1, 2);
    const TensorType& x = ctx.input_type(0);
    const size_t n = ctx.num_outputs();
    if (!x.shape_known) {
      for (size_t i = 0; i < n; ++i) ctx.set_output_unknown(i, x.dtype);
      return;
    }
    size_t axis = axis_index(axis_, int64_t(x.shape.size()), node());
    std::vector<int64_t> sizes(n, -1);  // stays unknown when the split input's values are
    if (opset_of(node()) < 13 || !ctx.has_input(1) || ctx.input_value(1))
      sizes = split_sizes(opset_of(node()) < 13 || !ctx.has_input(1) ? attr_split() : input_ints(ctx, 1),
                          x.shape[axis]);
    for (size_t i = 0; i < n; ++i) {
      Shape s = x.shape;
      s[axis] = sizes[i];
      ctx.set_output(i, x.dtype, s);
    }
  }

  void run(RunContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    size_t axis = axis_index(axis_, int64_t(x.rank()), node());
    bool from_input = opset_of(node()) >= 13 && ctx.has_input(1);
    std::vector<int64_t> sizes =
        split_sizes(from_input ? std::optional(ctx.input(1).to_int_vector()) : attr_split(), x.shape()[axis]);
    int64_t outer = 1, inner = 1;
    for (size_t d = 0; d < axis; ++d) outer *= x.shape()[d];
    for (size_t d = axis + 1; d < x.rank(); ++d) inner *= x.shape()[d];
    const size_t es = dtype_size(x.dtype());
    const size_t in_row = size_t(x.shape()[axis] * inner) * es;
    const auto* src = static_cast<const uint8_t*>(x.raw());
    size_t col = 0;  // byte offset of output i's slice inside one input row
    for (size_t i = 0; i < sizes.size(); ++i) {
      size_t row = size_t(sizes[i] * inner) * es;
      if (ctx.has_output(i) && row) {
        auto* dst = static_cast<uint8_t*>(ctx.output(i).raw());
        for (int64_t o = 0; o < outer; ++o) std::memcpy(dst + size_t(o) * row, src + size_t(o) * in_row + col, row);
      }
      col += row;
    }
  }

 private:
  std::optional<std::vector<int64_t>> attr_split() const {
    if (opset_of(node()) < 13 && node().has_attr("split")) return node().attr_ints("split");
    return std::nullopt;
  }

  // Sizes of all outputs from the split values (nullopt: equal parts); -1 when dim is unknown.
  std::vector<int64_t> split_sizes(const std::optional<std::vector<int64_t>>& split, int64_t dim) const {
    const size_t n = node().outputs.size();
    if (split) {
      EK_CHECK(split->size() == n, node().where(), ": split ", shape_str(*split), " has ", split->size(),
               " entries for ", n, " outputs");
      int64_t total = 0;
      for (int64_t s : *split) {
        EK_CHECK(s >= 0, node().where(), ": negative size in split ", shape_str(*split));
        total += s;
      }
      EK_CHECK(dim < 0 || total == dim, node().where(), ": split ", shape_str(*split), " sums to ", total,
               " but the axis has size ", dim);
      return *split;
    }
    if (dim < 0) return std::vector<int64_t>(n, -1);
    EK_CHECK(opset_of(node()) >= 18 || dim % int64_t(n) == 0, node().where(), ": axis of size ", dim,
             " cannot be split into ", n, " equal parts");
    const int64_t chunk = (dim + int64_t(n) - 1) / int64_t(n);
    // Chunks of ceil(dim / n) with a smaller last one; fewer elements than that need is invalid.
    EK_CHECK(chunk * (int64_t(n) - 1) <= dim, node().where(), ": axis of size ", dim, " cannot be split into ", n,
             " chunks of ", chunk, " with a smaller last one");
    std::vector<int64_t> sizes(n);
    int64_t left = dim;
    for (size_t i = 0; i < n; ++i) {
      sizes[i] = std::min(chunk, left);
      left -= sizes[i];
    }
    return sizes;
  }

  int64_t axis_;
};

}  // namespace
EK_REGISTER_OP("Split", Split);
}  // namespace edgekit
