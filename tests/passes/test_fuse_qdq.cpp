// fuse_qdq on Mul: QDQ graphs written by hand (as `edgekit quantize` writes them) against the
// same graph at level 0 (ONNX's reference QuantizeLinear / DequantizeLinear around float ops):
// the int8 ops agree within one output step, and the Transposes between NHWC int8 ops go.
#include <gtest/gtest.h>

#include <cmath>

#include "pass_test_util.h"

namespace edgekit {
namespace {

using namespace test;

struct QdqBuilder {
  Graph g;

  QdqBuilder() { g.opsets[""] = 13; }

  // v/float -> QuantizeLinear -> DequantizeLinear -> v, int8 with (scale, zero point).
  void qdq(const std::string& v, float scale, int zero_point) {
    Tensor z(DType::i8, {});
    z.data<int8_t>()[0] = int8_t(zero_point);
    g.initializers[v + "/scale"] = Tensor::scalar<float>(scale);
    g.initializers[v + "/zero_point"] = z;
    g.add_node("QuantizeLinear", {v + "/float", v + "/scale", v + "/zero_point"}, {v + "/q"}, v + "/Q");
    g.add_node("DequantizeLinear", {v + "/q", v + "/scale", v + "/zero_point"}, {v}, v + "/DQ");
  }

  // A symmetric int8 weight of `shape` behind its DequantizeLinear; returns the float value.
  std::string weight(const std::string& name, Shape shape, uint32_t seed, float scale) {
    Tensor w = random_tensor(shape, seed);
    Tensor q(DType::i8, shape);
    for (int64_t i = 0; i < w.numel(); ++i)
      q.data<int8_t>()[i] = int8_t(std::clamp(std::nearbyint(w.data<float>()[i] * 40.f), -127.f, 127.f));
    g.initializers[name + "/q"] = q;
    g.initializers[name + "/scale"] = Tensor::scalar<float>(scale / 40.f);
    g.initializers[name + "/zero_point"] = Tensor(DType::i8, {});
    g.add_node("DequantizeLinear", {name + "/q", name + "/scale", name + "/zero_point"}, {name}, name + "/DQ");
    return name;
  }

