// Reshape (opset 5+: shape as input; 14+: allowzero). A 0 in `shape` copies the input dim
// (unless allowzero, when it means a zero-sized dim) and one -1 is inferred from the rest.
#include <cstring>

#include "kernels/data_movement.h"

namespace edgekit {
namespace {

class Reshape final : public OpKernel {
 public:
  explicit Reshape(const Node& node) : OpKernel(node), allowzero_(node.attr_int("allowzero", 0) != 0) {
    EK_CHECK(opset_of(node) >= 5 || node.has_attr("shape") || node.has_input(1), node.where(),
             ": needs a shape");
  }

  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(1, 2);
    const TensorType& x = ctx.input_type(0);
    std::optional<std::vector<int64_t>> target;
    if (ctx.has_input(1)) {
      const TensorType& s = ctx.input_type(1);
      EK_CHECK(s.dtype == DType::i64, node().where(), ": shape must be int64, got ", dtype_name(s.dtype));
      target = input_ints(ctx, 1);
      if (!target) {  // the rank is still known from the shape tensor's length
        if (s.shape_known && s.shape.size() == 1 && s.shape[0] >= 0)
          set_output_unknown_dims(ctx, 0, x.dtype, size_t(s.shape[0]));
        else
          ctx.set_output_unknown(0, x.dtype);
        return;
      }
    } else {
      target = node().attr_ints("shape");  // opset < 5
    }
    ctx.set_output(0, x.dtype, resolve(x, *target));
  }

  void run(RunContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    Tensor& y = ctx.output(0);
    EK_CHECK(y.nbytes() == x.nbytes(), node().where(), ": output size differs from input size");
    if (x.nbytes()) std::memcpy(y.raw(), x.raw(), x.nbytes());
  }

 private:
  Shape resolve(const TensorType& x, const std::vector<int64_t>& target) const {
    const Node& n = node();
    Shape out(target.size());
    int infer_at = -1;
    bool has_zero = false;
    for (size_t i = 0; i < target.size(); ++i) {
      int64_t d = target[i];
      if (d == -1) {
        EK_CHECK(infer_at < 0, n.where(), ": shape ", shape_str(target), " has more than one -1");
        infer_at = int(i);
        out[i] = -1;
      } else if (d == 0 && !allowzero_) {
        EK_CHECK(x.shape_known && i < x.shape.size(), n.where(), ": shape ", shape_str(target), " copies dim ",
                 i, " (0) but the input ", x.shape_known ? shape_str(x.shape) : "?", " has no such dim");
        out[i] = x.shape[i];
      } else {
        EK_CHECK(d >= 0, n.where(), ": invalid dim ", d, " in shape ", shape_str(target));
        has_zero |= d == 0;
        out[i] = d;
      }
    }
    EK_CHECK(!(allowzero_ && has_zero && infer_at >= 0), n.where(), ": shape ", shape_str(target),
             " has both 0 and -1 with allowzero=1");
    if (!x.shape_known) return out;
    int64_t in_numel = known_numel(x.shape);
    if (in_numel < 0) return out;  // unknown input dims leave a -1 unknown
    int64_t rest = 1;
    bool rest_known = true;
    for (size_t i = 0; i < out.size(); ++i)
      if (int(i) != infer_at) {
        if (out[i] < 0) rest_known = false;
        else rest = checked_mul(rest, out[i], node());
      }
    if (!rest_known) return out;
    if (infer_at >= 0) {
      EK_CHECK(rest != 0 && in_numel % rest == 0, n.where(), ": cannot reshape ", shape_str(x.shape), " to ",
               shape_str(target), " (", in_numel, " elements do not divide into ", rest, ")");
      out[size_t(infer_at)] = in_numel / rest;
    } else {
      EK_CHECK(rest == in_numel, n.where(), ": cannot reshape ", shape_str(x.shape), " (", in_numel,
               " elements) to ", shape_str(target), " (", rest, " elements)");
    }
    return out;
  }

  bool allowzero_;
};

}  // namespace
EK_REGISTER_OP("Reshape", Reshape);
}  // namespace edgekit
