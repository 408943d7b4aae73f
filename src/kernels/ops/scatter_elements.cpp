// ScatterElements (and the deprecated Scatter, opset 9-10): out = data, then for every
// element of updates, out[... indices[pos] ...] (index replacing the `axis` coordinate of pos)
// = reduction(out[...], updates[pos]). Reductions: none; add, mul (16); max, min (18).
#include <cstring>

#include "kernels/data_movement.h"
#include "kernels/util.h"

namespace edgekit {
namespace {

class ScatterElements final : public OpKernel {
 public:
  explicit ScatterElements(const Node& node)
      : OpKernel(node), axis_(node.attr_int("axis", 0)), reduction_(parse_scatter_reduction(node)) {}

  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(3, 3);
    const TensorType& x = ctx.input_type(0);
    const TensorType& idx = ctx.input_type(1);
    const TensorType& upd = ctx.input_type(2);
    EK_CHECK(idx.dtype == DType::i32 || idx.dtype == DType::i64, node().where(),
             ": indices must be int32 or int64, got ", dtype_name(idx.dtype));
    EK_CHECK(upd.dtype == x.dtype, node().where(), ": updates have dtype ", dtype_name(upd.dtype), ", data has ",
             dtype_name(x.dtype));
    EK_CHECK(reduction_ == ScatterReduction::none || (x.dtype != DType::f16 && x.dtype != DType::boolean),
             node().where(), ": reduction '", node().attr_string("reduction"), "' does not support dtype ",
             dtype_name(x.dtype));
    if (x.shape_known) axis_index(axis_, int64_t(x.shape.size()), node());
    if (x.shape_known && idx.shape_known) {
      EK_CHECK(idx.shape.size() == x.shape.size(), node().where(), ": data ", shape_str(x.shape), " and indices ",
               shape_str(idx.shape), " must have the same rank");
    }
    if (x.shape_known) ctx.set_output(0, x.dtype, x.shape);
    else ctx.set_output_unknown(0, x.dtype);
  }

  void run(RunContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    const Tensor& it = ctx.input(1);
    const Tensor& upd = ctx.input(2);
    Tensor& y = ctx.output(0);
    const size_t rank = x.rank();
    const size_t axis = axis_index(axis_, int64_t(rank), node());
    EK_CHECK(it.shape() == upd.shape(), node().where(), ": indices ", shape_str(it.shape()), " and updates ",
             shape_str(upd.shape()), " must have the same shape");
    for (size_t d = 0; d < rank; ++d)
      EK_CHECK(d == axis || it.shape()[d] <= x.shape()[d], node().where(), ": indices ", shape_str(it.shape()),
               " exceed data ", shape_str(x.shape()), " at dim ", d);
    if (x.nbytes()) std::memcpy(y.raw(), x.raw(), x.nbytes());
    const int64_t n = it.numel();
    if (n == 0) return;
    // Target offset of every update, computed once; the element loop then only applies them.
    std::vector<int64_t> idx = it.to_int_vector(), xs = strides_of(x.shape()), pos(rank, 0);
    const int64_t dim = x.shape()[axis];
    int64_t base = 0;
    for (int64_t e = 0; e < n; ++e) {
      int64_t& i = idx[size_t(e)];
      EK_CHECK(i >= -dim && i < dim, node().where(), ": index ", i, " is out of range for axis ", axis, " of size ",
               dim);
      i = base + (i < 0 ? i + dim : i) * xs[axis];
      for (int d = int(rank) - 1; d >= 0; --d) {
        if (size_t(d) != axis) base += xs[size_t(d)];
        if (++pos[size_t(d)] < it.shape()[size_t(d)]) break;
        if (size_t(d) != axis) base -= xs[size_t(d)] * pos[size_t(d)];
        pos[size_t(d)] = 0;
      }
    }
    if (reduction_ == ScatterReduction::none) {
      visit_elem_size(dtype_size(x.dtype()), [&](auto tag) {
        using U = decltype(tag);
        const U* u = static_cast<const U*>(upd.raw());
        U* out = static_cast<U*>(y.raw());
        for (int64_t e = 0; e < n; ++e) out[idx[size_t(e)]] = u[e];
      });
      return;
    }
    visit_numeric(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* u = upd.data<T>();
      T* out = y.data<T>();
      for (int64_t e = 0; e < n; ++e) scatter_apply(reduction_, out[idx[size_t(e)]], u[e]);
    });
  }

 private:
  int64_t axis_;
  ScatterReduction reduction_;
};

}  // namespace
EK_REGISTER_OP("ScatterElements", ScatterElements);
EK_REGISTER_OP("Scatter", ScatterElements);
}  // namespace edgekit
