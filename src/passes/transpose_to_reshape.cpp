// A Transpose that moves only dims of size 1 keeps the data in the same order: it is a
// Reshape (free: no copy), which collapse_reshapes can then merge with its neighbours. The
// NHWC region's exit after a global pool, [N, 1, 1, C] -> [N, C, 1, 1] before a Flatten,
// is the common case. The new shape keeps a symbolic dim that stays in place as 0 (copy)
// and allows one other unknown dim (-1).
#include "passes/pass_manager.h"

namespace edgekit {
namespace {

class TransposeToReshape final : public GraphPass {
 public:
  const char* name() const override { return "transpose_to_reshape"; }
  std::vector<std::string> op_types() const override { return {"Transpose"}; }

  bool apply(Graph& g) override {
    std::optional<StaticTypes> types;
    bool changed = false;
    for (auto& n : g.nodes) {
      if (n.op_type != "Transpose" || !n.domain.empty() || !n.has_input(0) || n.outputs.size() != 1 ||
          !n.has_attr("perm"))
        continue;
      if (!types) types.emplace(g);
      auto in = types->shape(n.inputs[0]);
      const std::vector<int64_t> perm = n.attr_ints("perm");
      if (!in || in->size() != perm.size()) continue;
      auto shape = reshape_target(*in, perm);
      if (!shape) continue;
      const std::string target = add_initializer(g, n.name + "_shape", Tensor::from<int64_t>(*shape, {int64_t(shape->size())}));
      n.op_type = "Reshape";
      n.attrs.clear();
      n.inputs = {n.inputs[0], target};
      if (n.opset > 0 && n.opset < 5) n.opset = 5;  // Reshape's shape became an input at opset 5
      changed = true;
    }
    return changed;
  }

 private:
  // The Reshape target equal to the Transpose, or nothing when it moves a dim that may not be 1.
  static std::optional<std::vector<int64_t>> reshape_target(const Shape& in, const std::vector<int64_t>& perm) {
    // Dims other than size 1 must keep their relative order.
    int64_t last = -1;
    for (int64_t p : perm) {
      if (p < 0 || p >= int64_t(in.size())) return std::nullopt;
      if (in[size_t(p)] == 1) continue;
      if (p < last) return std::nullopt;
      last = p;
    }
    std::vector<int64_t> out;
    int unknown = 0;
    for (size_t i = 0; i < perm.size(); ++i) {
      const int64_t d = in[size_t(perm[i])];
      if (d >= 0) {
        out.push_back(d);
      } else if (perm[i] == int64_t(i)) {
        out.push_back(0);  // stays in place: copy it
      } else {
        if (++unknown > 1) return std::nullopt;
        out.push_back(-1);
      }
    }
    return out;
  }
};

}  // namespace

std::unique_ptr<GraphPass> make_transpose_to_reshape() { return std::make_unique<TransposeToReshape>(); }

}  // namespace edgekit
