// RNN (opsets 7, 14): Ht = f(Xt·Wᵀ + Ht-1·Rᵀ + Wb + Rb), default f = Tanh.
// Attributes, shapes, directions, sequence_lens and layout are handled by kernels/rnn_common.
#include "kernels/rnn_common.h"

namespace edgekit {
namespace {

template <class C>
void rnn_cell(const rnn::Step<C>& s) {
  const int64_t H = s.hidden;
  C* g = s.scratch;
  for (int64_t j = 0; j < H; ++j) g[j] = s.xw[j] + s.rb[j];
  s.recur(0, s.h, g, g);
  s.activate(0, g, H);
  std::copy_n(g, H, s.h);
}

class Rnn final : public OpKernel {
 public:
  explicit Rnn(const Node& node) : OpKernel(node), spec_(rnn::parse_spec(node, 1, false, {"Tanh"})) {}
  void infer(InferContext& ctx) const override { rnn::infer(ctx, spec_); }
  void run(RunContext& ctx) const override {
    rnn::run(ctx, spec_, [](const auto& s) { rnn_cell(s); }, packed_.get(), kBlocks);
  }
  void prepare(const PrepareContext& ctx) override { packed_ = rnn::pack_weights(ctx, spec_, kBlocks); }

 private:
  inline static const std::vector<int64_t> kBlocks = {0, 1};  // R row blocks (units of H) the cell multiplies
  rnn::RnnSpec spec_;
  std::shared_ptr<const rnn::PackedWeights> packed_;
};

}  // namespace
EK_REGISTER_OP("RNN", Rnn);
}  // namespace edgekit
