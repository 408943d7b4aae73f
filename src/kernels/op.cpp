#include "kernels/op.h"

#include <algorithm>
#include <map>
#include <mutex>

namespace edgekit {

InferContext::InferContext(const Node& node, std::vector<const TensorType*> input_types,
                           std::vector<const Tensor*> input_values)
    : node_(node), input_types_(std::move(input_types)), input_values_(std::move(input_values)) {
  outputs_.resize(node.outputs.size());
}

const TensorType& InferContext::input_type(size_t i) const {
  EK_CHECK(i < input_types_.size() && input_types_[i] != nullptr, node_.where(), ": input ", i,
           " is required but absent");
  return *input_types_[i];
}

const Tensor* InferContext::input_value(size_t i) const {
  const Tensor* v = i < input_values_.size() ? input_values_[i] : nullptr;
  if (v) values_read_ |= i < 64 ? uint64_t(1) << i : ~uint64_t(0);
  return v;
}

void InferContext::set_output(size_t i, DType dtype, Shape shape) {
  EK_CHECK(i < outputs_.size(), node_.where(), ": output ", i, " does not exist (node has ", outputs_.size(),
           " outputs)");
  for (int64_t d : shape) EK_CHECK(d >= -1, node_.where(), ": inferred a negative dimension for output ", i);
  outputs_[i] = TensorType{dtype, std::move(shape), true};
}

void InferContext::set_output_unknown(size_t i, DType dtype) {
  EK_CHECK(i < outputs_.size(), node_.where(), ": output ", i, " does not exist");
  outputs_[i] = TensorType{dtype, {}, false};
}

void InferContext::expect_inputs(size_t min, size_t max) const {
  size_t n = node_.inputs.size();
  while (n > 0 && node_.inputs[n - 1].empty()) --n;
  EK_CHECK(n >= min && n <= max, node_.where(), ": expected ", min == max ? cat(min) : cat(min, " to ", max),
           " inputs, got ", n);
}

const Tensor& RunContext::input(size_t i) const {
  EK_CHECK(has_input(i), node_.where(), ": input ", i, " is required but absent");
  return *inputs_[i];
}

Tensor& RunContext::output(size_t i) const {
  EK_CHECK(has_output(i), node_.where(), ": output ", i, " is not requested");
  return *outputs_[i];
}

namespace {
std::map<std::string, OpFactory>& registry() {
  static std::map<std::string, OpFactory> r;
  return r;
}
}  // namespace

const char* selective_build_note() {
#ifdef EDGEKIT_SELECTIVE_OPS
  return ": this runtime is a selective build without it (ops from " EDGEKIT_SELECTIVE_OPS
         "; list the model in `edgekit ops` and rebuild)";
#else
  return "";
#endif
}

std::string op_key(const std::string& domain, const std::string& op_type) {
  return domain.empty() || domain == "ai.onnx" ? op_type : domain + ":" + op_type;
}

bool register_op(const std::string& op_type, OpFactory factory, const std::string& domain) {
  registry()[op_key(domain, op_type)] = std::move(factory);
  return true;
}

bool op_supported(const std::string& op_type, const std::string& domain) {
  return registry().count(op_key(domain, op_type)) != 0;
}

std::vector<std::string> supported_ops() {
  std::vector<std::string> v;
  for (const auto& [k, f] : registry()) v.push_back(k);
  return v;
}

std::unique_ptr<OpKernel> create_op(const Node& node) {
  auto it = registry().find(op_key(node.domain, node.op_type));
  if (it == registry().end())
    fail("unsupported op '", node.domain.empty() ? "" : node.domain + ":", node.op_type, "' at node '", node.name,
         "'", selective_build_note());
  return it->second(node);
}

std::vector<Tensor> run_node(const Node& node, const std::vector<Tensor>& inputs) {
  auto op = create_op(node);
  std::vector<TensorType> types(inputs.size());
  std::vector<const TensorType*> type_ptrs;
  std::vector<const Tensor*> values;
  for (size_t i = 0; i < inputs.size(); ++i) {
    bool present = node.has_input(i) && inputs[i].defined();
    types[i] = {inputs[i].dtype(), inputs[i].shape(), true};
    type_ptrs.push_back(present ? &types[i] : nullptr);
    values.push_back(present ? &inputs[i] : nullptr);
  }
  InferContext ictx(node, type_ptrs, values);
  op->infer(ictx);
  std::vector<Tensor> outs(node.outputs.size());
  std::vector<Tensor*> out_ptrs;
  for (size_t i = 0; i < outs.size(); ++i) {
    const TensorType& t = ictx.outputs()[i];
    if (node.outputs[i].empty() || t.dtype == DType::undefined) {
      out_ptrs.push_back(nullptr);
      continue;
    }
    EK_CHECK(t.shape_known, node.where(), ": could not infer the shape of output ", i);
    outs[i] = Tensor(t.dtype, t.shape);
    out_ptrs.push_back(&outs[i]);
  }
  RunContext rctx(node, values, out_ptrs, nullptr);
  op->run(rctx);
  return outs;
}

}  // namespace edgekit
