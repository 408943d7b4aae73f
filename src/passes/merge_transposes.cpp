// Transpose(Transpose(x, p1), p2) is one Transpose(x, q) with q[k] = p1[p2[k]] (output dim k
// of the pair is input dim p1[p2[k]]); when q is the identity both disappear. The first
// Transpose stays while it has other readers. A lone Transpose with the identity permutation
// is removed too.
#include <numeric>

#include "passes/pass_manager.h"

namespace edgekit {
namespace {

class MergeTransposes final : public GraphPass {
 public:
  const char* name() const override { return "merge_transposes"; }
  std::vector<std::string> op_types() const override { return {"Transpose"}; }

  bool apply(Graph& g) override {
    GraphUses uses(g);
    std::optional<StaticTypes> types;
    std::vector<bool> dead(g.nodes.size(), false);
    bool changed = false;
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      if (!is_transpose(g.nodes[i])) continue;
      if (!types) types.emplace(g);
      auto p2 = permutation(g.nodes[i], *types);
      if (!p2) continue;
      auto prod = uses.producer.find(g.nodes[i].inputs[0]);
      if (prod != uses.producer.end() && is_transpose(g.nodes[prod->second])) {
        auto p1 = permutation(g.nodes[prod->second], *types);
        if (p1 && p1->size() == p2->size()) {
          std::vector<int64_t> q(p2->size());
          for (size_t k = 0; k < q.size(); ++k) q[k] = (*p1)[size_t((*p2)[k])];
          uses.rewire(g, i, 0, g.nodes[prod->second].inputs[0]);
          g.nodes[i].attrs["perm"] = q;
          *p2 = q;
          changed = true;
        }
      }
      if (is_identity(*p2) && bypass_node(g, uses, i)) dead[i] = changed = true;
    }
    if (changed) erase_nodes(g, dead);
    return changed;
  }

 private:
  static bool is_transpose(const Node& n) {
    return n.op_type == "Transpose" && n.domain.empty() && n.has_input(0) && n.outputs.size() == 1;
  }

  // The perm attribute, or the reversal of the dims (the default) when the rank is known.
  static std::optional<std::vector<int64_t>> permutation(const Node& n, const StaticTypes& types) {
    if (n.has_attr("perm")) {
      std::vector<int64_t> perm = n.attr_ints("perm");
      std::vector<bool> seen(perm.size(), false);
      for (int64_t d : perm) {
        if (d < 0 || d >= int64_t(perm.size()) || seen[size_t(d)]) return std::nullopt;  // the kernel reports it
        seen[size_t(d)] = true;
      }
      return perm;
    }
    auto rank = types.rank(n.inputs[0]);
    if (!rank) return std::nullopt;
    std::vector<int64_t> perm(static_cast<size_t>(*rank));
    std::iota(perm.rbegin(), perm.rend(), int64_t(0));
    return perm;
  }

  static bool is_identity(const std::vector<int64_t>& perm) {
    for (size_t k = 0; k < perm.size(); ++k)
      if (perm[k] != int64_t(k)) return false;
    return true;
  }
};

}  // namespace

std::unique_ptr<GraphPass> make_merge_transposes() { return std::make_unique<MergeTransposes>(); }

}  // namespace edgekit
