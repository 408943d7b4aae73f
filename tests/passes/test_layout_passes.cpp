// layout_nhwc and transpose_to_reshape: the NHWC region covers convolutions, pools and the
// layout-agnostic ops between them, Transposes remain only at its edges, and every rewritten
// graph computes what the original does.
#include "pass_test_util.h"

namespace edgekit {
namespace {

using test::count_op;
using test::expect_same_outputs;
using test::random_tensor;

Node& conv(Graph& g, const std::string& x, const std::string& y, int64_t cin, int64_t cout, uint32_t seed,
           int64_t k = 3) {
  const std::string w = y + "_W", b = y + "_B";
  g.initializers[w] = random_tensor({cout, cin, k, k}, seed, 0.f, 0.3f);
  g.initializers[b] = random_tensor({cout}, seed + 1);
  Node& n = g.add_node("Conv", {x, w, b}, {y}, y);
  n.attrs["pads"] = std::vector<int64_t>{k / 2, k / 2, k / 2, k / 2};
  return n;
}

size_t count_domain_op(const Graph& g, const std::string& op) {
  size_t n = 0;
  for (const auto& node : g.nodes) n += node.domain == kEdgekitDomain && node.op_type == op;
  return n;
}

}  // namespace

TEST(LayoutNhwc, RegionSpansConvsPoolsConcatAndElementwise) {
  Graph g;
  g.opsets[""] = 13;
  g.inputs.push_back({"x", DType::f32, {-1, 3, 12, 12}, {"N", "", "", ""}});
  conv(g, "x", "c1", 3, 8, 1);
  g.add_node("Relu", {"c1"}, {"r1"}, "relu1");
  Node& mp = g.add_node("MaxPool", {"r1"}, {"p1"}, "pool");
  mp.attrs["kernel_shape"] = std::vector<int64_t>{2, 2};
  mp.attrs["strides"] = std::vector<int64_t>{2, 2};
  conv(g, "p1", "c2", 8, 5, 3);
  conv(g, "p1", "c3", 8, 7, 5, 1);
  Node& cat = g.add_node("Concat", {"c2", "c3"}, {"cat"}, "cat");
  cat.attrs["axis"] = int64_t(1);
  g.initializers["scale"] = random_tensor({12, 1, 1}, 7);  // per-channel constant, broadcast
  g.add_node("Mul", {"cat", "scale"}, {"scaled"}, "mul");
  g.add_node("GlobalAveragePool", {"scaled"}, {"gap"}, "gap");
  g.add_node("Flatten", {"gap"}, {"y"}, "flatten");
  g.outputs.push_back({"y", DType::f32, {-1, 12}, {"N", ""}});

  Graph opt = g;
  optimize_graph(opt, 3);
  EXPECT_EQ(count_domain_op(opt, "ConvNhwc"), 3u);
  EXPECT_EQ(count_domain_op(opt, "MaxPoolNhwc"), 1u);
  EXPECT_EQ(count_domain_op(opt, "GlobalAveragePoolNhwc"), 1u);
  // One Transpose in (the graph input); the exit [N,1,1,C] -> [N,C,1,1] moves only unit dims
  // and became a Reshape, merged with the Flatten.
  EXPECT_EQ(count_op(opt, "Transpose"), 1u);
  EXPECT_EQ(count_op(opt, "Reshape"), 1u);
  for (const auto& n : opt.nodes) {
    if (n.op_type == "Concat") {
      EXPECT_EQ(n.attr_int("axis"), 3);  // channels are last in NHWC
    }
  }
  expect_same_outputs(g, 3);
  expect_same_outputs(g, 3, 9);  // another batch of random inputs (batch 2)
}

TEST(LayoutNhwc, SqueezeExcitationAndResidualStayInside) {
  // x -> conv -> (GAP -> conv -> sigmoid) * . + x: the gate's [N,C,1,1] broadcasts in NHWC too.
  Graph g;
  g.opsets[""] = 13;
  g.inputs.push_back({"x", DType::f32, {1, 6, 7, 5}, {}});
  conv(g, "x", "c1", 6, 6, 1);
  g.add_node("GlobalAveragePool", {"c1"}, {"gap"}, "gap");
  conv(g, "gap", "fc", 6, 6, 3, 1);
  g.add_node("Sigmoid", {"fc"}, {"gate"}, "sig");
  g.add_node("Mul", {"c1", "gate"}, {"se"}, "mul");
  g.add_node("Add", {"se", "x"}, {"y"}, "add");
  g.outputs.push_back({"y", DType::f32, {1, 6, 7, 5}, {}});
  Graph opt = g;
  optimize_graph(opt, 3);
  EXPECT_EQ(count_domain_op(opt, "ConvNhwc"), 2u);
  EXPECT_EQ(count_op(opt, "Transpose"), 2u);  // the input in, the output out
  expect_same_outputs(g, 3);
}

TEST(LayoutNhwc, ReadersOutsideTheRegionGetNchw) {
  // The conv output also feeds a Softmax over channels (not layout-agnostic) and is a graph
  // output itself: both see NCHW data under the original names.
  Graph g;
  g.opsets[""] = 13;
  g.inputs.push_back({"x", DType::f32, {2, 4, 5, 5}, {}});
  conv(g, "x", "c", 4, 6, 1);
  Node& sm = g.add_node("Softmax", {"c"}, {"s"}, "softmax");
  sm.attrs["axis"] = int64_t(1);
  g.outputs.push_back({"c", DType::f32, {2, 6, 5, 5}, {}});
  g.outputs.push_back({"s", DType::f32, {2, 6, 5, 5}, {}});
  Graph opt = g;
  optimize_graph(opt, 3);
  EXPECT_EQ(count_domain_op(opt, "ConvNhwc"), 1u);
  EXPECT_EQ(opt.outputs[0].name, "c");
  expect_same_outputs(g, 3);
}

TEST(LayoutNhwc, NonConstantWeightsStayNchw) {
  Graph g;
  g.opsets[""] = 13;
  g.inputs.push_back({"x", DType::f32, {1, 2, 4, 4}, {}});
  g.inputs.push_back({"w", DType::f32, {3, 2, 3, 3}, {}});
  g.add_node("Conv", {"x", "w"}, {"y"}, "conv");
  g.outputs.push_back({"y", DType::f32, {1, 3, 2, 2}, {}});
  Graph opt = g;
  optimize_graph(opt, 3);
  EXPECT_EQ(count_op(opt, "Conv"), 1u);
  EXPECT_EQ(count_op(opt, "Transpose"), 0u);
}

TEST(TransposeToReshape, OnlyUnitDimMovesBecomeReshapes) {
  Graph g;
  g.opsets[""] = 13;
  g.inputs.push_back({"x", DType::f32, {-1, 1, 1, 9}, {"N", "", "", ""}});
  g.inputs.push_back({"z", DType::f32, {2, 3, 1, 4}, {}});
  Node& a = g.add_node("Transpose", {"x"}, {"a"}, "t_units");
  a.attrs["perm"] = std::vector<int64_t>{0, 3, 1, 2};
  Node& b = g.add_node("Transpose", {"z"}, {"b"}, "t_real");
  b.attrs["perm"] = std::vector<int64_t>{0, 3, 1, 2};  // moves 4 before 3: a real transpose
  g.outputs.push_back({"a", DType::f32, {-1, 9, 1, 1}, {"N", "", "", ""}});
  g.outputs.push_back({"b", DType::f32, {2, 4, 3, 1}, {}});
  Graph opt = g;
  EXPECT_TRUE(test::apply_pass(opt, make_transpose_to_reshape()));
  EXPECT_EQ(count_op(opt, "Reshape"), 1u);
  EXPECT_EQ(count_op(opt, "Transpose"), 1u);
  test::expect_same_results(g, opt, "transpose_to_reshape");
}

}  // namespace edgekit

