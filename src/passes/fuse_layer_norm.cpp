// The decomposed layer normalisation that exporters write for opsets before 17,
//   m = ReduceMean(x, axes)     d = Sub(x, m)          v = ReduceMean(Pow(d, 2) | Mul(d, d), axes)
//   n = Div(d, Sqrt(Add(v, eps)))   y = Add(Mul(n, gamma), beta)   (Mul and Add optional)
// becomes LayerNormalization(x, gamma, beta, axis, epsilon): one pass over each row instead of
// nine tensors. The axes must be the trailing ones (LayerNormalization normalises dims axis..;
// positive axes are read with x's static rank),
// eps, gamma and beta constants, gamma and beta of rank <= the normalised dims (so they
// broadcast over those dims only), and every intermediate read only inside the pattern.
//
// LayerNormalization is an opset-17 op. In a model of opset 13 to 16 the graph's default opset
// is raised to 17, which changes no other op of those models (their opset 14-17 revisions only
// add types or attributes whose defaults keep the old behaviour); below 13 nothing is fused.
#include <algorithm>
#include <cmath>

#include "passes/pass_manager.h"

namespace edgekit {
namespace {

constexpr int kLayerNormOpset = 17;

class FuseLayerNorm final : public GraphPass {
 public:
  const char* name() const override { return "fuse_layer_norm"; }
  std::vector<std::string> op_types() const override { return {"Sqrt"}; }

  bool apply(Graph& g) override {
    auto opset = g.opsets.find("");
    const int model_opset = opset == g.opsets.end() ? 0 : opset->second;
    if (model_opset > 0 && model_opset < 13) return false;
    GraphUses uses(g);
    std::optional<StaticTypes> types;
    std::vector<bool> dead(g.nodes.size(), false);
    bool changed = false;
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      if (g.nodes[i].op_type != "Sqrt" || !g.nodes[i].domain.empty() || dead[i]) continue;
      Match m;
      if (!match(g, uses, types, i, m)) continue;
      if (std::any_of(m.nodes.begin(), m.nodes.end(), [&](size_t k) { return dead[k]; })) continue;
      if (!types) types.emplace(g);
      if (!types->same_shape(m.x, g.nodes[m.last].outputs[0])) continue;  // gamma/beta must not broadcast x up
      rewrite(g, m, model_opset);
      for (size_t k : m.nodes)
        if (k != m.last) dead[k] = true;
      changed = true;
    }
    if (changed) erase_nodes(g, dead);
    if (changed && model_opset > 0 && model_opset < kLayerNormOpset) g.opsets[""] = kLayerNormOpset;
    return changed;
  }

 private:
  struct Match {
    std::string x, gamma, beta;
    int64_t axis = -1;
    float epsilon = 1e-5f;
    std::vector<size_t> nodes;  // every node of the pattern
    size_t last = 0;            // the node whose output the LayerNormalization takes over
  };

  // Reads the pattern around Sqrt node `sq`, inside out. Every intermediate has one reader,
  // except d, read by the variance and by the Div.
  static bool match(const Graph& g, const GraphUses& uses, std::optional<StaticTypes>& types, size_t sq, Match& m) {
    const Node& sqrt = g.nodes[sq];
    auto div = uses.sole_reader_is(g, sqrt.outputs[0], "Div");
    auto add_eps = uses.producer_is(g, sqrt.inputs[0], "Add");
    if (!div || !add_eps || g.nodes[*div].inputs[1] != sqrt.outputs[0] || uses.use_count(sqrt.inputs[0]) != 1)
      return false;
    const Node& add = g.nodes[*add_eps];
    size_t var_side = 0;
    std::optional<double> eps;
    for (; var_side < 2 && !(eps = scalar_constant(g, add.inputs[1 - var_side])); ++var_side) {}
    if (!eps || add.inputs.size() != 2) return false;
    auto var = uses.producer_is(g, add.inputs[var_side], "ReduceMean");
    if (!var || uses.use_count(add.inputs[var_side]) != 1) return false;
    const std::string d = g.nodes[*div].inputs[0];
    auto sub = uses.producer_is(g, d, "Sub");
    auto square = square_of(g, uses, g.nodes[*var].inputs[0], d);
    if (!sub || !square || uses.use_count(g.nodes[*var].inputs[0]) != 1) return false;
    const bool square_is_mul = g.nodes[*square].op_type == "Mul";
    if (uses.use_count(d) != (square_is_mul ? 3u : 2u)) return false;
    m.x = g.nodes[*sub].inputs[0];
    auto mean = uses.producer_is(g, g.nodes[*sub].inputs[1], "ReduceMean");
    if (!mean || g.nodes[*mean].inputs[0] != m.x || uses.use_count(g.nodes[*sub].inputs[1]) != 1) return false;
    auto axes = reduce_axes(g, g.nodes[*mean]);
    if (!axes || reduce_axes(g, g.nodes[*var]) != axes) return false;
    if (axes->front() >= 0 || axes->back() >= 0) {  // positive axes: made negative with x's rank
      if (!types) types.emplace(g);
      auto rank = types->rank(m.x);
      if (!rank) return false;
      for (int64_t& a : *axes) a = a >= 0 ? a - *rank : a;
      std::sort(axes->begin(), axes->end());
    }
    if (!trailing(*axes, m.axis)) return false;
    m.epsilon = float(*eps);
    m.nodes = {*mean, *sub, *square, *var, *add_eps, sq, *div};
    m.last = *div;
    if (!scale_and_shift(g, uses, m)) return false;
    return true;
  }

