// com.edgekit:ConvNhwc — a 2-D f32 Conv whose activations are NHWC (passes/layout_nhwc.cpp
// puts it where a Conv was, between Transposes that later passes cancel):
//   X [N, H, W, C], W [M, C/group, KH, KW] (ONNX's OIHW, unchanged), B [M] (optional),
//   R [N, OH, OW, M] (a fused residual, with _residual = 1)  ->  Y [N, OH, OW, M]
// Attributes are Conv's (kernel_shape, strides, pads, dilations, group, auto_pad) plus the
// fused-epilogue ones (kernels/epilogue.h). Weights are packed once in prepare() when W and B
// are constants; otherwise every run packs them.
// With _winograd = 1 (passes/choose_winograd.cpp) a 3x3 convolution of stride 1 runs by
// Winograd's F(4x4, 3x3) (kernels/winograd.h) on weights transformed once in prepare(); an
// .ekm then stores the plain weights, transformed at load.
// A Concat's part (passes/concat_in_place.cpp): with _concat_channels = T, Y is [N, OH, OW, T]
// and the node writes only channels [_concat_offset, + M); with _concat_into = 1 it fills in
// input 4, an earlier part's Y of the same shape, which Y is (the Session runs it in place).
#include <algorithm>
#include <optional>

#include "kernels/conv_geometry.h"
#include "kernels/epilogue.h"
#include "kernels/nhwc_conv.h"
#include "kernels/nn_common.h"
#include "kernels/op.h"
#include "kernels/winograd.h"

namespace edgekit {
namespace {

class ConvNhwc final : public OpKernel {
 public:
  explicit ConvNhwc(const Node& node)
      : OpKernel(node),
        group_(node.attr_int("group", 1)),
        activation_(node),
        residual_(FusedActivation::has_residual(node)),
        concat_channels_(node.attr_int("_concat_channels", 0)),
        concat_offset_(node.attr_int("_concat_offset", 0)),
        concat_into_(node.attr_int("_concat_into", 0) != 0),
        winograd_(node.attr_int("_winograd", 0) != 0) {
    EK_CHECK(group_ >= 1, node.where(), ": group must be >= 1, got ", group_);
    EK_CHECK(concat_channels_ >= 0 && concat_offset_ >= 0 && (concat_channels_ > 0 || !concat_into_), node.where(),
             ": _concat_channels ", concat_channels_, " and _concat_offset ", concat_offset_,
             " must be >= 0, and _concat_into needs _concat_channels");
  }

  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(concat_into_ ? 5 : 2, concat_into_ ? 5 : residual_ ? 4 : 3);
    const TensorType& x = ctx.input_type(0);
    const TensorType& w = ctx.input_type(1);
    EK_CHECK(x.dtype == DType::f32, node().where(), ": input X has dtype ", dtype_name(x.dtype), ", expected f32");
    check_same_dtype(node(), "W", w.dtype, x.dtype);
    if (!x.shape_known || !w.shape_known) return ctx.set_output_unknown(0, x.dtype);
    EK_CHECK(x.shape.size() == 4, node().where(), ": input X has shape ", shape_str(x.shape),
             ", expected rank 4 (N, H, W, C)");
    EK_CHECK(w.shape.size() == 4, node().where(), ": weight W has shape ", shape_str(w.shape),
             ", expected rank 4 (M, C/group, KH, KW)");
    const int64_t C = x.shape[3], M = w.shape[0], Cg = w.shape[1];
    EK_CHECK(M < 0 || M % group_ == 0, node().where(), ": output channels ", M, " are not divisible by group ", group_);
    EK_CHECK(C < 0 || Cg < 0 || Cg * group_ == C, node().where(), ": input X has ", C, " channels, expected ",
             Cg * group_, " (W dim 1 = ", Cg, " per group x group ", group_, ")");
    check_conv_bias(ctx, node(), M, x.dtype);
    const WindowGeometry g = geometry(x.shape, w.shape);
    const Shape out{x.shape[0], g.output[0], g.output[1], concat_channels_ > 0 ? concat_channels_ : M};
    EK_CHECK(concat_channels_ == 0 || (M >= 0 && concat_offset_ + M <= concat_channels_ && group_ == 1), node().where(),
             ": writes channels [", concat_offset_, ", ", concat_offset_ + M, ") of a concatenation of ", concat_channels_,
             " (needs group 1 and the range inside)");
    if (residual_) {
      const TensorType& r = ctx.input_type(3);
      check_same_dtype(node(), "residual", r.dtype, x.dtype);
      bool ok = !r.shape_known || r.shape.size() == 4;
      for (size_t i = 0; ok && r.shape_known && i < 4; ++i) ok = r.shape[i] < 0 || out[i] < 0 || r.shape[i] == out[i];
      const Shape own{out[0], out[1], out[2], M};
      for (size_t i = 0; ok && r.shape_known && i < 4; ++i) ok = r.shape[i] < 0 || own[i] < 0 || r.shape[i] == own[i];
      EK_CHECK(ok, node().where(), ": fused residual has shape ", shape_str(r.shape), ", expected the output shape ",
               shape_str(own));
    }
    if (concat_into_) {
      const TensorType& t = ctx.input_type(4);
      check_same_dtype(node(), "concatenation", t.dtype, x.dtype);
      EK_CHECK(!t.shape_known || t.shape == out, node().where(), ": the concatenation it fills in has shape ",
               shape_str(t.shape), ", expected ", shape_str(out));
    }
    ctx.set_output(0, x.dtype, out);
  }

