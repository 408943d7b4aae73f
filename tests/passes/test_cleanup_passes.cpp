// Level-1 passes, one at a time: each test builds a small graph, applies the pass, checks the
// rewrite happened (node counts) and that the graph computes the same on random inputs.
#include <gtest/gtest.h>

#include "pass_test_util.h"

namespace edgekit {
namespace {

using namespace test;

Tensor i64(std::vector<int64_t> v) { return Tensor::from<int64_t>(v, {int64_t(v.size())}); }

Graph with_input(Shape dims, std::vector<std::string> names = {}) {
  Graph g;
  g.opsets[""] = 13;
  if (names.empty()) names.assign(dims.size(), "");
  g.inputs.push_back({"x", DType::f32, dims, names});
  return g;
}

TEST(EliminateIdentity, IdentityDropoutAndNoOpCastGo) {
  Graph g = with_input({2, 3});
  g.add_node("Identity", {"x"}, {"a"}, "id");
  g.add_node("Dropout", {"a"}, {"b"}, "drop");
  Node& cast = g.add_node("Cast", {"b"}, {"c"}, "cast_same");
  cast.attrs["to"] = int64_t(1);  // float: already f32
  g.add_node("Relu", {"c"}, {"d"}, "relu");
  Node& widen = g.add_node("Cast", {"d"}, {"y"}, "cast_f64");
  widen.attrs["to"] = int64_t(11);  // double: a real conversion, kept
  g.outputs.push_back({"y", DType::f64, {2, 3}, {}});
  Graph opt = g;
  EXPECT_TRUE(apply_pass(opt, make_eliminate_identity()));
  EXPECT_EQ(opt.nodes.size(), 2u);
  EXPECT_EQ(count_op(opt, "Cast"), 1u);
  expect_same_results(g, opt, "eliminate_identity");
}

TEST(EliminateIdentity, GraphOutputNameIsKept) {
  Graph g = with_input({4});
  g.add_node("Relu", {"x"}, {"r"}, "relu");
  g.add_node("Identity", {"r"}, {"y"}, "id");
  g.add_node("Identity", {"x"}, {"z"}, "id_of_input");  // must stay: nothing else can produce z
  g.outputs.push_back({"y", DType::f32, {4}, {}});
  g.outputs.push_back({"z", DType::f32, {4}, {}});
  Graph opt = g;
  EXPECT_TRUE(apply_pass(opt, make_eliminate_identity()));
  ASSERT_EQ(opt.nodes.size(), 2u);
  EXPECT_EQ(opt.nodes[0].outputs[0], "y");  // the Relu now writes the output name
  expect_same_results(g, opt, "eliminate_identity");
}

TEST(EliminateIdentity, DropoutWithUsedMaskStays) {
  Graph g = with_input({4});
  g.add_node("Dropout", {"x"}, {"y", "mask"}, "drop");
  g.outputs.push_back({"y", DType::f32, {4}, {}});
  g.outputs.push_back({"mask", DType::boolean, {4}, {}});
  Graph opt = g;
  EXPECT_FALSE(apply_pass(opt, make_eliminate_identity()));
  EXPECT_EQ(opt.nodes.size(), 1u);
}

// x [N, 6, 4]: Reshape(x, [N, 2, 3*4]) with the shape computed from Shape(x).
Graph dynamic_reshape() {
  Graph g = with_input({-1, 6, 4}, {"N", "", ""});
  g.initializers["i0"] = Tensor::scalar<int64_t>(0);
  g.initializers["i1"] = Tensor::scalar<int64_t>(1);
  g.initializers["i2"] = Tensor::scalar<int64_t>(2);
  g.initializers["groups"] = Tensor::scalar<int64_t>(2);
  g.initializers["axes"] = i64({0});
  g.initializers["two"] = i64({2});
  g.add_node("Shape", {"x"}, {"s"}, "shape");
  g.add_node("Gather", {"s", "i0"}, {"n"}, "g0");
  g.add_node("Gather", {"s", "i1"}, {"c"}, "g1");
  g.add_node("Gather", {"s", "i2"}, {"w"}, "g2");
  g.add_node("Div", {"c", "groups"}, {"c3"}, "div");  // 6 / 2 channels a group
  g.add_node("Mul", {"c3", "w"}, {"cw"}, "mul");      // 3 * 4
  g.add_node("Unsqueeze", {"n", "axes"}, {"n1"}, "u0");
  g.add_node("Unsqueeze", {"cw", "axes"}, {"cw1"}, "u1");
  g.add_node("Concat", {"n1", "two", "cw1"}, {"target"}, "concat").attrs["axis"] = int64_t(0);
  g.add_node("Reshape", {"x", "target"}, {"y"}, "reshape");
  g.outputs.push_back({"y", DType::f32, {-1, 2, 12}, {"N", "", ""}});
  return g;
}

TEST(FoldShape, KnownDimsBecomeConstantsUnderADynamicBatch) {
  Graph g = dynamic_reshape();
  Graph opt = g;
  EXPECT_TRUE(apply_pass(opt, make_fold_shape()));
  EXPECT_TRUE(opt.initializers.count("c"));  // dims 1 and 2 are known
  EXPECT_TRUE(opt.initializers.count("w"));
  EXPECT_FALSE(opt.initializers.count("n"));  // the batch is not
  expect_same_results(g, opt, "fold_shape");
}

TEST(FoldShape, FullyKnownShapeAndSize) {
  Graph g = with_input({2, 5});
  g.add_node("Shape", {"x"}, {"s"}, "shape").attrs["start"] = int64_t(-1);  // opset 15 slice: [5]
  g.add_node("Size", {"x"}, {"n"}, "size");
  g.add_node("Cast", {"s"}, {"sf"}, "cast").attrs["to"] = int64_t(1);
  g.add_node("Cast", {"n"}, {"nf"}, "cast_n").attrs["to"] = int64_t(1);
  g.add_node("Mul", {"x", "sf"}, {"m"}, "mul");
  g.add_node("Add", {"m", "nf"}, {"y"}, "add");
  g.outputs.push_back({"y", DType::f32, {2, 5}, {}});
  g.nodes[0].opset = 15;
  Graph opt = g;
  EXPECT_TRUE(apply_pass(opt, make_fold_shape()));
  EXPECT_EQ(opt.initializers.at("s").to_int_vector(), std::vector<int64_t>{5});
  EXPECT_EQ(opt.initializers.at("n").as_int(0), 10);
  expect_same_results(g, opt, "fold_shape");
  optimize_graph(opt, 1);
  EXPECT_EQ(count_op(opt, "Shape") + count_op(opt, "Size") + count_op(opt, "Cast"), 0u);
}

TEST(ConstantFolding, FoldsButRespectsTheSizeCap) {
  Graph g = with_input({2});
  g.initializers["small"] = i64({2});
  g.initializers["big"] = i64({2048, 1024});  // 2M elements from a 2-element input: not folded
  g.initializers["v"] = Tensor::from<float>({1.5f}, {1});
  g.add_node("ConstantOfShape", {"small"}, {"c_small"}, "cos_small").attrs["value"] = Tensor::from<float>({3.f}, {1});
  g.add_node("ConstantOfShape", {"big"}, {"c_big"}, "cos_big");
  g.add_node("ReduceSum", {"c_big"}, {"sum"}, "sum").attrs["keepdims"] = int64_t(0);
  g.add_node("Add", {"x", "c_small"}, {"a"}, "add");
  g.add_node("Add", {"a", "sum"}, {"y"}, "add2");
  g.outputs.push_back({"y", DType::f32, {2}, {}});
  Graph opt = g;
  EXPECT_TRUE(apply_pass(opt, make_constant_folding()));
  EXPECT_TRUE(opt.initializers.count("c_small"));
  EXPECT_FALSE(opt.initializers.count("c_big"));
  EXPECT_EQ(count_op(opt, "ConstantOfShape"), 1u);
  expect_same_results(g, opt, "constant_folding");
}

TEST(ConstantReshapeShape, BatchDimBecomesCopyAndTheShapeChainGoes) {
  Graph g = dynamic_reshape();
  Graph opt = g;
  apply_pass(opt, make_fold_shape());
  apply_pass(opt, make_constant_folding());
  EXPECT_TRUE(apply_pass(opt, make_constant_reshape_shape()));
  apply_pass(opt, make_eliminate_dead_nodes());
  ASSERT_EQ(opt.nodes.size(), 1u);
  EXPECT_EQ(opt.initializers.at(opt.nodes[0].inputs[1]).to_int_vector(), (std::vector<int64_t>{0, 2, 12}));
  expect_same_results(g, opt, "constant_reshape_shape");
}

TEST(ConstantReshapeShape, OneComputedDimBecomesMinusOne) {
  // Reshape(x [N, 6], [2, N*3]): N*3 is not a dim of x, so it is inferred.
  Graph g = with_input({-1, 6}, {"N", ""});
  g.initializers["i0"] = Tensor::scalar<int64_t>(0);
  g.initializers["three"] = Tensor::scalar<int64_t>(3);
  g.initializers["axes"] = i64({0});
  g.initializers["two"] = i64({2});
  g.add_node("Shape", {"x"}, {"s"}, "shape");
  g.add_node("Gather", {"s", "i0"}, {"n"}, "g0");
  g.add_node("Mul", {"n", "three"}, {"n3"}, "mul");
  g.add_node("Unsqueeze", {"n3", "axes"}, {"n31"}, "u");
  g.add_node("Concat", {"two", "n31"}, {"target"}, "concat").attrs["axis"] = int64_t(0);
  g.add_node("Reshape", {"x", "target"}, {"y"}, "reshape");
  g.outputs.push_back({"y", DType::f32, {2, -1}, {}});
  Graph opt = g;
  EXPECT_TRUE(apply_pass(opt, make_constant_reshape_shape()));
  apply_pass(opt, make_eliminate_dead_nodes());
  ASSERT_EQ(opt.nodes.size(), 1u);
  EXPECT_EQ(opt.initializers.at(opt.nodes[0].inputs[1]).to_int_vector(), (std::vector<int64_t>{2, -1}));
  expect_same_results(g, opt, "constant_reshape_shape");
}

TEST(CollapseReshapes, ChainsBecomeOneReshape) {
  // x [N, 2, 3, 4] -> Flatten(axis 2) [N*2, 12] -> Unsqueeze(0) [1, N*2, 12] -> Squeeze(0) -> Reshape [N, 24]
  Graph g = with_input({-1, 2, 3, 4}, {"N", "", "", ""});
  g.initializers["axes"] = i64({0});
  g.initializers["shape"] = i64({-1, 24});
  g.add_node("Flatten", {"x"}, {"f"}, "flatten").attrs["axis"] = int64_t(2);
  g.add_node("Unsqueeze", {"f", "axes"}, {"u"}, "unsqueeze");
  g.add_node("Squeeze", {"u", "axes"}, {"s"}, "squeeze");
  g.add_node("Reshape", {"s", "shape"}, {"y"}, "reshape");
  g.outputs.push_back({"y", DType::f32, {-1, 24}, {"N", ""}});
  Graph opt = g;
  EXPECT_TRUE(apply_pass(opt, make_collapse_reshapes()));
  apply_pass(opt, make_eliminate_dead_nodes());
  ASSERT_EQ(opt.nodes.size(), 1u);
  EXPECT_EQ(opt.nodes[0].inputs[0], "x");
  expect_same_results(g, opt, "collapse_reshapes");
}

TEST(CollapseReshapes, ChainEndingInSqueezeUsesTheStaticShape) {
  // x [N, 3, 4] -> Reshape [N, 12, 1] -> Squeeze(2) [N, 12]: becomes Reshape(x, [0, 12]).
  Graph g = with_input({-1, 3, 4}, {"N", "", ""});
  g.initializers["shape"] = i64({0, 12, 1});
  g.initializers["axes"] = i64({2});
  g.add_node("Reshape", {"x", "shape"}, {"r"}, "reshape");
  g.add_node("Squeeze", {"r", "axes"}, {"mid"}, "squeeze");
  g.add_node("Relu", {"mid"}, {"y"}, "relu");
  g.outputs.push_back({"y", DType::f32, {-1, 12}, {"N", ""}});
  Graph opt = g;
  EXPECT_TRUE(apply_pass(opt, make_collapse_reshapes()));
  apply_pass(opt, make_eliminate_dead_nodes());
  EXPECT_EQ(count_op(opt, "Squeeze"), 0u);
  ASSERT_EQ(count_op(opt, "Reshape"), 1u);
  EXPECT_EQ(opt.initializers.at(opt.nodes[0].inputs[1]).to_int_vector(), (std::vector<int64_t>{0, 12}));
  expect_same_results(g, opt, "collapse_reshapes");
}

TEST(CollapseReshapes, NoOpReshapeGoes) {
  Graph g = with_input({2, 3});
  g.initializers["shape"] = i64({2, 3});
  g.add_node("Reshape", {"x", "shape"}, {"r"}, "reshape");
  g.add_node("Relu", {"r"}, {"y"}, "relu");
  g.outputs.push_back({"y", DType::f32, {2, 3}, {}});
  Graph opt = g;
  EXPECT_TRUE(apply_pass(opt, make_collapse_reshapes()));
  EXPECT_EQ(opt.nodes.size(), 1u);
  expect_same_results(g, opt, "collapse_reshapes");
}

TEST(EliminateDeadNodes, UnreadNodesAndInitializersGo) {
  Graph g = with_input({3});
  g.initializers["unused"] = i64({1});
  g.add_node("Relu", {"x"}, {"y"}, "relu");
  g.add_node("Sigmoid", {"x"}, {"dead"}, "sigmoid");
  g.outputs.push_back({"y", DType::f32, {3}, {}});
  Graph opt = g;
  EXPECT_TRUE(apply_pass(opt, make_eliminate_dead_nodes()));
  EXPECT_EQ(opt.nodes.size(), 1u);
  EXPECT_TRUE(opt.initializers.empty());
  expect_same_results(g, opt, "eliminate_dead_nodes");
}

}  // namespace
}  // namespace edgekit