namespace edgekit {
// ShuffleNet's unit: Slice the channels in two, convolve one half, Concat, channel shuffle.
// All of it runs in NHWC: the Slices' axes and the shuffle's Reshape/Transpose are rewritten.
TEST(LayoutNhwc, ChannelShuffleAndSlicesStayInside) {
  Graph g;
  g.opsets[""] = 13;
  g.inputs.push_back({"x", DType::f32, {-1, 4, 6, 5}, {"N", "", "", ""}});
  conv(g, "x", "c0", 4, 8, 1);
  g.initializers["s0"] = Tensor::from<int64_t>({0}, {1});
  g.initializers["s4"] = Tensor::from<int64_t>({4}, {1});
  g.initializers["s8"] = Tensor::from<int64_t>({8}, {1});
  g.initializers["ax"] = Tensor::from<int64_t>({1}, {1});
  g.add_node("Slice", {"c0", "s0", "s4", "ax"}, {"left"}, "slice_left");
  g.add_node("Slice", {"c0", "s4", "s8", "ax"}, {"right"}, "slice_right");
  conv(g, "right", "c1", 4, 4, 3, 1);
  Node& cat = g.add_node("Concat", {"left", "c1"}, {"cat"}, "cat");
  cat.attrs["axis"] = int64_t(1);
  g.initializers["shape5"] = Tensor::from<int64_t>({0, 2, 4, 6, 5}, {5});
  g.initializers["shape4"] = Tensor::from<int64_t>({0, -1, 6, 5}, {4});
  g.add_node("Reshape", {"cat", "shape5"}, {"r5"}, "shuffle_reshape");
  Node& t = g.add_node("Transpose", {"r5"}, {"t5"}, "shuffle_transpose");
  t.attrs["perm"] = std::vector<int64_t>{0, 2, 1, 3, 4};
  g.add_node("Reshape", {"t5", "shape4"}, {"shuffled"}, "shuffle_back");
  conv(g, "shuffled", "y", 8, 3, 5);
  g.outputs.push_back({"y", DType::f32, {-1, 3, 6, 5}, {"N", "", "", ""}});

  Graph opt = g;
  optimize_graph(opt, 3);
  // The graph input and output Transposes, and the shuffle's own (now swapping the last two dims).
  EXPECT_EQ(count_op(opt, "Transpose"), 3u);
  for (const auto& n : opt.nodes) {
    if (n.op_type == "Transpose" && n.name == "shuffle_transpose") {
      EXPECT_EQ(n.attr_ints("perm"), (std::vector<int64_t>{0, 1, 2, 4, 3}));
    }
  }
  expect_same_outputs(g, 3);
  expect_same_outputs(g, 3, 7);
}
}  // namespace edgekit