  void conv(const std::string& x, const std::string& w, const std::string& y, bool pad) {
    Node& c = g.add_node("Conv", {x, w}, {y + "/float"}, y + "/conv");
    if (pad) c.attrs["pads"] = std::vector<int64_t>{1, 1, 1, 1};
  }
};

int count_ops(const Graph& g, const std::string& op, const std::string& domain = "") {
  int n = 0;
  for (const auto& node : g.nodes) n += node.op_type == op && node.domain == domain;
  return n;
}

// Both runs of `g` (level 0: float ops between Q and DQ; `level`: the fused int8 ops) agree
// within one step of the output's scale on all but a few elements, and never by more than two.
void expect_within_one_step(const Graph& g, float step, int level = 3) {
  Session ref(Graph(g), {.threads = 1, .opt_level = 0});
  Session opt(Graph(g), {.threads = 1, .opt_level = level});
  const auto feeds = random_feeds(g, 3);
  const Tensor want = ref.run(feeds).at(0), got = opt.run(feeds).at(0);
  ASSERT_EQ(want.shape(), got.shape());
  int64_t close = 0;
  float lo = INFINITY, hi = -INFINITY;
  for (int64_t i = 0; i < want.numel(); ++i) {
    lo = std::min(lo, want.data<float>()[i]), hi = std::max(hi, want.data<float>()[i]);
    const float d = std::fabs(want.data<float>()[i] - got.data<float>()[i]);
    EXPECT_LE(d, 2.001f * step) << "element " << i;
    close += d <= 1.001f * step;
  }
  EXPECT_GE(double(close), 0.99 * double(want.numel()));
  EXPECT_GT(hi - lo, 10 * step);  // the outputs spread over many steps: the comparison means something
}

// conv -> HardSwish as x * HardSigmoid(x) -> squeeze-excitation (pool, 1x1 conv, Sigmoid,
// gate [N,C,1,1] * [N,C,H,W]) -> conv: MobileNetV3's block, every value quantized.
Graph squeeze_excitation_block() {
  QdqBuilder b;
  b.g.inputs.push_back({"x", DType::f32, {1, 8, 6, 6}, {}});
  b.g.add_node("Identity", {"x"}, {"x0/float"}, "input");
  b.qdq("x0", 4.f / 127, 0);
  b.conv("x0", b.weight("w1", {8, 8, 3, 3}, 1, 0.2f), "c", true);
  b.qdq("c", 8.f / 127, 0);
  Node& hs = b.g.add_node("HardSigmoid", {"c"}, {"h/float"}, "hard_sigmoid");
  hs.attrs["alpha"] = 1.f / 6, hs.attrs["beta"] = 0.5f;
  b.qdq("h", 1.f / 255, -128);
  b.g.add_node("Mul", {"c", "h"}, {"hs/float"}, "hard_swish");
  b.qdq("hs", 8.4f / 255, -116);
  b.g.add_node("GlobalAveragePool", {"hs"}, {"p/float"}, "pool");
  b.qdq("p", 8.4f / 255, -116);
  b.conv("p", b.weight("w2", {8, 8, 1, 1}, 2, 0.3f), "s", false);
  b.qdq("s", 8.f / 127, 0);
  b.g.add_node("Sigmoid", {"s"}, {"gate/float"}, "sigmoid");
  b.qdq("gate", 1.f / 255, -128);
  b.g.add_node("Mul", {"gate", "hs"}, {"se/float"}, "excite");
  b.qdq("se", 8.4f / 255, -116);
  b.conv("se", b.weight("w3", {4, 8, 3, 3}, 3, 0.2f), "z", true);
  b.qdq("z", 16.f / 127, 0);
  b.g.outputs.push_back({"z", DType::f32, {1, 4, 6, 6}, {}});
  return b.g;
}

TEST(FuseQdq, MulsBecomeQMulInNhwcBetweenInt8Convolutions) {
  const Graph g = squeeze_excitation_block();
  Graph opt = g;
  optimize_graph(opt, 3);
  EXPECT_EQ(count_ops(opt, "QMul", kEdgekitDomain), 2);
  EXPECT_EQ(count_ops(opt, "Mul"), 0);
  EXPECT_EQ(count_ops(opt, "QLookup", kEdgekitDomain), 2);
  // The Transposes of both Muls' operands were sunk and cancelled: what is left converts the
  // graph input to NHWC and the output back.
  EXPECT_EQ(count_ops(opt, "Transpose"), 2);
  expect_within_one_step(g, 16.f / 127);
}

TEST(FuseQdq, MulOfGraphInputsBroadcastsWithoutTransposes) {
  QdqBuilder b;
  b.g.inputs.push_back({"a", DType::f32, {2, 3, 5}, {}});
  b.g.inputs.push_back({"b", DType::f32, {3, 1}, {}});
  b.g.add_node("Identity", {"a"}, {"qa/float"}, "a_in");
  b.g.add_node("Identity", {"b"}, {"qb/float"}, "b_in");
  b.qdq("qa", 3.f / 127, 0);
  b.qdq("qb", 3.f / 127, 10);
  b.g.add_node("Mul", {"qa", "qb"}, {"y/float"}, "mul");
  b.qdq("y", 6.f / 127, -3);
  b.g.outputs.push_back({"y", DType::f32, {2, 3, 5}, {}});
  Graph opt = b.g;
  optimize_graph(opt, 2);
  EXPECT_EQ(count_ops(opt, "QMul", kEdgekitDomain), 1);
  EXPECT_EQ(count_ops(opt, "Mul") + count_ops(opt, "Transpose"), 0);
  expect_within_one_step(b.g, 6.f / 127, 2);
}

TEST(FuseQdq, MulByAFloatConstantStaysFloat) {
  QdqBuilder b;
  b.g.inputs.push_back({"a", DType::f32, {2, 3}, {}});
  b.g.add_node("Identity", {"a"}, {"qa/float"}, "a_in");
  b.qdq("qa", 3.f / 127, 0);
  b.g.initializers["k"] = random_tensor({3}, 4);
  b.g.add_node("Mul", {"qa", "k"}, {"y/float"}, "mul");
  b.qdq("y", 6.f / 127, 0);
  b.g.outputs.push_back({"y", DType::f32, {2, 3}, {}});
  Graph opt = b.g;
  optimize_graph(opt, 2);
  EXPECT_EQ(count_ops(opt, "QMul", kEdgekitDomain), 0);
  EXPECT_EQ(count_ops(opt, "Mul"), 1);
}

}  // namespace
}  // namespace edgekit
