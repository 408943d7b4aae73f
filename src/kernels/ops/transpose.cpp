// Transpose: permutes dims; the default perm reverses them.
#include "kernels/data_movement.h"
#include "kernels/util.h"

namespace edgekit {
namespace {

class Transpose final : public OpKernel {
 public:
  explicit Transpose(const Node& node) : OpKernel(node), perm_(node.attr_ints("perm", {})) {}

  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(1, 1);
    const TensorType& x = ctx.input_type(0);
    if (!x.shape_known) {
      if (!perm_.empty()) set_output_unknown_dims(ctx, 0, x.dtype, perm_.size());
      else ctx.set_output_unknown(0, x.dtype);
      return;
    }
    std::vector<int64_t> perm = perm_for(x.shape.size());
    Shape out(perm.size());
    for (size_t i = 0; i < perm.size(); ++i) out[i] = x.shape[size_t(perm[i])];
    ctx.set_output(0, x.dtype, out);
  }

  void run(RunContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    std::vector<int64_t> perm = perm_for(x.rank());
    std::vector<int64_t> src = strides_of(x.shape()), strides(perm.size());
    for (size_t i = 0; i < perm.size(); ++i) strides[i] = src[size_t(perm[i])];
    strided_copy(x, 0, strides, ctx.output(0));
  }

 private:
  std::vector<int64_t> perm_for(size_t rank) const {
    std::vector<int64_t> perm(rank);
    if (perm_.empty()) {
      for (size_t i = 0; i < rank; ++i) perm[i] = int64_t(rank - 1 - i);
      return perm;
    }
    EK_CHECK(perm_.size() == rank, node().where(), ": perm ", shape_str(perm_), " has ", perm_.size(),
             " entries for an input of rank ", rank);
    std::vector<bool> seen(rank, false);
    for (size_t i = 0; i < rank; ++i) {
      int64_t p = normalize_axis(perm_[i], int64_t(rank), node());
      EK_CHECK(!seen[size_t(p)], node().where(), ": perm ", shape_str(perm_), " is not a permutation");
      seen[size_t(p)] = true;
      perm[i] = p;
    }
    return perm;
  }

  std::vector<int64_t> perm_;
};

}  // namespace
EK_REGISTER_OP("Transpose", Transpose);
}  // namespace edgekit
