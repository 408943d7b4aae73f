// The operator interface. One op is one file in src/kernels/ops/: a class derived from
// OpKernel plus one EK_REGISTER_OP line. The class
//   - reads and checks its attributes in its constructor (the node is given),
//   - computes output dtypes and shapes in infer() (plan),
//   - may pack constant inputs (weights) once in prepare(), which the Session calls after
//     construction with the node's initializers (kernels run without it too, e.g. when
//     constant folding calls run_node, and must then work from the inputs),
//   - computes outputs in run() into tensors the executor already allocated (run).
//
//   class Relu final : public OpKernel {
//    public:
//     explicit Relu(const Node& node) : OpKernel(node) {}
//     void infer(InferContext& ctx) const override {
//       ctx.set_output(0, ctx.input_type(0).dtype, ctx.input_type(0).shape);
//     }
//     void run(RunContext& ctx) const override { ... ctx.input(0) ... ctx.output(0) ... }
//   };
//   EK_REGISTER_OP("Relu", Relu);
//
// infer() runs both at run time (all shapes concrete, all input values known) and in static
// shape inference over a graph, where a dim may be -1 (unknown) and input_value() may be
// null for non-constant inputs. It must then give -1 dims (or set_output_unknown) rather
// than fail. Errors name the node: fail(node().where(), ": ...").
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/packed_weights.h"
#include "core/tensor.h"
#include "graph/graph.h"

namespace edgekit {

class ThreadPool;

struct TensorType {
  DType dtype = DType::undefined;
  Shape shape;  // -1: unknown dim
  bool shape_known = true;  // false: even the rank is unknown (static inference only)
};

class InferContext {
 public:
  InferContext(const Node& node, std::vector<const TensorType*> input_types, std::vector<const Tensor*> input_values);

  const Node& node() const { return node_; }
  size_t num_inputs() const { return node_.inputs.size(); }
  bool has_input(size_t i) const { return node_.has_input(i); }
  const TensorType& input_type(size_t i) const;  // throws when input i is absent
  const Tensor* input_value(size_t i) const;      // null when absent or not known yet
  // Whether infer() asked for input i's value and got one: the Session re-infers such a node
  // every run unless the input is a constant (its output shape may follow the data).
  bool value_read(size_t i) const { return i < 64 ? (values_read_ >> i) & 1 : values_read_ != 0; }
  size_t num_outputs() const { return node_.outputs.size(); }
  bool has_output(size_t i) const { return i < node_.outputs.size() && !node_.outputs[i].empty(); }

  void set_output(size_t i, DType dtype, Shape shape);
  void set_output_unknown(size_t i, DType dtype);  // rank unknown
  const std::vector<TensorType>& outputs() const { return outputs_; }
  // Convenience check that throws "<node>: expected N..M inputs, got K".
  void expect_inputs(size_t min, size_t max) const;

 private:
  const Node& node_;
  std::vector<const TensorType*> input_types_;
  std::vector<const Tensor*> input_values_;
  std::vector<TensorType> outputs_;
  mutable uint64_t values_read_ = 0;
};

class RunContext {
 public:
  RunContext(const Node& node, std::vector<const Tensor*> inputs, std::vector<Tensor*> outputs, ThreadPool* pool)
      : node_(node), inputs_(std::move(inputs)), outputs_(std::move(outputs)), pool_(pool) {}

  const Node& node() const { return node_; }
  size_t num_inputs() const { return inputs_.size(); }
  bool has_input(size_t i) const { return i < inputs_.size() && inputs_[i] != nullptr; }
  const Tensor& input(size_t i) const;
  size_t num_outputs() const { return outputs_.size(); }
  bool has_output(size_t i) const { return i < outputs_.size() && outputs_[i] != nullptr; }
  Tensor& output(size_t i) const;  // already allocated with the shape infer() gave
  ThreadPool* threads() const { return pool_; }  // may be null: run single-threaded

