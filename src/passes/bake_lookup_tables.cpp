// bake_lookup_tables: a com.edgekit:QLookup that names a float function (Sigmoid, Tanh, the
// requantizing Identity, ...) with constant quantization parameters becomes the same QLookup
// holding its 256-entry table as a constant input (input 5), computed here by the node's own
// kernel on every input byte, so the bytes are unchanged. The table is then made once, when the
// model is compiled, instead of at every load by running the function's reference kernel, and a
// runtime needs no kernel for the function (a selective build, -DEDGEKIT_RT_OPS, leaves it out).
#include <algorithm>
#include <optional>

#include "kernels/op.h"
#include "passes/pass.h"

namespace edgekit {
namespace {

class BakeLookupTables final : public GraphPass {
 public:
  const char* name() const override { return "bake_lookup_tables"; }
  std::vector<std::string> op_types() const override { return {"QLookup"}; }

  bool apply(Graph& g) override {
    bool changed = false;
    std::optional<FreshNames> names;  // made once: a graph may hold thousands of lookups
    for (Node& n : g.nodes) {
      if (n.op_type != "QLookup" || n.domain != kEdgekitDomain || n.inputs.size() != 5 ||
          n.attr_string("function", "").empty())
        continue;
      std::vector<Tensor> in = constant_inputs(g, n);
      if (!std::all_of(in.begin() + 1, in.end(), [](const Tensor& t) { return t.defined(); })) continue;
      const DType xt = in[2].dtype();
      if (xt != DType::i8 && xt != DType::u8) continue;  // the kernel reports it at load
      in[0] = Tensor(xt, {256});
      for (int b = 0; b < 256; ++b) static_cast<uint8_t*>(in[0].raw())[b] = uint8_t(b);
      Tensor table;
      try {
        table = run_node(n, in).at(0);
      } catch (const Error&) {
        continue;  // parameters the kernel refuses: left for it to say so when the model loads
      }
      if (!names) names.emplace(g);
      const std::string name = names->fresh(n.name + "/table");
      g.initializers[name] = std::move(table);
      n.inputs.push_back(name);
      n.attrs.clear();  // the function and its attributes are in the table now
      changed = true;
    }
    return changed;
  }
};

}  // namespace

std::unique_ptr<GraphPass> make_bake_lookup_tables() { return std::make_unique<BakeLookupTables>(); }

}  // namespace edgekit
