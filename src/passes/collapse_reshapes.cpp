// Chains of shape-only ops (Reshape, Flatten, Squeeze, Unsqueeze) keep the data and change
// only the shape, so a chain is one Reshape of its first input:
//   - the last op is a Reshape to a constant shape without 0 (a 0 would copy a dim of the
//     intermediate value): it reads the chain's first input directly;
//   - otherwise, when the last output's static shape is known up to dims that are the same
//     dim (same symbol, e.g. the batch N) at the same position of the first input (written
//     0, "copy") and at most one other dim (written -1, "infer"), it becomes that Reshape.
// A single shape-only op whose static output shape equals its input's is removed. Earlier
// links left without readers are removed by eliminate_dead_nodes.
#include "passes/pass_manager.h"

namespace edgekit {
namespace {

bool is_shape_only(const Node& n) {
  return n.domain.empty() && !n.outputs.empty() && n.has_input(0) &&
         (n.op_type == "Reshape" || n.op_type == "Flatten" || n.op_type == "Squeeze" || n.op_type == "Unsqueeze");
}

class CollapseReshapes final : public GraphPass {
 public:
  const char* name() const override { return "collapse_reshapes"; }
  std::vector<std::string> op_types() const override { return {"Reshape", "Flatten", "Squeeze", "Unsqueeze"}; }

  bool apply(Graph& g) override {
    GraphUses uses(g);
    std::optional<StaticTypes> types;
    std::vector<bool> dead(g.nodes.size(), false);
    bool changed = false;
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      if (!is_shape_only(g.nodes[i])) continue;
      auto p = uses.producer.find(g.nodes[i].inputs[0]);
      const bool chained = p != uses.producer.end() && is_shape_only(g.nodes[p->second]);
      if (chained && constant_reshape(g, g.nodes[i])) {
        uses.rewire(g, i, 0, g.nodes[p->second].inputs[0]);
        changed = true;
        continue;
      }
      if (!types) types.emplace(g);
      const Node& n = g.nodes[i];
      if (types->same_shape(n.inputs[0], n.outputs[0])) {
        if (bypass_node(g, uses, i)) dead[i] = changed = true;
        continue;
      }
      if (chained) changed |= reshape_from_static_shape(g, uses, i, g.nodes[p->second].inputs[0], *types);
    }
    if (changed) erase_nodes(g, dead);
    return changed;
  }

 private:
  static bool constant_reshape(const Graph& g, const Node& n) {
    if (n.op_type != "Reshape" || n.inputs.size() != 2) return false;
    const Tensor* shape = constant_value(g, n.inputs[1]);
    if (!shape || shape->dtype() != DType::i64) return false;
    if (n.attr_int("allowzero", 0) != 0) return true;
    for (int64_t k = 0; k < shape->numel(); ++k)
      if (shape->as_int(k) == 0) return false;
    return true;
  }

  // Node i becomes Reshape(first, target) with target read from its static output shape.
  static bool reshape_from_static_shape(Graph& g, GraphUses& uses, size_t i, std::string first,
                                        const StaticTypes& types) {
    const std::string out = g.nodes[i].outputs[0];
    auto shape = types.shape(out);
    if (!shape || g.nodes[i].outputs.size() != 1 || (g.nodes[i].opset > 0 && g.nodes[i].opset < 5)) return false;
    std::vector<int64_t> target;
    int inferred = 0;
    for (size_t d = 0; d < shape->size(); ++d) {
      const int64_t dim = (*shape)[d];
      if (dim == 0) return false;  // a real empty dim would read as "copy"
      if (dim > 0) {
        target.push_back(dim);
      } else if (types.same_dim(first, d, out, d)) {
        target.push_back(0);
      } else {
        target.push_back(-1);
        if (++inferred > 1) return false;
      }
    }
    const std::string shape_name =
        add_initializer(g, g.nodes[i].name + "_shape", Tensor::from<int64_t>(target, {int64_t(target.size())}));
    uses.remove_node(g, i);
    Node& n = g.nodes[i];
    n.op_type = "Reshape";
    n.attrs.clear();
    n.inputs = {first, shape_name};
    uses.add_node(g, i);
    return true;
  }
};

}  // namespace

std::unique_ptr<GraphPass> make_collapse_reshapes() { return std::make_unique<CollapseReshapes>(); }

}  // namespace edgekit