 private:
  const Node& node_;
  std::vector<const Tensor*> inputs_;
  std::vector<Tensor*> outputs_;
  ThreadPool* pool_;
};

// The node's constant inputs (initializers), for kernels that pack weights ahead of runs.
class PrepareContext {
 public:
  PrepareContext(const Node& node, std::vector<const Tensor*> constants, std::vector<const PackedWeights*> packed = {})
      : node_(node), constants_(std::move(constants)), packed_(std::move(packed)), adopted_(packed_.size(), 0) {}
  const Node& node() const { return node_; }
  // Input i's value when it is a constant, else null (absent, computed at run time, or stored
  // packed: see packed_input).
  const Tensor* constant_input(size_t i) const { return i < constants_.size() ? constants_[i] : nullptr; }
  // Input i as an .ekm stored it, already packed (core/packed_weights.h), else null. A kernel
  // that uses it in place calls adopt(i); when none does, the Session unpacks the weights and
  // prepares a new kernel with them as a plain constant_input.
  const PackedWeights* packed_input(size_t i) const { return i < packed_.size() ? packed_[i] : nullptr; }
  void adopt(size_t i) const { adopted_.at(i) = 1; }
  bool adopted(size_t i) const { return i < adopted_.size() && adopted_[i]; }

 private:
  const Node& node_;
  std::vector<const Tensor*> constants_;
  std::vector<const PackedWeights*> packed_;
  mutable std::vector<char> adopted_;
};

class OpKernel {
 public:
  explicit OpKernel(const Node& node) : node_(node) {}
  virtual ~OpKernel() = default;
  virtual void infer(InferContext& ctx) const = 0;
  virtual void prepare(const PrepareContext& ctx) {}
  virtual void run(RunContext& ctx) const = 0;
  // >= 0: output 0 is input k, updated in place (same dtype and shape; the executor gives the
  // output that input's buffer). -1 (the default): outputs are buffers of their own.
  virtual int in_place_input() const { return -1; }
  // The constant inputs prepare() packed, by input index, for edgekit compile to store.
  virtual std::vector<std::pair<size_t, PackedWeights>> packed_inputs() const { return {}; }
  const Node& node() const { return node_; }

 private:
  const Node& node_;  // owned by the Graph, which outlives the kernel
};

using OpFactory = std::function<std::unique_ptr<OpKernel>(const Node&)>;

// Registry of ops by (domain, op_type). Registration happens at static-initialisation time
// from each op file, so adding an op edits no central list.
bool register_op(const std::string& op_type, OpFactory factory, const std::string& domain = "");
bool op_supported(const std::string& op_type, const std::string& domain = "");
std::vector<std::string> supported_ops();  // sorted "op_type" (or "domain:op_type")
// The registry's key of an op: "Conv" in ONNX's default domain, else "domain:Conv".
std::string op_key(const std::string& domain, const std::string& op_type);
// "" in a full build; in a selective one (-DEDGEKIT_RT_OPS) the reason an op is missing, for
// the end of an "unsupported op" message.
const char* selective_build_note();
// Creates the kernel for a node; throws "unsupported op 'X' at node 'n'" when there is none.
std::unique_ptr<OpKernel> create_op(const Node& node);

// Runs one node eagerly on concrete tensors: infer, allocate, run. For tests and constant folding.
std::vector<Tensor> run_node(const Node& node, const std::vector<Tensor>& inputs);

}  // namespace edgekit

#define EK_REGISTER_OP_IMPL(OPTYPE, CLASS, DOMAIN, LINE)                                           \
  static const bool ek_registered_##CLASS##_##LINE = ::edgekit::register_op(                       \
      OPTYPE, [](const ::edgekit::Node& n) { return std::unique_ptr<::edgekit::OpKernel>(new CLASS(n)); }, \
      DOMAIN)
#define EK_REGISTER_OP_LINE(OPTYPE, CLASS, DOMAIN, LINE) EK_REGISTER_OP_IMPL(OPTYPE, CLASS, DOMAIN, LINE)
// EK_REGISTER_OP("Relu", Relu); one class may be registered under several names.
#define EK_REGISTER_OP(OPTYPE, CLASS) EK_REGISTER_OP_LINE(OPTYPE, CLASS, "", __LINE__)
#define EK_REGISTER_OP_DOMAIN(DOMAIN, OPTYPE, CLASS) EK_REGISTER_OP_LINE(OPTYPE, CLASS, DOMAIN, __LINE__)
