// DepthToSpace and SpaceToDepth (NCHW): each is a reshape to 6-D, a transpose and a reshape,
// done here as one strided copy over the output viewed as 6-D.
//   DepthToSpace DCR: [N, b, b, C', H, W] -> [N, C', H, b, W, b]
//   DepthToSpace CRD: [N, C', b, b, H, W] -> [N, C', H, b, W, b]
//   SpaceToDepth DCR: [N, C, H', b, W', b] -> [N, b, b, C, H', W']
//   SpaceToDepth CRD: [N, C, H', b, W', b] -> [N, C, b, b, H', W']  (mode appears in opset 28)
#include "kernels/data_movement.h"

namespace edgekit {
namespace {

class SpaceDepth final : public OpKernel {
 public:
  explicit SpaceDepth(const Node& node)
      : OpKernel(node), to_space_(node.op_type == "DepthToSpace"), b_(node.attr_int("blocksize")) {
    EK_CHECK(b_ >= 1 && b_ <= (1 << 20), node.where(), ": blocksize must be in 1..2^20, got ", b_);
    std::string mode = node.attr_string("mode", "DCR");
    EK_CHECK(mode == "DCR" || mode == "CRD", node.where(), ": mode must be DCR or CRD, got '", mode, "'");
    crd_ = mode == "CRD";
  }

  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(1, 1);
    const TensorType& x = ctx.input_type(0);
    if (!x.shape_known) {
      set_output_unknown_dims(ctx, 0, x.dtype, 4);
      return;
    }
    EK_CHECK(x.shape.size() == 4, node().where(), ": input must be 4-D (NCHW), got shape ", shape_str(x.shape));
    const int64_t n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3], bb = b_ * b_;
    auto mul = [&](int64_t d, int64_t f) { return d < 0 ? -1 : checked_mul(d, f, node()); };
    if (to_space_) {
      EK_CHECK(c < 0 || c % bb == 0, node().where(), ": channels ", c, " are not divisible by blocksize^2 ", bb);
      ctx.set_output(0, x.dtype, {n, c < 0 ? -1 : c / bb, mul(h, b_), mul(w, b_)});
    } else {
      EK_CHECK((h < 0 || h % b_ == 0) && (w < 0 || w % b_ == 0), node().where(), ": spatial dims of ",
               shape_str(x.shape), " are not divisible by blocksize ", b_);
      ctx.set_output(0, x.dtype, {n, mul(c, bb), h < 0 ? -1 : h / b_, w < 0 ? -1 : w / b_});
    }
  }

  void run(RunContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    const int64_t b = b_, n = x.shape()[0], c = x.shape()[1], h = x.shape()[2], w = x.shape()[3];
    Shape view;
    std::vector<int64_t> st;
    if (to_space_) {
      const int64_t co = c / (b * b), hw = h * w;
      view = {n, co, h, b, w, b};
      if (crd_)  // source [N, C', b1, b2, H, W]
        st = {c * hw, b * b * hw, w, b * hw, 1, hw};
      else  // source [N, b1, b2, C', H, W]
        st = {c * hw, hw, w, b * co * hw, 1, co * hw};
    } else {
      const int64_t ho = h / b, wo = w / b;
      // source [N, C, H', b1, W', b2]
      if (crd_) {
        view = {n, c, b, b, ho, wo};
        st = {c * h * w, h * w, w, 1, b * w, b};
      } else {
        view = {n, b, b, c, ho, wo};
        st = {c * h * w, w, 1, h * w, b * w, b};
      }
    }
    Tensor y = ctx.output(0).reshaped(view);
    strided_copy(x, 0, st, y);
  }

 private:
  bool to_space_;
  int64_t b_;
  bool crd_ = false;
};

}  // namespace
EK_REGISTER_OP("DepthToSpace", SpaceDepth);
EK_REGISTER_OP("SpaceToDepth", SpaceDepth);
}  // namespace edgekit
