#include "kernels/shape_inference.h"

#include "elementwise_test_util.h"

namespace edgekit::test {
namespace {

Node& add(Graph& g, const std::string& op, std::vector<std::string> ins, std::vector<std::string> outs,
          std::map<std::string, AttributeValue> attrs = {}) {
  Node& n = g.add_node(op, std::move(ins), std::move(outs));
  n.opset = 18;
  n.attrs = std::move(attrs);
  return n;
}

// x: [N, 3, 4, 4] -> Shape -> Gather(0) -> Unsqueeze -> Concat with [-1] -> Reshape: [N, 48].
Graph flatten_by_shape_graph() {
  Graph g;
  g.inputs.push_back({"x", DType::f32, {-1, 3, 4, 4}, {"N", "", "", ""}});
  g.initializers["zero"] = Tensor::from<int64_t>({0}, {});
  g.initializers["axis0"] = Tensor::from<int64_t>({0}, {1});
  add(g, "Relu", {"x"}, {"r"});
  add(g, "Shape", {"r"}, {"s"});
  add(g, "Gather", {"s", "zero"}, {"n"});
  add(g, "Unsqueeze", {"n", "axis0"}, {"n1"});
  add(g, "Constant", {}, {"minus1"}, {{"value_ints", std::vector<int64_t>{-1}}});
  add(g, "Concat", {"n1", "minus1"}, {"shape"}, {{"axis", int64_t(0)}});
  add(g, "Reshape", {"r", "shape"}, {"y"});
  add(g, "ReduceSum", {"y"}, {"total"}, {{"keepdims", int64_t(0)}});
  g.outputs.push_back({"total", DType::undefined, {}, {}, false});
  return g;
}

TEST(ShapeInference, SymbolicBatchPassesThroughAShapeComputation) {
  Graph g = flatten_by_shape_graph();
  auto warnings = infer_shapes(g);
  EXPECT_TRUE(warnings.empty()) << warnings.front();
  ASSERT_TRUE(g.value_info.count("r"));
  EXPECT_EQ(g.value_info["r"].shape_string(), "[N,3,4,4]");
  EXPECT_EQ(g.value_info["s"].shape_string(), "[4]");
  // The Shape value is [N,3,4,4] and flows through Gather, Unsqueeze and Concat into
  // Reshape's [N,-1]; the -1 resolves to 48 whatever N is.
  EXPECT_EQ(g.value_info["shape"].shape_string(), "[2]");
  EXPECT_EQ(g.value_info["y"].shape_string(), "[N,48]");
  // ... and the graph output gets its dtype and rank.
  EXPECT_EQ(g.outputs[0].dtype, DType::f32);
  EXPECT_TRUE(g.outputs[0].shape_known);
  EXPECT_EQ(g.outputs[0].dims, Shape{});
}

TEST(ShapeInference, ValuesThatDependOnASymbolStayUnknown) {
  // Reshape x [N,6] to [N / 2, -1] and [N - 1, -1]: neither can be resolved; a Slice whose end
  // is N must not be decided by a sentinel standing for N.
  Graph g;
  g.inputs.push_back({"x", DType::f32, {-1, 6}, {"N", ""}});
  g.inputs.push_back({"table", DType::f32, {512, 6}, {}});
  g.initializers["zero"] = Tensor::from<int64_t>({0}, {1});
  g.initializers["two"] = Tensor::from<int64_t>({2}, {1});
  g.initializers["minus1"] = Tensor::from<int64_t>({-1}, {1});
  add(g, "Shape", {"x"}, {"s"}, {{"end", int64_t(1)}});
  add(g, "Div", {"s", "two"}, {"half"});
  add(g, "Concat", {"half", "minus1"}, {"shape_half"}, {{"axis", int64_t(0)}});
  add(g, "Reshape", {"x", "shape_half"}, {"y_half"});
  add(g, "Slice", {"table", "zero", "s"}, {"rows"});
  add(g, "Mul", {"s", "zero"}, {"nothing"});
  auto warnings = infer_shapes(g);
  EXPECT_TRUE(warnings.empty()) << warnings.front();
  EXPECT_EQ(g.value_info["y_half"].dims, (Shape{-1, -1}));
  EXPECT_EQ(g.value_info["rows"].shape_string(), "[?,6]");
  EXPECT_EQ(g.value_info["nothing"].dims, (Shape{1}));
}

TEST(ShapeInference, ConcreteInputsFoldShapeChainsIntoConcreteShapes) {
  Graph g = flatten_by_shape_graph();
  g.inputs[0] = {"x", DType::f32, {2, 3, 4, 4}, {}};
  auto warnings = infer_shapes(g);
  EXPECT_TRUE(warnings.empty());
  EXPECT_EQ(g.value_info["shape"].dims, (Shape{2}));
  EXPECT_EQ(g.value_info["y"].dims, (Shape{2, 48}));
}

TEST(ShapeInference, SymbolsSurviveRankChangingOps) {
  Graph g;
  g.inputs.push_back({"x", DType::f32, {-1, -1, 8}, {"batch", "seq", ""}});
  g.initializers["perm_shape"] = Tensor::from<int64_t>({0, 0, 2, 4}, {4});
  add(g, "Reshape", {"x", "perm_shape"}, {"r"});
  add(g, "Transpose", {"r"}, {"t"}, {{"perm", std::vector<int64_t>{1, 0, 2, 3}}});
  add(g, "Unsqueeze", {"t", "axes"}, {"u"});
  g.initializers["axes"] = Tensor::from<int64_t>({0}, {1});
  infer_shapes(g);
  EXPECT_EQ(g.value_info["r"].shape_string(), "[batch,seq,2,4]");
  EXPECT_EQ(g.value_info["t"].shape_string(), "[seq,batch,2,4]");
  EXPECT_EQ(g.value_info["u"].shape_string(), "[1,seq,batch,2,4]");
}

TEST(ShapeInference, UnsupportedOpsAndErrorsLeaveOutputsUnknown) {
  Graph g;
  g.inputs.push_back({"x", DType::f32, {2, 3}, {}});
  g.initializers["bad_shape"] = Tensor::from<int64_t>({4, 2}, {2});
  add(g, "NoSuchOp", {"x"}, {"a"});
  add(g, "Relu", {"a"}, {"b"});  // downstream of an unknown value: no second warning
  Node& r = add(g, "Reshape", {"x", "bad_shape"}, {"c"});
  r.name = "reshape_bad";
  add(g, "Relu", {"x"}, {"d"});
  auto warnings = infer_shapes(g);
  ASSERT_EQ(warnings.size(), 2u);
  EXPECT_NE(warnings[0].find("NoSuchOp"), std::string::npos) << warnings[0];
  EXPECT_NE(warnings[1].find("reshape_bad"), std::string::npos) << warnings[1];
  EXPECT_NE(warnings[1].find("[2,3]"), std::string::npos) << warnings[1];
  EXPECT_FALSE(g.value_info.count("a"));
  EXPECT_FALSE(g.value_info.count("b"));
  EXPECT_FALSE(g.value_info.count("c"));
  EXPECT_EQ(g.value_info["d"].dims, (Shape{2, 3}));
}

TEST(ShapeInference, DeclaredValueInfoFillsGapsAndDataDependentShapesStayUnknown) {
  Graph g;
  g.inputs.push_back({"x", DType::f32, {5}, {}});
  add(g, "NonZero", {"x"}, {"nz"});
  add(g, "Transpose", {"nz"}, {"t"});
  g.value_info["t"] = {"t", DType::i64, {-1, 1}, {"K", ""}};
  infer_shapes(g);
  EXPECT_EQ(g.value_info["nz"].dims, (Shape{1, -1}));
  EXPECT_EQ(g.value_info["t"].shape_string(), "[K,1]");
}

}  // namespace
}  // namespace edgekit::test
