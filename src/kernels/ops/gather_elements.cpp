// GatherElements: out[i][j][k] = data[indices[i][j][k]][j][k] (for axis 0); out has the
// indices' shape, which must not exceed data's shape outside axis.
#include "kernels/data_movement.h"
#include "kernels/util.h"

namespace edgekit {
namespace {

class GatherElements final : public OpKernel {
 public:
  explicit GatherElements(const Node& node) : OpKernel(node), axis_(node.attr_int("axis", 0)) {}

  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(2, 2);
    const TensorType& x = ctx.input_type(0);
    const TensorType& idx = ctx.input_type(1);
    EK_CHECK(idx.dtype == DType::i32 || idx.dtype == DType::i64, node().where(),
             ": indices must be int32 or int64, got ", dtype_name(idx.dtype));
    if (!idx.shape_known) {
      ctx.set_output_unknown(0, x.dtype);
      return;
    }
    if (x.shape_known) {
      EK_CHECK(x.shape.size() == idx.shape.size(), node().where(), ": data ", shape_str(x.shape), " and indices ",
               shape_str(idx.shape), " must have the same rank");
      axis_index(axis_, int64_t(x.shape.size()), node());
    }
    ctx.set_output(0, x.dtype, idx.shape);
  }

  void run(RunContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    const Tensor& it = ctx.input(1);
    const size_t rank = x.rank();
    const size_t axis = axis_index(axis_, int64_t(rank), node());
    for (size_t d = 0; d < rank; ++d)
      EK_CHECK(d == axis || it.shape()[d] <= x.shape()[d], node().where(), ": indices ", shape_str(it.shape()),
               " exceed data ", shape_str(x.shape()), " at dim ", d);
    std::vector<int64_t> idx = it.to_int_vector();
    const int64_t n = it.numel();
    if (n == 0) return;
    const int64_t dim = x.shape()[axis];
    std::vector<int64_t> xs = strides_of(x.shape()), pos(rank, 0);
    visit_elem_size(dtype_size(x.dtype()), [&](auto tag) {
      using U = decltype(tag);
      const U* src = static_cast<const U*>(x.raw());
      U* dst = static_cast<U*>(ctx.output(0).raw());
      int64_t base = 0;  // data offset of pos with the axis coordinate left out
      for (int64_t e = 0; e < n; ++e) {
        int64_t i = idx[size_t(e)];
        EK_CHECK(i >= -dim && i < dim, node().where(), ": index ", i, " is out of range for axis ", axis,
                 " of size ", dim);
        if (i < 0) i += dim;
        dst[e] = src[base + i * xs[axis]];
        for (int d = int(rank) - 1; d >= 0; --d) {
          if (size_t(d) != axis) base += xs[size_t(d)];
          if (++pos[size_t(d)] < it.shape()[size_t(d)]) break;
          if (size_t(d) != axis) base -= xs[size_t(d)] * pos[size_t(d)];
          pos[size_t(d)] = 0;
        }
      }
    });
  }

 private:
  int64_t axis_;
};

}  // namespace
EK_REGISTER_OP("GatherElements", GatherElements);
}  // namespace edgekit
