// The IR every edgekit layer works on.
//
// A Graph is a list of Nodes in topological order. Values are named, as in ONNX: a node
// reads values by name and defines new ones; graph inputs and initializers (constant
// tensors) define the rest. An empty input name marks an absent optional input.
//
//   Graph g;
//   g.inputs.push_back({"x", DType::f32, {-1, 16}, {"N", ""}});
//   g.initializers["w"] = Tensor(DType::f32, {16, 4});
//   Node& n = g.add_node("MatMul", {"x", "w"}, {"y"}, "fc");
//   g.outputs.push_back({"y", DType::f32, {-1, 4}, {"N", ""}});
//   verify(g);
#pragma once
#include <map>
#include <string>
#include <variant>
#include <vector>

#include "core/api.h"
#include "core/tensor.h"

namespace edgekit {

// Type and shape of a value. dims[i] == -1 is an unknown or symbolic dim; dim_names[i]
// holds its symbol ("N", "batch") when it has one. shape_known == false: even the rank is unknown.
struct EDGEKIT_API ValueInfo {
  std::string name;
  DType dtype = DType::undefined;
  Shape dims;
  std::vector<std::string> dim_names;  // empty, or one entry per dim ("" when concrete or anonymous)
  bool shape_known = true;

  std::string shape_string() const;  // "[N,3,224,224]"
};

class Graph;

// The domain of edgekit's own ops: layouts and fusions the runtime chose (e.g. ConvNhwc),
// which ONNX export writes back as standard ops.
inline constexpr const char* kEdgekitDomain = "com.edgekit";

// A node attribute. The variant's alternative is the attribute's type.
using AttributeValue = std::variant<float, int64_t, std::string, Tensor, std::vector<float>, std::vector<int64_t>,
                                    std::vector<std::string>>;

struct EDGEKIT_API Node {
  std::string name;
  std::string op_type;
  std::string domain;  // "" is the default ONNX domain
  int opset = 0;       // version of the node's domain the model declared (0: unknown, use latest)
  std::vector<std::string> inputs;
  std::vector<std::string> outputs;
  std::map<std::string, AttributeValue> attrs;

  // "node 'conv1' (Conv)": the where-part of error messages.
  std::string where() const;

  bool has_attr(const std::string& key) const { return attrs.count(key) != 0; }
  // Typed attribute access. The one-argument forms throw when the attribute is missing;
  // all forms throw when it has another type, naming the node.
  int64_t attr_int(const std::string& key) const;
  int64_t attr_int(const std::string& key, int64_t fallback) const;
  float attr_float(const std::string& key) const;
  float attr_float(const std::string& key, float fallback) const;
  std::string attr_string(const std::string& key) const;
  std::string attr_string(const std::string& key, const std::string& fallback) const;
  std::vector<int64_t> attr_ints(const std::string& key) const;
  std::vector<int64_t> attr_ints(const std::string& key, const std::vector<int64_t>& fallback) const;
  std::vector<float> attr_floats(const std::string& key) const;
  std::vector<float> attr_floats(const std::string& key, const std::vector<float>& fallback) const;
  std::vector<std::string> attr_strings(const std::string& key) const;
  const Tensor& attr_tensor(const std::string& key) const;

  // Input i is given (present and non-empty).
  bool has_input(size_t i) const { return i < inputs.size() && !inputs[i].empty(); }

 private:
  const AttributeValue& attr(const std::string& key) const;
};

class EDGEKIT_API Graph {
 public:
  std::string name;
  std::string source_format;  // "onnx", "tflite", ...
  std::string producer;       // producer name and version, when the file says
  std::map<std::string, int> opsets;  // domain -> version ("" is ONNX's default domain)
  std::map<std::string, std::string> metadata;
  // >= 0: the graph was compiled (an .ekm file) after the passes of this --opt-level ran;
  // a Session runs it as it is. -1: as imported, not yet optimised.
  int compiled_opt_level = -1;

  std::vector<ValueInfo> inputs;   // runtime inputs (never initializers)
  std::vector<ValueInfo> outputs;
  std::map<std::string, ValueInfo> value_info;  // known types of intermediate values
  std::map<std::string, Tensor> initializers;
  std::vector<Node> nodes;

  Node& add_node(std::string op_type, std::vector<std::string> inputs, std::vector<std::string> outputs,
                 std::string name = "");
  // Type of any value when known (input, output, initializer or value_info), else nullptr.
  const ValueInfo* find_value(const std::string& name) const;
  // Reorders nodes topologically (stable for already sorted graphs). Throws on a cycle.
  void topo_sort();
  int64_t parameter_count() const;  // elements in all initializers
};

// Structural checks: every value is defined once, every input is defined before use, graph
// outputs are produced, no cycle. Throws Error naming the node and the value.
EDGEKIT_API void verify(const Graph& graph);

}  // namespace edgekit
