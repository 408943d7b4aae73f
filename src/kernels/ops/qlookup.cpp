// com.edgekit:QLookup: any elementwise function of one int8/uint8 input as a 256-entry table:
// table[q] = quantize_y(f(dequantize_x(q))), f being the float op named by the `function`
// attribute (Sigmoid, Tanh, HardSwish, LeakyRelu, Gelu, ...; that op's own attributes sit on
// this node too) run by its reference kernel once, when the table is built.
//   inputs x, x_scale, x_zero_point, y_scale, y_zero_point, [table]
// TFLite's int8 LOGISTIC / TANH / HARD_SWISH and a fused DQ -> f -> Q in a QDQ model both
// become this op; the result is f's, correctly rounded, for every possible input. With the
// optional constant `table` (256 values of y's dtype, indexed by x's byte) there is no
// `function`: y = table[x]; fuse_qdq writes it for QMul(x, QLookup(x)) (SiLU, HardSwish).
// The table is applied by kernels/qlookup_int8.h (vector lookups, large tensors on threads).
#include <cstring>

#include "kernels/qlookup_int8.h"
#include "kernels/qop_common.h"

namespace edgekit {
namespace {

using Table = ByteTable;  // indexed by the input's byte, holds the output's

class QLookup final : public OpKernel {
 public:
  explicit QLookup(const Node& node)
      : OpKernel(node), given_(node.has_input(5)), function_(node.attr_string("function", "")) {
    EK_CHECK(given_ || op_supported(function_), node.where(), ": function '", function_, "' is not an op edgekit has",
             selective_build_note());
  }

  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(5, 6);
    check_quant_input(ctx, 0, 2, "input 0 (x)");
    const DType y = ctx.input_type(4).dtype;
    check_dtype(node(), "input 4 (y_zero_point)", y, kQuant8Types);
    if (given_) {
      const TensorType& t = ctx.input_type(5);
      EK_CHECK(t.dtype == y && t.shape_known && t.shape == Shape{256}, node().where(),
               ": input 5 (table) must be 256 values of y's dtype ", dtype_name(y), ", found ", dtype_name(t.dtype),
               " ", t.shape_known ? shape_str(t.shape) : "of unknown shape");
    }
    const TensorType& x = ctx.input_type(0);
    if (x.shape_known) ctx.set_output(0, y, x.shape);
    else ctx.set_output_unknown(0, y);
  }

  void prepare(const PrepareContext& ctx) override {
    if (given_) {
      if (const Tensor* t = ctx.constant_input(5)) table_ = given_table(*t);
      return;
    }
    auto xq = constant_quant_params(ctx, 1, "x"), yq = constant_quant_params(ctx, 3, "y");
    if (xq && yq) table_ = table(*xq, ctx.constant_input(2)->dtype(), *yq, ctx.constant_input(4)->dtype());
  }

  void run(RunContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    Tensor& y = ctx.output(0);
    const Table t = table_ ? *table_
                    : given_ ? given_table(ctx.input(5))
                             : table(run_quant_params(ctx, 1, "x"), x.dtype(), run_quant_params(ctx, 3, "y"), y.dtype());
    lookup_bytes(t, static_cast<const uint8_t*>(x.raw()), static_cast<uint8_t*>(y.raw()), x.numel(), ctx.threads());
  }

 private:
  static Table given_table(const Tensor& t) {
    Table out{};
    std::memcpy(out.data(), t.raw(), out.size());
    return out;
  }

  Table table(const QuantParams& xq, DType xt, const QuantParams& yq, DType yt) const {
    Tensor in(DType::f32, {256});
    for (int b = 0; b < 256; ++b) {
      const int32_t q = xt == DType::i8 ? int32_t(int8_t(uint8_t(b))) : b;
      in.data<float>()[b] = float(q - xq.zero_point[0]) * xq.scale[0];
    }
    Node f = node();
    f.op_type = function_, f.domain = "", f.inputs = {"x"}, f.outputs = {"y"};
    f.attrs.erase("function");
    f.opset = 0;
    const Tensor out = run_node(f, {in}).at(0);
    EK_CHECK(out.dtype() == DType::f32 && out.numel() == 256, node().where(), ": function '", function_,
             "' is not elementwise");
    const QuantRange r = activation_range(node(), yq, yt);
    Table t{};
    for (int b = 0; b < 256; ++b) {
      const int32_t v = quantize_value(out.data<float>()[b], yq.scale[0], yq.zero_point[0], r);
      t[size_t(b)] = uint8_t(yt == DType::i8 ? uint8_t(int8_t(v)) : uint8_t(v));
    }
    return t;
  }

  bool given_;  // the table is input 5
  std::string function_;
  std::optional<Table> table_;
};

}  // namespace
EK_REGISTER_OP_DOMAIN(kEdgekitDomain, "QLookup", QLookup);
}  // namespace edgekit
