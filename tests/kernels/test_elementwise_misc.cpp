// Clip, Where, Cast, CastLike, Identity, Dropout, Softmax, LogSoftmax, Hardmax.
#include <climits>
#include <cmath>
#include <limits>

#include "elementwise_test_util.h"

namespace edgekit::test {
namespace {

// ---- Clip ----

TEST(Clip, OpsetBelow11UsesAttributes) {
  Node n = node_with("Clip", 1, {{"min", -1.f}, {"max", 2.f}}, 6);
  expect_values<float>(run_node(n, {tensor<float>({-3, 0, 5}, {3})})[0], {-1, 0, 2}, {3});
  Node only_max = node_with("Clip", 1, {{"max", 0.f}}, 6);
  expect_values<float>(run_node(only_max, {tensor<float>({-3, 5}, {2})})[0], {-3, 0}, {2});
  expect_error(n, {tensor<int32_t>({1}, {1})}, {"i32"});  // integers only from opset 12
}

TEST(Clip, Opset13OptionalInputs) {
  Tensor x = tensor<float>({-3, 0, 5}, {3});
  expect_values<float>(run_node(make_node("Clip", 3, 1, 13), {x, tensor<float>({-1}, {}), tensor<float>({2}, {})})[0],
                       {-1, 0, 2}, {3});
  Node max_only = make_node("Clip", 3, 1, 13);
  max_only.inputs[1] = "";
  expect_values<float>(run_node(max_only, {x, Tensor(), tensor<float>({1}, {1})})[0], {-3, 0, 1}, {3});
  expect_values<float>(run_node(make_node("Clip", 1, 1, 13), {x})[0], {-3, 0, 5}, {3});
  // min > max: everything becomes max.
  expect_values<float>(run_node(make_node("Clip", 3, 1, 13), {x, tensor<float>({3}, {}), tensor<float>({1}, {})})[0],
                       {1, 1, 1}, {3});
}

TEST(Clip, Integers) {
  Tensor x = tensor<int8_t>({-128, -5, 0, 7, 127}, {5});
  expect_values<int8_t>(run_node(make_node("Clip", 3, 1, 12), {x, tensor<int8_t>({-6}, {}), tensor<int8_t>({6}, {})})[0],
                        {-6, -5, 0, 6, 6}, {5});
  expect_values<int8_t>(run_node(make_node("Clip", 1, 1, 12), {x})[0], {-128, -5, 0, 7, 127}, {5});
  expect_values<uint64_t>(run_node(make_node("Clip", 2), {tensor<uint64_t>({1, 9}, {2}), tensor<uint64_t>({4}, {})})[0],
                          {4, 9}, {2});
}

TEST(Clip, Errors) {
  Tensor x = tensor<float>({1, 2}, {2});
  expect_error(make_node("Clip", 2, 1, 13), {x, tensor<float>({1, 2}, {2})}, {"test_Clip", "min", "scalar", "[2]"});
  expect_error(make_node("Clip", 2, 1, 13), {x, tensor<double>({1}, {})}, {"min", "f64", "f32"});
  expect_error(make_node("Clip", 1, 1, 13), {tensor<bool>({true}, {1})}, {"bool"});
}

// ---- Where ----

TEST(Where, ThreeWayBroadcast) {
  Tensor c = tensor<bool>({true, false}, {2, 1});
  Tensor x = tensor<int64_t>({1, 2, 3}, {3});
  Tensor y = tensor<int64_t>({-1}, {});
  expect_values<int64_t>(run_node(make_node("Where", 3), {c, x, y})[0], {1, 2, 3, -1, -1, -1}, {2, 3});
  expect_values<float>(run_node(make_node("Where", 3), {tensor<bool>({true, false, true}, {3}), tensor<float>({1, 2, 3}, {3}),
                                                        tensor<float>({9, 8, 7}, {3})})[0],
                       {1, 8, 3}, {3});
  Tensor h(DType::f16, {1});
  h.data<f16_t>()[0] = float_to_half(1.5f);
  auto out = run_node(make_node("Where", 3), {tensor<bool>({false, true}, {2}), Tensor(DType::f16, {1}), h});
  ASSERT_EQ(out[0].dtype(), DType::f16);
  EXPECT_EQ(half_to_float(out[0].data<f16_t>()[0]), 1.5f);
  EXPECT_EQ(half_to_float(out[0].data<f16_t>()[1]), 0.f);
}

TEST(Where, Errors) {
  expect_error(make_node("Where", 3), {tensor<float>({1}, {1}), tensor<float>({1}, {1}), tensor<float>({1}, {1})},
               {"test_Where", "condition", "f32"});
  expect_error(make_node("Where", 3), {tensor<bool>({true}, {1}), tensor<float>({1}, {1}), tensor<int32_t>({1}, {1})},
               {"same dtype"});
  expect_error(make_node("Where", 3), {tensor<bool>({true, true}, {2}), tensor<float>({1, 2, 3}, {3}), tensor<float>({1}, {1})},
               {"cannot be broadcast"});
}

// ---- Cast ----

Node cast_to(int64_t onnx_code) { return node_with("Cast", 1, {{"to", onnx_code}}); }

TEST(Cast, FloatToIntTruncatesLikeNumpy) {
  Tensor x = tensor<float>({2.9f, -2.9f, 0.5f, -0.5f}, {4});
  expect_values<int32_t>(run_node(cast_to(6), {x})[0], {2, -2, 0, 0}, {4});
  expect_values<int64_t>(run_node(cast_to(7), {x})[0], {2, -2, 0, 0}, {4});
  expect_values<uint8_t>(run_node(cast_to(2), {tensor<float>({-1.f, 300.f}, {2})})[0], {255, 44}, {2});
  expect_values<uint32_t>(run_node(cast_to(12), {tensor<double>({-1.0}, {1})})[0], {4294967295u}, {1});
  // NaN and out of range give the x86 "integer indefinite" value numpy also gives.
  const float nan = std::numeric_limits<float>::quiet_NaN();
  expect_values<int32_t>(run_node(cast_to(6), {tensor<float>({nan, 1e10f}, {2})})[0], {INT_MIN, INT_MIN}, {2});
  expect_values<int64_t>(run_node(cast_to(7), {tensor<float>({nan}, {1})})[0], {INT64_MIN}, {1});
  expect_values<uint64_t>(run_node(cast_to(13), {tensor<double>({1e19}, {1})})[0], {10000000000000000000ULL}, {1});
}

TEST(Cast, BoolAndIntegers) {
  expect_values<bool>(run_node(cast_to(9), {tensor<float>({0.f, -0.f, 0.1f, std::nanf("")}, {4})})[0],
                      {false, false, true, true}, {4});
  expect_values<float>(run_node(cast_to(1), {tensor<bool>({true, false}, {2})})[0], {1, 0}, {2});
  expect_values<int8_t>(run_node(cast_to(3), {tensor<int32_t>({200, -129}, {2})})[0], {-56, 127}, {2});
  expect_values<double>(run_node(cast_to(11), {tensor<int64_t>({1LL << 53}, {1})})[0], {9007199254740992.0}, {1});
}

TEST(Cast, HalfBothWays) {
  auto h = run_node(cast_to(10), {tensor<float>({1.f, 65504.f, 1e6f, 1e-8f, -2.5f}, {5})});
  ASSERT_EQ(h[0].dtype(), DType::f16);
  const f16_t* p = h[0].data<f16_t>();
  EXPECT_EQ(p[0].bits, 0x3c00);
  EXPECT_EQ(p[1].bits, 0x7bff);
  EXPECT_EQ(p[2].bits, 0x7c00);  // overflow to +inf
  EXPECT_EQ(p[3].bits, 0x0000);  // underflow to zero
  expect_values<float>(run_node(cast_to(1), {h[0]})[0], {1, 65504, std::numeric_limits<float>::infinity(), 0, -2.5f},
                       {5});
  expect_values<int32_t>(run_node(cast_to(6), {h[0]})[0], {1, 65504, INT_MIN, 0, -2}, {5});
  // f64 -> f16 rounds once: 1 + 2^-11 + 2^-40 is just above the tie between 1 and 1 + 2^-10,
  // so it rounds up; going through f32 first would round to the tie and then down to 1.
  auto d = run_node(cast_to(10), {tensor<double>({1.0 + std::ldexp(1.0, -11) + std::ldexp(1.0, -40)}, {1})});
  EXPECT_EQ(d[0].data<f16_t>()[0].bits, 0x3c01);
}

TEST(Cast, ToByNameAndCastLike) {
  expect_values<int16_t>(run_node(node_with("Cast", 1, {{"to", std::string("i16")}}), {tensor<float>({-7.5f}, {1})})[0],
                         {-7}, {1});
  expect_values<double>(run_node(make_node("CastLike", 2), {tensor<int32_t>({3}, {1}), tensor<double>({}, {0})})[0], {3.0},
                        {1});
}

TEST(Cast, Errors) {
  expect_error(cast_to(8), {tensor<float>({1}, {1})}, {"test_Cast", "string"});
  expect_error(cast_to(16), {tensor<float>({1}, {1})}, {"bfloat16"});
  expect_error(cast_to(99), {tensor<float>({1}, {1})}, {"99"});
  expect_error(make_node("Cast", 1), {tensor<float>({1}, {1})}, {"'to' is required"});
  expect_error(node_with("Cast", 1, {{"to", std::string("f128")}}), {tensor<float>({1}, {1})}, {"f128"});
}

// ---- Identity and Dropout ----

TEST(Identity, CopiesAnyDtype) {
  expect_values<uint16_t>(run_node(make_node("Identity", 1), {tensor<uint16_t>({1, 2}, {2})})[0], {1, 2}, {2});
  expect_values<bool>(run_node(make_node("Identity", 1), {tensor<bool>({true}, {})})[0], {true}, {});
}

TEST(Dropout, InferenceIsIdentityWithTrueMask) {
  Tensor x = tensor<float>({1, -2, 3}, {3});
  auto old = run_node(node_with("Dropout", 1, {{"ratio", 0.3f}}, 10, 2), {x});
  expect_values<float>(old[0], {1, -2, 3}, {3});
  expect_values<bool>(old[1], {true, true, true}, {3});
  auto one = run_node(make_node("Dropout", 2, 1, 13), {x, tensor<float>({0.5f}, {})});
  expect_values<float>(one[0], {1, -2, 3}, {3});
  auto train0 = run_node(make_node("Dropout", 3, 2, 13), {x, tensor<float>({0.f}, {}), tensor<bool>({true}, {})});
  expect_values<float>(train0[0], {1, -2, 3}, {3});
  expect_values<bool>(train0[1], {true, true, true}, {3});
  auto not_training = run_node(make_node("Dropout", 3, 1, 13), {x, tensor<float>({0.5f}, {}), tensor<bool>({false}, {})});
  expect_values<float>(not_training[0], {1, -2, 3}, {3});
}

TEST(Dropout, TrainingModeIsAnError) {
  Tensor x = tensor<float>({1}, {1});
  expect_error(make_node("Dropout", 3, 1, 13), {x, tensor<float>({0.5f}, {}), tensor<bool>({true}, {})},
               {"test_Dropout", "training_mode", "0.5"});
  Node default_ratio = make_node("Dropout", 3, 1, 13);
  default_ratio.inputs[1] = "";
  expect_error(default_ratio, {x, Tensor(), tensor<bool>({true}, {})}, {"training_mode"});
  expect_error(make_node("Dropout", 1), {tensor<int32_t>({1}, {1})}, {"i32"});
  expect_error(make_node("Dropout", 2, 1, 11), {x, tensor<float>({0.5f}, {})}, {"expected 1 inputs"});
}

// ---- Softmax family ----

std::vector<float> softmax_ref(std::vector<float> v) {
  float mx = *std::max_element(v.begin(), v.end());
  double s = 0;
  for (float& x : v) s += std::exp(double(x - mx));
  for (float& x : v) x = float(std::exp(double(x - mx)) / s);
  return v;
}

TEST(Softmax, LastAxisDefault) {
  auto y = run_node(make_node("Softmax", 1), {tensor<float>({1, 2, 3, 1000, 1000, 1000}, {2, 3})});
  auto r = softmax_ref({1, 2, 3});
  expect_values<float>(y[0], {r[0], r[1], r[2], 1 / 3.f, 1 / 3.f, 1 / 3.f}, {2, 3});
}

TEST(Softmax, OpsetDifferenceOnAxis) {
  // x of shape [2, 2, 2]; axis 1. Opset 13: along dim 1 only. Opset 11: over dims 1..2 flattened.
  std::vector<float> v = {0, 1, 2, 3, 4, 5, 6, 7};
  Tensor x = tensor<float>(v, {2, 2, 2});
  auto y13 = run_node(node_with("Softmax", 1, {{"axis", int64_t(1)}}, 13), {x});
  auto p = softmax_ref({0, 2});  // pairs two apart
  expect_values<float>(y13[0], {p[0], p[0], p[1], p[1], p[0], p[0], p[1], p[1]}, {2, 2, 2});
  auto y11 = run_node(node_with("Softmax", 1, {{"axis", int64_t(1)}}, 11), {x});
  auto q = softmax_ref({0, 1, 2, 3});
  expect_values<float>(y11[0], {q[0], q[1], q[2], q[3], q[0], q[1], q[2], q[3]}, {2, 2, 2});
  // Opset 11 default axis is 1, so [2, 4] rows; opset 13 default is -1.
  auto d11 = run_node(make_node("Softmax", 1, 1, 11), {x});
  expect_values<float>(d11[0], values_of<float>(y11[0]), {2, 2, 2});
}

TEST(Softmax, LogSoftmaxKeepsPrecisionForLargeInputs) {
  auto y = run_node(make_node("LogSoftmax", 1), {tensor<float>({10000, 10001, 10002}, {3})});
  auto r = softmax_ref({0, 1, 2});
  expect_values<float>(y[0], {std::log(r[0]), std::log(r[1]), std::log(r[2])}, {3}, 1e-5);
  auto y0 = run_node(node_with("LogSoftmax", 1, {{"axis", int64_t(0)}}), {tensor<double>({1, 1}, {2, 1})});
  expect_values<double>(y0[0], {-std::log(2.0), -std::log(2.0)}, {2, 1}, 1e-12);
}

TEST(Softmax, HardmaxFirstMaxWins) {
  auto y = run_node(make_node("Hardmax", 1), {tensor<float>({3, 1, 3, 2, -1, 4, 4, 0}, {2, 4})});
  expect_values<float>(y[0], {1, 0, 0, 0, 0, 1, 0, 0}, {2, 4});
  auto y0 = run_node(node_with("Hardmax", 1, {{"axis", int64_t(0)}}), {tensor<float>({1, 5, 2, 0}, {2, 2})});
  expect_values<float>(y0[0], {0, 1, 1, 0}, {2, 2});
}

TEST(Softmax, Errors) {
  expect_error(node_with("Softmax", 1, {{"axis", int64_t(2)}}), {Tensor(DType::f32, {2, 2})},
               {"test_Softmax", "axis 2", "rank 2"});
  expect_error(make_node("LogSoftmax", 1), {tensor<int32_t>({1}, {1})}, {"i32"});
  expect_error(make_node("Hardmax", 2), {Tensor(DType::f32, {1}), Tensor(DType::f32, {1})}, {"expected 1 inputs"});
}

}  // namespace
}  // namespace edgekit::test
