// Identity, and Dropout in inference (its mask output unused), pass their input through:
// consumers read the input directly. Kept when the output is a graph output and the input is
// a graph input or initializer (the graph needs some node to produce its output name).
#include "passes/pass_manager.h"

namespace edgekit {
namespace {

class EliminateIdentity final : public GraphPass {
 public:
  const char* name() const override { return "eliminate_identity"; }
  std::vector<std::string> op_types() const override { return {"Identity", "Dropout"}; }

  bool apply(Graph& g) override {
    GraphUses uses(g);
    std::vector<bool> dead(g.nodes.size(), false);
    bool changed = false;
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      Node& n = g.nodes[i];
      if (n.op_type != "Identity" && n.op_type != "Dropout") continue;
      if (n.op_type == "Dropout" && !passes_through(n, uses)) continue;
      if (!n.has_input(0) || n.outputs.empty()) continue;
      const std::string in = n.inputs[0], out = n.outputs[0];
      if (uses.is_graph_output(out)) {
        // Rename the producer's output instead, when the input is a node output read only here.
        auto p = uses.producer.find(in);
        if (p == uses.producer.end() || uses.use_count(in) != 1) continue;
        for (auto& o : g.nodes[p->second].outputs)
          if (o == in) o = out;
      } else {
        replace_uses(g, out, in);
      }
      dead[i] = changed = true;
    }
    if (changed) erase_nodes(g, dead);
    return changed;
  }

 private:
  // Dropout is the identity in inference unless training_mode is a constant true or the
  // mask output is used.
  static bool passes_through(const Node& n, const GraphUses& uses) {
    if (n.outputs.size() > 1 && !n.outputs[1].empty() && uses.use_count(n.outputs[1]) > 0) return false;
    return !n.has_input(2);  // a training_mode input: leave it to the kernel to check
  }
};

}  // namespace

std::unique_ptr<GraphPass> make_eliminate_identity() { return std::make_unique<EliminateIdentity>(); }

}  // namespace edgekit
