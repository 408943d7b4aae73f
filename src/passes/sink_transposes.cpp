// Elementwise ops commute with a Transpose: op(T(a), T(b)) = T(op(a, b)) when every operand
// is transposed by the same permutation (one-element constants broadcast the same either way).
// Moving the Transpose after the op lets merge_transposes cancel it against the next one:
// TFLite models imported as NCHW ops between layout Transposes (formats/tflite) have
//   Conv -> T(to NHWC) -> Add(., T(...)) -> Relu -> T(to NCHW) -> Conv
// where the Add and Relu can run in NCHW and both Transposes go. A move is made only when it
// cannot add work: the op's operands' Transposes have no other reader, or the op's only reader
// is a Transpose that will merge with the moved one.
#include <set>

#include "passes/pass_manager.h"

namespace edgekit {
namespace {

const std::set<std::string>& elementwise_ops() {
  static const std::set<std::string> ops = {
      "Add", "Sub", "Mul", "Div", "Max", "Min", "Relu", "Sigmoid", "Tanh", "LeakyRelu", "HardSigmoid", "HardSwish",
      "Clip", "Abs", "Neg", "Exp", "Sqrt", "Erf", "Elu", "Selu", "Softplus", "Gelu"};
  return ops;
}

class SinkTransposes final : public GraphPass {
 public:
  const char* name() const override { return "sink_transposes"; }
  std::vector<std::string> op_types() const override { return {"Transpose"}; }

  bool apply(Graph& g) override {
    GraphUses uses(g);
    std::vector<Node> added;
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      Node& n = g.nodes[i];
      if (!n.domain.empty() || !elementwise_ops().count(n.op_type) || n.outputs.size() != 1 || n.inputs.empty())
        continue;
      std::vector<int64_t> perm;
      std::vector<size_t> transposes;
      if (!operands_transposed(g, uses, n, perm, transposes)) continue;
      bool only_readers = true;
      for (size_t t : transposes) only_readers = only_readers && uses.use_count(g.nodes[t].outputs[0]) == 1;
      auto next = uses.consumers.find(n.outputs[0]);
      const bool merges_after = uses.use_count(n.outputs[0]) == 1 && next != uses.consumers.end() &&
                                g.nodes[next->second[0]].op_type == "Transpose";
      if (!only_readers && !merges_after) continue;
      for (size_t k = 0; k < n.inputs.size(); ++k) {
        auto p = uses.producer.find(n.inputs[k]);
        if (p != uses.producer.end() && g.nodes[p->second].op_type == "Transpose" && !constant_value(g, n.inputs[k]))
          n.inputs[k] = g.nodes[p->second].inputs[0];
      }
      const std::string out = n.outputs[0];
      n.outputs[0] = fresh_name(g, out + "_untransposed");
      Node t;
      t.name = fresh_name(g, n.name + "_transpose");
      t.op_type = "Transpose";
      t.opset = n.opset;
      t.inputs = {n.outputs[0]};
      t.outputs = {out};
      t.attrs["perm"] = perm;
      added.push_back(std::move(t));
    }
    if (added.empty()) return false;
    for (auto& t : added) g.nodes.push_back(std::move(t));
    g.topo_sort();  // each new Transpose goes right after its op
    return true;    // input Transposes left unread go with eliminate_dead_nodes
  }

 private:
  // Every operand is either a one-element constant or a Transpose output with the same perm
  // (given explicitly), and at least one is a Transpose.
  static bool operands_transposed(const Graph& g, const GraphUses& uses, const Node& n, std::vector<int64_t>& perm,
                                  std::vector<size_t>& transposes) {
    for (size_t k = 0; k < n.inputs.size(); ++k) {
      if (n.inputs[k].empty()) continue;
      if (const Tensor* c = constant_value(g, n.inputs[k])) {
        if (c->numel() != 1 || c->rank() > 1) return false;  // a higher-rank one could raise the rank
        continue;
      }
      auto t = uses.producer_is(g, n.inputs[k], "Transpose");
      if (!t || !g.nodes[*t].has_attr("perm") || !g.nodes[*t].has_input(0)) return false;
      const std::vector<int64_t> p = g.nodes[*t].attr_ints("perm");
      if (!perm.empty() && p != perm) return false;
      perm = p;
      transposes.push_back(*t);
    }
    return !transposes.empty();
  }
};

}  // namespace

std::unique_ptr<GraphPass> make_sink_transposes() { return std::make_unique<SinkTransposes>(); }

}  // namespace edgekit
