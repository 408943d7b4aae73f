// TopK: the k largest (or smallest) elements along `axis` and their int64 indices. K is an
// input from opset 10 (attribute `k` before). Ties go to the lower index; NaN counts as the
// largest value. Output is always sorted, which also satisfies sorted=0.
#include <algorithm>
#include <cmath>

#include "kernels/data_movement.h"
#include "kernels/util.h"

namespace edgekit {
namespace {

class TopK final : public OpKernel {
 public:
  explicit TopK(const Node& node)
      : OpKernel(node), axis_(node.attr_int("axis", -1)), largest_(node.attr_int("largest", 1) != 0) {
    EK_CHECK(node.outputs.size() == 2, node.where(), ": expected 2 outputs, got ", node.outputs.size());
  }

  void infer(InferContext& ctx) const override {
    const bool attr_k = opset_of(node()) < 10;
    ctx.expect_inputs(attr_k ? 1 : 2, attr_k ? 1 : 2);
    const TensorType& x = ctx.input_type(0);
    check_numeric_or_f16(x.dtype, node());
    if (!x.shape_known) {
      ctx.set_output_unknown(0, x.dtype);
      ctx.set_output_unknown(1, DType::i64);
      return;
    }
    const size_t axis = axis_index(axis_, int64_t(x.shape.size()), node());
    Shape out = x.shape;
    out[axis] = -1;
    if (attr_k) out[axis] = check_k(node().attr_int("k"), x.shape[axis]);
    else if (const Tensor* k = ctx.input_value(1)) out[axis] = check_k(scalar_k(*k), x.shape[axis]);
    ctx.set_output(0, x.dtype, out);
    ctx.set_output(1, DType::i64, out);
  }

  void run(RunContext& ctx) const override {
    const bool half = ctx.input(0).dtype() == DType::f16;  // computed in f32; values round-trip exactly
    const Tensor x = half ? widen_f16(ctx.input(0)) : ctx.input(0);
    Tensor* values = ctx.has_output(0) ? &ctx.output(0) : nullptr;
    Tensor values32 = half && values ? Tensor(DType::f32, values->shape()) : Tensor();
    Tensor* vt = half && values ? &values32 : values;
    const size_t axis = axis_index(axis_, int64_t(x.rank()), node());
    const int64_t k = ctx.has_output(0) ? ctx.output(0).shape()[axis] : ctx.output(1).shape()[axis];
    const int64_t len = x.shape()[axis];
    int64_t outer = 1, inner = 1;
    for (size_t d = 0; d < axis; ++d) outer *= x.shape()[d];
    for (size_t d = axis + 1; d < x.rank(); ++d) inner *= x.shape()[d];
    visit_numeric(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* src = x.data<T>();
      T* vals = vt ? vt->data<T>() : nullptr;
      int64_t* idxs = ctx.has_output(1) ? ctx.output(1).data<int64_t>() : nullptr;
      std::vector<int64_t> order(static_cast<size_t>(len));
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t i = 0; i < inner; ++i) {
          const T* s = src + o * len * inner + i;
          auto before = [&](int64_t a, int64_t b) {  // a ranks before b
            T va = s[a * inner], vb = s[b * inner];
            if constexpr (std::is_floating_point_v<T>) {
              if (std::isnan(va) || std::isnan(vb)) {
                if (std::isnan(va) && std::isnan(vb)) return a < b;
                return std::isnan(va) == largest_;
              }
            }
            if (va != vb) return largest_ ? va > vb : va < vb;
            return a < b;
          };
          for (int64_t j = 0; j < len; ++j) order[size_t(j)] = j;
          std::partial_sort(order.begin(), order.begin() + k, order.end(), before);
          for (int64_t j = 0; j < k; ++j) {
            const int64_t at = (o * k + j) * inner + i;
            if (vals) vals[at] = s[order[size_t(j)] * inner];
            if (idxs) idxs[at] = order[size_t(j)];
          }
        }
    });
    if (half && values) narrow_to_f16(values32, *values);
  }

 private:
  int64_t scalar_k(const Tensor& k) const {
    EK_CHECK(k.numel() == 1, node().where(), ": K must hold one value, got shape ", shape_str(k.shape()));
    return k.as_int(0);
  }
  int64_t check_k(int64_t k, int64_t dim) const {
    EK_CHECK(k >= 0 && (dim < 0 || k <= dim), node().where(), ": K ", k, " is outside 0..", dim, " (axis size)");
    return k;
  }
  int64_t axis_;
  bool largest_;
};

}  // namespace
EK_REGISTER_OP("TopK", TopK);
}  // namespace edgekit
