// Add(MatMul(A, B), C) with A and B 2-D and C a constant that broadcasts to the M x N product
// without growing it becomes Gemm(A, B, C): the bias is added while the output block is in
// cache instead of in a second pass, and the Gemm can take a fused activation later.
// Gemm is only 2-D, so batched (3-D) MatMuls of transformers stay as they are.
#include "passes/pass_manager.h"

namespace edgekit {
namespace {

class FuseMatMulAdd final : public GraphPass {
 public:
  const char* name() const override { return "fuse_matmul_add"; }
  std::vector<std::string> op_types() const override { return {"MatMul"}; }

  bool apply(Graph& g) override {
    GraphUses uses(g);
    std::optional<StaticTypes> types;
    std::vector<bool> dead(g.nodes.size(), false);
    bool changed = false;
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      const Node& add = g.nodes[i];
      if (add.op_type != "Add" || !add.domain.empty() || add.inputs.size() != 2 || add.outputs.size() != 1) continue;
      for (size_t side = 0; side < 2; ++side) {
        auto p = uses.producer.find(add.inputs[side]);
        if (p == uses.producer.end() || dead[p->second]) continue;
        Node& mm = g.nodes[p->second];
        const Tensor* c = constant_value(g, add.inputs[1 - side]);
        if (mm.op_type != "MatMul" || !mm.domain.empty() || !c || uses.use_count(add.inputs[side]) != 1) continue;
        if (mm.has_attr("_activation") || (mm.opset > 0 && mm.opset < 11)) continue;  // Gemm's C optional from 11
        if (!types) types.emplace(g);
        if (!fusable(mm, *c, *types)) continue;
        mm.op_type = "Gemm";
        mm.inputs.push_back(add.inputs[1 - side]);
        mm.outputs[0] = add.outputs[0];
        dead[i] = changed = true;
        break;
      }
    }
    if (changed) erase_nodes(g, dead);
    return changed;
  }

 private:
  // A and B are 2-D of one float dtype and C broadcasts to [M, N] (Gemm's unidirectional rule).
  static bool fusable(const Node& mm, const Tensor& c, const StaticTypes& types) {
    const ValueInfo* a = types.find(mm.inputs[0]);
    const ValueInfo* b = types.find(mm.inputs[1]);
    if (!a || !b || !a->shape_known || !b->shape_known || a->dims.size() != 2 || b->dims.size() != 2) return false;
    if (a->dtype != DType::f32 || b->dtype != DType::f32 || c.dtype() != DType::f32 || c.rank() > 2) return false;
    const Shape mn{a->dims[0], b->dims[1]};
    for (size_t k = 0; k < c.rank(); ++k) {
      const int64_t got = c.shape()[k], full = mn[2 - c.rank() + k];
      if (got != 1 && got != full) return false;  // an unknown M only takes a broadcast row
    }
    return true;
  }
};

}  // namespace

std::unique_ptr<GraphPass> make_fuse_matmul_add() { return std::make_unique<FuseMatMulAdd>(); }

}  // namespace edgekit
