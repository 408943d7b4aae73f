// ConvNhwc 3x3 convolutions of stride 1 that Winograd's F(4x4, 3x3) is expected to run faster
// (kernels/winograd.h: winograd_pays, on the static shapes) get `_winograd = 1`; the kernel
// then packs transformed weights instead of the direct convolution's. The decision is made
// here, once, where the shapes are known, so that `edgekit inspect` shows it and a compiled
// model keeps it. A kernel given other shapes at run time still computes correctly.
#include "kernels/winograd.h"
#include "passes/pass_manager.h"

namespace edgekit {
namespace {

class ChooseWinograd final : public GraphPass {
 public:
  const char* name() const override { return "choose_winograd"; }
  std::vector<std::string> op_types() const override { return {"ConvNhwc"}; }

  bool apply(Graph& g) override {
    std::optional<StaticTypes> types;
    bool changed = false;
    for (Node& n : g.nodes) {
      if (n.domain != kEdgekitDomain || n.op_type != "ConvNhwc" || n.has_attr("_winograd") || n.inputs.size() < 2 ||
          n.attr_int("group", 1) != 1 || n.attr_ints("strides", {1, 1}) != std::vector<int64_t>{1, 1} ||
          n.attr_ints("dilations", {1, 1}) != std::vector<int64_t>{1, 1})
        continue;
      const Tensor* w = constant_value(g, n.inputs[1]);
      if (!w || w->dtype() != DType::f32 || w->rank() != 4 || w->dim(2) != 3 || w->dim(3) != 3) continue;
      if (n.inputs.size() > 2 && !n.inputs[2].empty() && !constant_value(g, n.inputs[2])) continue;
      if (!types) types.emplace(g);
      const std::optional<Shape> x = types->shape(n.inputs[0]), y = types->shape(n.outputs[0]);
      if (!x || !y || x->size() != 4 || y->size() != 4 || (*x)[3] != w->dim(1) || (*y)[1] <= 0 || (*y)[2] <= 0)
        continue;
      if (!winograd_pays(w->dim(1), w->dim(0), (*y)[1], (*y)[2])) continue;
      n.attrs["_winograd"] = int64_t(1);
      changed = true;
    }
    return changed;
  }
};

}  // namespace

std::unique_ptr<GraphPass> make_choose_winograd() { return std::make_unique<ChooseWinograd>(); }

}  // namespace edgekit
