// Exporters build a Reshape's target shape at run time from the data's own dims:
//   Reshape(x, Concat(Unsqueeze(Gather(Shape(v), 0)), [-1], [7], ...))
// After fold_shape and constant folding only the dynamic dims (the batch) remain computed.
// The target becomes a constant when each remaining computed part is either
//   - dim i of some v that is the same dim (same symbol) as x's dim at that position p: 0,
//     which Reshape reads as "copy x's dim p" (allowzero = 0), or
//   - one other one-element part: -1, "inferred from the element count" (at most one, and
//     only when the constant parts hold no -1 already).
// The Shape/Gather/Unsqueeze/Concat nodes are then dead and removed.
// One caveat of -1: an inferred dim cannot be 0, so an empty batch that the original graph
// reshaped explicitly is refused by Reshape instead.
#include "passes/pass_manager.h"

namespace edgekit {
namespace {

class ConstantReshapeShape final : public GraphPass {
 public:
  const char* name() const override { return "constant_reshape_shape"; }
  std::vector<std::string> op_types() const override { return {"Reshape"}; }

  bool apply(Graph& g) override {
    GraphUses uses(g);
    std::optional<StaticTypes> types;
    bool changed = false;
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      const Node& n = g.nodes[i];
      if (n.op_type != "Reshape" || !n.domain.empty() || n.inputs.size() != 2 || n.attr_int("allowzero", 0) != 0)
        continue;
      if (constant_value(g, n.inputs[1])) continue;
      auto p = uses.producer.find(n.inputs[1]);
      if (p == uses.producer.end() || g.nodes[p->second].op_type != "Concat") continue;
      const Node& concat = g.nodes[p->second];
      if (concat.attr_int("axis", 0) != 0 && concat.attr_int("axis", 0) != -1) continue;
      if (!types) types.emplace(g);
      std::vector<int64_t> target;
      if (!resolve(g, uses, *types, concat, n.inputs[0], target)) continue;
      const std::string shape_name =
          add_initializer(g, n.name + "_shape", Tensor::from<int64_t>(target, {int64_t(target.size())}));
      g.nodes[i].inputs[1] = shape_name;
      changed = true;
    }
    return changed;
  }

 private:
  static bool resolve(const Graph& g, const GraphUses& uses, const StaticTypes& types, const Node& concat,
                      const std::string& x, std::vector<int64_t>& target) {
    bool has_minus_one = false;
    int unknown = 0;
    for (const std::string& part : concat.inputs) {
      if (const Tensor* t = constant_value(g, part)) {
        if (t->dtype() != DType::i64 || t->rank() != 1) return false;
        for (int64_t k = 0; k < t->numel(); ++k) {
          target.push_back(t->as_int(k));
          has_minus_one = has_minus_one || target.back() == -1;
        }
        continue;
      }
      auto shape = types.shape(part);
      if (!shape || *shape != Shape{1}) return false;
      std::string v;
      int64_t dim = -1;
      if (dim_of(g, uses, types, part, v, dim) && types.same_dim(v, size_t(dim), x, target.size())) {
        target.push_back(0);
      } else {
        target.push_back(-1);
        ++unknown;
      }
    }
    return unknown == 0 || (unknown == 1 && !has_minus_one);
  }

  // `part` is dim `dim` of `v`: Unsqueeze(Gather(Shape(v), scalar i)) or Gather(Shape(v), [i]).
  static bool dim_of(const Graph& g, const GraphUses& uses, const StaticTypes& types, const std::string& part,
                     std::string& v, int64_t& dim) {
    const Node* n = producer(g, uses, part);
    if (n && n->op_type == "Unsqueeze") {
      auto in = types.shape(n->inputs[0]);
      if (!in || !in->empty()) return false;  // a scalar made 1-D: the axis can only be 0
      n = producer(g, uses, n->inputs[0]);
    }
    if (!n || n->op_type != "Gather" || n->attr_int("axis", 0) != 0 || n->inputs.size() != 2) return false;
    const Tensor* idx = constant_value(g, n->inputs[1]);
    const Node* shape = producer(g, uses, n->inputs[0]);
    if (!idx || idx->numel() != 1 || !shape || shape->op_type != "Shape" || shape->attr_int("start", 0) != 0)
      return false;
    auto rank = types.rank(shape->inputs[0]);
    if (!rank) return false;
    v = shape->inputs[0];
    dim = idx->as_int(0) < 0 ? idx->as_int(0) + *rank : idx->as_int(0);
    return dim >= 0 && dim < *rank;
  }

  static const Node* producer(const Graph& g, const GraphUses& uses, const std::string& value) {
    auto p = uses.producer.find(value);
    return p == uses.producer.end() || !g.nodes[p->second].domain.empty() ? nullptr : &g.nodes[p->second];
  }
};

}  // namespace

std::unique_ptr<GraphPass> make_constant_reshape_shape() { return std::make_unique<ConstantReshapeShape>(); }

}  // namespace edgekit
