// Shape and Size of a value whose static shape (infer_shapes) is known become constants; so
// does Gather(Shape(x), constant indices) when just the gathered dims are known, which is the
// common case for models exported with a dynamic batch: x.size(1) is a constant even when
// x.size(0) is not. Constant folding then evaluates what reads them (Div, Unsqueeze, Concat).
#include <algorithm>

#include "kernels/op.h"
#include "passes/pass_manager.h"

namespace edgekit {
namespace {

class FoldShape final : public GraphPass {
 public:
  const char* name() const override { return "fold_shape"; }
  std::vector<std::string> op_types() const override { return {"Shape", "Size"}; }

  bool apply(Graph& g) override {
    GraphUses uses(g);
    std::optional<StaticTypes> types;  // built on the first candidate only
    std::vector<bool> dead(g.nodes.size(), false);  // nodes whose output became an initializer
    bool changed = false;
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      const Node& n = g.nodes[i];
      if ((n.op_type != "Shape" && n.op_type != "Size") || !n.domain.empty() || !n.has_input(0)) continue;
      if (n.outputs.size() != 1 || g.initializers.count(n.outputs[0]) || uses.is_graph_output(n.outputs[0])) continue;
      if (!types) types.emplace(g);
      auto shape = types->shape(n.inputs[0]);
      if (!shape) continue;
      const Shape dims = n.op_type == "Shape" ? selected_dims(n, *shape) : Shape{};
      if (n.op_type == "Size") {
        bool known = true;
        for (int64_t d : *shape) known = known && d >= 0;
        if (known) dead[i] = set_constant(g, n.outputs[0], Tensor::scalar<int64_t>(shape_numel(*shape)));
        continue;
      }
      bool all_known = true;
      for (int64_t d : dims) all_known = all_known && d >= 0;
      if (all_known) {
        dead[i] = set_constant(g, n.outputs[0], Tensor::from<int64_t>(dims, {int64_t(dims.size())}));
        continue;
      }
      for (size_t reader : uses.consumers[n.outputs[0]])
        if (!dead[reader] && !uses.is_graph_output(g.nodes[reader].outputs.empty() ? "" : g.nodes[reader].outputs[0]))
          dead[reader] = fold_gather(g, g.nodes[reader], n.outputs[0], dims);
    }
    for (bool d : dead) changed = changed || d;
    if (changed) erase_nodes(g, dead);  // a Shape left without readers goes with eliminate_dead_nodes
    return changed;
  }

 private:
  // Shape's start/end (opset 15) select a slice of the dims, clamped like Slice.
  static Shape selected_dims(const Node& n, const Shape& shape) {
    const int64_t rank = int64_t(shape.size());
    auto clamp = [&](int64_t v) { return std::clamp(v < 0 ? v + rank : v, int64_t(0), rank); };
    const int64_t start = clamp(n.attr_int("start", 0)), end = clamp(n.attr_int("end", rank));
    return start < end ? Shape(shape.begin() + start, shape.begin() + end) : Shape{};
  }

  // The node's output becomes an initializer of the same name (readers keep their inputs);
  // the caller erases the node.
  static bool set_constant(Graph& g, const std::string& value, Tensor t) {
    g.initializers[value] = std::move(t);
    return true;
  }

  // Gather(shape, constant indices, axis 0) whose gathered dims are all known.
  static bool fold_gather(Graph& g, const Node& gather, const std::string& shape_value, const Shape& dims) {
    if (gather.op_type != "Gather" || !gather.domain.empty() || gather.inputs.size() != 2 ||
        gather.inputs[0] != shape_value || gather.outputs.size() != 1 || gather.attr_int("axis", 0) != 0)
      return false;
    const Tensor* idx = constant_value(g, gather.inputs[1]);
    if (!idx || (idx->dtype() != DType::i64 && idx->dtype() != DType::i32)) return false;
    const int64_t rank = int64_t(dims.size());
    std::vector<int64_t> out;
    for (int64_t k = 0; k < idx->numel(); ++k) {
      int64_t j = idx->as_int(k);
      j = j < 0 ? j + rank : j;
      if (j < 0 || j >= rank || dims[size_t(j)] < 0) return false;  // out of range: the kernel reports it
      out.push_back(dims[size_t(j)]);
    }
    Tensor t = Tensor::from<int64_t>(out, {int64_t(out.size())}).reshaped(idx->shape());
    return set_constant(g, gather.outputs[0], t);
  }
};

}  // namespace

std::unique_ptr<GraphPass> make_fold_shape() { return std::make_unique<FoldShape>(); }

}  // namespace edgekit
