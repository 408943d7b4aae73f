// Cast (attribute `to`) and CastLike (the dtype of input 1) between all edgekit dtypes,
// f16 and bool included. Float to integer truncates toward zero as numpy does; to bool is
// x != 0; f64 to f16 rounds once (see convert_value in kernels/elementwise.h).
#include "kernels/data_movement.h"
#include "kernels/elementwise.h"

namespace edgekit {
namespace {

// `to` is the ONNX data type code; importers of other formats may give the dtype name.
DType target_dtype(const Node& node) {
  EK_CHECK(node.has_attr("to"), node.where(), ": attribute 'to' is required");
  if (std::holds_alternative<std::string>(node.attrs.at("to"))) {
    std::string name = node.attr_string("to");
    try {
      return dtype_from_name(name);
    } catch (const Error&) {
      fail(node.where(), ": attribute 'to' names unknown dtype '", name, "'");
    }
  }
  return dtype_from_onnx_code(node.attr_int("to"), node);
}

void cast_tensor(const Node& node, const Tensor& x, Tensor& y) {
  visit_dtypes<kAllTypes>(x.dtype(), node, [&](auto from_tag) {
    using From = decltype(from_tag);
    const From* src = x.data<From>();
    visit_dtypes<kAllTypes>(y.dtype(), node, [&](auto to_tag) {
      using To = decltype(to_tag);
      To* dst = y.data<To>();
      for (int64_t i = 0, n = x.numel(); i < n; ++i) dst[i] = convert_value<To>(src[i]);
    });
  });
}

void set_cast_output(InferContext& ctx, DType to) {
  const TensorType& x = ctx.input_type(0);
  check_dtype(ctx.node(), "input 0", x.dtype, kAllTypes);
  if (x.shape_known) ctx.set_output(0, to, x.shape);
  else ctx.set_output_unknown(0, to);
}

class Cast final : public OpKernel {
 public:
  explicit Cast(const Node& node) : OpKernel(node), to_(target_dtype(node)) {}
  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(1, 1);
    set_cast_output(ctx, to_);
  }
  void run(RunContext& ctx) const override { cast_tensor(node(), ctx.input(0), ctx.output(0)); }

 private:
  DType to_;
};

class CastLike final : public OpKernel {
 public:
  explicit CastLike(const Node& node) : OpKernel(node) {}
  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(2, 2);
    const DType to = ctx.input_type(1).dtype;
    check_dtype(node(), "input 1 (target_type)", to, kAllTypes);
    set_cast_output(ctx, to);
  }
  void run(RunContext& ctx) const override { cast_tensor(node(), ctx.input(0), ctx.output(0)); }
};

}  // namespace
EK_REGISTER_OP("Cast", Cast);
EK_REGISTER_OP("CastLike", CastLike);
}  // namespace edgekit
