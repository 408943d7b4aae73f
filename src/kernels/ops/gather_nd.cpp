// GatherND: each row of `indices` (last dim k) addresses a slice of data[b:] per batch;
// out shape = indices.shape[:-1] + data.shape[batch_dims + k:].
#include <cstring>

#include "kernels/data_movement.h"
#include "kernels/util.h"

namespace edgekit {
namespace {

class GatherND final : public OpKernel {
 public:
  explicit GatherND(const Node& node) : OpKernel(node), batch_dims_(node.attr_int("batch_dims", 0)) {
    EK_CHECK(batch_dims_ >= 0, node.where(), ": batch_dims must be >= 0, got ", batch_dims_);
  }

  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(2, 2);
    const TensorType& x = ctx.input_type(0);
    const TensorType& idx = ctx.input_type(1);
    EK_CHECK(idx.dtype == DType::i64 || idx.dtype == DType::i32, node().where(), ": indices must be int32 or int64, got ",
             dtype_name(idx.dtype));
    if (!x.shape_known || !idx.shape_known || idx.shape.empty() || idx.shape.back() < 0) {
      ctx.set_output_unknown(0, x.dtype);
      return;
    }
    check(x.shape, idx.shape);
    const size_t k = size_t(idx.shape.back()), b = size_t(batch_dims_);
    Shape out(idx.shape.begin(), idx.shape.end() - 1);
    out.insert(out.end(), x.shape.begin() + long(b + k), x.shape.end());
    ctx.set_output(0, x.dtype, out);
  }

  void run(RunContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    const Tensor& it = ctx.input(1);
    check(x.shape(), it.shape());
    const size_t b = size_t(batch_dims_), k = size_t(it.shape().back());
    int64_t batches = 1, tuples = 1, slice = 1;
    for (size_t d = 0; d < b; ++d) batches *= x.shape()[d];
    for (size_t d = b; d + 1 < it.rank(); ++d) tuples *= it.shape()[d];
    for (size_t d = b + k; d < x.rank(); ++d) slice *= x.shape()[d];
    const Shape inner(x.shape().begin() + long(b), x.shape().end());
    const std::vector<int64_t> st = strides_of(inner);
    const int64_t batch_size = shape_numel(inner);
    const size_t es = dtype_size(x.dtype()), block = size_t(slice) * es;
    std::vector<int64_t> idx = it.to_int_vector();
    const auto* src = static_cast<const uint8_t*>(x.raw());
    auto* dst = static_cast<uint8_t*>(ctx.output(0).raw());
    const int64_t* row = idx.data();
    for (int64_t bt = 0; bt < batches; ++bt) {
      for (int64_t t = 0; t < tuples; ++t, row += k) {
        int64_t off = bt * batch_size;
        for (size_t j = 0; j < k; ++j) {
          int64_t i = row[j], dim = inner[j];
          EK_CHECK(i >= -dim && i < dim, node().where(), ": index ", i, " is out of range for data dim ", b + j,
                   " of size ", dim);
          off += (i < 0 ? i + dim : i) * st[j];
        }
        if (block) std::memcpy(dst, src + size_t(off) * es, block);
        dst += block;
      }
    }
  }

 private:
  void check(const Shape& data, const Shape& indices) const {
    const size_t b = size_t(batch_dims_);
    EK_CHECK(!indices.empty() && b < indices.size() && b < data.size(), node().where(), ": batch_dims ", b,
             " needs data and indices of rank > ", b, ", got ", shape_str(data), " and ", shape_str(indices));
    const int64_t k = indices.back();
    EK_CHECK(k >= 1 && size_t(k) <= data.size() - b, node().where(), ": indices' last dim ", k,
             " must be in 1..", data.size() - b, " for data ", shape_str(data));
    for (size_t d = 0; d < b; ++d)
      EK_CHECK(data[d] < 0 || indices[d] < 0 || data[d] == indices[d], node().where(), ": batch dim ", d,
               " differs between data ", shape_str(data), " and indices ", shape_str(indices));
  }

  int64_t batch_dims_;
};

}  // namespace
EK_REGISTER_OP("GatherND", GatherND);
}  // namespace edgekit