namespace edgekit {
// A mean over H and W without keepdims (ShuffleNet's head) reads the region directly: its
// [N, C] result has no layout. With keepdims it would be 4-D, and stays outside.
TEST(LayoutNhwc, SpatialMeanReadsNhwcDirectly) {
  for (int64_t keepdims : {0, 1}) {
    Graph g;
    g.opsets[""] = 13;
    g.inputs.push_back({"x", DType::f32, {2, 3, 5, 4}, {}});
    conv(g, "x", "c", 3, 6, 1);
    Node& r = g.add_node("ReduceMean", {"c"}, {"y"}, "mean");
    r.attrs["axes"] = std::vector<int64_t>{-1, 2};
    r.attrs["keepdims"] = keepdims;
    g.outputs.push_back({"y", DType::f32, keepdims ? Shape{2, 6, 1, 1} : Shape{2, 6}, {}});
    Graph opt = g;
    optimize_graph(opt, 3);
    EXPECT_EQ(count_op(opt, "Transpose"), keepdims ? 2u : 1u) << "keepdims " << keepdims;
    expect_same_outputs(g, 3);
  }
}
}  // namespace edgekit

namespace edgekit {
namespace {
// An NHWC graph of ConvNhwc nodes (as layout_nhwc leaves them) whose outputs a channel Concat
// joins; `shared` gives part 1 a second reader, `depthwise` makes part 0 depthwise.
Graph nhwc_concat(bool concat_is_output, bool shared, bool depthwise) {
  Graph g;
  g.opsets[""] = 13;
  g.opsets[kEdgekitDomain] = 1;
  g.inputs.push_back({"x", DType::f32, {2, 9, 8, 6}, {}});
  auto part = [&](const std::string& y, int64_t cout, int64_t k, int64_t group, uint32_t seed) {
    g.initializers[y + "_W"] = random_tensor({cout, 6 / group, k, k}, seed, 0.f, 0.3f);
    g.initializers[y + "_B"] = random_tensor({cout}, seed + 1);
    Node& n = g.add_node("ConvNhwc", {"x", y + "_W", y + "_B"}, {y}, y);
    n.domain = kEdgekitDomain;
    n.attrs["pads"] = std::vector<int64_t>{k / 2, k / 2, k / 2, k / 2};
    n.attrs["group"] = group;
    n.attrs["_activation"] = std::string("Relu");
  };
  part("a", depthwise ? 6 : 5, 3, depthwise ? 6 : 1, 1);
  part("b", 7, 1, 1, 3);
  part("c", 19, 3, 1, 5);  // more than a panel of lanes
  Node& cat = g.add_node("Concat", {"a", "b", "c"}, {concat_is_output ? "y" : "cat"}, "cat");
  cat.attrs["axis"] = int64_t(3);
  const int64_t total = (depthwise ? 6 : 5) + 7 + 19;
  if (!concat_is_output) g.add_node("Sigmoid", {"cat"}, {"y"}, "sigmoid");
  g.outputs.push_back({"y", DType::f32, {2, 9, 8, total}, {}});
  if (shared) {
    g.add_node("Neg", {"b"}, {"nb"}, "neg");
    g.outputs.push_back({"nb", DType::f32, {2, 9, 8, 7}, {}});
  }
  return g;
}
}  // namespace

TEST(ConcatInPlace, ConvolutionsWriteTheirChannelsOfTheConcat) {
  Graph g = nhwc_concat(false, false, false), before = g;
  ASSERT_TRUE(test::apply_pass(g, make_concat_in_place()));
  EXPECT_EQ(count_op(g, "Concat"), 0u);
  int64_t offset = 0, into = 0;
  for (const auto& n : g.nodes) {
    if (n.op_type != "ConvNhwc") continue;
    EXPECT_EQ(n.attr_int("_concat_channels"), 31) << n.name;
    EXPECT_EQ(n.attr_int("_concat_offset"), offset) << n.name;
    offset += g.initializers.at(n.inputs[1]).dim(0);
    into += n.attr_int("_concat_into", 0);
  }
  EXPECT_EQ(into, 2);  // every part but the first fills in the previous one's output
  test::expect_same_results(before, g, "concat_in_place");
  // The Session runs the parts in place on threads too, and on a second run from its plan.
  Session a(Graph(before), {.threads = 1, .opt_level = 0});
  Session b(Graph(g), {.threads = 2, .opt_level = 0});
  for (uint32_t seed : {3u, 4u}) test::expect_close(a.run(test::random_feeds(before, seed)), b.run(test::random_feeds(before, seed)), "2 threads");
}

TEST(ConcatInPlace, LeftAloneWhenAPartIsReadElsewhereOrDepthwiseOrTheConcatIsAGraphOutput) {
  for (auto [output, shared, depthwise] : {std::tuple{true, false, false}, {false, true, false}, {false, false, true}}) {
    Graph g = nhwc_concat(output, shared, depthwise);
    EXPECT_FALSE(test::apply_pass(g, make_concat_in_place())) << output << shared << depthwise;
    EXPECT_EQ(count_op(g, "Concat"), 1u);
  }
}

TEST(ConcatInPlace, SqueezeNetFireModulesLoseTheirConcats) {
  // The fire module's expand1x1 and expand3x3 Concat, from ONNX through the level-3 passes.
  Graph g;
  g.opsets[""] = 13;
  g.inputs.push_back({"x", DType::f32, {1, 8, 10, 10}, {}});
  conv(g, "x", "squeeze", 8, 4, 1, 1);
  g.add_node("Relu", {"squeeze"}, {"s"}, "relu_s");
  conv(g, "s", "e1", 4, 6, 3, 1);
  conv(g, "s", "e3", 4, 6, 5, 3);
  g.add_node("Relu", {"e1"}, {"r1"}, "relu1");
  g.add_node("Relu", {"e3"}, {"r3"}, "relu3");
  Node& cat = g.add_node("Concat", {"r1", "r3"}, {"cat"}, "cat");
  cat.attrs["axis"] = int64_t(1);
  conv(g, "cat", "y", 12, 3, 7);
  g.outputs.push_back({"y", DType::f32, {1, 3, 10, 10}, {}});
  Graph opt = g;
  optimize_graph(opt, 3);
  EXPECT_EQ(count_op(opt, "Concat"), 0u);
  expect_same_outputs(g, 3);
}
}  // namespace edgekit

