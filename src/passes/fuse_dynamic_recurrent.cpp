// fuse_dynamic_recurrent: a GRU or LSTM whose W and R are both DequantizeLinear of int8
// constants, as `edgekit quantize --mode dynamic` writes them, becomes com.edgekit:DynamicQGRU
// / DynamicQLSTM, which reads the int8 tensors and their scales directly and runs its two
// products in int8 with the activations quantized on the fly (kernels/rnn_common.h,
// kernels/dynamic_qgemm.h):
//   DQ(W int8, s_w, 0), DQ(R int8, s_r, 0) -> GRU(X, W', R', B, ...)
//     -> DynamicQGRU(X, W, R, B, sequence_lens, initial_h, s_w, s_r)
//   (LSTM the same with initial_c and P before the scales)
// Matched only where the kernel computes what the DequantizeLinear would have given:
// symmetric weights (zero point absent or all 0, of dtype int8), f32 scales that are constant,
// one per tensor or one per row along axis 1 (shared by the directions), no block_size.
// Anything else is left alone: constant folding then dequantizes the weights and the float op
// runs, as before this pass. The DequantizeLinear nodes stay for other readers;
// eliminate_dead_nodes drops them when none is left.
// Runs at level 2 beside fuse_qdq, before constant folding would fold the DequantizeLinear.
#include <cmath>
#include <optional>

#include "passes/pass_manager.h"

namespace edgekit {
namespace {

class FuseDynamicRecurrent final : public GraphPass {
 public:
  const char* name() const override { return "fuse_dynamic_recurrent"; }
  std::vector<std::string> op_types() const override { return {"GRU", "LSTM"}; }

  bool apply(Graph& g) override {
    const GraphUses uses(g);
    bool changed = false;
    for (Node& n : g.nodes) {
      if (!n.domain.empty() || (n.op_type != "GRU" && n.op_type != "LSTM") || n.inputs.size() < 3) continue;
      // layout = 1 needs opset 14: leave such a node to the float op's error.
      if (n.attr_int("layout", 0) != 0 && n.opset > 0 && n.opset < 14) continue;
      auto w = int8_weight(g, uses, n.inputs[1]);
      auto r = w ? int8_weight(g, uses, n.inputs[2]) : std::nullopt;
      if (!r) continue;
      const bool lstm = n.op_type == "LSTM";
      n.inputs.resize(lstm ? 8 : 6);  // absent optional inputs as empty names, then the scales
      n.inputs[1] = w->q, n.inputs[2] = r->q;
      n.inputs.push_back(w->scale);
      n.inputs.push_back(r->scale);
      n.op_type = lstm ? "DynamicQLSTM" : "DynamicQGRU";
      n.domain = kEdgekitDomain, n.opset = 1;
      changed = true;
    }
    if (changed) g.opsets[kEdgekitDomain] = 1;
    return changed;
  }

 private:
  struct Weight {
    std::string q, scale;
  };

  // v = DequantizeLinear(int8 constant of rank 3, constant f32 scale, zero point 0).
  static std::optional<Weight> int8_weight(const Graph& g, const GraphUses& u, const std::string& v) {
    auto p = u.producer_is(g, v, "DequantizeLinear");
    if (!p) return std::nullopt;
    const Node& dq = g.nodes[*p];
    if (dq.inputs.size() < 2 || dq.attr_int("block_size", 0) != 0) return std::nullopt;
    const Tensor* q = constant_value(g, dq.inputs[0]);
    const Tensor* s = constant_value(g, dq.inputs[1]);
    if (!q || !s || q->dtype() != DType::i8 || q->rank() != 3 || s->dtype() != DType::f32) return std::nullopt;
    if (dq.has_input(2)) {
      const Tensor* z = constant_value(g, dq.inputs[2]);
      if (!z || z->dtype() != DType::i8) return std::nullopt;
      for (int64_t i = 0; i < z->numel(); ++i)
        if (z->data<int8_t>()[i] != 0) return std::nullopt;
    }
    if (s->numel() != 1) {  // per row: axis 1 of [D, G*H, K]
      int64_t axis = dq.attr_int("axis", 1);
      if (axis < 0) axis += 3;
      if (axis != 1 || s->rank() != 1 || s->dim(0) != q->dim(1)) return std::nullopt;
    }
    for (int64_t i = 0; i < s->numel(); ++i)  // the kernel refuses others; leave them to the float path
      if (!(s->data<float>()[i] > 0.f) || !std::isfinite(s->data<float>()[i])) return std::nullopt;
    return Weight{dq.inputs[0], dq.inputs[1]};
  }
};

}  // namespace

std::unique_ptr<GraphPass> make_fuse_dynamic_recurrent() { return std::make_unique<FuseDynamicRecurrent>(); }

bool defuse_dynamic_recurrent(Graph& g) {
  bool changed = false;
  for (Node& n : g.nodes) {
    const bool gru = n.op_type == "DynamicQGRU", lstm = n.op_type == "DynamicQLSTM";
    if (n.domain != kEdgekitDomain || (!gru && !lstm)) continue;
    const size_t scales = lstm ? 8 : 6;
    EK_CHECK(n.inputs.size() == scales + 2, n.where(), ": expected ", scales + 2, " inputs, got ", n.inputs.size());
    for (size_t k : {size_t(1), size_t(2)}) {  // W and R as q * scale (the scale per tensor or per row)
      const Tensor* q = constant_value(g, n.inputs[k]);
      const Tensor* s = constant_value(g, n.inputs[scales + k - 1]);
      EK_CHECK(q && s && q->dtype() == DType::i8 && q->rank() == 3 && s->dtype() == DType::f32 &&
                   (s->numel() == 1 || s->numel() == q->dim(1)),
               n.where(), ": W and R must be int8 constants with one f32 scale or one a row");
      Tensor f(DType::f32, q->shape());
      const int64_t rows = q->dim(1), cols = q->dim(2);
      for (int64_t i = 0; i < q->numel(); ++i)
        f.data<float>()[i] = float(q->data<int8_t>()[i]) * s->data<float>()[s->numel() == 1 ? 0 : i / cols % rows];
      n.inputs[k] = add_initializer(g, n.inputs[k] + "/dequantized", std::move(f));
    }
    n.inputs.resize(scales);
    while (n.inputs.size() > 3 && n.inputs.back().empty()) n.inputs.pop_back();
    n.op_type = gru ? "GRU" : "LSTM";
    n.domain.clear();
    n.opset = g.opsets.count("") ? g.opsets.at("") : 0;
    changed = true;
  }
  return changed;
}

}  // namespace edgekit
