#include <gtest/gtest.h>

#include "error_of.h"

#include <algorithm>
#include <cstdlib>

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

using test::error_of;
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

TEST(Session, PlannedRunsReuseOneArena) {
  Graph g;
  g.opsets[""] = 13;
  g.inputs.push_back({"x", DType::f32, {-1, 256}, {"N", ""}});
  std::string prev = "x";
  for (int i = 0; i < 6; ++i) {  // a chain: two arena slots suffice for the intermediates
    std::string next = i == 5 ? "y" : "t" + std::to_string(i);
    g.add_node("Relu", {prev}, {next});
    prev = next;
  }
  g.outputs.push_back({"y", DType::f32, {-1, 256}, {"N", ""}});
  Session s(std::move(g));
  EXPECT_EQ(s.memory_plan().arena_bytes, 0u);
  Tensor x(DType::f32, {2, 256});
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = float(i % 7) - 3.f;
  std::vector<Tensor> first = s.run({{"x", x}});
  const MemoryPlan& plan = s.memory_plan();
  EXPECT_EQ(plan.naive_bytes, 5u * 2 * 256 * 4);
  EXPECT_EQ(plan.arena_bytes, 2u * 2 * 256 * 4);
  for (int rep = 0; rep < 3; ++rep) {
    std::vector<Tensor> again = s.run({{"x", x}});
    for (int64_t i = 0; i < x.numel(); ++i) ASSERT_EQ(again[0].data<float>()[i], first[0].data<float>()[i]);
    EXPECT_NE(again[0].raw(), first[0].raw());  // outputs are the caller's, never arena memory
  }
  Tensor x3(DType::f32, {3, 256});  // new shapes: a new plan
  s.run({{"x", x3}});
  EXPECT_EQ(s.memory_plan().arena_bytes, 2u * 3 * 256 * 4);
}

// Planned runs skip infer() only where output shapes follow from the input shapes: a shape
// that depends on the data (NonZero, a Reshape to a computed shape) is inferred every run.
TEST(Session, DataDependentShapesAreReinferredEveryRun) {
  Graph g;
  g.opsets[""] = 13;
  g.inputs.push_back({"x", DType::f32, {8}, {}});
  g.add_node("Relu", {"x"}, {"r"});
  g.add_node("NonZero", {"r"}, {"nz"});             // [1, count of positives]
  g.add_node("Shape", {"nz"}, {"s"});
  g.add_node("Reshape", {"nz", "s"}, {"y"});        // shape computed at run time
  g.add_node("Relu", {"y"}, {"z"});                 // downstream of a dynamic shape
  g.outputs.push_back({"z", DType::i64, {1, -1}, {"", "n"}});
  g.outputs.push_back({"r", DType::f32, {8}, {}});
  Session s(std::move(g), {.threads = 1, .opt_level = 0});
  for (int positives : {3, 6, 1, 6, 0}) {
    Tensor x(DType::f32, {8});
    for (int i = 0; i < 8; ++i) x.data<float>()[i] = i < positives ? 1.f : -1.f;
    std::vector<Tensor> y = s.run({{"x", x}});
    ASSERT_EQ(y[0].shape(), (Shape{1, positives})) << "positives " << positives;
    for (int i = 0; i < positives; ++i) EXPECT_EQ(y[0].data<int64_t>()[i], i);
  }
}

// Reshape-like ops are views of their input (no copy); the input's buffer must then outlive
// every reader of the view, including across planned runs over a NaN-poisoned arena.
TEST(Session, ShapeOnlyOpsAreViewsThatKeepTheirBufferAlive) {
  Graph g;
  g.opsets[""] = 13;
  g.inputs.push_back({"x", DType::f32, {2, 8}, {}});
  g.initializers["s44"] = Tensor::from<int64_t>({4, 4}, {2});
  g.initializers["s28"] = Tensor::from<int64_t>({2, 8}, {2});
  g.add_node("Relu", {"x"}, {"a"});
  g.add_node("Reshape", {"a", "s44"}, {"b"});   // a view of a
  g.add_node("Neg", {"b"}, {"c"});
  g.add_node("Flatten", {"c"}, {"f"});          // a view of c, [4, 4] -> [4, 4]
  g.add_node("Reshape", {"f", "s28"}, {"d"});   // a view of a view
  g.add_node("Neg", {"x"}, {"e"});              // new buffers while a's view is still to be read
  g.add_node("Add", {"d", "b2"}, {"y"});
  g.add_node("Reshape", {"b", "s28"}, {"b2"});  // reads a (through b) late
  g.topo_sort();
  g.outputs.push_back({"y", DType::f32, {2, 8}, {}});
  g.outputs.push_back({"e", DType::f32, {2, 8}, {}});
  setenv("EDGEKIT_POISON_ARENA", "1", 1);
  Session s(std::move(g), {.threads = 1, .opt_level = 0});
  unsetenv("EDGEKIT_POISON_ARENA");
  Tensor x(DType::f32, {2, 8});
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = float(i % 5) - 2.f;
  for (int run = 0; run < 3; ++run) {
    std::vector<Tensor> out = s.run({{"x", x}});
    for (int64_t i = 0; i < x.numel(); ++i) {
      const float a = std::max(x.data<float>()[i], 0.f);
      ASSERT_EQ(out[0].data<float>()[i], -a + a) << "run " << run << " at " << i;
      ASSERT_EQ(out[1].data<float>()[i], -x.data<float>()[i]);
    }
  }
}

TEST(Session, ProfilerRecordsEveryNodeOfEveryRun) {
  Session s(relu_chain(), {.threads = 1, .profile = true});
  Tensor x(DType::f32, {1, 3});
  s.run({{"x", x}});
  s.run({{"x", x}});
  ASSERT_EQ(s.profile().size(), 4u);
  EXPECT_EQ(s.profile()[3].node, 1);
  EXPECT_EQ(s.profile()[3].run, 1);
  EXPECT_GE(s.profile()[3].start_ns, s.profile()[0].start_ns);
  s.clear_profile();
  EXPECT_TRUE(s.profile().empty());
  Session quiet(relu_chain());
  quiet.run({{"x", x}});
  EXPECT_TRUE(quiet.profile().empty());
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
