// Slice: starts/ends/axes/steps (inputs from opset 10, attributes before, no steps then).
// Negative starts/ends count from the end; then they are clamped as the spec says:
// step > 0: start, end in [0, dim]; step < 0: start in [0, dim-1], end in [-1, dim-1].
#include <algorithm>

#include "kernels/data_movement.h"
#include "kernels/util.h"

namespace edgekit {
namespace {

struct AxisSlice {
  int64_t start = 0, step = 1, len = -1;  // len -1: unknown
};

class Slice final : public OpKernel {
 public:
  explicit Slice(const Node& node) : OpKernel(node) {}

  void infer(InferContext& ctx) const override {
    const bool attrs = opset_of(node()) < 10;
    ctx.expect_inputs(attrs ? 1 : 3, attrs ? 1 : 5);
    const TensorType& x = ctx.input_type(0);
    if (!x.shape_known) {
      ctx.set_output_unknown(0, x.dtype);
      return;
    }
    Shape out = x.shape;
    std::vector<std::optional<std::vector<int64_t>>> params(4);
    bool known = true;
    for (size_t i = 0; i < 4; ++i) {
      if (attrs) {
        static const char* names[] = {"starts", "ends", "axes", "steps"};
        if (i < 3 && node().has_attr(names[i])) params[i] = node().attr_ints(names[i]);
      } else if (ctx.has_input(i + 1)) {
        params[i] = input_ints(ctx, i + 1);
        known &= params[i].has_value();
      }
    }
    if (!known) {  // which axes change, or by how much, is unknown
      std::optional<std::vector<int64_t>> axes = params[2];
      if (!axes && !ctx.has_input(3)) {  // default axes 0..k-1, k = the number of starts
        int64_t k = params[0] ? int64_t(params[0]->size()) : -1;
        const TensorType& st = ctx.input_type(1);
        if (k < 0 && st.shape_known && st.shape.size() == 1) k = st.shape[0];
        if (k >= 0) {
          axes = std::vector<int64_t>();
          for (int64_t a = 0; a < k && a < int64_t(out.size()); ++a) axes->push_back(a);
        }
      }
      if (axes) {
        for (int64_t a : *axes) out[axis_index(a, int64_t(out.size()), node())] = -1;
      } else {
        std::fill(out.begin(), out.end(), -1);
      }
      ctx.set_output(0, x.dtype, out);
      return;
    }
    std::vector<AxisSlice> sl = plan(x.shape, params);
    for (size_t d = 0; d < out.size(); ++d) out[d] = sl[d].len;
    ctx.set_output(0, x.dtype, out);
  }

  void run(RunContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    std::vector<std::optional<std::vector<int64_t>>> params(4);
    if (opset_of(node()) < 10) {
      params[0] = node().attr_ints("starts");
      params[1] = node().attr_ints("ends");
      if (node().has_attr("axes")) params[2] = node().attr_ints("axes");
    } else {
      for (size_t i = 0; i < 4; ++i)
        if (ctx.has_input(i + 1)) params[i] = ctx.input(i + 1).to_int_vector();
    }
    std::vector<AxisSlice> sl = plan(x.shape(), params);
    std::vector<int64_t> in_strides = strides_of(x.shape()), strides(sl.size());
    int64_t offset = 0;
    for (size_t d = 0; d < sl.size(); ++d) {
      if (sl[d].len > 0) offset += sl[d].start * in_strides[d];
      strides[d] = sl[d].step * in_strides[d];
    }
    strided_copy(x, offset, strides, ctx.output(0));
  }

 private:
  // Per-dim start, step and length from (starts, ends, axes, steps).
  std::vector<AxisSlice> plan(const Shape& shape, const std::vector<std::optional<std::vector<int64_t>>>& p) const {
    const Node& n = node();
    EK_CHECK(p[0] && p[1], n.where(), ": starts and ends are required");
    const auto& starts = *p[0];
    const auto& ends = *p[1];
    const size_t k = starts.size();
    EK_CHECK(ends.size() == k, n.where(), ": starts ", shape_str(starts), " and ends ", shape_str(ends),
             " differ in length");
    std::vector<int64_t> axes(k), steps(k, 1);
    for (size_t i = 0; i < k; ++i) axes[i] = int64_t(i);
    if (p[2]) {
      EK_CHECK(p[2]->size() == k, n.where(), ": axes ", shape_str(*p[2]), " should have ", k, " entries");
      axes = *p[2];
    }
    if (p[3]) {
      EK_CHECK(p[3]->size() == k, n.where(), ": steps ", shape_str(*p[3]), " should have ", k, " entries");
      steps = *p[3];
    }
    const int64_t rank = int64_t(shape.size());
    std::vector<AxisSlice> sl(shape.size());
    for (size_t d = 0; d < shape.size(); ++d) sl[d].len = shape[d];
    std::vector<bool> seen(shape.size(), false);
    for (size_t i = 0; i < k; ++i) {
      size_t a = axis_index(axes[i], rank, n);
      EK_CHECK(!seen[a], n.where(), ": axis ", axes[i], " is repeated in axes ", shape_str(axes));
      seen[a] = true;
      const int64_t step = steps[i], dim = shape[a];
      EK_CHECK(step != 0, n.where(), ": step for axis ", axes[i], " is 0");
      sl[a].step = step;
      if (dim < 0) {
        sl[a].len = -1;
        continue;
      }
      int64_t s = starts[i], e = ends[i];
      if (s < 0) s += dim;
      if (e < 0) e += dim;
      if (step > 0) {
        s = std::clamp<int64_t>(s, 0, dim);
        e = std::clamp<int64_t>(e, 0, dim);
      } else {
        s = std::clamp<int64_t>(s, 0, std::max<int64_t>(dim - 1, 0));
        e = std::clamp<int64_t>(e, -1, dim - 1);
      }
      // ceil((e - s) / step) without overflow for huge steps
      const int64_t span = e - s;
      const int64_t neg_step = step == INT64_MIN ? INT64_MAX : -step;
      int64_t len = step > 0 ? (span <= 0 ? 0 : (span - 1) / step + 1) : (span >= 0 ? 0 : (-span - 1) / neg_step + 1);
      if (dim == 0) len = 0;
      sl[a].start = s;
      sl[a].len = len;
    }
    return sl;
  }
};

}  // namespace
EK_REGISTER_OP("Slice", Slice);
}  // namespace edgekit
