// The Reduce* table: every kind over a small tensor, axes as attribute (old opsets) and
// input (13 for ReduceSum, 18 for the rest), keepdims, noop_with_empty_axes, empty sets.
#include <cmath>

#include "elementwise_test_util.h"

namespace edgekit::test {
namespace {

using I = std::vector<int64_t>;
Tensor axes(const I& v) { return tensor<int64_t>(v, {int64_t(v.size())}); }
const Tensor kX = tensor<float>({1, -2, 3, 4, 5, -6}, {2, 3});

struct Case {
  const char* op;
  std::vector<float> over_axis1;  // reduce axis 1 of kX, keepdims
};

TEST(Reduce, EveryKindAlongAxis1) {
  const double lse0 = std::log(std::exp(1.0) + std::exp(-2.0) + std::exp(3.0));
  const double lse1 = std::log(std::exp(4.0) + std::exp(5.0) + std::exp(-6.0));
  const Case cases[] = {
      {"ReduceSum", {2, 3}},
      {"ReduceMean", {2.f / 3, 1}},
      {"ReduceMax", {3, 5}},
      {"ReduceMin", {-2, -6}},
      {"ReduceProd", {-6, -120}},
      {"ReduceL1", {6, 15}},
      {"ReduceL2", {std::sqrt(14.f), std::sqrt(77.f)}},
      {"ReduceLogSum", {std::log(2.f), std::log(3.f)}},
      {"ReduceLogSumExp", {float(lse0), float(lse1)}},
      {"ReduceSumSquare", {14, 77}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.op);
    expect_values<float>(run_node(make_node(c.op, 2), {kX, axes({1})})[0], c.over_axis1, {2, 1}, 1e-5);
    // Before opset 18 (13 for ReduceSum) axes are an attribute.
    Node old = node_with(c.op, 1, {{"axes", I{-1}}, {"keepdims", int64_t(0)}}, 11);
    expect_values<float>(run_node(old, {kX})[0], c.over_axis1, {2}, 1e-5);
  }
}

TEST(Reduce, DefaultAxesReduceAllUnlessNoop) {
  expect_values<float>(run_node(make_node("ReduceSum", 1), {kX})[0], {5}, {1, 1});
  Node noop = node_with("ReduceMax", 2, {{"noop_with_empty_axes", int64_t(1)}});
  expect_values<float>(run_node(noop, {kX, axes({})})[0], {1, -2, 3, 4, 5, -6}, {2, 3});
  // No axes reduced: each element is its own set, so the map still applies (as onnx's reference).
  Node sq = node_with("ReduceSumSquare", 1, {{"noop_with_empty_axes", int64_t(1)}});
  expect_values<float>(run_node(sq, {kX})[0], {1, 4, 9, 16, 25, 36}, {2, 3});
  Node all = node_with("ReduceMean", 1, {{"keepdims", int64_t(0)}});
  expect_values<float>(run_node(all, {kX})[0], {5.f / 6}, {});
}

TEST(Reduce, IntegerAndBool) {
  Tensor x = tensor<int32_t>({1, 2, 3, 4}, {2, 2});
  expect_values<int32_t>(run_node(make_node("ReduceSum", 2), {x, axes({0})})[0], {4, 6}, {1, 2});
  expect_values<int32_t>(run_node(make_node("ReduceMean", 2), {x, axes({1})})[0], {1, 3}, {2, 1});
  Tensor b = tensor<bool>({true, false, true, true}, {2, 2});
  expect_values<bool>(run_node(make_node("ReduceMin", 2), {b, axes({1})})[0], {false, true}, {2, 1});
  expect_error(make_node("ReduceSum", 2), {b, axes({1})}, {"bool"});
}

TEST(Reduce, HalfIsComputedInFloat) {
  Tensor h(DType::f16, {2});
  h.data<f16_t>()[0] = float_to_half(1.5f);
  h.data<f16_t>()[1] = float_to_half(2.25f);
  Tensor y = run_node(make_node("ReduceSum", 1), {h})[0];
  ASSERT_EQ(y.dtype(), DType::f16);
  EXPECT_EQ(half_to_float(y.data<f16_t>()[0]), 3.75f);
}

TEST(Reduce, EmptySetGivesIdentity) {
  Tensor e(DType::f32, {2, 0});
  expect_values<float>(run_node(make_node("ReduceSum", 2), {e, axes({1})})[0], {0, 0}, {2, 1});
  expect_values<float>(run_node(make_node("ReduceProd", 2), {e, axes({1})})[0], {1, 1}, {2, 1});
  expect_values<float>(run_node(make_node("ReduceMax", 2), {e, axes({1})})[0], {-INFINITY, -INFINITY}, {2, 1});
  expect_values<float>(run_node(make_node("ReduceLogSumExp", 2), {e, axes({1})})[0], {-INFINITY, -INFINITY}, {2, 1});
}

TEST(Reduce, LogSumExpDoesNotOverflow) {
  Tensor x = tensor<float>({1000, 1000}, {2});
  expect_values<float>(run_node(make_node("ReduceLogSumExp", 1), {x})[0], {1000 + std::log(2.f)}, {1}, 1e-6);
}

TEST(Reduce, BadAxisNamesNodeAndRank) {
  expect_error(make_node("ReduceL2", 2), {kX, axes({2})}, {"test_ReduceL2", "axis 2", "rank 2"});
  expect_error(node_with("ReduceMean", 1, {{"axes", I{-3}}}, 13), {kX}, {"axis -3", "rank 2"});
}

}  // namespace
}  // namespace edgekit::test
