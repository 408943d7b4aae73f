// A residual connection Add(Conv(x), r), with the Conv's output read only by the Add and r of
// exactly the Add's shape (no broadcasting), becomes Conv(x, W, B, r) with "_residual" = 1:
// the kernel adds r to each output block while it is in cache (kernels/epilogue.h), so the
// Add's full pass over memory disappears. A Relu after the Add is fused by fuse_activation
// on the next round, which then runs after the residual, as it did after the Add.
// When both Add inputs are Convs, the later one takes the residual so the other is computed
// first; nodes are re-sorted when r is produced after the Conv.
#include "passes/pass_manager.h"

namespace edgekit {
namespace {

class FuseResidualAdd final : public GraphPass {
 public:
  const char* name() const override { return "fuse_residual_add"; }
  std::vector<std::string> op_types() const override { return {"Conv"}; }

  bool apply(Graph& g) override {
    GraphUses uses(g);
    std::optional<StaticTypes> types;
    std::vector<bool> dead(g.nodes.size(), false);
    bool changed = false;
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      const Node& add = g.nodes[i];
      if (add.op_type != "Add" || !add.domain.empty() || add.inputs.size() != 2 || add.outputs.size() != 1) continue;
      std::optional<size_t> conv;
      size_t side = 0;
      for (size_t s = 0; s < 2; ++s) {
        auto c = uses.producer_is(g, add.inputs[s], "Conv");
        if (!c || dead[*c] || !fusable(g.nodes[*c]) || uses.use_count(add.inputs[s]) != 1) continue;
        if (!conv || *c > *conv) {
          conv = c;
          side = s;
        }
      }
      if (!conv) continue;
      if (!types) types.emplace(g);
      const std::string& r = add.inputs[1 - side];
      if (!types->same_shape(r, add.outputs[0]) || !types->same_shape(add.inputs[side], add.outputs[0])) continue;
      Node& c = g.nodes[*conv];
      c.inputs.resize(3);  // an absent bias stays as the empty name
      c.inputs.push_back(r);
      c.attrs["_residual"] = int64_t(1);
      c.outputs[0] = add.outputs[0];
      dead[i] = changed = true;
    }
    if (!changed) return false;
    erase_nodes(g, dead);
    g.topo_sort();  // r may be computed after the Conv it now feeds
    return true;
  }

 private:
  static bool fusable(const Node& conv) {
    return !conv.has_attr("_activation") && !conv.has_attr("_residual") && conv.outputs.size() == 1 &&
           conv.inputs.size() >= 2 && conv.inputs.size() <= 3;
  }
};

}  // namespace

std::unique_ptr<GraphPass> make_fuse_residual_add() { return std::make_unique<FuseResidualAdd>(); }

}  // namespace edgekit