namespace edgekit {
namespace {
// One ConvNhwc on an NHWC input [N, H, W, C] with C -> M channels, kernel k, stride s.
Graph nhwc_conv(Shape x, int64_t m, int64_t k, int64_t stride, int64_t group = 1) {
  Graph g;
  g.opsets[""] = 13;
  g.opsets[kEdgekitDomain] = 1;
  g.inputs.push_back({"x", DType::f32, x, {}});
  g.initializers["W"] = random_tensor({m, x[3] / group, k, k}, 7, 0.f, 0.3f);
  g.initializers["B"] = random_tensor({m}, 8);
  Node& n = g.add_node("ConvNhwc", {"x", "W", "B"}, {"y"}, "conv");
  n.domain = kEdgekitDomain;
  n.attrs["pads"] = std::vector<int64_t>{k / 2, k / 2, k / 2, k / 2};
  n.attrs["strides"] = std::vector<int64_t>{stride, stride};
  n.attrs["group"] = group;
  n.attrs["_activation"] = std::string("Relu");
  const int64_t oh = (x[1] + 2 * (k / 2) - k) / stride + 1, ow = (x[2] + 2 * (k / 2) - k) / stride + 1;
  g.outputs.push_back({"y", DType::f32, {x[0], oh, ow, m}, {}});
  return g;
}
}  // namespace

TEST(ChooseWinograd, MarksThreeByThreeStrideOneConvolutionsOfManyTiles) {
  Graph g = nhwc_conv({2, 30, 29, 16}, 24, 3, 1), before = g;
  ASSERT_TRUE(test::apply_pass(g, make_choose_winograd()));
  EXPECT_EQ(g.nodes[0].attr_int("_winograd", 0), 1);
  EXPECT_FALSE(test::apply_pass(g, make_choose_winograd()));  // once
  test::expect_same_results(before, g, "choose_winograd");
  // On two threads, and from a level-3 optimisation of the same graph, which picks it too.
  Session a(Graph(before), {.threads = 1, .opt_level = 0});
  Session b(Graph(g), {.threads = 2, .opt_level = 0});
  for (uint32_t seed : {3u, 4u}) test::expect_close(a.run(test::random_feeds(before, seed)), b.run(test::random_feeds(before, seed)), "2 threads");
  Graph opt = before;
  optimize_graph(opt, 3);
  EXPECT_EQ(opt.nodes.at(0).attr_int("_winograd", 0), 1);
}

TEST(ChooseWinograd, LeavesOtherConvolutionsAlone) {
  for (Graph g : {nhwc_conv({1, 30, 30, 16}, 16, 3, 2),      // stride 2
                  nhwc_conv({1, 30, 30, 16}, 16, 5, 1),      // 5x5
                  nhwc_conv({1, 30, 30, 16}, 16, 3, 1, 16),  // depthwise
                  nhwc_conv({1, 30, 30, 3}, 16, 3, 1),       // three input channels
                  nhwc_conv({1, 7, 7, 512}, 512, 3, 1),      // weights too large for its tiles
                  nhwc_conv({1, 4, 4, 32}, 32, 3, 1)}) {     // one tile
    EXPECT_FALSE(test::apply_pass(g, make_choose_winograd())) << shape_str(g.initializers.at("W").shape());
  }
}
}  // namespace edgekit
