#include <gtest/gtest.h>

#include "runtime/session.h"

namespace edgekit {

namespace {
Graph relu_chain() {
  Graph g;
  g.opsets[""] = 13;
  g.inputs.push_back({"x", DType::f32, {-1, 3}, {"N", ""}});
  g.add_node("Relu", {"x"}, {"a"});
  g.add_node("Relu", {"a"}, {"y"});
  g.outputs.push_back({"y", DType::f32, {-1, 3}, {"N", ""}});
  return g;
}

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST(Session, RunsWithDynamicBatch) {
  Session s(relu_chain());
  ASSERT_EQ(s.inputs().size(), 1u);
  for (int64_t batch : {1, 5}) {
    Tensor x(DType::f32, {batch, 3});
    for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = float(i % 2 ? i : -i);
    auto y = s.run({{"x", x}});
    ASSERT_EQ(y[0].shape(), (Shape{batch, 3}));
    for (int64_t i = 0; i < x.numel(); ++i) EXPECT_EQ(y[0].data<float>()[i], float(i % 2 ? i : 0));
  }
}

TEST(Session, WrongDtypeSaysExpectedAndGot) {
  Session s(relu_chain());
  std::string m = error_of([&] { s.run({{"x", Tensor(DType::i64, {1, 3})}}); });
  EXPECT_NE(m.find("input 'x': expected dtype f32, got i64"), std::string::npos) << m;
}

TEST(Session, WrongShapeSaysExpectedAndGot) {
  Session s(relu_chain());
  std::string m = error_of([&] { s.run({{"x", Tensor(DType::f32, {1, 4})}}); });
  EXPECT_NE(m.find("expected shape [N,3], got [1,4]"), std::string::npos) << m;
}

TEST(Session, UnknownAndMissingInputs) {
  Session s(relu_chain());
  EXPECT_NE(error_of([&] { s.run({{"z", Tensor(DType::f32, {1, 3})}}); }).find("unknown input 'z'"), std::string::npos);
  EXPECT_NE(error_of([&] { s.run({}); }).find("missing input 'x'"), std::string::npos);
}

TEST(Session, UnsupportedOpNamesNode) {
  Graph g = relu_chain();
  g.nodes[1].op_type = "FancyOp";
  g.nodes[1].name = "mystery";
  std::string m = error_of([&] { Session s(std::move(g)); });
  EXPECT_NE(m.find("unsupported op 'FancyOp' at node 'mystery'"), std::string::npos) << m;
}

TEST(Session, ThreadCountIsValidated) {
  EXPECT_THROW(Session(relu_chain(), {.threads = 0}), Error);
  EXPECT_THROW(Session(relu_chain(), {.threads = 100000}), Error);
  EXPECT_NO_THROW(Session(relu_chain(), {.threads = 1}));
}

TEST(Session, MissingModelFile) {
  std::string m = error_of([] { Session s("/nonexistent/model.onnx"); });
  EXPECT_NE(m.find("/nonexistent/model.onnx"), std::string::npos) << m;
}

}  // namespace edgekit
