// An activation that is the only reader of a Conv's or Gemm's output, or the SiLU pattern
// Mul(X, Sigmoid(X)), is fused into it (see kernels/epilogue.h): the activation runs on each output block while it is in cache, and one
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
    return {"Relu", "Clip", "Sigmoid", "HardSigmoid", "HardSwish", "LeakyRelu", "Tanh", "Mul"};
  }

  bool apply(Graph& g) override {
    GraphUses uses(g);
    std::vector<bool> dead(g.nodes.size(), false);
    bool changed = false;
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      if (g.nodes[i].op_type == "Mul") {
        changed |= fuse_silu(g, uses, i, dead);
        continue;
      }
      const Node& act = g.nodes[i];
      if (!FusedActivation::fusable(act.op_type) || !act.has_input(0) || act.outputs.size() != 1) continue;
      auto p = uses.producer.find(act.inputs[0]);
      if (p == uses.producer.end() || dead[p->second]) continue;
      Node& prod = g.nodes[p->second];
      if (!fusable_producer(prod) || uses.use_count(act.inputs[0]) != 1) continue;
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
  static bool fusable_producer(const Node& prod) {
    return (prod.op_type == "Conv" || prod.op_type == "Gemm") && prod.domain.empty() && !prod.has_attr("_activation") &&
           prod.outputs.size() == 1;
  }

  // Mul(X, Sigmoid(X)) (either order) after a Conv/Gemm producing X, with X read by just these
  // two nodes: SiLU, the activation of EfficientNet and YOLO-style models.
  static bool fuse_silu(Graph& g, const GraphUses& uses, size_t mul_index, std::vector<bool>& dead) {
    const Node& mul = g.nodes[mul_index];
    if (mul.inputs.size() != 2 || mul.outputs.size() != 1 || !mul.domain.empty()) return false;
    for (int side = 0; side < 2; ++side) {
      const std::string& x = mul.inputs[size_t(side)];
      const std::string& sig = mul.inputs[size_t(1 - side)];
      auto ps = uses.producer.find(sig);
      auto px = uses.producer.find(x);
      if (ps == uses.producer.end() || px == uses.producer.end() || dead[ps->second] || dead[px->second]) continue;
      const Node& sigmoid = g.nodes[ps->second];
      if (sigmoid.op_type != "Sigmoid" || sigmoid.inputs.size() != 1 || sigmoid.inputs[0] != x) continue;
      Node& prod = g.nodes[px->second];
      if (!fusable_producer(prod) || uses.use_count(x) != 2 || uses.use_count(sig) != 1) continue;
      prod.attrs["_activation"] = std::string("SiLU");
      prod.attrs["_activation_alpha"] = 0.f;
      prod.attrs["_activation_beta"] = 0.f;
      prod.outputs[0] = mul.outputs[0];
      dead[ps->second] = dead[mul_index] = true;
      return true;
    }
    return false;
  }

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
