// fuse_dynamic_recurrent: DequantizeLinear(int8 W), DequantizeLinear(int8 R) -> GRU / LSTM
// becomes DynamicQGRU / DynamicQLSTM at level 2 and above, and the graph computes what it did
// at level 0 (ONNX's DequantizeLinear, then the float op) within the activations' quantization
// error; weights the kernel cannot take as they are (a zero point, a scale along another axis,
// a computed scale) are left to the float path, which then gives the level-0 results exactly;
// defuse_dynamic_recurrent turns the int8 ops back into the float ones.
#include <gtest/gtest.h>

#include "pass_test_util.h"

namespace edgekit {
namespace {

using namespace test;

struct RecurrentGraph {
  Graph g;
  bool lstm = false;
  int64_t seq = 9, batch = 2, in = 10, hidden = 19, dirs = 2;

  int64_t gates() const { return lstm ? 4 : 3; }

  // A [dirs, G*H, cols] int8 weight behind a DequantizeLinear with a per-row (axis 1) or
  // per-tensor scale and the given zero point; returns the float value.
  std::string weight(const std::string& name, int64_t cols, uint32_t seed, bool per_row, int zero_point = 0,
                     int64_t axis = 1) {
    const int64_t rows = gates() * hidden;
    Tensor f = random_tensor({dirs, rows, cols}, seed);
    Tensor q(DType::i8, {dirs, rows, cols});
    for (int64_t i = 0; i < q.numel(); ++i)
      q.data<int8_t>()[i] = int8_t(std::clamp(std::nearbyint(f.data<float>()[i] * 40.f), -127.f, 127.f));
    const int64_t n = per_row ? (axis == 1 ? rows : dirs) : 1;
    const float base = 0.3f / 40.f / std::sqrt(float(cols));  // w about N(0, 0.3^2 / cols)
    std::vector<float> scales(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) scales[size_t(i)] = base * (0.6f + 0.2f * float(i % 5));  // rows differ
    Tensor s = per_row ? Tensor::from<float>(scales, {n}) : Tensor::scalar<float>(base);
    Tensor z = per_row ? Tensor(DType::i8, {n}) : Tensor(DType::i8, {});
    for (int64_t i = 0; i < z.numel(); ++i) z.data<int8_t>()[i] = int8_t(zero_point);
    g.initializers[name + "/q"] = q;
    g.initializers[name + "/scale"] = s;
    g.initializers[name + "/zero_point"] = z;
    Node& dq = g.add_node("DequantizeLinear", {name + "/q", name + "/scale", name + "/zero_point"}, {name}, name + "/DQ");
    if (per_row) dq.attrs["axis"] = axis;
    return name;
  }

