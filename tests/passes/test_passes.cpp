// Every pass keeps the graph's outputs: each test runs the graph before and after on random
// inputs and compares, and checks the rewrite happened.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <iostream>

#include "../test_paths.h"
#include "formats/model_loader.h"
#include "formats/onnx/onnx_export.h"
#include "formats/onnx/onnx_import.h"
#include "pass_test_util.h"

namespace edgekit {
namespace {

using namespace test;

// x -> Conv(W, B) -> BatchNormalization -> Relu -> Identity -> y
Graph conv_bn_relu() {
  Graph g;
  g.opsets[""] = 13;
  g.inputs.push_back({"x", DType::f32, {-1, 3, 8, 8}, {"N", "", "", ""}});
  g.initializers["W"] = random_tensor({4, 3, 3, 3}, 10);
  g.initializers["B"] = random_tensor({4}, 11);
  Tensor var = random_tensor({4}, 12);
  for (int i = 0; i < 4; ++i) var.data<float>()[i] = 0.5f + std::fabs(var.data<float>()[i]);
  g.initializers["scale"] = random_tensor({4}, 13);
  g.initializers["shift"] = random_tensor({4}, 14);
  g.initializers["mean"] = random_tensor({4}, 15);
  g.initializers["var"] = var;
  Node& c = g.add_node("Conv", {"x", "W", "B"}, {"c"}, "conv");
  c.attrs["pads"] = std::vector<int64_t>{1, 1, 1, 1};
  g.add_node("BatchNormalization", {"c", "scale", "shift", "mean", "var"}, {"b"}, "bn");
  g.add_node("Relu", {"b"}, {"r"}, "relu");
  g.add_node("Identity", {"r"}, {"y"}, "id");
  g.outputs.push_back({"y", DType::f32, {-1, 4, 8, 8}, {"N", "", "", ""}});
  return g;
}

}  // namespace

TEST(Passes, LevelsRewriteConvBnRelu) {
  Graph g = conv_bn_relu();
  Graph l1 = g;
  optimize_graph(l1, 1);
  EXPECT_EQ(count_op(l1, "Identity"), 0u);
  EXPECT_EQ(l1.outputs[0].name, "y");
  Graph l2 = g;
  optimize_graph(l2, 2);
  EXPECT_EQ(count_op(l2, "BatchNormalization"), 0u);
  Graph l3 = g;
  optimize_graph(l3, 3);
  // One NHWC Conv carrying the BatchNorm and the Relu, between the graph's layout Transposes.
  ASSERT_EQ(l3.nodes.size(), 3u);
  EXPECT_EQ(count_op(l3, "Transpose"), 2u);
  ASSERT_EQ(l3.nodes[1].op_type, "ConvNhwc");
  EXPECT_EQ(l3.nodes[1].attr_string("_activation"), "Relu");
  EXPECT_FALSE(l3.initializers.count("mean"));  // dead initializers are dropped
  for (int level = 1; level <= 3; ++level) expect_same_outputs(g, level);
}

TEST(Passes, SharedWeightsAreNotModifiedInPlace) {
  Graph g = conv_bn_relu();
  Tensor before = g.initializers["W"].clone();
  Graph opt = g;
  optimize_graph(opt, 2);
  const float* w = g.initializers["W"].data<float>();
  for (int64_t i = 0; i < before.numel(); ++i) ASSERT_EQ(w[i], before.data<float>()[i]);
}

TEST(Passes, GemmBatchNormAndClipFold) {
  Graph g;
  g.opsets[""] = 13;
  g.inputs.push_back({"x", DType::f32, {-1, 5}, {"N", ""}});
  g.initializers["W"] = random_tensor({6, 5}, 1);
  g.initializers["C"] = random_tensor({6}, 2);
  for (const char* k : {"s", "b", "m"}) g.initializers[k] = random_tensor({6}, 3);
  g.initializers["v"] = Tensor::from<float>({1, 2, 0.5f, 1, 3, 1}, {6});
  g.initializers["lo"] = Tensor::scalar<float>(-0.5f);
  g.initializers["hi"] = Tensor::scalar<float>(0.7f);
  Node& gemm = g.add_node("Gemm", {"x", "W", "C"}, {"h"}, "fc");
  gemm.attrs["transB"] = int64_t(1);
  gemm.attrs["beta"] = 0.5f;
  g.add_node("BatchNormalization", {"h", "s", "b", "m", "v"}, {"n"}, "bn");
  g.add_node("Clip", {"n", "lo", "hi"}, {"y"}, "clip");
  g.outputs.push_back({"y", DType::f32, {-1, 6}, {"N", ""}});
  Graph opt = g;
  optimize_graph(opt, 3);
  EXPECT_EQ(opt.nodes.size(), 1u);
  for (int level = 1; level <= 3; ++level) expect_same_outputs(g, level, 7);
}

TEST(Passes, ConstantSubgraphsFold) {
  Graph g;
  g.opsets[""] = 13;
  g.inputs.push_back({"x", DType::f32, {2, 6}, {}});
  g.initializers["a"] = Tensor::from<int64_t>({3, 4}, {2});
  g.initializers["b"] = Tensor::from<int64_t>({1, 1}, {2});
  g.add_node("Mul", {"a", "b"}, {"shape"}, "mul");  // constant: [3, 4]
  g.add_node("Reshape", {"x", "shape"}, {"y"}, "reshape");
  g.outputs.push_back({"y", DType::f32, {3, 4}, {}});
  Graph opt = g;
  optimize_graph(opt, 1);
  EXPECT_EQ(count_op(opt, "Mul"), 0u);
  EXPECT_TRUE(opt.initializers.count("shape"));
  expect_same_outputs(g, 1);
}

TEST(Passes, FusedGraphExportsAsPlainOnnx) {
  Graph g = conv_bn_relu();
  optimize_graph(g, 3);
  std::string bytes = export_onnx_bytes(g);
  EXPECT_NO_THROW(check_onnx_model(bytes, "fused.onnx"));
  Graph back = import_onnx_bytes(bytes, ".", "fused.onnx");
  EXPECT_EQ(count_op(back, "Relu"), 1u);
  for (const auto& n : back.nodes)
    for (const auto& [k, v] : n.attrs) EXPECT_NE(k[0], '_') << n.where();
  expect_same_outputs(back, 0);
}

TEST(Passes, SiluPatternFusesAndExportsBack) {
  Graph g;
  g.opsets[""] = 13;
  g.inputs.push_back({"x", DType::f32, {1, 2, 5, 5}, {}});
  g.initializers["W"] = random_tensor({3, 2, 1, 1}, 4);
  g.add_node("Conv", {"x", "W"}, {"c"}, "conv");
  g.add_node("Sigmoid", {"c"}, {"s"}, "sig");
  g.add_node("Mul", {"s", "c"}, {"y"}, "mul");  // sigmoid first: both orders match
  g.outputs.push_back({"y", DType::f32, {1, 3, 5, 5}, {}});
  Graph opt = g;
  optimize_graph(opt, 3);
  ASSERT_EQ(opt.nodes.size(), 3u);  // Transpose, ConvNhwc, Transpose
  EXPECT_EQ(opt.nodes[1].attr_string("_activation"), "SiLU");
  expect_same_outputs(g, 3);
  std::string bytes = export_onnx_bytes(opt);
  EXPECT_NO_THROW(check_onnx_model(bytes, "silu.onnx"));
  Graph back = import_onnx_bytes(bytes, ".", "silu.onnx");
  EXPECT_EQ(count_op(back, "Sigmoid"), 1u);
  EXPECT_EQ(count_op(back, "Mul"), 1u);
  expect_same_outputs(back, 0);
}

TEST(Passes, SiluNotFusedWhenTheConvOutputHasOtherReaders) {
  Graph g;
  g.opsets[""] = 13;
  g.inputs.push_back({"x", DType::f32, {1, 2, 4, 4}, {}});
  g.initializers["W"] = random_tensor({2, 2, 1, 1}, 4);
  g.add_node("Conv", {"x", "W"}, {"c"}, "conv");
  g.add_node("Sigmoid", {"c"}, {"s"}, "sig");
  g.add_node("Mul", {"c", "s"}, {"m"}, "mul");
  g.add_node("Add", {"m", "c"}, {"y"}, "add");  // c has a third reader
  g.outputs.push_back({"y", DType::f32, {1, 2, 4, 4}, {}});
  Graph opt = g;
  optimize_graph(opt, 3);
  EXPECT_EQ(count_op(opt, "Mul"), 1u);
  expect_same_outputs(g, 3);
}

TEST(Passes, BadLevelIsAnError) {
  EXPECT_THROW(PassManager(4), Error);
  EXPECT_THROW(PassManager(-1), Error);
}

class ZooLevels : public ::testing::TestWithParam<std::string> {};

TEST_P(ZooLevels, EveryLevelMatchesLevelZero) {
  std::string path = test::zoo_model(GetParam());
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " absent: run make fixtures";
  Graph g = load_model(path);
  std::string counts = cat(GetParam(), " nodes by level: ", g.nodes.size());
  size_t previous = g.nodes.size();
  for (int level = 1; level <= kMaxOptLevel; ++level) {
    expect_same_outputs(g, level);
    Graph opt = g;
    optimize_graph(opt, level);
    EXPECT_LE(opt.nodes.size(), previous) << "level " << level;
    previous = opt.nodes.size();
    counts += cat(" -> ", opt.nodes.size());
  }
  std::cout << counts << "\n";
}

// The fully optimised zoo models export as checker-valid ONNX (fused nodes written back as
// plain ONNX) that computes what the original does.
TEST_P(ZooLevels, OptimizedModelExportsAndRoundTrips) {
  std::string path = test::zoo_model(GetParam());
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " absent: run make fixtures";
  Graph g = load_model(path);
  Graph opt = g;
  optimize_graph(opt, kMaxOptLevel);
  std::string bytes = export_onnx_bytes(opt);
  ASSERT_NO_THROW(check_onnx_model(bytes, GetParam() + ".onnx"));
  Graph back = import_onnx_bytes(bytes, ".", GetParam() + ".onnx");
  for (const auto& n : back.nodes)
    for (const auto& [k, v] : n.attrs) EXPECT_NE(k[0], '_') << n.where();
  expect_same_results(g, back, GetParam() + " exported at level 3");
}

INSTANTIATE_TEST_SUITE_P(Zoo, ZooLevels,
                         ::testing::Values("mobilenet_v2", "mobilenet_v3_small", "resnet18", "squeezenet1_1",
                                           "shufflenet_v2_x1_0", "efficientnet_b0", "kws_dscnn", "vww_mbv1_025",
                                           "ic_resnet8", "ad_autoencoder", "fashion_cnn", "gru_kws", "lstm_kws",
                                           "tiny_transformer"));

// The float MLPerf Tiny TFLite models: imported as NCHW ops between layout Transposes, which
// sink_transposes and merge_transposes remove.
class TfliteLevels : public ::testing::TestWithParam<std::string> {};

TEST_P(TfliteLevels, EveryLevelMatchesLevelZero) {
  std::string path = test::mlperf_dir() + "/" + GetParam() + ".tflite";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " absent";
  Graph g = load_model(path);
  std::string counts = cat(GetParam(), " nodes by level: ", g.nodes.size());
  for (int level = 1; level <= kMaxOptLevel; ++level) {
    expect_same_outputs(g, level);
    Graph opt = g;
    optimize_graph(opt, level);
    counts += cat(" -> ", opt.nodes.size());
  }
  std::cout << counts << "\n";
}

INSTANTIATE_TEST_SUITE_P(MlperfTiny, TfliteLevels,
                         ::testing::Values("ad01_fp32", "kws_ref_model_float32", "pretrainedResnet", "vww_96_float"));

}  // namespace edgekit
