// Graph rewrites. A pass is one rule over the Graph IR, in a file of its own:
//
//   class EliminateIdentity final : public GraphPass {
//     const char* name() const override { return "eliminate_identity"; }
//     std::vector<std::string> op_types() const override { return {"Identity"}; }
//     bool apply(Graph& g) override;   // returns whether it changed the graph
//   };
//
// A pass checks cheaply whether a node matches (most selective test first) before rewriting.
// op_types() lists the ops it looks at: the PassManager skips a pass when the graph has none
// of them. After any pass the graph still verifies, and graph inputs and outputs keep their
// names, dtypes and shapes.
#pragma once
#include <map>
#include <memory>
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
};

// Replaces every read of `from` by `to` in nodes (graph outputs are left alone).
void replace_uses(Graph& g, const std::string& from, const std::string& to);
// Removes nodes whose index is in `dead`; keeps order.
void erase_nodes(Graph& g, const std::vector<bool>& dead);
// A value's constant tensor: an initializer, else nullptr.
const Tensor* constant_value(const Graph& g, const std::string& v);

}  // namespace edgekit
