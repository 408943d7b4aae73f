// Indexing and value-generating ops: Gather*, Scatter*, Range, EyeLike, Trilu, OneHot, CumSum,
// ReverseSequence, NonZero, TopK, ArgMax, ArgMin.
#include "elementwise_test_util.h"

namespace edgekit::test {
namespace {

using I = std::vector<int64_t>;
Tensor iota_f(Shape s) {
  Tensor t(DType::f32, s);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = float(i);
  return t;
}
Tensor ints(const I& v, Shape s) { return tensor<int64_t>(v, std::move(s)); }

TEST(Gather, AxisAndNegativeIndices) {
  Node n = node_with("Gather", 2, {{"axis", int64_t(1)}});
  auto out = run_node(n, {iota_f({2, 3}), ints({-1, 0}, {2})});
  expect_values<float>(out[0], {2, 0, 5, 3}, {2, 2});
  out = run_node(make_node("Gather", 2), {tensor<int32_t>({7, 8, 9}, {3}), tensor<int32_t>({2, 1, 0, 2}, {2, 2})});
  expect_values<int32_t>(out[0], {9, 8, 7, 9}, {2, 2});
  out = run_node(make_node("Gather", 2), {iota_f({3}), ints({1}, {})});  // scalar index drops the axis
  expect_values<float>(out[0], {1}, {});
}

TEST(Gather, OutOfRangeIndexIsAnError) {
  Node n = node_with("Gather", 2, {{"axis", int64_t(1)}});
  expect_error(n, {iota_f({2, 3}), ints({3}, {1})}, {"test_Gather", "index 3", "axis 1 of size 3"});
  expect_error(n, {iota_f({2, 3}), ints({-4}, {1})}, {"index -4"});
  expect_error(node_with("Gather", 2, {{"axis", int64_t(2)}}), {iota_f({2, 3}), ints({0}, {1})}, {"axis 2", "rank 2"});
}

TEST(GatherElements, PicksAlongAxis) {
  Node n = node_with("GatherElements", 2, {{"axis", int64_t(1)}});
  auto out = run_node(n, {iota_f({2, 2}), ints({0, 0, 1, 0}, {2, 2})});
  expect_values<float>(out[0], {0, 0, 3, 2}, {2, 2});
  out = run_node(make_node("GatherElements", 2), {iota_f({3, 3}), ints({1, 2, 0, 2, -1, 0}, {2, 3})});
  expect_values<float>(out[0], {3, 7, 2, 6, 7, 2}, {2, 3});
  expect_error(n, {iota_f({2, 2}), ints({2, 0, 1, 0}, {2, 2})}, {"index 2", "out of range"});
}

TEST(GatherND, BatchDims) {
  auto out = run_node(make_node("GatherND", 2), {iota_f({2, 2}), ints({0, 0, 1, 1}, {2, 2})});
  expect_values<float>(out[0], {0, 3}, {2});
  out = run_node(make_node("GatherND", 2), {iota_f({2, 2}), ints({1, 0}, {2, 1})});
  expect_values<float>(out[0], {2, 3, 0, 1}, {2, 2});
  Node b = node_with("GatherND", 2, {{"batch_dims", int64_t(1)}});
  out = run_node(b, {iota_f({2, 2, 2}), ints({1, 0}, {2, 1})});  // batch 0 -> row 1, batch 1 -> row 0
  expect_values<float>(out[0], {2, 3, 4, 5}, {2, 2});
  expect_error(make_node("GatherND", 2), {iota_f({2, 2}), ints({0, 2}, {1, 2})}, {"index 2", "dim 1"});
}

TEST(ScatterElements, Reductions) {
  Node n = node_with("ScatterElements", 3, {{"axis", int64_t(1)}});
  auto out = run_node(n, {iota_f({1, 5}), ints({1, 3}, {1, 2}), tensor<float>({10, 20}, {1, 2})});
  expect_values<float>(out[0], {0, 10, 2, 20, 4}, {1, 5});
  Node add = node_with("ScatterElements", 3, {{"axis", int64_t(1)}, {"reduction", std::string("add")}});
  out = run_node(add, {iota_f({1, 5}), ints({1, 1}, {1, 2}), tensor<float>({10, 20}, {1, 2})});
  expect_values<float>(out[0], {0, 31, 2, 3, 4}, {1, 5});
  Node mx = node_with("ScatterElements", 3, {{"reduction", std::string("max")}});
  out = run_node(mx, {tensor<int32_t>({5, 5}, {2}), ints({0, 1}, {2}), tensor<int32_t>({1, 9}, {2})});
  expect_values<int32_t>(out[0], {5, 9}, {2});
  expect_error(n, {iota_f({1, 5}), ints({5}, {1, 1}), tensor<float>({1}, {1, 1})}, {"index 5", "size 5"});
  expect_error(node_with("ScatterElements", 3, {{"reduction", std::string("avg")}}),
               {iota_f({2}), ints({0}, {1}), tensor<float>({1}, {1})}, {"reduction", "avg"});
}

TEST(ScatterND, NoneAddMul) {
  Tensor data = iota_f({4, 2});
  Tensor idx = ints({3, 1}, {2, 1});
  Tensor upd = tensor<float>({10, 11, 20, 21}, {2, 2});
  expect_values<float>(run_node(make_node("ScatterND", 3), {data, idx, upd})[0], {0, 1, 20, 21, 4, 5, 10, 11}, {4, 2});
  Node mul = node_with("ScatterND", 3, {{"reduction", std::string("mul")}});
  expect_values<float>(run_node(mul, {data, ints({1, 1}, {2, 1}), upd})[0], {0, 1, 2 * 10 * 20, 3 * 11 * 21, 4, 5, 6, 7},
                       {4, 2});
  expect_error(make_node("ScatterND", 3), {data, ints({4}, {1, 1}), tensor<float>({1, 2}, {1, 2})}, {"index 4"});
  expect_error(make_node("ScatterND", 3), {data, idx, tensor<float>({1, 2}, {1, 2})}, {"updates have shape [1,2]"});
}

TEST(Range, FloatAndIntCounts) {
  auto out = run_node(make_node("Range", 3), {Tensor::scalar<float>(1), Tensor::scalar<float>(2), Tensor::scalar<float>(0.3f)});
  expect_values<float>(out[0], {1, 1.3f, 1.6f, 1.9f}, {4});
  out = run_node(make_node("Range", 3), {Tensor::scalar<int32_t>(10), Tensor::scalar<int32_t>(4), Tensor::scalar<int32_t>(-3)});
  expect_values<int32_t>(out[0], {10, 7}, {2});
  out = run_node(make_node("Range", 3), {Tensor::scalar<int64_t>(0), Tensor::scalar<int64_t>(-5), Tensor::scalar<int64_t>(1)});
  expect_values<int64_t>(out[0], {}, {0});
  expect_error(make_node("Range", 3), {Tensor::scalar<int64_t>(0), Tensor::scalar<int64_t>(5), Tensor::scalar<int64_t>(0)},
               {"delta is 0"});
}

TEST(EyeLike, DiagonalOffsetAndDtype) {
  Node n = node_with("EyeLike", 1, {{"k", int64_t(1)}, {"dtype", int64_t(7)}});
  expect_values<int64_t>(run_node(n, {Tensor(DType::f32, {2, 3})})[0], {0, 1, 0, 0, 0, 1}, {2, 3});
  expect_error(make_node("EyeLike", 1), {Tensor(DType::f32, {2})}, {"2-D"});
}

TEST(Trilu, UpperLowerWithK) {
  Tensor x = iota_f({3, 3});
  expect_values<float>(run_node(make_node("Trilu", 1), {x})[0], {0, 1, 2, 0, 4, 5, 0, 0, 8}, {3, 3});
  Node lower = node_with("Trilu", 2, {{"upper", int64_t(0)}});
  expect_values<float>(run_node(lower, {x, Tensor::scalar<int64_t>(-1)})[0], {0, 0, 0, 3, 0, 0, 6, 7, 0}, {3, 3});
  expect_values<float>(run_node(make_node("Trilu", 2), {x, Tensor::scalar<int64_t>(5)})[0],
                       std::vector<float>(9, 0.f), {3, 3});
}

TEST(OneHot, AxisAndNegativeIndices) {
  Node n = make_node("OneHot", 3);
  auto out = run_node(n, {ints({0, -1, 5}, {3}), Tensor::scalar<int64_t>(3), tensor<int32_t>({0, 7}, {2})});
  expect_values<int32_t>(out[0], {7, 0, 0, 0, 0, 7, 0, 0, 0}, {3, 3});
  Node a0 = node_with("OneHot", 3, {{"axis", int64_t(0)}});
  out = run_node(a0, {ints({1, 0}, {2}), Tensor::scalar<float>(2), tensor<float>({0, 1}, {2})});
  expect_values<float>(out[0], {0, 1, 1, 0}, {2, 2});
  expect_error(n, {ints({0}, {1}), Tensor::scalar<int64_t>(2), tensor<float>({0}, {1})}, {"[off, on]"});
}

TEST(CumSum, ExclusiveReverse) {
  Tensor x = tensor<float>({1, 2, 3}, {3});
  expect_values<float>(run_node(make_node("CumSum", 2), {x, Tensor::scalar<int32_t>(0)})[0], {1, 3, 6}, {3});
  Node n = node_with("CumSum", 2, {{"exclusive", int64_t(1)}, {"reverse", int64_t(1)}});
  expect_values<float>(run_node(n, {x, Tensor::scalar<int64_t>(0)})[0], {5, 3, 0}, {3});
  expect_values<int64_t>(run_node(make_node("CumSum", 2), {ints({1, 2, 3, 4}, {2, 2}), Tensor::scalar<int64_t>(-1)})[0],
                         {1, 3, 3, 7}, {2, 2});
  expect_error(make_node("CumSum", 2), {x, Tensor::scalar<int64_t>(1)}, {"axis 1", "rank 1"});
}

TEST(ReverseSequence, BatchAndTimeAxes) {
  // [time=3, batch=2]: batch 0 reverses 3 steps, batch 1 reverses 2.
  Node n = make_node("ReverseSequence", 2);
  auto out = run_node(n, {iota_f({3, 2}), ints({3, 2}, {2})});
  expect_values<float>(out[0], {4, 3, 2, 1, 0, 5}, {3, 2});
  Node b0 = node_with("ReverseSequence", 2, {{"batch_axis", int64_t(0)}, {"time_axis", int64_t(1)}});
  out = run_node(b0, {iota_f({2, 3}), ints({1, 3}, {2})});
  expect_values<float>(out[0], {0, 1, 2, 5, 4, 3}, {2, 3});
  expect_error(n, {iota_f({3, 2}), ints({4, 1}, {2})}, {"sequence length 4"});
}

TEST(NonZero, CoordinatesAndRuntimeShape) {
  auto out = run_node(make_node("NonZero", 1), {tensor<bool>({true, false, false, true}, {2, 2})});
  expect_values<int64_t>(out[0], {0, 1, 0, 1}, {2, 2});
  out = run_node(make_node("NonZero", 1), {tensor<float>({0, 0}, {2})});
  expect_values<int64_t>(out[0], {}, {1, 0});
}

TEST(TopK, LargestSmallestAndTies) {
  Node n = make_node("TopK", 2, 2);
  auto out = run_node(n, {tensor<float>({1, 3, 3, 2, 5, 4}, {2, 3}), ints({2}, {1})});
  expect_values<float>(out[0], {3, 3, 5, 4}, {2, 2});
  expect_values<int64_t>(out[1], {1, 2, 1, 2}, {2, 2});
  Node s = node_with("TopK", 2, {{"largest", int64_t(0)}, {"axis", int64_t(0)}}, 18, 2);
  out = run_node(s, {tensor<int32_t>({4, 1, 2, 1}, {4}), ints({3}, {1})});
  expect_values<int32_t>(out[0], {1, 1, 2}, {3});
  expect_values<int64_t>(out[1], {1, 3, 2}, {3});
  expect_error(n, {tensor<float>({1, 2}, {2}), ints({3}, {1})}, {"K 3"});
}

TEST(ArgMax, KeepdimsAndSelectLastIndex) {
  Tensor x = tensor<float>({2, 5, 5, 1, 0, 1}, {2, 3});
  expect_values<int64_t>(run_node(node_with("ArgMax", 1, {{"axis", int64_t(1)}}), {x})[0], {1, 0}, {2, 1});
  Node last = node_with("ArgMax", 1, {{"axis", int64_t(1)}, {"keepdims", int64_t(0)}, {"select_last_index", int64_t(1)}});
  expect_values<int64_t>(run_node(last, {x})[0], {2, 2}, {2});
  Node mn = node_with("ArgMin", 1, {{"axis", int64_t(-1)}, {"keepdims", int64_t(0)}});
  expect_values<int64_t>(run_node(mn, {x})[0], {0, 1}, {2});
  expect_error(node_with("ArgMax", 1, {{"axis", int64_t(2)}}), {x}, {"test_ArgMax", "axis 2", "rank 2"});
}

}  // namespace
}  // namespace edgekit::test
