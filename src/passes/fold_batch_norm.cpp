// BatchNormalization after a Conv, ConvTranspose, Gemm or 2-D MatMul with constant weights
// folds into them:
//   y = s * (conv(x, W) + b - mean) + beta,  s = scale / sqrt(var + eps)
//     = conv(x, W * s[m]) + ((b - mean) * s + beta)
// per output channel m. The producer must feed only this BatchNormalization, and every
// BatchNormalization input must be a constant f32 tensor of one value per channel. Weights are
// written as new initializers, since the originals may be shared with other nodes. A MatMul
// becomes a Gemm, whose C input carries the folded shift (its channel dim, BatchNormalization's
// dim 1, is the MatMul's last dim only for a 2-D output).
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
      if (!prod.domain.empty() || !fold(g, prod, bn)) continue;
      prod.outputs[0] = bn.outputs[0];
      dead[i] = changed = true;
    }
    if (changed) erase_nodes(g, dead);
    return changed;
  }

 private:
  static bool fold(Graph& g, Node& prod, const Node& bn) {
    // A fused epilogue runs after the bias, so a BatchNormalization after it cannot move inside.
    if (prod.has_attr("_activation") || prod.has_attr("_residual")) return false;
    if (prod.op_type == "Conv" || prod.op_type == "ConvTranspose") return fold_into_conv(g, prod, bn);
    if (prod.op_type == "Gemm") return fold_into_gemm(g, prod, bn);
    return prod.op_type == "MatMul" && fold_into_matmul(g, prod, bn);
  }

  // Conv W is [M, C/group, k...]: output channel m is W's dim 0. ConvTranspose W is
  // [C, M/group, k...]: output channel m = group index * M/group + W's dim 1.
  static bool fold_into_conv(Graph& g, Node& conv, const Node& bn) {
    const Tensor* w = conv.inputs.size() > 1 ? constant_value(g, conv.inputs[1]) : nullptr;
    if (!w || w->dtype() != DType::f32 || w->rank() < 3) return false;
    const Tensor* b = conv.has_input(2) ? constant_value(g, conv.inputs[2]) : nullptr;
    if (conv.has_input(2) && (!b || b->dtype() != DType::f32)) return false;
    const bool transposed = conv.op_type == "ConvTranspose";
    const int64_t group = conv.attr_int("group", 1);
    if (group < 1 || (transposed && w->dim(0) % group != 0)) return false;
    const int64_t m = transposed ? w->dim(1) * group : w->dim(0);
    BnCoefficients k;
    if (!read_bn(g, bn, m, k)) return false;
    Tensor w2 = w->clone();
    const int64_t per = w->numel() / (w->dim(0) * (transposed ? w->dim(1) : 1));  // elements per (row[, col])
    float* pw = w2.data<float>();
    for (int64_t r = 0; r < w->dim(0); ++r) {
      if (!transposed) {
        for (int64_t j = 0; j < per; ++j) pw[r * per + j] *= k.scale[size_t(r)];
        continue;
      }
      const int64_t first = r / (w->dim(0) / group) * w->dim(1);  // channel of column 0 in this row's group
      for (int64_t c = 0; c < w->dim(1); ++c)
        for (int64_t j = 0; j < per; ++j) pw[(r * w->dim(1) + c) * per + j] *= k.scale[size_t(first + c)];
    }
    Tensor b2(DType::f32, {m});
    for (int64_t c = 0; c < m; ++c)
      b2.data<float>()[c] = (b ? b->data<float>()[c] : 0.f) * k.scale[size_t(c)] + k.shift[size_t(c)];
    conv.inputs.resize(3);
    conv.inputs[1] = add_initializer(g, conv.name + "_W_bn", w2);
    conv.inputs[2] = add_initializer(g, conv.name + "_B_bn", b2);
    return true;
  }

  // MatMul(A, W) with A and the output 2-D: Gemm(A, W * s[col], shift).
  static bool fold_into_matmul(Graph& g, Node& mm, const Node& bn) {
    const Tensor* w = mm.inputs.size() == 2 ? constant_value(g, mm.inputs[1]) : nullptr;
    if (!w || w->dtype() != DType::f32 || w->rank() != 2) return false;
    if (StaticTypes(g).rank(mm.inputs[0]) != 2) return false;
    BnCoefficients k;
    const int64_t rows = w->dim(0), n = w->dim(1);
    if (!read_bn(g, bn, n, k)) return false;
    Tensor w2 = w->clone();
    float* pw = w2.data<float>();
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < n; ++j) pw[r * n + j] *= k.scale[size_t(j)];
    mm.op_type = "Gemm";
    mm.attrs.clear();
    mm.inputs = {mm.inputs[0], add_initializer(g, mm.name + "_B_bn", w2),
                 add_initializer(g, mm.name + "_C_bn", Tensor::from<float>(k.shift, {n}))};
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
    gemm.inputs.resize(3);
    gemm.inputs[1] = add_initializer(g, gemm.name + "_B_bn", w2);
    gemm.inputs[2] = add_initializer(g, gemm.name + "_C_bn", c2);
    gemm.attrs["beta"] = 1.f;
    return true;
  }
};

}  // namespace

std::unique_ptr<GraphPass> make_fold_batch_norm() { return std::make_unique<FoldBatchNorm>(); }

}  // namespace edgekit
