// The exact GELU as exporters decompose it,
//   e = Erf(Div(x, sqrt 2) | Mul(x, 1 / sqrt 2)),  a = Add(e, 1),
//   y = Mul(Mul(x, a), 0.5) | Mul(Mul(x, 0.5), a) | Mul(Mul(a, 0.5), x)   (operands in any order)
// becomes one Gelu(x): five elementwise passes become one, and a Gemm or MatMul before it can
// take it as a fused activation at level 3.
//
// Gelu entered the default domain in opset 20. For older models the node is com.microsoft:Gelu
// (the same exact function, which ONNX Runtime also implements), so exported models stay
// loadable; the graph gains that domain's opset import.
#include <cmath>

#include "passes/pass_manager.h"

namespace edgekit {
namespace {

constexpr int kGeluOpset = 20;

bool near(std::optional<double> v, double want) { return v && std::fabs(*v - want) <= 1e-4 * std::fabs(want); }

class FuseGelu final : public GraphPass {
 public:
  const char* name() const override { return "fuse_gelu"; }
  std::vector<std::string> op_types() const override { return {"Erf"}; }

  bool apply(Graph& g) override {
    GraphUses uses(g);
    std::vector<bool> dead(g.nodes.size(), false);
    bool changed = false;
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      if (g.nodes[i].op_type != "Erf" || !g.nodes[i].domain.empty() || dead[i]) continue;
      std::string x;
      std::vector<size_t> nodes;
      if (!match(g, uses, i, x, nodes)) continue;
      bool taken = false;
      for (size_t k : nodes) taken = taken || dead[k];
      if (taken) continue;
      rewrite(g, nodes.back(), x);
      nodes.pop_back();
      for (size_t k : nodes) dead[k] = true;
      changed = true;
    }
    if (changed) erase_nodes(g, dead);
    return changed;
  }

 private:
  // Fills x and the pattern's nodes, the last one being the node whose output Gelu takes over.
  static bool match(const Graph& g, const GraphUses& uses, size_t erf, std::string& x, std::vector<size_t>& nodes) {
    const Node& e = g.nodes[erf];
    if (e.inputs.size() != 1 || uses.use_count(e.inputs[0]) != 1) return false;
    auto scale = uses.producer_is(g, e.inputs[0], "Div");
    if (scale && near(scalar_constant(g, g.nodes[*scale].inputs[1]), std::sqrt(2.0))) {
      x = g.nodes[*scale].inputs[0];
    } else if ((scale = uses.producer_is(g, e.inputs[0], "Mul"))) {
      const Node& m = g.nodes[*scale];
      const size_t side = near(scalar_constant(g, m.inputs[1]), std::sqrt(0.5)) ? 0 : 1;
      if (!near(scalar_constant(g, m.inputs[1 - side]), std::sqrt(0.5))) return false;
      x = m.inputs[side];
    } else {
      return false;
    }
    auto add = uses.sole_reader_is(g, e.outputs[0], "Add");
    if (!add || !near(scalar_constant(g, other_input(g.nodes[*add], e.outputs[0])), 1.0)) return false;
    const std::string a = g.nodes[*add].outputs[0];
    auto mul = uses.sole_reader_is(g, a, "Mul");
    if (!mul) return false;
    nodes = {*scale, erf, *add};
    const std::string other = other_input(g.nodes[*mul], a);
    const std::string out = g.nodes[*mul].outputs[0];
    if (other == x) {  // Mul(Mul(x, a), 0.5)
      auto half = uses.sole_reader_is(g, out, "Mul");
      if (!half || !near(scalar_constant(g, other_input(g.nodes[*half], out)), 0.5)) return false;
      nodes.insert(nodes.end(), {*mul, *half});
      return true;
    }
    if (near(scalar_constant(g, other), 0.5)) {  // Mul(Mul(a, 0.5), x)
      auto last = uses.sole_reader_is(g, out, "Mul");
      if (!last || other_input(g.nodes[*last], out) != x) return false;
      nodes.insert(nodes.end(), {*mul, *last});
      return true;
    }
    auto half = uses.producer_is(g, other, "Mul");  // Mul(Mul(x, 0.5), a)
    if (!half || uses.use_count(other) != 1) return false;
    const std::string other_half = other_input(g.nodes[*half], x);
    if (other_half.empty() || !near(scalar_constant(g, other_half), 0.5)) return false;
    nodes.insert(nodes.end(), {*half, *mul});
    return true;
  }

  // The input of a two-input node that is not `v`; "" when v is not one of them.
  static std::string other_input(const Node& n, const std::string& v) {
    if (n.inputs.size() != 2) return "";
    if (n.inputs[0] == v) return n.inputs[1];
    return n.inputs[1] == v ? n.inputs[0] : "";
  }

  static void rewrite(Graph& g, size_t last, const std::string& x) {
    auto opset = g.opsets.find("");
    const int model_opset = opset == g.opsets.end() ? 0 : opset->second;
    Node& n = g.nodes[last];
    n.op_type = "Gelu";
    n.attrs.clear();
    n.inputs = {x};
    n.outputs.resize(1);
    if (model_opset == 0 || model_opset >= kGeluOpset) {
      n.domain.clear();
      n.opset = model_opset;
      return;
    }
    n.domain = "com.microsoft";
    n.opset = 1;
    g.opsets.emplace("com.microsoft", 1);
  }
};

}  // namespace

std::unique_ptr<GraphPass> make_fuse_gelu() { return std::make_unique<FuseGelu>(); }

}  // namespace edgekit
