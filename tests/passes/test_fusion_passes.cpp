// Level-3 passes: activations and residual adds fused into the Conv/Gemm/MatMul epilogue
// (kernels/epilogue.h). Each case runs the graph before and after, checks the fusion happened,
// and that ONNX export writes the fused node back as plain, checker-valid ONNX.
#include <gtest/gtest.h>

#include "formats/onnx/onnx_export.h"
#include "formats/onnx/onnx_import.h"
#include "pass_test_util.h"

namespace edgekit {
namespace {

using namespace test;

struct ActivationCase {
  const char* op;          // activation op type
  const char* fused;       // expected _activation
  bool gated;              // Mul(X, op(X)) rather than op(X)
};

// producer -> activation -> y, where producer is "Conv", "Gemm" or "MatMul" (2-D or 3-D).
Graph producer_then(const std::string& producer, const ActivationCase& act) {
  Graph g;
  g.opsets[""] = 14;  // HardSwish is opset 14
  std::string x = "x";
  Shape out;
  if (producer == "Conv") {
    g.inputs.push_back({"x", DType::f32, {1, 3, 6, 6}, {}});
    g.initializers["W"] = random_tensor({4, 3, 3, 3}, 1);
    g.initializers["B"] = random_tensor({4}, 2);
    g.add_node("Conv", {"x", "W", "B"}, {"p"}, "conv").attrs["pads"] = std::vector<int64_t>{1, 1, 1, 1};
    out = {1, 4, 6, 6};
  } else if (producer == "Gemm") {
    g.inputs.push_back({"x", DType::f32, {-1, 5}, {"N", ""}});
    g.initializers["W"] = random_tensor({5, 4}, 1);
    g.initializers["B"] = random_tensor({4}, 2);
    g.add_node("Gemm", {"x", "W", "B"}, {"p"}, "gemm");
    out = {-1, 4};
  } else {
    g.inputs.push_back({"x", DType::f32, {2, 3, 5}, {}});
    g.initializers["W"] = random_tensor({5, 4}, 1);
    g.add_node("MatMul", {"x", "W"}, {"p"}, "matmul");
    out = {2, 3, 4};
  }
  std::string op = act.op;
  Node& a = g.add_node(op, {"p"}, {act.gated ? "a" : "y"}, "act");
  if (op == "Clip") {
    g.initializers["lo"] = Tensor::scalar<float>(0.f);
    g.initializers["hi"] = Tensor::scalar<float>(6.f);
    a.inputs = {"p", "lo", "hi"};
  }
  if (op == "LeakyRelu") a.attrs["alpha"] = 0.1f;
  if (op == "HardSigmoid" && act.gated) {
    a.attrs["alpha"] = 1.f / 6.f;
    a.attrs["beta"] = 0.5f;
  }
  if (op == "Gelu") {
    a.domain = "com.microsoft";
    a.opset = 1;
    g.opsets["com.microsoft"] = 1;
  }
  if (act.gated) g.add_node("Mul", {"p", "a"}, {"y"}, "gate");
  g.outputs.push_back({"y", DType::f32, out, std::vector<std::string>(out.size(), "")});
  return g;
}

TEST(FuseActivation, EveryActivationIntoEveryProducer) {
  const ActivationCase cases[] = {
      {"Relu", "Relu", false},           {"Clip", "Clip", false},       {"Sigmoid", "Sigmoid", false},
      {"HardSigmoid", "HardSigmoid", false}, {"HardSwish", "HardSwish", false}, {"LeakyRelu", "LeakyRelu", false},
      {"Tanh", "Tanh", false},           {"Gelu", "Gelu", false},       {"Sigmoid", "SiLU", true},
      {"HardSigmoid", "HardSwish", true},
  };
  for (const char* producer : {"Conv", "Gemm", "MatMul"}) {
    for (const auto& c : cases) {
      const std::string what = std::string(producer) + " + " + c.fused;
      Graph g = producer_then(producer, c);
      Graph opt = g;
      EXPECT_TRUE(apply_pass(opt, make_fuse_activation())) << what;
      ASSERT_EQ(opt.nodes.size(), 1u) << what;
      EXPECT_EQ(opt.nodes[0].attr_string("_activation"), c.fused) << what;
      expect_same_results(g, opt, what);
      // Export writes the activation back as ONNX nodes, which compute the same.
      std::string bytes = export_onnx_bytes(opt);
      EXPECT_NO_THROW(check_onnx_model(bytes, "fused.onnx")) << what;
      Graph back = import_onnx_bytes(bytes, ".", "fused.onnx");
      for (const auto& n : back.nodes)
        for (const auto& [k, v] : n.attrs) EXPECT_NE(k[0], '_') << what << ": " << n.where();
      expect_same_results(g, back, what + " exported");
    }
  }
}

TEST(FuseActivation, ApproximateGeluAndIntegerMatMulStay) {
  Graph g = producer_then("Conv", {"Gelu", "Gelu", false});
  g.nodes[1].domain = "";
  g.nodes[1].opset = 20;
  g.nodes[1].attrs["approximate"] = std::string("tanh");  // not the epilogue's exact GELU
  EXPECT_FALSE(apply_pass(g, make_fuse_activation()));

  Graph h;
  h.opsets[""] = 13;
  h.inputs.push_back({"x", DType::i32, {2, 2}, {}});
  h.initializers["W"] = Tensor::from<int32_t>({1, 2, 3, 4}, {4}).reshaped({2, 2});
  h.add_node("MatMul", {"x", "W"}, {"p"}, "mm");
  h.add_node("Relu", {"p"}, {"y"}, "relu");
  h.outputs.push_back({"y", DType::i32, {2, 2}, {}});
  EXPECT_FALSE(apply_pass(h, make_fuse_activation()));
}

// x -> Conv -> Add(., r) [-> Relu] -> y, with r a second conv of x or x itself.
Graph residual_block(bool relu, bool shortcut_conv, bool depthwise = false) {
  Graph g;
  g.opsets[""] = 13;
  g.inputs.push_back({"x", DType::f32, {-1, 4, 5, 5}, {"N", "", "", ""}});
  g.initializers["W"] = random_tensor({4, depthwise ? 1 : 4, 3, 3}, 1);
  g.initializers["B"] = random_tensor({4}, 2);
  g.initializers["Ws"] = random_tensor({4, 4, 1, 1}, 3);
  Node& c = g.add_node("Conv", {"x", "W", "B"}, {"c"}, "conv");
  c.attrs["pads"] = std::vector<int64_t>{1, 1, 1, 1};
  if (depthwise) c.attrs["group"] = int64_t(4);
  std::string r = "x";
  if (shortcut_conv) {
    g.add_node("Conv", {"x", "Ws"}, {"s"}, "shortcut");
    r = "s";
  }
  g.add_node("Add", {r, "c"}, {relu ? "a" : "y"}, "add");
  if (relu) g.add_node("Relu", {"a"}, {"y"}, "relu");
  g.outputs.push_back({"y", DType::f32, {-1, 4, 5, 5}, {"N", "", "", ""}});
  return g;
}

TEST(FuseResidualAdd, AddAndReluJoinTheConv) {
  for (bool shortcut : {false, true}) {
    for (bool depthwise : {false, true}) {
      Graph g = residual_block(true, shortcut, depthwise);
      Graph opt = g;
      EXPECT_TRUE(apply_pass(opt, make_fuse_residual_add()));
      EXPECT_EQ(count_op(opt, "Add"), 0u);
      EXPECT_TRUE(apply_pass(opt, make_fuse_activation()));
      EXPECT_EQ(opt.nodes.size(), shortcut ? 2u : 1u);
      const Node& fused = opt.nodes.back();
      EXPECT_EQ(fused.attr_int("_residual"), 1);
      EXPECT_EQ(fused.attr_string("_activation"), "Relu");
      const std::string what = cat("residual shortcut=", shortcut, " depthwise=", depthwise);
      expect_same_results(g, opt, what);
      std::string bytes = export_onnx_bytes(opt);
      EXPECT_NO_THROW(check_onnx_model(bytes, "residual.onnx")) << what;
      Graph back = import_onnx_bytes(bytes, ".", "residual.onnx");
      EXPECT_EQ(count_op(back, "Add"), 1u);
      EXPECT_EQ(count_op(back, "Relu"), 1u);
      expect_same_results(g, back, what + " exported");
    }
  }
}

TEST(FuseResidualAdd, LaterConvTakesTheResidualWhenBothSidesAreConvs) {
  Graph g = residual_block(false, true);
  std::swap(g.nodes[0], g.nodes[1]);  // the shortcut conv first, the main conv last
  Graph opt = g;
  EXPECT_TRUE(apply_pass(opt, make_fuse_residual_add()));
  ASSERT_EQ(opt.nodes.size(), 2u);
  EXPECT_EQ(opt.nodes[1].name, "conv");
  expect_same_results(g, opt, "residual");
}

TEST(FuseResidualAdd, BroadcastingAddOrActivatedConvStays) {
  Graph g;
  g.opsets[""] = 13;
  g.inputs.push_back({"x", DType::f32, {1, 4, 5, 5}, {}});
  g.initializers["W"] = random_tensor({4, 4, 1, 1}, 1);
  g.initializers["bias"] = random_tensor({4, 1, 1}, 2);  // broadcasts: not a residual
  g.add_node("Conv", {"x", "W"}, {"c"}, "conv");
  g.add_node("Add", {"c", "bias"}, {"y"}, "add");
  g.outputs.push_back({"y", DType::f32, {1, 4, 5, 5}, {}});
  Graph opt = g;
  EXPECT_FALSE(apply_pass(opt, make_fuse_residual_add()));

  Graph h = residual_block(false, false);
  h.nodes[0].attrs["_activation"] = std::string("Relu");  // Add(Relu(conv), x): the add must follow the Relu
  EXPECT_FALSE(apply_pass(h, make_fuse_residual_add()));
}

TEST(FuseResidualAdd, KernelRejectsAResidualOfTheWrongShape) {
  Graph g;
  g.opsets[""] = 13;
  g.inputs.push_back({"x", DType::f32, {1, 4, 5, 5}, {}});
  g.inputs.push_back({"r", DType::f32, {1, 4, 5, 4}, {}});
  g.initializers["W"] = random_tensor({4, 4, 1, 1}, 1);
  Node& c = g.add_node("Conv", {"x", "W", "", "r"}, {"y"}, "conv");
  c.attrs["_residual"] = int64_t(1);
  g.outputs.push_back({"y", DType::f32, {1, 4, 5, 5}, {}});
  Session s(Graph(g), {.threads = 1, .opt_level = 0});
  try {
    s.run({{"x", random_tensor({1, 4, 5, 5}, 1)}, {"r", random_tensor({1, 4, 5, 4}, 2)}});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("fused residual has shape [1,4,5,4]"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace edgekit
