// BatchNormalization after a Conv or Gemm with constant weights folds into them:
//   y = s * (conv(x, W) + b - mean) + beta,  s = scale / sqrt(var + eps)
//     = conv(x, W * s[m]) + ((b - mean) * s + beta)
// per output channel m. The producer must feed only this BatchNormalization, and every
// BatchNormalization input must be a constant f32 tensor of one value per channel. Weights are
// written as new initializers, since the originals may be shared with other nodes.
#include <cmath>

#include "passes/pass_manager.h"

namespace edgekit {
namespace {

struct BnCoefficients {
  std::vector<float> scale, shift;  // y = scale * x + shift, per channel
};

bool read_bn(const Graph& g, const Node& bn, int64_t channels, BnCoefficients& out) {
  if (bn.attr_int("training_mode", 0) != 0 || bn.inputs.size() < 5) return false;
  if (bn.opset > 0 && bn.opset < 9 && bn.attr_int("spatial", 1) != 1) return false;
  const Tensor* p[4];
  for (int k = 0; k < 4; ++k) {
    p[k] = constant_value(g, bn.inputs[size_t(k) + 1]);
    if (!p[k] || p[k]->dtype() != DType::f32 || p[k]->numel() != channels) return false;
  }
  float eps = bn.attr_float("epsilon", 1e-5f);
  out.scale.resize(size_t(channels));
  out.shift.resize(size_t(channels));
  for (int64_t c = 0; c < channels; ++c) {
    float gamma = p[0]->data<float>()[c], beta = p[1]->data<float>()[c];
    float mean = p[2]->data<float>()[c], var = p[3]->data<float>()[c];
    float s = gamma / std::sqrt(var + eps);
    out.scale[size_t(c)] = s;
    out.shift[size_t(c)] = beta - mean * s;
  }
  return true;
}

std::string fresh_name(const Graph& g, const std::string& base) {
  std::string name = base;
  for (int i = 1; g.initializers.count(name); ++i) name = cat(base, "_", i);
  return name;
}

class FoldBatchNorm final : public GraphPass {
 public:
  const char* name() const override { return "fold_batch_norm"; }
  std::vector<std::string> op_types() const override { return {"BatchNormalization"}; }

  bool apply(Graph& g) override {
    GraphUses uses(g);
    std::vector<bool> dead(g.nodes.size(), false);
    bool changed = false;
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      const Node& bn = g.nodes[i];
      if (bn.op_type != "BatchNormalization" || !bn.has_input(0)) continue;
      if (bn.outputs.size() > 1 && uses.use_count(bn.outputs[1]) + (bn.outputs.size() > 2 ? uses.use_count(bn.outputs[2]) : 0) > 0) continue;
      auto p = uses.producer.find(bn.inputs[0]);
      if (p == uses.producer.end() || dead[p->second]) continue;
      Node& prod = g.nodes[p->second];
      if (uses.use_count(bn.inputs[0]) != 1 || prod.outputs.size() != 1) continue;
      bool folded = prod.op_type == "Conv" ? fold_into_conv(g, prod, bn) : prod.op_type == "Gemm" && fold_into_gemm(g, prod, bn);
      if (!folded) continue;
      prod.outputs[0] = bn.outputs[0];
      dead[i] = changed = true;
    }
    if (changed) erase_nodes(g, dead);
    return changed;
  }

 private:
  static bool fold_into_conv(Graph& g, Node& conv, const Node& bn) {
    const Tensor* w = conv.inputs.size() > 1 ? constant_value(g, conv.inputs[1]) : nullptr;
    if (!w || w->dtype() != DType::f32 || w->rank() < 3) return false;
    const Tensor* b = conv.has_input(2) ? constant_value(g, conv.inputs[2]) : nullptr;
    if (conv.has_input(2) && (!b || b->dtype() != DType::f32)) return false;
    int64_t m = w->dim(0);
    BnCoefficients k;
    if (!read_bn(g, bn, m, k)) return false;
    Tensor w2 = w->clone();
    int64_t per = w->numel() / m;
    for (int64_t c = 0; c < m; ++c)
      for (int64_t j = 0; j < per; ++j) w2.data<float>()[c * per + j] *= k.scale[size_t(c)];
    Tensor b2(DType::f32, {m});
    for (int64_t c = 0; c < m; ++c)
      b2.data<float>()[c] = (b ? b->data<float>()[c] : 0.f) * k.scale[size_t(c)] + k.shift[size_t(c)];
    std::string wn = fresh_name(g, conv.name + "_W_bn"), bnn = fresh_name(g, conv.name + "_B_bn");
    g.initializers[wn] = w2;
    g.initializers[bnn] = b2;
    conv.inputs.resize(3);
    conv.inputs[1] = wn;
    conv.inputs[2] = bnn;
    return true;
  }

  // Gemm: Y = alpha * A' B' + beta * C with B' of shape [K, n]; columns of Y are channels.
  static bool fold_into_gemm(Graph& g, Node& gemm, const Node& bn) {
    const Tensor* w = gemm.inputs.size() > 1 ? constant_value(g, gemm.inputs[1]) : nullptr;
    if (!w || w->dtype() != DType::f32 || w->rank() != 2) return false;
    bool trans_b = gemm.attr_int("transB", 0) != 0;
    int64_t n = trans_b ? w->dim(0) : w->dim(1), kdim = trans_b ? w->dim(1) : w->dim(0);
    const Tensor* c = gemm.has_input(2) ? constant_value(g, gemm.inputs[2]) : nullptr;
    if (gemm.has_input(2) && (!c || c->dtype() != DType::f32 || !(c->numel() == 1 || c->numel() == n) ||
                              (c->rank() == 2 && c->dim(0) != 1)))
      return false;
    BnCoefficients k;
    if (!read_bn(g, bn, n, k)) return false;
    float beta = gemm.attr_float("beta", 1.f);
    Tensor w2 = w->clone();
    float* pw = w2.data<float>();
    for (int64_t r = 0; r < kdim; ++r)
      for (int64_t j = 0; j < n; ++j) (trans_b ? pw[j * kdim + r] : pw[r * n + j]) *= k.scale[size_t(j)];
    Tensor c2(DType::f32, {n});
    for (int64_t j = 0; j < n; ++j) {
      float cj = c ? beta * c->data<float>()[c->numel() == 1 ? 0 : j] : 0.f;
      c2.data<float>()[j] = cj * k.scale[size_t(j)] + k.shift[size_t(j)];
    }
    std::string wn = fresh_name(g, gemm.name + "_B_bn"), cn = fresh_name(g, gemm.name + "_C_bn");
    g.initializers[wn] = w2;
    g.initializers[cn] = c2;
    gemm.inputs.resize(3);
    gemm.inputs[1] = wn;
    gemm.inputs[2] = cn;
    gemm.attrs["beta"] = 1.f;
    return true;
  }
};

}  // namespace

std::unique_ptr<GraphPass> make_fold_batch_norm() { return std::make_unique<FoldBatchNorm>(); }

}  // namespace edgekit
