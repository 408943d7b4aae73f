// Graph rewrites. A pass is one rule over the Graph IR, in a file of its own:
//
//   class EliminateIdentity final : public GraphPass {
//     const char* name() const override { return "eliminate_identity"; }
//     std::vector<std::string> op_types() const override { return {"Identity"}; }
//     bool apply(Graph& g) override;   // returns whether it changed the graph
//   };
//
// A pass checks cheaply whether a node matches (most selective test first: op type, then
// uses, then constants, and only then the costlier static shape inference) before rewriting.
// op_types() lists the ops it looks at: the PassManager skips a pass when the graph has none
// of them. After any pass the graph still verifies (nodes stay topologically sorted), and
// graph inputs and outputs keep their names, dtypes and shapes. Passes never modify an
// initializer in place (it may be shared): rewritten weights are new initializers.
#pragma once
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "graph/graph.h"

namespace edgekit {

class GraphPass {
 public:
  virtual ~GraphPass() = default;
  virtual const char* name() const = 0;
  virtual std::vector<std::string> op_types() const { return {}; }  // empty: may act on any node
  virtual bool apply(Graph& graph) = 0;
};

// Helpers passes share: who reads a value, and rewiring.
struct GraphUses {
  explicit GraphUses(const Graph& g);
  std::map<std::string, std::vector<size_t>> consumers;  // value -> indices of nodes reading it
  std::map<std::string, size_t> producer;                // value -> index of node writing it
  std::vector<std::string> graph_outputs;
  bool is_graph_output(const std::string& v) const;
  size_t use_count(const std::string& v) const;  // node reads + graph output uses
  // Pattern matching: the index of the default-domain `op_type` node producing v, or of the one
  // node reading v when that is v's only use (a graph output is a use too).
  std::optional<size_t> producer_is(const Graph& g, const std::string& v, const std::string& op_type) const;
  std::optional<size_t> sole_reader_is(const Graph& g, const std::string& v, const std::string& op_type) const;
  // Keeping the maps current while a pass rewrites without reindexing: node i's reads and
  // writes (by name) are added or dropped; O(inputs x readers of each) per node.
  void add_node(const Graph& g, size_t i);
  void remove_node(const Graph& g, size_t i);
  // Input k of `node` reads `to` instead, the maps updated.
  void rewire(Graph& g, size_t node, size_t k, const std::string& to);
};

// Replaces every read of `from` by `to` in nodes (graph outputs are left alone).
void replace_uses(Graph& g, const std::string& from, const std::string& to);
// Removes nodes whose index is in `dead`; keeps order.
void erase_nodes(Graph& g, const std::vector<bool>& dead);
// A value's constant tensor: an initializer, else nullptr.
const Tensor* constant_value(const Graph& g, const std::string& v);
// Node n's inputs as run_node takes them: each constant's tensor, an empty Tensor for the others.
std::vector<Tensor> constant_inputs(const Graph& g, const Node& n);
// The value of a one-element constant (any numeric dtype), when `v` is one.
std::optional<double> scalar_constant(const Graph& g, const std::string& v);
// A value or node name not yet used in the graph: `base`, else `base_1`, `base_2`, ...
std::string fresh_name(const Graph& g, const std::string& base);
// The same for a pass that makes many names: the graph's names are collected once (O(N log N)),
// then each fresh() is O(log N) and reserves the name it returns. Names of nodes removed
// meanwhile stay reserved.
class FreshNames {
 public:
  explicit FreshNames(const Graph& g);
  std::string fresh(const std::string& base);

 private:
  std::set<std::string> used_;
};
// Adds `t` as a new initializer named after `base`; returns its name.
std::string add_initializer(Graph& g, const std::string& base, Tensor t);

// Makes node `i` (whose input 0 carries the same data as its output 0, e.g. Identity) vanish:
// its readers read the input instead. When the output is a graph output, the producer of the
// input is renamed instead so the graph's output names stay; false when neither is possible
// (the caller then keeps the node). O(readers): the readers come from `uses`, which it keeps
// current, so callers change node inputs only through `uses` (rewire, remove_node/add_node)
// for the rest of the pass.
bool bypass_node(Graph& g, GraphUses& uses, size_t i);

// Static dtypes and shapes of every value, from infer_shapes run on a copy of the graph (the
// graph itself is not touched). Dims that stay unknown are -1 and keep a symbol ("N") when
// they pass through unchanged, so two values' dims can be compared symbolically.
class StaticTypes {
 public:
  explicit StaticTypes(const Graph& g);
  const ValueInfo* find(const std::string& v) const;  // nullptr when not even the dtype is known
  std::optional<Shape> shape(const std::string& v) const;  // known rank (dims may be -1)
  std::optional<int64_t> rank(const std::string& v) const;
  // Dim d of a equals dim e of b for every input: both concrete and equal, or the same symbol.
  bool same_dim(const std::string& a, size_t d, const std::string& b, size_t e) const;
  // Same rank and every dim the same (concrete or symbolic).
  bool same_shape(const std::string& a, const std::string& b) const;

 private:
  Graph typed_;
  std::map<std::string, ValueInfo> constants_;
};

}  // namespace edgekit