  int in_place_input() const override { return concat_into_ ? 4 : -1; }

  void prepare(const PrepareContext& ctx) override {
    if (const PackedWeights* p = ctx.packed_input(1)) {  // from an .ekm: in place, or unpacked for us
      if (!p->k_major && p->dims.size() == 4 && p->geometry.group == group_ &&
          (packed_ = NhwcConvWeights::adopt(*p, p->dims[2], p->dims[3])))
        ctx.adopt(1);
      return;
    }
    const Tensor* w = ctx.constant_input(1);
    const Tensor* b = node().has_input(2) ? ctx.constant_input(2) : nullptr;
    if (!w || (node().has_input(2) && !b) || w->dtype() != DType::f32 || w->rank() != 4) return;
    if (b && (b->dtype() != DType::f32 || b->numel() != w->dim(0))) return;  // infer() reports it
    if (w->dim(0) % group_ != 0) return;
    if (winograd_ && group_ == 1 && w->dim(2) == 3 && w->dim(3) == 3) {
      winograd_weights_.emplace(w->data<float>(), b ? b->data<float>() : nullptr, w->dim(0), w->dim(1));
      return;
    }
    packed_.emplace(pack(*w, b));
  }

  std::vector<std::pair<size_t, PackedWeights>> packed_inputs() const override {
    if (!packed_) return {};
    return {{1, packed_->describe({packed_->out_channels(), packed_->in_channels() / group_, packed_->kernel_h(),
                                   packed_->kernel_w()},
                                  false)}};
  }

  void run(RunContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    const Tensor& w = ctx.input(1);
    const NhwcWindow& win = window(x.shape(), w.shape());
    Tensor& y = ctx.output(0);
    // The Session makes Y the concatenation itself; anyone else gets a copy first.
    if (concat_into_ && ctx.input(4).data<float>() != y.data<float>())
      std::copy_n(ctx.input(4).data<float>(), y.numel(), y.data<float>());
    const float* residual = residual_ ? ctx.input(3).data<float>() : nullptr;
    if (winograd_weights_ && winograd_applicable(win, group_)) {
      nhwc_winograd_conv_f32(*winograd_weights_, x.data<float>(), x.dim(0), win, y.data<float>() + concat_offset_,
                             residual, activation_, ctx.threads(), concat_channels_);
      return;
    }
    std::optional<NhwcConvWeights> local;
    if (!packed_) local.emplace(pack(w, ctx.has_input(2) ? &ctx.input(2) : nullptr));
    const NhwcConvWeights& pw = packed_ ? *packed_ : *local;
    nhwc_conv_f32(pw, x.data<float>(), x.dim(0), win, y.data<float>() + concat_offset_, residual, activation_,
                  ctx.threads(), concat_channels_);
  }

 private:
  NhwcConvWeights pack(const Tensor& w, const Tensor* b) const {
    return NhwcConvWeights(w.data<float>(), b ? b->data<float>() : nullptr, w.dim(0), w.dim(1), w.dim(2), w.dim(3),
                           group_);
  }

  WindowGeometry geometry(const Shape& x, const Shape& w) const {
    WindowAttrs attrs = WindowAttrs::read(node(), 2, Shape{w[2], w[3]});
    return attrs.resolve(node(), Shape{x[1], x[2]});
  }

  const NhwcWindow& window(const Shape& x, const Shape& w) const {
    return window_.get({x[1], x[2], w[2], w[3]}, [&] { return NhwcWindow::from(geometry(x, w)); });
  }

  int64_t group_;
  mutable SizeKeyed<NhwcWindow, 4> window_;
  FusedActivation activation_;
  bool residual_;
  int64_t concat_channels_, concat_offset_;
  bool concat_into_;
  bool winograd_;
  std::optional<NhwcConvWeights> packed_;
  std::optional<WinogradWeights> winograd_weights_;
};

}  // namespace
EK_REGISTER_OP_DOMAIN(kEdgekitDomain, "ConvNhwc", ConvNhwc);
}  // namespace edgekit
