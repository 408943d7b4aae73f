// An activation that is the only reader of a Conv's, Gemm's or MatMul's output is fused into
// it (see kernels/epilogue.h): the activation runs on each output block while it is in cache,
// and one node, one tensor and one pass over memory disappear. Fused:
//   Relu, Clip (constant bounds; Relu6), Sigmoid, HardSigmoid, HardSwish, LeakyRelu, Tanh,
//   Gelu (exact: approximate="none", or com.microsoft:Gelu),
//   SiLU     Mul(X, Sigmoid(X))                         (EfficientNet, YOLO)
//   HardSwish Mul(X, HardSigmoid(X, 1/6, 1/2))          (MobileNetV3 as exported before opset 14)
// where X is read by just the pattern. A producer with a fused residual (fuse_residual_add)
// still takes an activation, which then runs after the residual add as the Add did.
#include <cmath>
#include <limits>

#include "kernels/epilogue.h"
#include "passes/pass_manager.h"

namespace edgekit {
namespace {

class FuseActivation final : public GraphPass {
 public:
  const char* name() const override { return "fuse_activation"; }
  std::vector<std::string> op_types() const override {
    return {"Relu", "Clip", "Sigmoid", "HardSigmoid", "HardSwish", "LeakyRelu", "Tanh", "Gelu"};
  }

  bool apply(Graph& g) override {
    GraphUses uses(g);
    std::optional<StaticTypes> types;
    std::vector<bool> dead(g.nodes.size(), false);
    bool changed = false;
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      const Node& act = g.nodes[i];
      if (!FusedActivation::fusable(act.op_type) || !act.has_input(0) || act.outputs.size() != 1 || dead[i]) continue;
      if (!is_standard_activation(act)) continue;
      // The gated forms: the activation feeds a Mul that also reads the activation's input.
      std::optional<size_t> mul = uses.sole_reader_is(g, act.outputs[0], "Mul");
      const char* gated = mul ? gated_kind(act, g.nodes[*mul]) : nullptr;
      const std::string x = act.inputs[0];
      auto p = uses.producer.find(x);
      if (p == uses.producer.end() || dead[p->second]) continue;
      Node& prod = g.nodes[p->second];
      if (uses.use_count(x) != (gated ? 2u : 1u) || !fusable_producer(prod, types, g)) continue;
      float alpha = 0.f, beta = 0.f;
      if (!gated && !parameters(g, act, alpha, beta)) continue;
      prod.attrs["_activation"] = std::string(gated ? gated : act.op_type.c_str());
      prod.attrs["_activation_alpha"] = alpha;
      prod.attrs["_activation_beta"] = beta;
      prod.outputs[0] = gated ? g.nodes[*mul].outputs[0] : act.outputs[0];
      dead[i] = changed = true;
      if (gated) dead[*mul] = true;
    }
    if (changed) erase_nodes(g, dead);
    return changed;
  }

 private:
  static bool is_standard_activation(const Node& act) {
    if (act.op_type == "Gelu") {
      if (act.domain == "com.microsoft") return true;
      return act.domain.empty() && act.attr_string("approximate", "none") == "none";
    }
    return act.domain.empty();
  }

  // "SiLU" for Mul(X, Sigmoid(X)), "HardSwish" for Mul(X, HardSigmoid(X)) with HardSwish's
  // constants, else nullptr.
  static const char* gated_kind(const Node& act, const Node& mul) {
    if (mul.inputs.size() != 2 || mul.outputs.size() != 1 || act.inputs.size() != 1) return nullptr;
    const bool reads_x = (mul.inputs[0] == act.inputs[0] && mul.inputs[1] == act.outputs[0]) ||
                         (mul.inputs[1] == act.inputs[0] && mul.inputs[0] == act.outputs[0]);
    if (!reads_x) return nullptr;
    if (act.op_type == "Sigmoid") return "SiLU";
    if (act.op_type != "HardSigmoid") return nullptr;
    const float alpha = act.attr_float("alpha", 0.2f), beta = act.attr_float("beta", 0.5f);
    return std::fabs(alpha - 1.f / 6.f) < 1e-6f && beta == 0.5f ? "HardSwish" : nullptr;
  }

  // Conv, Gemm or MatMul of floats without an activation of its own.
  static bool fusable_producer(const Node& prod, std::optional<StaticTypes>& types, const Graph& g) {
    if (!prod.domain.empty() || prod.has_attr("_activation") || prod.outputs.size() != 1) return false;
    if (prod.op_type == "Conv") return true;  // float-only op
    if (prod.op_type != "Gemm" && prod.op_type != "MatMul") return false;
    if (!types) types.emplace(g);
    const ValueInfo* out = types->find(prod.outputs[0]);
    return out && (out->dtype == DType::f32 || out->dtype == DType::f64);
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
