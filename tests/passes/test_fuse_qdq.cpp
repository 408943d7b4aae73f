// fuse_qdq on Mul: QDQ graphs written by hand (as `edgekit quantize` writes them) against the
// same graph at level 0 (ONNX's reference QuantizeLinear / DequantizeLinear around float ops):
// the int8 ops agree within one output step, and the Transposes between NHWC int8 ops go.
// QMul(x, QLookup(x)) as one QLookup: the same bytes as the two int8 ops, on every input byte.
// Data movement (Concat, Slice, Transpose, Reshape, the channel shuffle) on int8 values, in NHWC
// between int8 convolutions.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>

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

  // The graph input x [1, C, H, W] through an identity, quantized, into a padded 3x3 conv to
  // M channels, quantized: the value "c".
  void input_conv(Shape x, int64_t M) {
    g.inputs.push_back({"x", DType::f32, x, {}});
    g.add_node("Identity", {"x"}, {"x0/float"}, "input");
    qdq("x0", 4.f / 127, 0);
    conv("x0", weight("w1", {M, x[1], 3, 3}, 1, 0.2f), "c", true);
    qdq("c", 8.f / 127, 0);
  }

  // y = x * f(x), f (Sigmoid, HardSigmoid) quantized to [0, 1] on its own, y with (scale, zero point).
  void self_gate(const std::string& x, const std::string& f, const std::string& y, float scale, int zero_point) {
    Node& a = g.add_node(f, {x}, {y + "/gate/float"}, y + "/" + f);
    if (f == "HardSigmoid") a.attrs["alpha"] = 1.f / 6, a.attrs["beta"] = 0.5f;
    qdq(y + "/gate", 1.f / 255, -128);
    g.add_node("Mul", {x, y + "/gate"}, {y + "/float"}, y + "/mul");
    qdq(y, scale, zero_point);
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
  b.input_conv({1, 8, 6, 6}, 8);
  b.self_gate("c", "HardSigmoid", "hs", 8.4f / 255, -116);
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
  // HardSwish's x * HardSigmoid(x) became one QLookup; the gate's QMul stays.
  EXPECT_EQ(count_ops(opt, "QMul", kEdgekitDomain), 1);
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

// x (int8 graph input) -> QLookup(function) -> s; QMul(x, s) (or (s, x)) -> y; with
// `s_is_output`, s is also a graph output (read twice: not fused).
Graph lookup_mul_graph(const std::string& function, bool lookup_first, bool s_is_output = false) {
  Graph g;
  g.opsets[""] = 13, g.opsets[kEdgekitDomain] = 1;
  g.inputs.push_back({"x", DType::i8, {2, 300}, {}});
  auto scalar = [&](const std::string& name, float scale, int zero_point) {
    g.initializers[name + "/scale"] = Tensor::scalar<float>(scale);
    g.initializers[name + "/zero_point"] = Tensor::scalar<int8_t>(int8_t(zero_point));
  };
  scalar("x", 7.f / 127, 3);
  scalar("s", 1.f / 255, -128);
  scalar("y", 7.3f / 255, -110);
  Node& look = g.add_node("QLookup", {"x", "x/scale", "x/zero_point", "s/scale", "s/zero_point"}, {"s"}, "lookup");
  look.domain = kEdgekitDomain, look.opset = 1;
  look.attrs["function"] = function;
  if (function == "HardSigmoid") look.attrs["alpha"] = 1.f / 6, look.attrs["beta"] = 0.5f;
  const std::string a = lookup_first ? "s" : "x", b = lookup_first ? "x" : "s";
  Node& mul = g.add_node("QMul", {a, a + "/scale", a + "/zero_point", b, b + "/scale", b + "/zero_point", "y/scale",
                                  "y/zero_point"}, {"y"}, "mul");
  mul.domain = kEdgekitDomain, mul.opset = 1;
  g.outputs.push_back({"y", DType::i8, {2, 300}, {}});
  if (s_is_output) g.outputs.push_back({"s", DType::i8, {2, 300}, {}});
  return g;
}

// Every int8 value, then more in another order.
std::map<std::string, Tensor> every_byte() {
  Tensor x(DType::i8, {2, 300});
  for (int64_t i = 0; i < x.numel(); ++i) x.data<int8_t>()[i] = int8_t(uint8_t(i * 37 + 11));
  return {{"x", x}};
}

TEST(FuseQdq, LookupTimesItsInputBecomesOneLookupWithTheSameBytes) {
  for (const char* function : {"Sigmoid", "HardSigmoid", "Tanh"})
    for (bool lookup_first : {false, true}) {
      SCOPED_TRACE(std::string(function) + (lookup_first ? " s * x" : " x * s"));
      const Graph g = lookup_mul_graph(function, lookup_first);
      Graph opt = g;
      optimize_graph(opt, 2);
      EXPECT_EQ(count_ops(opt, "QMul", kEdgekitDomain), 0);
      EXPECT_EQ(count_ops(opt, "QLookup", kEdgekitDomain), 1);
      Session unfused(Graph(g), {.threads = 1, .opt_level = 0}), fused(Graph(g), {.threads = 1, .opt_level = 2});
      const Tensor want = unfused.run(every_byte()).at(0), got = fused.run(every_byte()).at(0);
      ASSERT_EQ(want.shape(), got.shape());
      EXPECT_EQ(0, std::memcmp(want.raw(), got.raw(), size_t(want.numel())));
      int distinct[256] = {};
      for (int64_t i = 0; i < got.numel(); ++i) distinct[static_cast<const uint8_t*>(got.raw())[i]] = 1;
      EXPECT_GT(std::count(distinct, distinct + 256, 1), 100);  // the comparison covers many outputs
    }
}

TEST(FuseQdq, LookupReadByAnotherConsumerIsNotFused) {
  const Graph g = lookup_mul_graph("Sigmoid", false, true);
  Graph opt = g;
  optimize_graph(opt, 2);
  EXPECT_EQ(count_ops(opt, "QMul", kEdgekitDomain), 1);
  EXPECT_EQ(count_ops(opt, "QLookup", kEdgekitDomain), 1);
}

// A lookup of a function becomes a lookup of its table, computed at optimisation: the same
// bytes for every input byte, and no function left for the runtime to run.
TEST(BakeLookupTables, FunctionLookupBecomesItsTableWithTheSameBytes) {
  for (const char* function : {"Sigmoid", "HardSigmoid", "Tanh", "Identity"}) {
    SCOPED_TRACE(function);
    Graph g = lookup_mul_graph(function, false, true);
    g.nodes.pop_back();  // the QMul: s alone is the output
    g.outputs.erase(g.outputs.begin());
    Graph opt = g;
    optimize_graph(opt, 2);
    ASSERT_EQ(count_ops(opt, "QLookup", kEdgekitDomain), 1);
    const Node& look = opt.nodes.at(0);
    ASSERT_EQ(look.inputs.size(), size_t(6));
    EXPECT_TRUE(look.attrs.empty());
    const Tensor* table = constant_value(opt, look.inputs[5]);
    ASSERT_NE(table, nullptr);
    EXPECT_EQ(table->shape(), Shape{256});
    Session original(Graph(g), {.threads = 1, .opt_level = 0}), baked(Graph(opt), {.threads = 1, .opt_level = 0});
    const Tensor want = original.run(every_byte()).at(0), got = baked.run(every_byte()).at(0);
    ASSERT_EQ(want.shape(), got.shape());
    EXPECT_EQ(0, std::memcmp(want.raw(), got.raw(), size_t(want.numel())));
  }
}

TEST(BakeLookupTables, LookupWithParametersComputedAtRunTimeKeepsItsFunction) {
  Graph g = lookup_mul_graph("Sigmoid", false, true);
  g.nodes.pop_back();
  g.outputs.erase(g.outputs.begin());
  g.initializers.erase("s/scale");  // now a graph input: not constant
  g.inputs.push_back({"s/scale", DType::f32, {}, {}});
  optimize_graph(g, 2);
  ASSERT_EQ(count_ops(g, "QLookup", kEdgekitDomain), 1);
  EXPECT_EQ(g.nodes.at(0).inputs.size(), size_t(5));
  EXPECT_EQ(g.nodes.at(0).attr_string("function", ""), "Sigmoid");
}

TEST(FuseQdq, QdqSiluBecomesOneLookup) {
  // DQ(x) -> Sigmoid -> Q -> DQ, Mul(DQ(x), that) -> Q: EfficientNet's SiLU as quantized.
  QdqBuilder b;
  b.input_conv({1, 4, 5, 5}, 8);
  b.self_gate("c", "Sigmoid", "silu", 8.3f / 255, -120);
  b.conv("silu", b.weight("w2", {4, 8, 3, 3}, 2, 0.2f), "z", true);
  b.qdq("z", 16.f / 127, 0);
  b.g.outputs.push_back({"z", DType::f32, {1, 4, 5, 5}, {}});
  Graph opt = b.g;
  optimize_graph(opt, 3);
  EXPECT_EQ(count_ops(opt, "QMul", kEdgekitDomain), 0);
  EXPECT_EQ(count_ops(opt, "QLookup", kEdgekitDomain), 1);
  EXPECT_EQ(count_ops(opt, "Transpose"), 2);
  expect_within_one_step(b.g, 16.f / 127);
}

// `blocks` times HardSwish (as x * HardSigmoid(x)) then a 1x1 conv, after the input conv.
Graph hard_swish_chain(int blocks) {
  QdqBuilder b;
  b.input_conv({1, 4, 4, 4}, 4);
  std::string x = "c";
  for (int i = 0; i < blocks; ++i) {
    const std::string n = std::to_string(i);
    b.self_gate(x, "HardSigmoid", "hs" + n, 8.4f / 255, -116);
    b.conv("hs" + n, b.weight("block_w" + n, {4, 4, 1, 1}, uint32_t(10 + i), 0.6f), "c" + n, false);
    b.qdq("c" + n, 8.f / 127, 0);
    x = "c" + n;
  }
  b.g.outputs.push_back({x, DType::f32, {1, 4, 4, 4}, {}});
  return b.g;
}

TEST(FuseQdq, ChainOfBlocksFusesAndAgrees) {
  const Graph g = hard_swish_chain(5);
  Graph opt = g;
  optimize_graph(opt, 3);
  EXPECT_EQ(count_ops(opt, "QLinearConvNhwc", kEdgekitDomain), 6);
  EXPECT_EQ(count_ops(opt, "QLookup", kEdgekitDomain), 5);
  EXPECT_EQ(count_ops(opt, "QMul", kEdgekitDomain), 0);
  EXPECT_EQ(count_ops(opt, "Transpose"), 2);
  expect_within_one_step(g, 8.f / 127);
}

// One sweep of fuse_qdq is O(N log N), and so is the whole optimisation of a QDQ graph: 20k
// nodes take about a second (a use map rebuilt per node, as fuse_qdq did, took minutes).
TEST(FuseQdq, LongGraphOptimisesInLinearTime) {
  Graph g = hard_swish_chain(1500);
  ASSERT_GT(g.nodes.size(), size_t(15000));
  const auto start = std::chrono::steady_clock::now();
  optimize_graph(g, 3);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(count_ops(g, "Conv"), 0);
  EXPECT_EQ(count_ops(g, "QLinearConvNhwc", kEdgekitDomain), 1501);
  EXPECT_EQ(count_ops(g, "QLookup", kEdgekitDomain), 1500);
  EXPECT_EQ(count_ops(g, "QMul", kEdgekitDomain), 0);
  EXPECT_EQ(count_ops(g, "Transpose"), 2);
  EXPECT_LT(seconds, 30.0);
}

// Concat, Slice, Transpose, Reshape and Relu between QDQ pairs run on the int8 values, those
// whose output is quantized unlike their input followed by (Concat: preceded by) a requantizing
// QLookup, Relu with a non-zero zero point as a QLookup: no float op is left, and the output's
// bytes are the unfused graph's exactly (the data movement is exact, the lookups are Q(DQ(v))).
TEST(FuseQdq, DataMovementOnInt8ValuesGivesTheUnfusedBytes) {
  QdqBuilder b;
  b.g.inputs.push_back({"a", DType::f32, {2, 3, 4, 5}, {}});
  b.g.inputs.push_back({"b", DType::f32, {2, 5, 4, 5}, {}});
  b.g.add_node("Identity", {"a"}, {"a0/float"}, "in_a");
  b.g.add_node("Identity", {"b"}, {"b0/float"}, "in_b");
  b.qdq("a0", 3.f / 127, 5);
  b.qdq("b0", 2.f / 127, -7);
  Node& cat = b.g.add_node("Concat", {"a0", "b0"}, {"cat/float"}, "concat");
  cat.attrs["axis"] = int64_t(1);
  b.qdq("cat", 2.5f / 127, 3);  // unlike both inputs
  b.g.initializers["starts"] = Tensor::from<int64_t>({1}, {1});
  b.g.initializers["ends"] = Tensor::from<int64_t>({7}, {1});
  b.g.initializers["axes"] = Tensor::from<int64_t>({1}, {1});
  b.g.add_node("Slice", {"cat", "starts", "ends", "axes"}, {"sl/float"}, "slice");
  b.qdq("sl", 2.f / 127, 3);  // a new scale
  Node& t = b.g.add_node("Transpose", {"sl"}, {"t/float"}, "transpose");
  t.attrs["perm"] = std::vector<int64_t>{0, 2, 3, 1};
  b.qdq("t", 2.f / 127, 3);  // the same parameters
  b.g.initializers["shape"] = Tensor::from<int64_t>({2, 20, 6}, {3});
  b.g.add_node("Reshape", {"t", "shape"}, {"r/float"}, "reshape");
  b.qdq("r", 1.5f / 127, 3);
  b.g.add_node("Relu", {"r"}, {"y/float"}, "relu");
  b.qdq("y", 1.5f / 127, 3);  // equal parameters, zero point not 0: max(x, 0) would be wrong
  b.g.outputs.push_back({"y", DType::f32, {2, 20, 6}, {}});
  for (int level : {2, 3}) {
    SCOPED_TRACE(level);
    Graph opt = b.g;
    optimize_graph(opt, level);
    for (const char* op : {"Concat", "Slice", "Transpose", "Reshape"}) EXPECT_EQ(count_ops(opt, op), 1) << op;
    EXPECT_EQ(count_ops(opt, "Relu"), 0);
    EXPECT_EQ(count_ops(opt, "DequantizeLinear"), 1);  // the output's
    EXPECT_EQ(count_ops(opt, "QuantizeLinear"), 2);    // the inputs'
    EXPECT_EQ(count_ops(opt, "QLookup", kEdgekitDomain), 5);  // both Concat inputs, Slice, Reshape, Relu
    for (uint32_t seed : {1u, 2u, 3u}) {
      Session unfused(Graph(b.g), {.threads = 1, .opt_level = 0}), fused(Graph(b.g), {.threads = 1, .opt_level = level});
      auto feeds = random_feeds(b.g, seed);
      const Tensor want = unfused.run(feeds).at(0), got = fused.run(feeds).at(0);
      ASSERT_EQ(want.shape(), got.shape());
      EXPECT_EQ(0, std::memcmp(want.raw(), got.raw(), want.nbytes()));
    }
  }
}

// ShuffleNet's unit between int8 convolutions: two branches joined (each branch quantized on
// its own), the channel shuffle (Reshape, Transpose, Reshape), split in two by Slices, each
// half into a convolution. All of it runs in NHWC: the only Transposes left convert the graph
// input and output.
TEST(FuseQdq, ChannelShuffleBetweenInt8ConvolutionsRunsInNhwc) {
  QdqBuilder b;
  b.input_conv({1, 4, 6, 7}, 8);
  b.conv("c", b.weight("wa", {6, 8, 1, 1}, 2, 0.3f), "ba", false);
  b.qdq("ba", 6.f / 127, -3);
  b.conv("c", b.weight("wb", {6, 8, 3, 3}, 3, 0.2f), "bb", true);
  b.qdq("bb", 9.f / 127, 4);
  Node& cat = b.g.add_node("Concat", {"ba", "bb"}, {"cat/float"}, "concat");
  cat.attrs["axis"] = int64_t(1);
  b.qdq("cat", 9.f / 127, 4);
  b.g.initializers["split_shape"] = Tensor::from<int64_t>({1, 2, 6, 6, 7}, {5});
  b.g.add_node("Reshape", {"cat", "split_shape"}, {"r1/float"}, "reshape1");
  b.qdq("r1", 9.f / 127, 4);
  Node& t = b.g.add_node("Transpose", {"r1"}, {"t/float"}, "shuffle");
  t.attrs["perm"] = std::vector<int64_t>{0, 2, 1, 3, 4};
  b.qdq("t", 9.f / 127, 4);
  b.g.initializers["join_shape"] = Tensor::from<int64_t>({1, 12, 6, 7}, {4});
  b.g.add_node("Reshape", {"t", "join_shape"}, {"sh/float"}, "reshape2");
  b.qdq("sh", 9.f / 127, 4);
  for (int half = 0; half < 2; ++half) {
    const std::string h = std::to_string(half);
    b.g.initializers["starts" + h] = Tensor::from<int64_t>({6 * half}, {1});
    b.g.initializers["ends" + h] = Tensor::from<int64_t>({6 * half + 6}, {1});
    b.g.initializers["axes" + h] = Tensor::from<int64_t>({1}, {1});
    b.g.add_node("Slice", {"sh", "starts" + h, "ends" + h, "axes" + h}, {"half" + h + "/float"}, "slice" + h);
    b.qdq("half" + h, half ? 9.f / 127 : 7.f / 127, half ? 4 : 1);
    b.conv("half" + h, b.weight("wz" + h, {3, 6, 3, 3}, 4 + uint32_t(half), 0.2f), "z" + h, true);
    b.qdq("z" + h, 16.f / 127, 0);
  }
  Node& out = b.g.add_node("Concat", {"z0", "z1"}, {"z/float"}, "join");
  out.attrs["axis"] = int64_t(1);
  b.qdq("z", 16.f / 127, 0);
  b.g.outputs.push_back({"z", DType::f32, {1, 6, 6, 7}, {}});
  Graph opt = b.g;
  optimize_graph(opt, 3);
  EXPECT_EQ(count_ops(opt, "QLinearConvNhwc", kEdgekitDomain), 5);
  EXPECT_EQ(count_ops(opt, "Transpose"), 3);  // the graph input's, the output's and the shuffle's (in NHWC)
  EXPECT_EQ(count_ops(opt, "DequantizeLinear"), 1);
  EXPECT_EQ(count_ops(opt, "Concat"), 2);
  expect_within_one_step(b.g, 16.f / 127);
}

// A classifier's logits: DQ(x), DQ(w), DQ(b) -> Gemm -> the graph output, unquantized. The Gemm
// becomes QFullyConnected with a float output (its int32 sums dequantized once), for x int8
// and uint8, K a multiple of 4 and not, one row and several; it agrees with the float Gemm on
// the dequantized values up to float rounding. An asymmetric weight keeps the float Gemm.
TEST(FuseQdq, GemmWithFloatOutputBecomesQFullyConnectedThatDequantizes) {
  for (int64_t rows : {1, 5})
    for (int64_t k : {12, 37})
      for (int zero_point : {-3, 130}) {  // int8 x, and uint8 x (zero point 130)
        SCOPED_TRACE(::testing::Message() << "rows " << rows << " K " << k << " x zero point " << zero_point);
        QdqBuilder b;
        b.g.inputs.push_back({"x", DType::f32, {rows, k}, {}});
        b.g.add_node("Identity", {"x"}, {"x0/float"}, "input");
        b.qdq("x0", 2.f / 127, zero_point > 127 ? 0 : zero_point);
        if (zero_point > 127) {  // the same with a uint8 zero point
          Tensor z(DType::u8, {});
          z.data<uint8_t>()[0] = uint8_t(zero_point);
          b.g.initializers["x0/zero_point"] = z;
        }
        const std::string w = b.weight("w", {21, k}, 7, 0.5f);
        Tensor bias(DType::i32, {21});
        for (int64_t i = 0; i < 21; ++i) bias.data<int32_t>()[i] = int32_t(i * 97 - 900);
        b.g.initializers["b/q"] = bias;
        b.g.initializers["b/scale"] = Tensor::scalar<float>(2.f / 127 * 0.5f / 40.f);
        b.g.initializers["b/zero_point"] = Tensor(DType::i32, {});
        b.g.add_node("DequantizeLinear", {"b/q", "b/scale", "b/zero_point"}, {"b"}, "b/DQ");
        Node& gemm = b.g.add_node("Gemm", {"x0", w, "b"}, {"y"}, "logits");
        gemm.attrs["transB"] = int64_t(1);
        b.g.outputs.push_back({"y", DType::f32, {rows, 21}, {}});
        Graph opt = b.g;
        optimize_graph(opt, 3);
        EXPECT_EQ(count_ops(opt, "QFullyConnected", kEdgekitDomain), 1);
        EXPECT_EQ(count_ops(opt, "Gemm"), 0);
        Session ref(Graph(b.g), {.threads = 1, .opt_level = 0}), fused(Graph(b.g), {.threads = 1, .opt_level = 3});
        const auto feeds = random_feeds(b.g, 4);
        const Tensor want = ref.run(feeds).at(0), got = fused.run(feeds).at(0);
        ASSERT_EQ(got.dtype(), DType::f32);
        ASSERT_EQ(want.shape(), got.shape());
        float spread = 0;
        for (int64_t i = 0; i < want.numel(); ++i) {
          const float v = want.data<float>()[i];
          EXPECT_NEAR(got.data<float>()[i], v, 1e-5f * (1.f + std::fabs(v))) << "element " << i;
          spread = std::max(spread, std::fabs(v));
        }
        EXPECT_GT(spread, 0.5f);  // the logits are not all near zero
      }
}

TEST(FuseQdq, GemmWithFloatOutputAndAsymmetricWeightsStaysFloat) {
  QdqBuilder b;
  b.g.inputs.push_back({"x", DType::f32, {2, 8}, {}});
  b.g.add_node("Identity", {"x"}, {"x0/float"}, "input");
  b.qdq("x0", 2.f / 127, 0);
  const std::string w = b.weight("w", {8, 4}, 3, 0.5f);
  Tensor z(DType::i8, {});
  z.data<int8_t>()[0] = 3;
  b.g.initializers["w/zero_point"] = z;
  b.g.add_node("MatMul", {"x0", w}, {"y"}, "logits");
  b.g.outputs.push_back({"y", DType::f32, {2, 4}, {}});
  Graph opt = b.g;
  optimize_graph(opt, 3);
  EXPECT_EQ(count_ops(opt, "QFullyConnected", kEdgekitDomain), 0);
  EXPECT_EQ(count_ops(opt, "MatMul") + count_ops(opt, "Gemm"), 1);
}

}  // namespace
}  // namespace edgekit
