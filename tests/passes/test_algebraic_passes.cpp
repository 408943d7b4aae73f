// Level-2 passes, one at a time: the rewrite happens (node counts) and the graph computes the
// same on random inputs.
#include <gtest/gtest.h>

#include <cmath>

#include "formats/onnx/onnx_export.h"
#include "formats/onnx/onnx_import.h"
#include "pass_test_util.h"

namespace edgekit {
namespace {

using namespace test;

Graph with_input(Shape dims, std::vector<std::string> names = {}) {
  Graph g;
  g.opsets[""] = 13;
  if (names.empty()) names.assign(dims.size(), "");
  g.inputs.push_back({"x", DType::f32, dims, names});
  return g;
}

void add_bn_params(Graph& g, int64_t c) {
  g.initializers["scale"] = random_tensor({c}, 21);
  g.initializers["shift"] = random_tensor({c}, 22);
  g.initializers["mean"] = random_tensor({c}, 23);
  g.initializers["var"] = positive_tensor({c}, 24);
}

TEST(FoldBatchNorm, IntoGroupedConvTranspose) {
  Graph g = with_input({1, 4, 5, 5});
  g.initializers["W"] = random_tensor({4, 3, 3, 3}, 1);  // [C_in, M/group, k, k], group 2: M = 6
  g.initializers["B"] = random_tensor({6}, 2);
  add_bn_params(g, 6);
  Node& ct = g.add_node("ConvTranspose", {"x", "W", "B"}, {"c"}, "deconv");
  ct.attrs["group"] = int64_t(2);
  ct.attrs["strides"] = std::vector<int64_t>{2, 2};
  g.add_node("BatchNormalization", {"c", "scale", "shift", "mean", "var"}, {"y"}, "bn");
  g.outputs.push_back({"y", DType::f32, {1, 6, 11, 11}, {}});
  Graph opt = g;
  EXPECT_TRUE(apply_pass(opt, make_fold_batch_norm()));
  EXPECT_EQ(count_op(opt, "BatchNormalization"), 0u);
  expect_same_results(g, opt, "fold_batch_norm");
}

TEST(FoldBatchNorm, IntoMatMulWithConstantWeights) {
  Graph g = with_input({-1, 5}, {"N", ""});
  g.initializers["W"] = random_tensor({5, 3}, 1);
  add_bn_params(g, 3);
  g.add_node("MatMul", {"x", "W"}, {"m"}, "mm");
  g.add_node("BatchNormalization", {"m", "scale", "shift", "mean", "var"}, {"y"}, "bn");
  g.outputs.push_back({"y", DType::f32, {-1, 3}, {"N", ""}});
  Graph opt = g;
  EXPECT_TRUE(apply_pass(opt, make_fold_batch_norm()));
  ASSERT_EQ(opt.nodes.size(), 1u);
  EXPECT_EQ(opt.nodes[0].op_type, "Gemm");
  expect_same_results(g, opt, "fold_batch_norm");
}

TEST(FoldBatchNorm, NotIntoAProducerWithAFusedActivation) {
  Graph g = with_input({1, 2, 4, 4});
  g.initializers["W"] = random_tensor({3, 2, 1, 1}, 1);
  add_bn_params(g, 3);
  Node& c = g.add_node("Conv", {"x", "W"}, {"c"}, "conv");
  c.attrs["_activation"] = std::string("Relu");  // Relu(conv) then BN: BN cannot move inside
  g.add_node("BatchNormalization", {"c", "scale", "shift", "mean", "var"}, {"y"}, "bn");
  g.outputs.push_back({"y", DType::f32, {1, 3, 4, 4}, {}});
  Graph opt = g;
  EXPECT_FALSE(apply_pass(opt, make_fold_batch_norm()));
}

TEST(FuseMatMulAdd, TwoDimensionalBecomesGemm) {
  Graph g = with_input({-1, 6}, {"N", ""});
  g.initializers["W"] = random_tensor({6, 4}, 1);
  g.initializers["b"] = random_tensor({4}, 2);
  g.add_node("MatMul", {"x", "W"}, {"m"}, "mm");
  g.add_node("Add", {"b", "m"}, {"y"}, "add");  // bias first: either order
  g.outputs.push_back({"y", DType::f32, {-1, 4}, {"N", ""}});
  Graph opt = g;
  EXPECT_TRUE(apply_pass(opt, make_fuse_matmul_add()));
  ASSERT_EQ(opt.nodes.size(), 1u);
  EXPECT_EQ(opt.nodes[0].op_type, "Gemm");
  EXPECT_EQ(opt.nodes[0].outputs[0], "y");
  expect_same_results(g, opt, "fuse_matmul_add");
}

TEST(FuseMatMulAdd, BatchedMatMulOrBroadcastingBiasStays) {
  Graph g = with_input({2, 3, 6});
  g.initializers["W"] = random_tensor({6, 4}, 1);
  g.initializers["b"] = random_tensor({4}, 2);
  g.add_node("MatMul", {"x", "W"}, {"m"}, "mm");  // 3-D: Gemm cannot take it
  g.add_node("Add", {"m", "b"}, {"y"}, "add");
  g.outputs.push_back({"y", DType::f32, {2, 3, 4}, {}});
  Graph opt = g;
  EXPECT_FALSE(apply_pass(opt, make_fuse_matmul_add()));

  Graph h = with_input({1, 6});
  h.initializers["W"] = random_tensor({6, 4}, 1);
  h.initializers["b"] = random_tensor({3, 4}, 2);  // would grow the [1, 4] product to [3, 4]
  h.add_node("MatMul", {"x", "W"}, {"m"}, "mm");
  h.add_node("Add", {"m", "b"}, {"y"}, "add");
  h.outputs.push_back({"y", DType::f32, {3, 4}, {}});
  EXPECT_FALSE(apply_pass(h, make_fuse_matmul_add()));
}

TEST(MergeTransposes, InversePairCancelsAndOthersMerge) {
  Graph g = with_input({2, 3, 4});
  Node& t1 = g.add_node("Transpose", {"x"}, {"a"}, "t1");
  t1.attrs["perm"] = std::vector<int64_t>{1, 2, 0};
  Node& t2 = g.add_node("Transpose", {"a"}, {"b"}, "t2");
  t2.attrs["perm"] = std::vector<int64_t>{2, 0, 1};  // inverse of t1
  g.add_node("Relu", {"b"}, {"r"}, "relu");
  Node& t3 = g.add_node("Transpose", {"r"}, {"c"}, "t3");
  t3.attrs["perm"] = std::vector<int64_t>{1, 0, 2};
  g.add_node("Transpose", {"c"}, {"y"}, "t4");  // no perm: reversed dims
  g.outputs.push_back({"y", DType::f32, {4, 2, 3}, {}});
  Graph opt = g;
  EXPECT_TRUE(apply_pass(opt, make_merge_transposes()));
  apply_pass(opt, make_eliminate_dead_nodes());
  EXPECT_EQ(count_op(opt, "Transpose"), 1u);
  EXPECT_EQ(opt.nodes.size(), 2u);
  expect_same_results(g, opt, "merge_transposes");
}

TEST(SinkTransposes, LayoutTransposesAroundElementwiseOpsCancel) {
  // The TFLite importer's shape: NCHW -> T(NHWC) -> Add(., T(skip)) -> Relu -> T(NCHW).
  Graph g = with_input({1, 3, 4, 5});
  g.inputs.push_back({"skip", DType::f32, {1, 3, 4, 5}, {}});
  g.initializers["half"] = Tensor::scalar<float>(0.5f);
  const std::vector<int64_t> to_nhwc{0, 2, 3, 1}, to_nchw{0, 3, 1, 2};
  g.add_node("Transpose", {"x"}, {"xt"}, "x_nhwc").attrs["perm"] = to_nhwc;
  g.add_node("Transpose", {"skip"}, {"st"}, "skip_nhwc").attrs["perm"] = to_nhwc;
  g.add_node("Add", {"xt", "st"}, {"a"}, "add");
  g.add_node("Mul", {"a", "half"}, {"m"}, "mul");  // a one-element constant broadcasts either way
  g.add_node("Relu", {"m"}, {"r"}, "relu");
  g.add_node("Transpose", {"r"}, {"y"}, "y_nchw").attrs["perm"] = to_nchw;
  g.outputs.push_back({"y", DType::f32, {1, 3, 4, 5}, {}});
  Graph opt = g;
  EXPECT_TRUE(apply_pass(opt, make_sink_transposes()));
  expect_same_results(g, opt, "sink_transposes");
  optimize_graph(opt, 2);
  EXPECT_EQ(count_op(opt, "Transpose"), 0u);
  EXPECT_EQ(opt.nodes.size(), 3u);
  expect_same_results(g, opt, "sink_transposes then merge");
}

TEST(SinkTransposes, MixedPermutationsOrTensorConstantsStay) {
  Graph g = with_input({2, 3, 4});
  g.inputs.push_back({"z", DType::f32, {4, 3, 2}, {}});
  g.add_node("Transpose", {"x"}, {"xt"}, "tx").attrs["perm"] = std::vector<int64_t>{2, 1, 0};
  g.add_node("Transpose", {"z"}, {"zt"}, "tz").attrs["perm"] = std::vector<int64_t>{0, 1, 2};
  g.add_node("Add", {"xt", "zt"}, {"y"}, "add");
  g.initializers["bias"] = random_tensor({2}, 1);
  g.add_node("Add", {"xt", "bias"}, {"y2"}, "add_bias");
  g.outputs.push_back({"y", DType::f32, {4, 3, 2}, {}});
  g.outputs.push_back({"y2", DType::f32, {4, 3, 2}, {}});
  EXPECT_FALSE(apply_pass(g, make_sink_transposes()));
}

TEST(FoldTransposeIntoGemm, ComputedOperandsBecomeFlags) {
  // y = MatMul(x, Transpose(w)) and z = Gemm(Transpose(x), v, transA=1) = x v, with w, v graph inputs.
  Graph g = with_input({3, 5});
  g.inputs.push_back({"w", DType::f32, {4, 5}, {}});
  g.add_node("Transpose", {"w"}, {"wt"}, "tw");
  g.add_node("MatMul", {"x", "wt"}, {"y"}, "mm");
  g.add_node("Transpose", {"x"}, {"xt"}, "tx").attrs["perm"] = std::vector<int64_t>{1, 0};
  g.inputs.push_back({"v", DType::f32, {5, 2}, {}});
  g.add_node("Gemm", {"xt", "v"}, {"z"}, "gemm").attrs["transA"] = int64_t(1);
  g.outputs.push_back({"y", DType::f32, {3, 4}, {}});
  g.outputs.push_back({"z", DType::f32, {3, 2}, {}});
  Graph opt = g;
  EXPECT_TRUE(apply_pass(opt, make_fold_transpose_into_gemm()));
  apply_pass(opt, make_eliminate_dead_nodes());
  EXPECT_EQ(count_op(opt, "Transpose"), 0u);
  EXPECT_EQ(count_op(opt, "Gemm"), 2u);
  expect_same_results(g, opt, "fold_transpose_into_gemm");
}

TEST(FoldTransposeIntoGemm, ConstantWeightTransposeFoldsAtLevelTwo) {
  Graph g = with_input({-1, 5}, {"N", ""});
  g.initializers["W"] = random_tensor({4, 5}, 1);
  g.add_node("Transpose", {"W"}, {"wt"}, "t");
  g.add_node("MatMul", {"x", "wt"}, {"y"}, "mm");
  g.outputs.push_back({"y", DType::f32, {-1, 4}, {"N", ""}});
  Graph opt = g;
  optimize_graph(opt, 2);
  EXPECT_EQ(opt.nodes.size(), 1u);
  expect_same_outputs(g, 2);
}

// The decomposed LayerNorm PyTorch writes for opset < 17, over the last `k` dims.
Graph layer_norm_pattern(bool with_affine, bool square_by_mul) {
  Graph g = with_input({-1, 4, 8}, {"N", "", ""});
  g.initializers["two"] = Tensor::scalar<float>(2.f);
  g.initializers["eps"] = Tensor::scalar<float>(1e-5f);
  g.initializers["gamma"] = random_tensor({8}, 3);
  g.initializers["beta"] = random_tensor({8}, 4);
  g.add_node("ReduceMean", {"x"}, {"m"}, "mean").attrs["axes"] = std::vector<int64_t>{-1};
  g.add_node("Sub", {"x", "m"}, {"d"}, "sub");
  if (square_by_mul)
    g.add_node("Mul", {"d", "d"}, {"p"}, "square");
  else
    g.add_node("Pow", {"d", "two"}, {"p"}, "pow");
  g.add_node("ReduceMean", {"p"}, {"v"}, "var").attrs["axes"] = std::vector<int64_t>{-1};
  g.add_node("Add", {"v", "eps"}, {"ve"}, "add_eps");
  g.add_node("Sqrt", {"ve"}, {"s"}, "sqrt");
  g.add_node("Div", {"d", "s"}, with_affine ? std::vector<std::string>{"n"} : std::vector<std::string>{"y"}, "div");
  if (with_affine) {
    g.add_node("Mul", {"n", "gamma"}, {"ng"}, "scale");
    g.add_node("Add", {"ng", "beta"}, {"y"}, "shift");
  }
  g.outputs.push_back({"y", DType::f32, {-1, 4, 8}, {"N", "", ""}});
  return g;
}

TEST(FuseLayerNorm, DecomposedPatternBecomesOneNode) {
  for (bool affine : {true, false}) {
    for (bool by_mul : {false, true}) {
      Graph g = layer_norm_pattern(affine, by_mul);
      Graph opt = g;
      EXPECT_TRUE(apply_pass(opt, make_fuse_layer_norm()));
      ASSERT_EQ(opt.nodes.size(), 1u);
      EXPECT_EQ(opt.nodes[0].op_type, "LayerNormalization");
      EXPECT_EQ(opt.nodes[0].attr_int("axis"), -1);
      EXPECT_EQ(opt.opsets[""], 17);  // raised from 13 so export stays valid ONNX
      expect_same_results(g, opt, "fuse_layer_norm");
    }
  }
}

TEST(FuseLayerNorm, PositiveTrailingAxesAreReadWithTheRank) {
  Graph g = layer_norm_pattern(true, false);
  for (auto& n : g.nodes)
    if (n.op_type == "ReduceMean") n.attrs["axes"] = std::vector<int64_t>{2};
  Graph opt = g;
  EXPECT_TRUE(apply_pass(opt, make_fuse_layer_norm()));
  ASSERT_EQ(opt.nodes.size(), 1u);
  EXPECT_EQ(opt.nodes[0].attr_int("axis"), -1);
  expect_same_results(g, opt, "fuse_layer_norm");
  Graph middle = layer_norm_pattern(true, false);  // axis 1 of [N, 4, 8] is not a trailing range
  for (auto& n : middle.nodes)
    if (n.op_type == "ReduceMean") n.attrs["axes"] = std::vector<int64_t>{1};
  EXPECT_FALSE(apply_pass(middle, make_fuse_layer_norm()));
}

TEST(FuseLayerNorm, ExportsAsValidOnnx) {
  Graph g = layer_norm_pattern(true, false);
  optimize_graph(g, 2);
  std::string bytes = export_onnx_bytes(g);
  EXPECT_NO_THROW(check_onnx_model(bytes, "layer_norm.onnx"));
}

TEST(FuseLayerNorm, IntermediateReadElsewhereBlocksTheFusion) {
  Graph g = layer_norm_pattern(true, false);
  g.outputs.push_back({"v", DType::f32, {-1, 4, 1}, {"N", "", ""}});  // the variance is an output too
  Graph opt = g;
  EXPECT_FALSE(apply_pass(opt, make_fuse_layer_norm()));
}

// GELU as 0.5 * x * (1 + erf(x / sqrt 2)) in the three operand orders exporters use.
Graph gelu_pattern(int form) {
  Graph g = with_input({2, 7});
  g.initializers["sqrt2"] = Tensor::scalar<float>(1.4142135f);
  g.initializers["inv_sqrt2"] = Tensor::scalar<float>(0.70710678f);
  g.initializers["one"] = Tensor::scalar<float>(1.f);
  g.initializers["half"] = Tensor::scalar<float>(0.5f);
  if (form == 1)
    g.add_node("Mul", {"inv_sqrt2", "x"}, {"s"}, "scale");
  else
    g.add_node("Div", {"x", "sqrt2"}, {"s"}, "scale");
  g.add_node("Erf", {"s"}, {"e"}, "erf");
  g.add_node("Add", {"one", "e"}, {"a"}, "add1");
  if (form == 0) {
    g.add_node("Mul", {"x", "a"}, {"xa"}, "mul");
    g.add_node("Mul", {"xa", "half"}, {"y"}, "mul_half");
  } else if (form == 1) {
    g.add_node("Mul", {"x", "half"}, {"xh"}, "mul_half");
    g.add_node("Mul", {"xh", "a"}, {"y"}, "mul");
  } else {
    g.add_node("Mul", {"a", "half"}, {"ah"}, "mul_half");
    g.add_node("Mul", {"x", "ah"}, {"y"}, "mul");
  }
  g.outputs.push_back({"y", DType::f32, {2, 7}, {}});
  return g;
}

TEST(FuseGelu, ErfPatternBecomesGelu) {
  for (int form = 0; form < 3; ++form) {
    Graph g = gelu_pattern(form);
    Graph opt = g;
    EXPECT_TRUE(apply_pass(opt, make_fuse_gelu())) << "form " << form;
    ASSERT_EQ(opt.nodes.size(), 1u) << "form " << form;
    EXPECT_EQ(opt.nodes[0].op_type, "Gelu");
    EXPECT_EQ(opt.nodes[0].domain, "com.microsoft");  // opset 13: ai.onnx Gelu needs 20
    expect_same_results(g, opt, "fuse_gelu form " + std::to_string(form));
  }
}

TEST(FuseGelu, OtherConstantsAreNotGelu) {
  Graph g = gelu_pattern(0);
  g.initializers["half"] = Tensor::scalar<float>(0.25f);
  EXPECT_FALSE(apply_pass(g, make_fuse_gelu()));
}

// (The installed ONNX checker predates opset 20, so only the com.microsoft form is exported.)
TEST(FuseGelu, DefaultDomainFromOpset20AndComMicrosoftExportIsValid) {
  Graph g = gelu_pattern(0);
  g.opsets[""] = 20;
  for (auto& n : g.nodes) n.opset = 20;
  Graph opt = g;
  optimize_graph(opt, 2);
  ASSERT_EQ(opt.nodes.size(), 1u);
  EXPECT_EQ(opt.nodes[0].domain, "");
  expect_same_outputs(g, 2);
  Graph old = gelu_pattern(1);
  optimize_graph(old, 2);
  EXPECT_NO_THROW(check_onnx_model(export_onnx_bytes(old), "gelu_ms.onnx"));
}

}  // namespace
}  // namespace edgekit
