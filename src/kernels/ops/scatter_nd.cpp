// ScatterND: out = data, then each row of `indices` (last dim k) addresses a slice of
// data.shape[k:] that is replaced by (or reduced with) the matching slice of updates,
// whose shape is indices.shape[:-1] + data.shape[k:]. Reductions: none; add, mul (16); max, min (18).
#include <cstring>

#include "kernels/data_movement.h"
#include "kernels/util.h"

namespace edgekit {
namespace {

class ScatterND final : public OpKernel {
 public:
  explicit ScatterND(const Node& node) : OpKernel(node), reduction_(parse_scatter_reduction(node)) {}

  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(3, 3);
    const TensorType& x = ctx.input_type(0);
    EK_CHECK(ctx.input_type(1).dtype == DType::i64, node().where(), ": indices must be int64, got ",
             dtype_name(ctx.input_type(1).dtype));
    EK_CHECK(ctx.input_type(2).dtype == x.dtype, node().where(), ": updates have dtype ",
             dtype_name(ctx.input_type(2).dtype), ", data has ", dtype_name(x.dtype));
    EK_CHECK(reduction_ == ScatterReduction::none || (x.dtype != DType::f16 && x.dtype != DType::boolean),
             node().where(), ": reduction '", node().attr_string("reduction"), "' does not support dtype ",
             dtype_name(x.dtype));
    if (x.shape_known) ctx.set_output(0, x.dtype, x.shape);
    else ctx.set_output_unknown(0, x.dtype);
  }

  void run(RunContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    const Tensor& it = ctx.input(1);
    const Tensor& upd = ctx.input(2);
    Tensor& y = ctx.output(0);
    EK_CHECK(it.rank() >= 1, node().where(), ": indices must have rank >= 1");
    const int64_t k = it.shape().back();
    EK_CHECK(k >= 1 && size_t(k) <= x.rank(), node().where(), ": indices' last dim ", k, " must be in 1..",
             x.rank(), " for data ", shape_str(x.shape()));
    Shape want(it.shape().begin(), it.shape().end() - 1);
    want.insert(want.end(), x.shape().begin() + k, x.shape().end());
    EK_CHECK(upd.shape() == want, node().where(), ": updates have shape ", shape_str(upd.shape()), ", expected ",
             shape_str(want), " for data ", shape_str(x.shape()), " and indices ", shape_str(it.shape()));
    if (x.nbytes()) std::memcpy(y.raw(), x.raw(), x.nbytes());
    int64_t slice = 1;
    for (size_t d = size_t(k); d < x.rank(); ++d) slice *= x.shape()[d];
    const std::vector<int64_t> xs = strides_of(x.shape());
    const std::vector<int64_t> idx = it.to_int_vector();
    const int64_t rows = k == 0 ? 0 : int64_t(idx.size()) / k;
    std::vector<int64_t> offsets(static_cast<size_t>(rows), 0);
    for (int64_t r = 0; r < rows; ++r) {
      int64_t off = 0;
      for (int64_t j = 0; j < k; ++j) {
        int64_t i = idx[size_t(r * k + j)], dim = x.shape()[size_t(j)];
        EK_CHECK(i >= -dim && i < dim, node().where(), ": index ", i, " is out of range for data dim ", j,
                 " of size ", dim);
        off += (i < 0 ? i + dim : i) * xs[size_t(j)];
      }
      offsets[size_t(r)] = off;
    }
    if (reduction_ == ScatterReduction::none) {
      const size_t es = dtype_size(x.dtype()), block = size_t(slice) * es;
      for (int64_t r = 0; r < rows; ++r)
        if (block)
          std::memcpy(static_cast<uint8_t*>(y.raw()) + size_t(offsets[size_t(r)]) * es,
                      static_cast<const uint8_t*>(upd.raw()) + size_t(r) * block, block);
      return;
    }
    visit_numeric(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* u = upd.data<T>();
      T* out = y.data<T>();
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t s = 0; s < slice; ++s) scatter_apply(reduction_, out[offsets[size_t(r)] + s], u[r * slice + s]);
    });
  }

 private:
  ScatterReduction reduction_;
};

}  // namespace
EK_REGISTER_OP("ScatterND", ScatterND);
}  // namespace edgekit
