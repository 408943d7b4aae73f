// RNN, GRU and LSTM against outputs that onnxruntime 1.32 computed for the same inputs:
// the parametrised activations (alpha/beta consumed in list order), clip, input_forget,
// peepholes, sequence_lens and reverse/bidirectional directions. Inputs are the deterministic
// series sin(0.37 k + seed) * scale, generated identically on both sides.
#include <cmath>

#include "op_test_util.h"

namespace edgekit::test {
namespace {

struct OrtCase {
  std::string op;
  int64_t S = 0, N = 0, I = 0, H = 0, dirs = 1;
  std::vector<int32_t> lens;
  bool peepholes = false;
  Node node;
  std::vector<std::vector<float>> want;  // Y, Y_h (, Y_c)
};

Tensor series(Shape shape, double seed, double scale = 1.0) {
  Tensor t(DType::f32, shape);
  for (int64_t k = 0; k < t.numel(); ++k) t.data<float>()[k] = float(std::sin(0.37 * double(k) + seed) * scale);
  return t;
}

void check_against_ort(OrtCase& c) {
  const int64_t G = c.op == "RNN" ? 1 : c.op == "GRU" ? 3 : 4;
  c.node.attrs["hidden_size"] = c.H;
  std::vector<Tensor> in = {series({c.S, c.N, c.I}, 0.1), series({c.dirs, G * c.H, c.I}, 0.2, 0.8),
                            series({c.dirs, G * c.H, c.H}, 0.3, 0.8), series({c.dirs, 2 * G * c.H}, 0.4, 0.5),
                            Tensor(), series({c.dirs, c.N, c.H}, 0.5)};
  if (c.lens.empty())
    c.node.inputs[4] = "";
  else
    in[4] = Tensor::from<int32_t>(c.lens, {c.N});
  if (c.op == "LSTM") {
    in.push_back(series({c.dirs, c.N, c.H}, 0.6));
    in.push_back(c.peepholes ? series({c.dirs, 3 * c.H}, 0.7) : Tensor());
    if (!c.peepholes) c.node.inputs[7] = "";
  }
  auto out = run_node(c.node, in);
  ASSERT_EQ(out.size(), c.want.size());
  for (size_t i = 0; i < out.size(); ++i) {
    SCOPED_TRACE(i == 0 ? "Y" : i == 1 ? "Y_h" : "Y_c");
    expect_close(out[i], c.want[i], 2e-5f);
  }
}

}  // namespace

TEST(RnnOnnxRuntime, GruBidirectionalClipHardSigmoidScaledTanhLeakyReluSoftsign) {
  OrtCase c;
  c.op = "GRU";
  c.S = 3; c.N = 2; c.I = 2; c.H = 2; c.dirs = 2;
  c.lens = {3, 2};
  c.node = make_node(c.op, c.op == "LSTM" ? 8 : 6, c.op == "LSTM" ? 3 : 2, 14);
  c.node.attrs["direction"] = std::string("bidirectional");
  c.node.attrs["activations"] = std::vector<std::string>{"HardSigmoid", "ScaledTanh", "LeakyRelu", "Softsign"};
  c.node.attrs["activation_alpha"] = std::vector<float>{0.3f, 1.5f, 0.2f};
  c.node.attrs["activation_beta"] = std::vector<float>{0.6f, 0.7f};
  c.node.attrs["clip"] = 0.9f;
  c.node.attrs["linear_before_reset"] = int64_t(0);
  c.want.push_back({0.3702877f, 0.556146f, 0.7418552f, 0.7605114f, 0.4710962f, 0.4720611f, 0.4715953f, 0.460403f, 0.2637843f, 0.3750269f, 0.5940713f, 0.5528247f, 0.4880618f, 0.4857147f, 0.4852888f, 0.5474687f, 0.2118292f, 0.2581606f, 0.f, 0.f, 0.3938085f, 0.406848f, 0.f, 0.f});
  c.want.push_back({0.2118292f, 0.2581606f, 0.5940713f, 0.5528247f, 0.4710962f, 0.4720611f, 0.4715953f, 0.460403f});
  check_against_ort(c);
}

TEST(RnnOnnxRuntime, LstmInputForgetPeepholesClipEluSoftplus) {
  OrtCase c;
  c.op = "LSTM";
  c.S = 3; c.N = 2; c.I = 3; c.H = 2; c.dirs = 1;
  c.lens = {2, 3};
  c.peepholes = true;
  c.node = make_node(c.op, c.op == "LSTM" ? 8 : 6, c.op == "LSTM" ? 3 : 2, 14);
  c.node.attrs["direction"] = std::string("forward");
  c.node.attrs["input_forget"] = int64_t(1);
  c.node.attrs["clip"] = 0.7f;
  c.node.attrs["activations"] = std::vector<std::string>{"Sigmoid", "Elu", "Softplus"};
  c.node.attrs["activation_alpha"] = std::vector<float>{0.5f};
  c.want.push_back({0.5163683f, 0.4407067f, 0.6354983f, 0.5614189f, 0.4649705f, 0.501833f, 0.5024279f, 0.5278071f, 0.f, 0.f, 0.3690124f, 0.4114271f});
  c.want.push_back({0.4649705f, 0.501833f, 0.3690124f, 0.4114271f});
  c.want.push_back({0.00543423f, 0.3956733f, -0.1051352f, -0.0772645f});
  check_against_ort(c);
}

TEST(RnnOnnxRuntime, RnnReverseThresholdedRelu) {
  OrtCase c;
  c.op = "RNN";
  c.S = 3; c.N = 2; c.I = 2; c.H = 3; c.dirs = 1;
  c.lens = {1, 3};
  c.node = make_node(c.op, c.op == "LSTM" ? 8 : 6, c.op == "LSTM" ? 3 : 2, 14);
  c.node.attrs["direction"] = std::string("reverse");
  c.node.attrs["activations"] = std::vector<std::string>{"ThresholdedRelu"};
  c.node.attrs["activation_alpha"] = std::vector<float>{0.1f};
  c.want.push_back({2.050739f, 2.848855f, 1.530432f, 5.815016f, 9.155935f, 3.839227f, 0.f, 0.f, 0.f, 2.428925f, 4.338493f, 2.709601f, 0.f, 0.f, 0.f, 1.409663f, 1.75042f, 0.3297613f});
  c.want.push_back({2.050739f, 2.848855f, 1.530432f, 5.815016f, 9.155935f, 3.839227f});
  check_against_ort(c);
}

TEST(RnnOnnxRuntime, LstmBidirectionalAffineSoftsignPeepholes) {
  OrtCase c;
  c.op = "LSTM";
  c.S = 2; c.N = 1; c.I = 2; c.H = 2; c.dirs = 2;
  c.peepholes = true;
  c.node = make_node(c.op, c.op == "LSTM" ? 8 : 6, c.op == "LSTM" ? 3 : 2, 14);
  c.node.attrs["direction"] = std::string("bidirectional");
  c.node.attrs["activations"] = std::vector<std::string>{"Affine", "Tanh", "Softsign", "Affine", "Tanh", "Softsign"};
  c.node.attrs["activation_alpha"] = std::vector<float>{0.4f, 0.9f};
  c.node.attrs["activation_beta"] = std::vector<float>{0.5f, -0.1f};
  c.want.push_back({-0.295688f, -0.1841263f, 1.720529f, -16.69937f, -0.2322185f, -0.144666f, -1.544739f, -3.8825f});
  c.want.push_back({-0.2322185f, -0.144666f, 1.720529f, -16.69937f});
  c.want.push_back({-0.5342782f, -0.3472369f, -1.918947f, -28.08387f});
  check_against_ort(c);
}

}  // namespace edgekit::test
