// LSTM (opsets 7, 14), gates i, o, f, c in W/R/B order, peepholes P = [Pi, Po, Pf],
// default f = Sigmoid, g = Tanh, h = Tanh:
//   it = f(Xt·Wiᵀ + Ht-1·Riᵀ + Pi ⊙ Ct-1 + Wbi + Rbi)
//   ft = f(Xt·Wfᵀ + Ht-1·Rfᵀ + Pf ⊙ Ct-1 + Wbf + Rbf)    (ft = 1 - it when input_forget = 1)
//   ct = g(Xt·Wcᵀ + Ht-1·Rcᵀ + Wbc + Rbc)
//   Ct = ft ⊙ Ct-1 + it ⊙ ct
//   ot = f(Xt·Woᵀ + Ht-1·Roᵀ + Po ⊙ Ct + Wbo + Rbo)
//   Ht = ot ⊙ h(Ct)
// clip bounds the gate pre-activations only, not Ct before h (as ONNX Runtime does).
// Attributes, shapes, directions, sequence_lens and layout are handled by kernels/rnn_common.
// com.edgekit:DynamicQLSTM is the same op with int8 W and R (then W_scale, R_scale inputs), made by
// passes/fuse_dynamic_recurrent.cpp: one class serves both (parse_spec reads the domain,
// prepare() packs float or int8 weights), so the int8 form runs this very cell.
#include "kernels/rnn_common.h"

namespace edgekit {
namespace {

template <class C>
void lstm_cell(const rnn::Step<C>& s, bool input_forget) {
  const int64_t H = s.hidden;
  C *gi = s.scratch, *go = gi + H, *gf = go + H, *gc = gf + H, *hc = gc + H;
  const C *pi = s.p, *po = s.p + H, *pf = s.p + 2 * H;
  for (int64_t j = 0; j < 4 * H; ++j) gi[j] = s.xw[j] + s.rb[j];
  s.recur(0, s.h, gi, gi);
  for (int64_t j = 0; j < H; ++j) gi[j] += pi[j] * s.c[j], gf[j] += pf[j] * s.c[j];
  s.activate(0, gi, H);
  if (input_forget) {
    for (int64_t j = 0; j < H; ++j) gf[j] = C(1) - gi[j];
  } else {
    s.activate(0, gf, H);
  }
  s.activate(1, gc, H);
  for (int64_t j = 0; j < H; ++j) s.c[j] = gf[j] * s.c[j] + gi[j] * gc[j];
  for (int64_t j = 0; j < H; ++j) go[j] += po[j] * s.c[j];
  s.activate(0, go, H);
  std::copy_n(s.c, H, hc);
  rnn::apply_activation(s.act[2], hc, H);
  for (int64_t j = 0; j < H; ++j) s.h[j] = go[j] * hc[j];
}

class Lstm final : public OpKernel {
 public:
  explicit Lstm(const Node& node)
      : OpKernel(node),
        spec_(rnn::parse_spec(node, 4, true, {"Sigmoid", "Tanh", "Tanh"})),
        input_forget_(node.attr_int("input_forget", 0) != 0) {}
  void infer(InferContext& ctx) const override { rnn::infer(ctx, spec_); }
  void run(RunContext& ctx) const override {
    rnn::run(ctx, spec_, [this](const auto& s) { lstm_cell(s, input_forget_); }, packed_.get(), kBlocks);
  }
  void prepare(const PrepareContext& ctx) override { packed_ = rnn::pack_weights(ctx, spec_, kBlocks); }

 private:
  inline static const std::vector<int64_t> kBlocks = {0, 4};  // R row blocks (units of H) the cell multiplies
  rnn::RnnSpec spec_;
  std::shared_ptr<const rnn::PackedWeights> packed_;
  bool input_forget_;
};

}  // namespace
EK_REGISTER_OP("LSTM", Lstm);
EK_REGISTER_OP_DOMAIN(kEdgekitDomain, "DynamicQLSTM", Lstm);
}  // namespace edgekit