  // Pow(d, 2) or Mul(d, d) producing `value`.
  static std::optional<size_t> square_of(const Graph& g, const GraphUses& uses, const std::string& value,
                                         const std::string& d) {
    if (auto pow = uses.producer_is(g, value, "Pow")) {
      const Node& n = g.nodes[*pow];
      if (n.inputs.size() == 2 && n.inputs[0] == d && scalar_constant(g, n.inputs[1]) == 2.0) return pow;
    }
    if (auto mul = uses.producer_is(g, value, "Mul")) {
      const Node& n = g.nodes[*mul];
      if (n.inputs.size() == 2 && n.inputs[0] == d && n.inputs[1] == d) return mul;
    }
    return std::nullopt;
  }

  // Optional Mul(n, gamma) then Add(., beta), constants of x's float dtype.
  static bool scale_and_shift(const Graph& g, const GraphUses& uses, Match& m) {
    auto take = [&](const char* op, std::string& param) {
      auto k = uses.sole_reader_is(g, g.nodes[m.last].outputs[0], op);
      if (!k || g.nodes[*k].inputs.size() != 2) return;
      const Node& n = g.nodes[*k];
      const size_t side = n.inputs[0] == g.nodes[m.last].outputs[0] ? 1 : 0;
      const Tensor* t = constant_value(g, n.inputs[side]);
      if (!t || t->dtype() != DType::f32 || int64_t(t->rank()) > -m.axis) return;
      param = n.inputs[side];
      m.nodes.push_back(*k);
      m.last = *k;
    };
    take("Mul", m.gamma);
    if (!m.gamma.empty()) take("Add", m.beta);
    return true;
  }

  // ReduceMean's axes (attribute before opset 18, input from 18), sorted; keepdims must be 1.
  static std::optional<std::vector<int64_t>> reduce_axes(const Graph& g, const Node& n) {
    if (n.attr_int("keepdims", 1) != 1) return std::nullopt;
    std::vector<int64_t> axes;
    if (n.has_attr("axes")) {
      axes = n.attr_ints("axes");
    } else if (n.has_input(1)) {
      const Tensor* t = constant_value(g, n.inputs[1]);
      if (!t) return std::nullopt;
      axes = t->to_int_vector();
    }
    if (axes.empty()) return std::nullopt;  // all dims, or none with noop_with_empty_axes: not a row norm
    std::sort(axes.begin(), axes.end());
    return axes;
  }

  // Axes {-k, ..., -1}: LayerNormalization with axis -k.
  static bool trailing(const std::vector<int64_t>& axes, int64_t& axis) {
    for (size_t k = 0; k < axes.size(); ++k)
      if (axes[k] != int64_t(k) - int64_t(axes.size())) return false;
    axis = -int64_t(axes.size());
    return true;
  }

  static void rewrite(Graph& g, const Match& m, int model_opset) {
    std::string gamma = m.gamma;
    if (gamma.empty()) gamma = add_initializer(g, g.nodes[m.last].name + "_scale", Tensor::from<float>({1.f}, {1}));
    Node& n = g.nodes[m.last];
    n.op_type = "LayerNormalization";
    n.domain.clear();
    n.opset = std::max(model_opset, kLayerNormOpset);
    n.attrs.clear();
    n.attrs["axis"] = m.axis;
    n.attrs["epsilon"] = m.epsilon;
    n.inputs = {m.x, gamma};
    if (!m.beta.empty()) n.inputs.push_back(m.beta);
    n.outputs.resize(1);
  }
};

}  // namespace

std::unique_ptr<GraphPass> make_fuse_layer_norm() { return std::make_unique<FuseLayerNorm>(); }

}  // namespace edgekit
