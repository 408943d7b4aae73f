// Nodes none of whose outputs reach a graph output are removed, as are unused initializers.
#include <set>

#include "passes/pass_manager.h"

namespace edgekit {
namespace {

class EliminateDeadNodes final : public GraphPass {
 public:
  const char* name() const override { return "eliminate_dead_nodes"; }

  bool apply(Graph& g) override {
    std::set<std::string> live;
    for (const auto& o : g.outputs) live.insert(o.name);
    std::vector<bool> dead(g.nodes.size(), true);
    bool changed = false;
    for (size_t k = g.nodes.size(); k-- > 0;) {  // reverse topological order: users before producers
      const Node& n = g.nodes[k];
      for (const auto& o : n.outputs) dead[k] = dead[k] && !live.count(o);
      if (dead[k]) {
        changed = true;
        continue;
      }
      for (const auto& in : n.inputs) live.insert(in);
    }
    if (changed) erase_nodes(g, dead);
    for (auto it = g.initializers.begin(); it != g.initializers.end();) {
      if (!live.count(it->first)) {
        it = g.initializers.erase(it);
        changed = true;
      } else {
        ++it;
      }
    }
    return changed;
  }
};

}  // namespace

std::unique_ptr<GraphPass> make_eliminate_dead_nodes() { return std::make_unique<EliminateDeadNodes>(); }

}  // namespace edgekit
