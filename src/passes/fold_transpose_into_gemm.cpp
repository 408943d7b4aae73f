// A 2-D Transpose feeding a Gemm operand becomes the Gemm's transA/transB flag: the GEMM reads
// the operand transposed while packing, so the transposed copy is never written. A 2-D MatMul
// with a transposed operand becomes such a Gemm. Transposes of constant weights are already
// folded into new constants by constant_folding; this covers computed operands (e.g. a weight
// shared through a Transpose with other readers, or activations).
#include "passes/pass_manager.h"

namespace edgekit {
namespace {

class FoldTransposeIntoGemm final : public GraphPass {
 public:
  const char* name() const override { return "fold_transpose_into_gemm"; }
  std::vector<std::string> op_types() const override { return {"Transpose"}; }

  bool apply(Graph& g) override {
    GraphUses uses(g);
    std::optional<StaticTypes> types;
    bool changed = false;
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      Node& n = g.nodes[i];
      if ((n.op_type != "Gemm" && n.op_type != "MatMul") || !n.domain.empty() || n.inputs.size() < 2) continue;
      if (n.opset > 0 && n.opset < 11) continue;  // Gemm's C is optional from opset 11
      for (size_t k = 0; k < 2; ++k) {
        auto p = uses.producer.find(n.inputs[k]);
        if (p == uses.producer.end() || !is_2d_transpose(g.nodes[p->second])) continue;
        if (!types) types.emplace(g);
        if (types->rank(g.nodes[p->second].inputs[0]) != 2) continue;
        if (n.op_type == "MatMul" && types->rank(n.inputs[1 - k]) != 2) continue;
        if (n.op_type == "MatMul") n.op_type = "Gemm";  // a fused activation carries over: Gemm has it too
        const char* flag = k == 0 ? "transA" : "transB";
        n.attrs[flag] = int64_t(n.attr_int(flag, 0) == 0 ? 1 : 0);
        n.inputs[k] = g.nodes[p->second].inputs[0];
        changed = true;  // the Transpose, if now unread, goes with eliminate_dead_nodes
      }
    }
    return changed;
  }

 private:
  static bool is_2d_transpose(const Node& t) {
    if (t.op_type != "Transpose" || !t.domain.empty() || !t.has_input(0)) return false;
    return !t.has_attr("perm") || t.attr_ints("perm") == std::vector<int64_t>{1, 0};
  }
};

}  // namespace

std::unique_ptr<GraphPass> make_fold_transpose_into_gemm() { return std::make_unique<FoldTransposeIntoGemm>(); }

}  // namespace edgekit