  explicit RecurrentGraph(bool lstm_, bool per_row = true, int zero_point = 0, int64_t axis = 1) : lstm(lstm_) {
    g.opsets[""] = 14;
    g.inputs.push_back({"x", DType::f32, {seq, batch, in}, {}});
    const std::string w = weight("W", in, 1, per_row, zero_point, axis);
    const std::string r = weight("R", hidden, 2, per_row);
    g.initializers["B"] = random_tensor({dirs, 2 * gates() * hidden}, 3, 0.f, 0.1f);
    Node& n = g.add_node(lstm ? "LSTM" : "GRU", {"x", w, r, "B"}, {"y", "y_h"}, "rnn");
    n.attrs["hidden_size"] = hidden;
    n.attrs["direction"] = std::string("bidirectional");
    g.outputs.push_back({"y", DType::f32, {seq, dirs, batch, hidden}, {}});
    g.outputs.push_back({"y_h", DType::f32, {dirs, batch, hidden}, {}});
  }
};

size_t count_domain_op(const Graph& g, const std::string& op) {
  size_t n = 0;
  for (const Node& node : g.nodes) n += node.domain == kEdgekitDomain && node.op_type == op;
  return n;
}

// Largest |level-3 - level-0| over the outputs.
double max_difference(const Graph& g) {
  Session ref(Graph(g), {.threads = 1, .opt_level = 0});
  Session opt(Graph(g), {.threads = 1, .opt_level = 3});
  auto feeds = random_feeds(g, 7);
  const auto a = ref.run(feeds), b = opt.run(feeds);
  double worst = 0;
  for (size_t o = 0; o < a.size(); ++o)
    for (int64_t i = 0; i < a[o].numel(); ++i)
      worst = std::max(worst, std::fabs(a[o].as_double(i) - b[o].as_double(i)));
  return worst;
}

// fn(r, g, lstm) for GRU and LSTM, each with per-tensor and per-row scales, g being r's graph
// optimised at level 2.
template <class Fn>
void for_each_fused(const Fn& fn) {
  for (bool lstm : {false, true})
    for (bool per_row : {false, true}) {
      SCOPED_TRACE(cat(lstm ? "LSTM" : "GRU", per_row ? " per row" : " per tensor"));
      RecurrentGraph r(lstm, per_row);
      Graph g = r.g;
      optimize_graph(g, 2);
      fn(r, g, lstm);
    }
}

TEST(FuseDynamicRecurrent, GruAndLstmBecomeInt8Ops) {
  for_each_fused([](const RecurrentGraph& r, Graph& g, bool lstm) {
    const std::string op = lstm ? "DynamicQLSTM" : "DynamicQGRU";
    ASSERT_EQ(count_domain_op(g, op), 1u);
    EXPECT_EQ(count_op(g, "DequantizeLinear"), 0u);  // swept: nothing else read them
    EXPECT_EQ(g.initializers.at("W/q").dtype(), DType::i8);
    // Level 1 keeps the float path (constant folding dequantizes the weights).
    Graph g1 = r.g;
    optimize_graph(g1, 1);
    EXPECT_EQ(count_domain_op(g1, op), 0u);
    // X of N(0, 1) (180 values) has a step near 5/255; half of it times a row's Σ|w| (about
    // 0.24 sqrt(10)), plus the state's half step (at most 1/255) times R's (0.24 sqrt(19)),
    // is one step's worst case, near 0.012 (per row: the larger rows, up to 1.4x); observed
    // 0.0025 to 0.006.
    const double d = max_difference(r.g);
    EXPECT_GT(d, 0.0);
    EXPECT_LT(d, 0.012);
  });
}

// defuse_dynamic_recurrent (the quantizer's way back to float): the float op on exactly the
// values DequantizeLinear gives, so the graph computes what it did at level 0.
TEST(FuseDynamicRecurrent, DefuseRestoresTheFloatOp) {
  for_each_fused([](const RecurrentGraph& r, Graph& g, bool lstm) {
    ASSERT_TRUE(defuse_dynamic_recurrent(g));
    EXPECT_NO_THROW(verify(g));
    EXPECT_EQ(count_op(g, lstm ? "LSTM" : "GRU"), 1u);
    EXPECT_EQ(count_domain_op(g, lstm ? "DynamicQLSTM" : "DynamicQGRU"), 0u);
    expect_same_results(r.g, g, "defused");
    EXPECT_FALSE(defuse_dynamic_recurrent(g));
  });
}

TEST(FuseDynamicRecurrent, LeavesWhatTheKernelCannotTakeToTheFloatPath) {
  struct Bad {
    const char* what;
    int zero_point;
    int64_t axis;
  };
  for (const Bad& b : {Bad{"zero point 3", 3, 1}, Bad{"scale along axis 0", 0, 0}}) {
    SCOPED_TRACE(b.what);
    RecurrentGraph r(false, true, b.zero_point, b.axis);
    Graph g = r.g;
    optimize_graph(g, 3);
    EXPECT_EQ(count_domain_op(g, "DynamicQGRU"), 0u);
    EXPECT_EQ(count_op(g, "GRU"), 1u);
    expect_same_outputs(r.g, 3);
  }
  // A scale computed at run time (not a constant).
  RecurrentGraph r(true, false);
  r.g.initializers["W/scale2"] = r.g.initializers.at("W/scale");
  r.g.add_node("Identity", {"W/scale2"}, {"W/scale_computed"}, "scale_id");
  for (Node& n : r.g.nodes)
    if (n.name == "W/DQ") n.inputs[1] = "W/scale_computed";
  r.g.topo_sort();
  auto pass = make_fuse_dynamic_recurrent();
  EXPECT_FALSE(apply_pass(r.g, std::move(pass)));
}

}  // namespace
}  // namespace edgekit
