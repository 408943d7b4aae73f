// An activation that is the only reader of a Conv's or Gemm's output is fused into it (see
// kernels/epilogue.h): the activation runs on each output block while it is in cache, and one
// node, one tensor and one pass over memory disappear.
#include <limits>

#include "kernels/epilogue.h"
#include "passes/pass_manager.h"

namespace edgekit {
namespace {

class FuseActivation final : public GraphPass {
 public:
  const char* name() const override { return "fuse_activation"; }
  std::vector<std::string> op_types() const override {
    return {"Relu", "Clip", "Sigmoid", "HardSigmoid", "HardSwish", "LeakyRelu", "Tanh"};
  }

  bool apply(Graph& g) override {
    GraphUses uses(g);
    std::vector<bool> dead(g.nodes.size(), false);
    bool changed = false;
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      const Node& act = g.nodes[i];
      if (!FusedActivation::fusable(act.op_type) || !act.has_input(0) || act.outputs.size() != 1) continue;
      auto p = uses.producer.find(act.inputs[0]);
      if (p == uses.producer.end() || dead[p->second]) continue;
      Node& prod = g.nodes[p->second];
      if ((prod.op_type != "Conv" && prod.op_type != "Gemm") || !prod.domain.empty()) continue;
      if (prod.has_attr("_activation") || prod.outputs.size() != 1 || uses.use_count(act.inputs[0]) != 1) continue;
      float alpha = 0.f, beta = 0.f;
      if (!parameters(g, act, alpha, beta)) continue;
      prod.attrs["_activation"] = act.op_type;
      prod.attrs["_activation_alpha"] = alpha;
      prod.attrs["_activation_beta"] = beta;
      prod.outputs[0] = act.outputs[0];
      dead[i] = changed = true;
    }
    if (changed) erase_nodes(g, dead);
    return changed;
  }

 private:
  // The activation's parameters as FusedActivation reads them; false when not constant.
  static bool parameters(const Graph& g, const Node& act, float& alpha, float& beta) {
    if (act.op_type == "LeakyRelu") alpha = act.attr_float("alpha", 0.01f);
    if (act.op_type == "HardSigmoid") {
      alpha = act.attr_float("alpha", 0.2f);
      beta = act.attr_float("beta", 0.5f);
    }
    if (act.op_type != "Clip") return true;
    alpha = -std::numeric_limits<float>::infinity();
    beta = std::numeric_limits<float>::infinity();
    if (act.opset > 0 && act.opset < 11) {
      alpha = act.attr_float("min", alpha);
      beta = act.attr_float("max", beta);
      return true;
    }
    for (size_t k = 1; k <= 2; ++k) {
      if (!act.has_input(k)) continue;
      const Tensor* t = constant_value(g, act.inputs[k]);
      if (!t || t->dtype() != DType::f32 || t->numel() != 1) return false;
      (k == 1 ? alpha : beta) = t->data<float>()[0];
    }
    return true;
  }
};

}  // namespace

std::unique_ptr<GraphPass> make_fuse_activation() { return std::make_unique<FuseActivation>(); }

}  // namespace edgekit
