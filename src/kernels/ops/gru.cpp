// GRU (opsets 7, 14), gates z (update), r (reset), h (hidden), default f = Sigmoid, g = Tanh:
//   zt = f(Xt·Wzᵀ + Ht-1·Rzᵀ + Wbz + Rbz),  rt = f(Xt·Wrᵀ + Ht-1·Rrᵀ + Wbr + Rbr)
//   ht = g(Xt·Whᵀ + (rt ⊙ Ht-1)·Rhᵀ + Rbh + Wbh)        linear_before_reset = 0
//   ht = g(Xt·Whᵀ + rt ⊙ (Ht-1·Rhᵀ + Rbh) + Wbh)        linear_before_reset = 1 (PyTorch's form)
//   Ht = (1 - zt) ⊙ ht + zt ⊙ Ht-1
// Attributes, shapes, directions, sequence_lens and layout are handled by kernels/rnn_common.
// com.edgekit:DynamicQGRU is the same op with int8 W and R (then W_scale, R_scale inputs), made by
// passes/fuse_dynamic_recurrent.cpp: one class serves both (parse_spec reads the domain,
// prepare() packs float or int8 weights), so the int8 form runs this very cell.
#include "kernels/rnn_common.h"

namespace edgekit {
namespace {

template <class C>
void gru_cell(const rnn::Step<C>& s, bool linear_before_reset) {
  const int64_t H = s.hidden;
  C *z = s.scratch, *r = z + H, *hh = r + H, *tmp = hh + H;
  for (int64_t j = 0; j < 2 * H; ++j) z[j] = s.xw[j] + s.rb[j];
  s.recur(0, s.h, z, z);  // z and r blocks
  s.activate(0, z, 2 * H);
  const C *xh = s.xw + 2 * H, *rbh = s.rb + 2 * H;
  if (linear_before_reset) {
    s.recur(1, s.h, rbh, tmp);
    for (int64_t j = 0; j < H; ++j) hh[j] = xh[j] + r[j] * tmp[j];
  } else {
    for (int64_t j = 0; j < H; ++j) tmp[j] = r[j] * s.h[j], hh[j] = xh[j] + rbh[j];
    s.recur(1, tmp, hh, hh);
  }
  s.activate(1, hh, H);
  for (int64_t j = 0; j < H; ++j) s.h[j] = (C(1) - z[j]) * hh[j] + z[j] * s.h[j];
}

class Gru final : public OpKernel {
 public:
  explicit Gru(const Node& node)
      : OpKernel(node),
        spec_(rnn::parse_spec(node, 3, false, {"Sigmoid", "Tanh"})),
        linear_before_reset_(node.attr_int("linear_before_reset", 0) != 0) {}
  void infer(InferContext& ctx) const override { rnn::infer(ctx, spec_); }
  void run(RunContext& ctx) const override {
    rnn::run(ctx, spec_, [this](const auto& s) { gru_cell(s, linear_before_reset_); }, packed_.get(), kBlocks);
  }
  void prepare(const PrepareContext& ctx) override { packed_ = rnn::pack_weights(ctx, spec_, kBlocks); }

 private:
  inline static const std::vector<int64_t> kBlocks = {0, 2, 3};  // R row blocks (units of H) the cell multiplies
  rnn::RnnSpec spec_;
  std::shared_ptr<const rnn::PackedWeights> packed_;
  bool linear_before_reset_;
};

}  // namespace
EK_REGISTER_OP("GRU", Gru);
EK_REGISTER_OP_DOMAIN(kEdgekitDomain, "DynamicQGRU", Gru);
}  // namespace edgekit
