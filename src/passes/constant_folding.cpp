// A node all of whose inputs are constants (initializers, or none, as Constant has) is
// evaluated once with its reference kernel and its outputs become initializers. Folding is
// skipped when it would grow the model a lot (outputs over 1M elements and larger than the
// inputs, e.g. a ConstantOfShape of a big shape), and for ops whose result must differ per run.
#include <set>

#include "kernels/op.h"
#include "passes/pass_manager.h"

namespace edgekit {
namespace {

constexpr int64_t kMaxFoldedElements = 1 << 20;

class ConstantFolding final : public GraphPass {
 public:
  const char* name() const override { return "constant_folding"; }

  bool apply(Graph& g) override {
    GraphUses uses(g);
    std::vector<bool> dead(g.nodes.size(), false);
    bool changed = false;
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      const Node& n = g.nodes[i];
      if (is_nondeterministic(n.op_type) || !op_supported(n.op_type, n.domain)) continue;
      std::vector<Tensor> inputs;
      int64_t in_elems = 0;
      bool all_constant = true;
      for (size_t k = 0; k < n.inputs.size() && all_constant; ++k) {
        if (n.inputs[k].empty()) {
          inputs.emplace_back();
          continue;
        }
        const Tensor* t = constant_value(g, n.inputs[k]);
        all_constant = t != nullptr;
        if (t) {
          inputs.push_back(*t);
          in_elems += t->numel();
        }
      }
      if (!all_constant) continue;
      bool feeds_output = false, read = false;
      for (const auto& o : n.outputs) {
        feeds_output = feeds_output || uses.is_graph_output(o);
        read = read || (!o.empty() && uses.use_count(o) > 0);
      }
      if (feeds_output) continue;  // keep a node producing each graph output
      // Nothing reads it (e.g. the weights' DequantizeLinear fuse_qdq leaves behind):
      // eliminate_dead_nodes removes it without computing it.
      if (!read) continue;
      std::vector<Tensor> outs;
      try {
        outs = run_node(n, inputs);
      } catch (const Error&) {
        continue;  // leave it to fail, with its message, when the model runs
      }
      int64_t out_elems = 0;
      for (const auto& t : outs) out_elems += t.defined() ? t.numel() : 0;
      if (out_elems > kMaxFoldedElements && out_elems > in_elems) continue;
      for (size_t k = 0; k < outs.size(); ++k)
        if (!n.outputs[k].empty() && outs[k].defined()) g.initializers[n.outputs[k]] = outs[k];
      dead[i] = changed = true;
    }
    if (changed) erase_nodes(g, dead);
    return changed;
  }

 private:
  static bool is_nondeterministic(const std::string& op) {
    static const std::set<std::string> ops = {"RandomNormal", "RandomUniform", "RandomNormalLike",
                                              "RandomUniformLike", "Multinomial", "Bernoulli"};
    return ops.count(op) != 0;
  }
};

}  // namespace

std::unique_ptr<GraphPass> make_constant_folding() { return std::make_unique<ConstantFolding>(); }

}  // namespace edgekit
