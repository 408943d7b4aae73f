// Nodes whose output is their input: Identity, Dropout in inference (its mask output unused)
// and Cast to the dtype the input already has. Their readers read the input directly; when
// the output is a graph output the producer of the input is renamed instead (kept when the
// input is a graph input or initializer: some node must produce the output's name).
#include "passes/pass_manager.h"

namespace edgekit {
namespace {

class EliminateIdentity final : public GraphPass {
 public:
  const char* name() const override { return "eliminate_identity"; }
  std::vector<std::string> op_types() const override { return {"Identity", "Dropout", "Cast"}; }

  bool apply(Graph& g) override {
    GraphUses uses(g);
    std::optional<StaticTypes> types;  // only when a Cast needs its input's dtype
    std::vector<bool> dead(g.nodes.size(), false);
    bool changed = false;
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      const Node& n = g.nodes[i];
      if (!n.domain.empty() || !n.has_input(0)) continue;
      if (n.op_type == "Dropout" && !passes_through(n, uses)) continue;
      if (n.op_type == "Cast") {
        if (!types) types.emplace(g);
        if (!is_noop_cast(n, *types)) continue;
      } else if (n.op_type != "Identity" && n.op_type != "Dropout") {
        continue;
      }
      if (bypass_node(g, uses, i)) dead[i] = changed = true;
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

  static bool is_noop_cast(const Node& n, const StaticTypes& types) {
    if (!n.has_attr("to")) return false;
    const ValueInfo* in = types.find(n.inputs[0]);
    return in && in->dtype == dtype_from_onnx_code(n.attr_int("to"));
  }
};

}  // namespace

std::unique_ptr<GraphPass> make_eliminate_identity() { return std::make_unique<EliminateIdentity>(); }

}  // namespace edgekit
