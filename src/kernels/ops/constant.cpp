// Constant: outputs the tensor held by exactly one of its attributes (value, value_float(s),
// value_int(s)). String and sparse constants are not supported by edgekit tensors.
#include <cstring>

#include "kernels/data_movement.h"

namespace edgekit {
namespace {

Tensor constant_value(const Node& n) {
  for (const char* unsupported : {"sparse_value", "value_string", "value_strings"})
    EK_CHECK(!n.has_attr(unsupported), n.where(), ": attribute '", unsupported,
             "' is not supported (edgekit holds only dense numeric tensors)");
  int count = 0;
  for (const char* k : {"value", "value_float", "value_floats", "value_int", "value_ints"}) count += n.has_attr(k);
  EK_CHECK(count == 1, n.where(), ": expected exactly one value attribute, got ", count);
  if (n.has_attr("value")) return n.attr_tensor("value");
  if (n.has_attr("value_float")) return Tensor::scalar<float>(n.attr_float("value_float"));
  if (n.has_attr("value_int")) return Tensor::scalar<int64_t>(n.attr_int("value_int"));
  if (n.has_attr("value_floats")) {
    auto v = n.attr_floats("value_floats");
    return Tensor::from<float>(v, {int64_t(v.size())});
  }
  auto v = n.attr_ints("value_ints");
  return Tensor::from<int64_t>(v, {int64_t(v.size())});
}

class Constant final : public OpKernel {
 public:
  explicit Constant(const Node& node) : OpKernel(node), value_(constant_value(node)) {}

  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(0, 0);
    ctx.set_output(0, value_.dtype(), value_.shape());
  }

  void run(RunContext& ctx) const override {
    if (value_.nbytes()) std::memcpy(ctx.output(0).raw(), value_.raw(), value_.nbytes());
  }

 private:
  Tensor value_;
};

}  // namespace
EK_REGISTER_OP("Constant", Constant);
}  // namespace edgekit
