// Unary math table and parametrised activations.
#include <climits>
#include <limits>

#include "elementwise_test_util.h"

namespace edgekit::test {
namespace {

const float kInf = std::numeric_limits<float>::infinity();
const float kNaN = std::numeric_limits<float>::quiet_NaN();

std::vector<float> run_f32(const Node& n, const std::vector<float>& x) {
  return values_of<float>(run_node(n, {tensor<float>(x, {int64_t(x.size())})})[0]);
}

TEST(Unary, MathFunctionsMatchLibm) {
  const std::vector<float> x = {0.1f, 0.5f, 0.9f};
  struct Case {
    const char* op;
    double (*f)(double);
  };
  const Case cases[] = {{"Sqrt", std::sqrt},   {"Exp", std::exp},     {"Log", std::log},   {"Sin", std::sin},
                        {"Cos", std::cos},     {"Tan", std::tan},     {"Asin", std::asin}, {"Acos", std::acos},
                        {"Atan", std::atan},   {"Sinh", std::sinh},   {"Cosh", std::cosh}, {"Asinh", std::asinh},
                        {"Atanh", std::atanh}, {"Erf", std::erf},     {"Tanh", std::tanh}, {"Floor", std::floor},
                        {"Ceil", std::ceil}};
  for (const Case& c : cases) {
    auto got = run_f32(make_node(c.op, 1), x);
    for (size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(got[i], c.f(x[i]), 1e-6) << c.op << " at " << i;
  }
  EXPECT_NEAR(run_f32(make_node("Acosh", 1), {2.f})[0], std::acosh(2.0), 1e-6);
  EXPECT_NEAR(run_f32(make_node("Reciprocal", 1), {4.f})[0], 0.25, 1e-7);
}

TEST(Unary, RoundHalfToEven) {
  EXPECT_EQ(run_f32(make_node("Round", 1), {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, 2.4f, -2.6f}),
            (std::vector<float>{0, 2, 2, -0.f, -2, 2, -3}));
}

TEST(Unary, SigmoidSoftplusStableAtExtremes) {
  auto s = run_f32(make_node("Sigmoid", 1), {-1000.f, 0.f, 1000.f, 1.f});
  EXPECT_EQ(s[0], 0.f);
  EXPECT_EQ(s[1], 0.5f);
  EXPECT_EQ(s[2], 1.f);
  EXPECT_NEAR(s[3], 1 / (1 + std::exp(-1.0)), 1e-7);
  auto sp = run_f32(make_node("Softplus", 1), {-1000.f, 0.f, 1000.f});
  EXPECT_EQ(sp[0], 0.f);
  EXPECT_NEAR(sp[1], std::log(2.0), 1e-7);
  EXPECT_EQ(sp[2], 1000.f);
  EXPECT_NEAR(run_f32(make_node("Softsign", 1), {-3.f})[0], -0.75f, 1e-7);
  EXPECT_NEAR(run_f32(make_node("Mish", 1), {1.f})[0], 1 * std::tanh(std::log1p(std::exp(1.0))), 1e-6);
}

TEST(Unary, IntegerAbsNegSignRelu) {
  Tensor x = tensor<int8_t>({-128, -3, 0, 5}, {4});
  expect_values<int8_t>(run_node(make_node("Abs", 1), {x})[0], {-128, 3, 0, 5}, {4});  // wraps like numpy
  expect_values<int8_t>(run_node(make_node("Neg", 1), {x})[0], {-128, 3, 0, -5}, {4});
  expect_values<int8_t>(run_node(make_node("Sign", 1), {x})[0], {-1, -1, 0, 1}, {4});
  expect_values<int8_t>(run_node(make_node("Relu", 1), {x})[0], {0, 0, 0, 5}, {4});
  expect_values<uint32_t>(run_node(make_node("Abs", 1), {tensor<uint32_t>({7}, {1})})[0], {7}, {1});
  expect_values<int64_t>(run_node(make_node("Neg", 1), {tensor<int64_t>({INT64_MIN}, {1})})[0], {INT64_MIN}, {1});
  auto sign = run_f32(make_node("Sign", 1), {-2.f, 0.f, 3.f, kNaN});
  EXPECT_EQ(sign[0], -1.f);
  EXPECT_EQ(sign[2], 1.f);
  EXPECT_TRUE(std::isnan(sign[3]));
}

TEST(Unary, LogicAndClassification) {
  expect_values<bool>(run_node(make_node("Not", 1), {tensor<bool>({true, false}, {2})})[0], {false, true}, {2});
  Tensor x = tensor<float>({kInf, -kInf, kNaN, 1.f}, {4});
  expect_values<bool>(run_node(make_node("IsNaN", 1), {x})[0], {false, false, true, false}, {4});
  expect_values<bool>(run_node(make_node("IsInf", 1), {x})[0], {true, true, false, false}, {4});
  expect_values<bool>(run_node(node_with("IsInf", 1, {{"detect_negative", int64_t(0)}}), {x})[0],
                      {true, false, false, false}, {4});
  expect_values<bool>(run_node(node_with("IsInf", 1, {{"detect_positive", int64_t(0)}}), {x})[0],
                      {false, true, false, false}, {4});
}

TEST(Unary, DoubleAndHalf) {
  expect_values<double>(run_node(make_node("Exp", 1), {tensor<double>({1.0}, {1})})[0], {std::exp(1.0)}, {1}, 1e-15);
  Tensor h(DType::f16, {1});
  h.data<f16_t>()[0] = float_to_half(2.f);
  auto y = run_node(make_node("Sqrt", 1), {h});
  ASSERT_EQ(y[0].dtype(), DType::f16);
  EXPECT_NEAR(half_to_float(y[0].data<f16_t>()[0]), std::sqrt(2.f), 1e-3);
}

TEST(Unary, DtypeErrors) {
  expect_error(make_node("Sqrt", 1), {tensor<int32_t>({4}, {1})}, {"test_Sqrt", "i32", "expected one of f32, f64, f16"});
  expect_error(make_node("Neg", 1), {tensor<uint8_t>({4}, {1})}, {"u8"});
  expect_error(make_node("Not", 1), {tensor<float>({1}, {1})}, {"f32"});
  expect_error(make_node("IsNaN", 1), {tensor<int32_t>({1}, {1})}, {"i32"});
  expect_error(make_node("Exp", 2), {tensor<float>({1}, {1}), tensor<float>({1}, {1})}, {"expected 1 inputs, got 2"});
}

// ---- parametrised activations ----

TEST(Activation, DefaultsAndAttributes) {
  const std::vector<float> x = {-2.f, -0.5f, 0.f, 0.5f, 2.f};
  auto near = [](const std::vector<float>& got, const std::vector<double>& want) {
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-6) << "at " << i;
  };
  near(run_f32(make_node("LeakyRelu", 1), x), {-0.02, -0.005, 0, 0.5, 2});
  near(run_f32(node_with("LeakyRelu", 1, {{"alpha", 0.5f}}), x), {-1, -0.25, 0, 0.5, 2});
  near(run_f32(make_node("Elu", 1), x), {std::expm1(-2.0), std::expm1(-0.5), 0, 0.5, 2});
  near(run_f32(node_with("Elu", 1, {{"alpha", 2.f}}), x), {2 * std::expm1(-2.0), 2 * std::expm1(-0.5), 0, 0.5, 2});
  const double a = 1.67326319217681884765625, g = 1.05070102214813232421875;
  near(run_f32(make_node("Selu", 1), x),
       {g * a * std::expm1(-2.0), g * a * std::expm1(-0.5), 0, g * 0.5, g * 2});
  near(run_f32(node_with("Selu", 1, {{"alpha", 2.f}, {"gamma", 3.f}}), {-1.f, 1.f}), {3 * 2 * std::expm1(-1.0), 3});
  near(run_f32(make_node("Celu", 1), x), {std::expm1(-2.0), std::expm1(-0.5), 0, 0.5, 2});
  near(run_f32(node_with("Celu", 1, {{"alpha", 2.f}}), {-2.f}), {2 * std::expm1(-1.0)});
  near(run_f32(make_node("ThresholdedRelu", 1), {0.5f, 1.f, 1.5f}), {0, 0, 1.5});
  near(run_f32(node_with("ThresholdedRelu", 1, {{"alpha", 0.2f}}), {0.5f}), {0.5});
  near(run_f32(make_node("HardSigmoid", 1), {-5.f, 0.f, 1.f, 5.f}), {0, 0.5, 0.7, 1});
  near(run_f32(node_with("HardSigmoid", 1, {{"alpha", 0.5f}, {"beta", 0.f}}), {-1.f, 1.f, 3.f}), {0, 0.5, 1});
  near(run_f32(make_node("HardSwish", 1), {-4.f, -1.f, 1.f, 4.f}), {0, -1.0 / 3, 2.0 / 3, 4});
}

TEST(Activation, GeluExactTanhAndMicrosoftDomain) {
  const double x = 0.7;
  const double exact = 0.5 * x * (1 + std::erf(x / std::sqrt(2.0)));
  const double approx = 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
  EXPECT_NEAR(run_f32(make_node("Gelu", 1), {0.7f})[0], exact, 1e-6);
  EXPECT_NEAR(run_f32(node_with("Gelu", 1, {{"approximate", std::string("tanh")}}), {0.7f})[0], approx, 1e-6);
  Node ms = make_node("Gelu", 1);
  ms.domain = "com.microsoft";
  EXPECT_NEAR(run_f32(ms, {0.7f})[0], exact, 1e-6);
  expect_error(node_with("Gelu", 1, {{"approximate", std::string("fast")}}), {tensor<float>({1}, {1})},
               {"test_Gelu", "approximate"});
}

TEST(Activation, FloatOnly) {
  expect_error(make_node("LeakyRelu", 1), {tensor<int32_t>({1}, {1})}, {"test_LeakyRelu", "i32"});
  expect_error(node_with("Elu", 1, {{"alpha", std::string("one")}}), {tensor<float>({1}, {1})}, {"alpha"});
}

}  // namespace
}  // namespace edgekit::test
