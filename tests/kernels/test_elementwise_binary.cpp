// Broadcasting binary and variadic ops: plan collapsing, fast paths versus a naive reference,
// integer semantics, dtype and shape errors.
#include <climits>
#include <cstring>
#include <limits>
#include <random>

#include "elementwise_test_util.h"
#include "hwy/targets.h"
#include "kernels/elementwise.h"

namespace edgekit::test {
namespace {

// ---- the plan ----

TEST(BroadcastPlan, SameShapeCollapsesToOneDim) {
  Node n = make_node("Add", 2);
  BroadcastPlan p = plan_broadcast(n, {2, 3, 4}, Shape{2, 3, 4}, Shape{2, 3, 4});
  ASSERT_EQ(p.rank, 1);
  EXPECT_EQ(p.dims[0], 24);
  EXPECT_EQ(p.strides[0][0], 1);
  EXPECT_EQ(p.strides[0][1], 1);
}

TEST(BroadcastPlan, ScalarSideHasZeroStride) {
  Node n = make_node("Add", 2);
  BroadcastPlan p = plan_broadcast(n, {5, 6}, Shape{5, 6}, Shape{});
  ASSERT_EQ(p.rank, 1);
  EXPECT_EQ(p.dims[0], 30);
  EXPECT_EQ(p.strides[0][1], 0);
}

TEST(BroadcastPlan, ChannelBiasCollapsesSpatialDims) {
  Node n = make_node("Add", 2);
  BroadcastPlan p = plan_broadcast(n, {2, 3, 4, 5}, Shape{2, 3, 4, 5}, Shape{3, 1, 1});
  ASSERT_EQ(p.rank, 3);
  EXPECT_EQ(p.dims[0], 2);
  EXPECT_EQ(p.dims[1], 3);
  EXPECT_EQ(p.dims[2], 20);
  EXPECT_EQ(p.strides[1][1], 1);
  EXPECT_EQ(p.strides[2][1], 0);
}

TEST(BroadcastPlan, RejectsIncompatibleInput) {
  Node n = make_node("Add", 2);
  EXPECT_THROW(plan_broadcast(n, {2, 3}, Shape{2, 3}, Shape{4}), Error);
  EXPECT_THROW(plan_broadcast(n, {3}, Shape{2, 3}, Shape{3}), Error);  // input rank above output rank
}

// ---- differential: every fast path against a naive per-element reference ----

std::vector<float> naive_add(const Shape& out, const Tensor& a, const Tensor& b) {
  std::vector<float> r(size_t(shape_numel(out)));
  auto sa = broadcast_strides(a.shape(), out), sb = broadcast_strides(b.shape(), out);
  std::vector<int64_t> idx(out.size(), 0);
  for (size_t i = 0; i < r.size(); ++i) {
    int64_t ia = 0, ib = 0, rem = int64_t(i);
    for (int d = int(out.size()) - 1; d >= 0; --d) {
      int64_t k = rem % out[d];
      rem /= out[d];
      ia += k * sa[d];
      ib += k * sb[d];
    }
    r[i] = a.data<float>()[ia] + b.data<float>()[ib];
  }
  return r;
}

TEST(Broadcast, RandomShapesMatchNaiveReference) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> rank_d(0, 5), dim_d(1, 4), coin(0, 2);
  std::uniform_real_distribution<float> val(-2, 2);
  Node n = make_node("Add", 2);
  for (int trial = 0; trial < 300; ++trial) {
    Shape out(size_t(rank_d(rng)));
    for (auto& d : out) d = dim_d(rng);
    auto derive = [&]() {
      Shape s(out.end() - std::uniform_int_distribution<long>(0, long(out.size()))(rng), out.end());
      for (auto& d : s)
        if (coin(rng) == 0) d = 1;
      return s;
    };
    Tensor a(DType::f32, derive()), b(DType::f32, derive());
    for (int64_t i = 0; i < a.numel(); ++i) a.data<float>()[i] = val(rng);
    for (int64_t i = 0; i < b.numel(); ++i) b.data<float>()[i] = val(rng);
    Shape want_shape = broadcast_shapes({a.shape(), b.shape()}, n);
    auto got = run_node(n, {a, b});
    expect_values<float>(got[0], naive_add(want_shape, a, b), want_shape);
    if (HasFailure()) {
      ADD_FAILURE() << "shapes " << shape_str(a.shape()) << " + " << shape_str(b.shape());
      return;
    }
  }
}

// Float Add / Sub / Mul / Div take the vector path (kernels/binary_f32.h): bit for bit the
// single IEEE operation (an operation on doubles rounded once to float is the same value).
TEST(Broadcast, FloatVectorPathIsExactOnEveryStrideCase) {
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> val(-3, 3);
  const std::vector<std::pair<Shape, Shape>> cases = {
      {{2, 17, 33}, {2, 17, 33}},      // both contiguous, a tail after full vectors
      {{1, 7, 9, 35}, {1, 1, 1, 35}},  // per-channel scale against NHWC rows
      {{1, 1, 1, 35}, {1, 7, 9, 35}},  // the same, held side first
      {{3, 35}, {}},                   // scalar
      {{}, {3, 35}},
      {{5, 1}, {1, 37}},               // both sides broadcast: a held per row
      {{1, 56, 56, 40}, {1, 1, 1, 40}},  // large: split over the threads
      {{1, 40, 56, 56}, {1, 40, 1, 1}},  // NCHW per-channel: rows of 3136, b held
  };
  for (int64_t target : hwy::SupportedAndGeneratedTargets())
  for (const char* op : {"Add", "Sub", "Mul", "Div"}) {
    hwy::SetSupportedTargetsForTest(target);
    SCOPED_TRACE(hwy::TargetName(target));
    Node n = make_node(op, 2);
    for (const auto& [sa, sb] : cases) {
      Tensor a(DType::f32, sa), b(DType::f32, sb);
      for (int64_t i = 0; i < a.numel(); ++i) a.data<float>()[i] = val(rng);
      for (int64_t i = 0; i < b.numel(); ++i) b.data<float>()[i] = val(rng);
      if (b.numel() > 2) b.data<float>()[1] = 0.f;  // Div: inf and nan lanes
      const Shape out = broadcast_shapes({sa, sb}, n);
      const auto ia = broadcast_strides(sa, out), ib = broadcast_strides(sb, out);
      std::vector<float> want(size_t(shape_numel(out)));
      for (size_t i = 0; i < want.size(); ++i) {
        int64_t oa = 0, ob = 0, rem = int64_t(i);
        for (int d = int(out.size()) - 1; d >= 0; --d) {
          const int64_t k = rem % out[size_t(d)];
          rem /= out[size_t(d)];
          oa += k * ia[size_t(d)], ob += k * ib[size_t(d)];
        }
        const double x = a.data<float>()[oa], y = b.data<float>()[ob];
        const char c = op[0];
        want[i] = float(c == 'A' ? x + y : c == 'S' ? x - y : c == 'M' ? x * y : x / y);
      }
      for (int threads : {1, 2}) {
        const Tensor got = run_on_threads(n, {a, b}, threads);
        ASSERT_EQ(got.shape(), out);
        EXPECT_EQ(std::memcmp(got.data<float>(), want.data(), want.size() * sizeof(float)), 0)
            << op << " " << shape_str(sa) << " by " << shape_str(sb) << " on " << threads << " threads";
      }
    }
  }
  hwy::SetSupportedTargetsForTest(0);  // back to what the CPU supports
}

TEST(Broadcast, CommonShapes) {
  Node n = make_node("Mul", 2);
  auto y = run_node(n, {tensor<float>({1, 2, 3, 4, 5, 6}, {2, 3}), tensor<float>({10, 100, 1000}, {3})});
  expect_values<float>(y[0], {10, 200, 3000, 40, 500, 6000}, {2, 3});
  y = run_node(n, {tensor<float>({2}, {}), tensor<float>({1, 2, 3}, {3})});  // scalar on the left
  expect_values<float>(y[0], {2, 4, 6}, {3});
  y = run_node(n, {tensor<float>({1, 2, 3}, {3, 1}), tensor<float>({1, 10}, {1, 2})});  // both sides broadcast
  expect_values<float>(y[0], {1, 10, 2, 20, 3, 30}, {3, 2});
  y = run_node(n, {Tensor(DType::f32, {0, 3}), tensor<float>({1, 2, 3}, {3})});  // empty
  expect_values<float>(y[0], {}, {0, 3});
  y = run_node(n, {Tensor(DType::f32, {2, 1}), Tensor(DType::f32, {0})});  // 1 broadcasts to 0
  expect_values<float>(y[0], {}, {2, 0});
}

TEST(Broadcast, IncompatibleShapesNameTheNode) {
  expect_error(make_node("Add", 2), {Tensor(DType::f32, {2, 3}), Tensor(DType::f32, {2})},
               {"test_Add", "[2,3]", "[2]", "broadcast"});
}

TEST(Broadcast, StaticInferenceKeepsUnknownDims) {
  Node n = make_node("Add", 2);
  auto op = create_op(n);
  TensorType a{DType::f32, {-1, 3}}, b{DType::f32, {4, 1, 1}};
  InferContext ctx(n, {&a, &b}, {nullptr, nullptr});
  op->infer(ctx);
  EXPECT_EQ(ctx.outputs()[0].shape, (Shape{4, -1, 3}));
  TensorType unknown{DType::f32, {}, false};
  InferContext ctx2(n, {&a, &unknown}, {nullptr, nullptr});
  op->infer(ctx2);
  EXPECT_FALSE(ctx2.outputs()[0].shape_known);
}

// ---- arithmetic ----

TEST(Arithmetic, FloatOps) {
  Tensor a = tensor<double>({1, -2, 3}, {3}), b = tensor<double>({4, 5, -6}, {3});
  expect_values<double>(run_node(make_node("Add", 2), {a, b})[0], {5, 3, -3}, {3});
  expect_values<double>(run_node(make_node("Sub", 2), {a, b})[0], {-3, -7, 9}, {3});
  expect_values<double>(run_node(make_node("Mul", 2), {a, b})[0], {4, -10, -18}, {3});
  expect_values<double>(run_node(make_node("Div", 2), {a, b})[0], {0.25, -0.4, -0.5}, {3});
}

TEST(Arithmetic, IntegersWrapAndTruncate) {
  expect_values<int8_t>(run_node(make_node("Add", 2), {tensor<int8_t>({127, -128}, {2}), tensor<int8_t>({1, -1}, {2})})[0],
                        {-128, 127}, {2});
  expect_values<uint8_t>(run_node(make_node("Sub", 2), {tensor<uint8_t>({0}, {1}), tensor<uint8_t>({1}, {1})})[0], {255},
                         {1});
  expect_values<int32_t>(
      run_node(make_node("Div", 2), {tensor<int32_t>({7, -7, 7, INT_MIN}, {4}), tensor<int32_t>({2, 2, -2, -1}, {4})})[0],
      {3, -3, -3, INT_MIN}, {4});
  expect_values<int64_t>(run_node(make_node("Mul", 2), {tensor<int64_t>({INT64_MAX}, {1}), tensor<int64_t>({2}, {})})[0],
                         {-2}, {1});
}

TEST(Arithmetic, IntegerDivisionByZeroIsAnError) {
  expect_error(make_node("Div", 2), {tensor<int32_t>({1, 2}, {2}), tensor<int32_t>({1, 0}, {2})},
               {"test_Div", "division by zero"});
  expect_error(make_node("Mod", 2), {tensor<uint8_t>({1}, {1}), tensor<uint8_t>({0}, {1})}, {"division by zero"});
  // Floats follow IEEE.
  auto y = run_node(make_node("Div", 2), {tensor<float>({1}, {1}), tensor<float>({0}, {1})});
  EXPECT_TRUE(std::isinf(y[0].data<float>()[0]));
}

TEST(Arithmetic, ModSignFollowsDivisorOrDividend) {
  Tensor a = tensor<int32_t>({-4, 7, 5, 4, -7, 8}, {6}), b = tensor<int32_t>({2, -3, 8, -2, 3, 5}, {6});
  expect_values<int32_t>(run_node(make_node("Mod", 2), {a, b})[0], {0, -2, 5, 0, 2, 3}, {6});
  Node f = node_with("Mod", 2, {{"fmod", int64_t(1)}});
  expect_values<int32_t>(run_node(f, {a, b})[0], {0, 1, 5, 0, -1, 3}, {6});
  expect_values<float>(run_node(f, {tensor<float>({-4.5f, 7.5f}, {2}), tensor<float>({2, -3}, {2})})[0], {-0.5f, 1.5f},
                       {2});
  expect_error(make_node("Mod", 2), {tensor<float>({1}, {1}), tensor<float>({2}, {1})}, {"fmod=1"});
  expect_error(node_with("Mod", 2, {{"fmod", int64_t(2)}}), {a, b}, {"fmod must be 0 or 1"});
}

TEST(Arithmetic, F16ComputesInFloat) {
  Tensor a(DType::f16, {2}), b(DType::f16, {2});
  a.data<f16_t>()[0] = float_to_half(1.5f);
  a.data<f16_t>()[1] = float_to_half(-2.f);
  b.data<f16_t>()[0] = float_to_half(0.25f);
  b.data<f16_t>()[1] = float_to_half(4.f);
  auto y = run_node(make_node("Add", 2), {a, b});
  ASSERT_EQ(y[0].dtype(), DType::f16);
  EXPECT_EQ(half_to_float(y[0].data<f16_t>()[0]), 1.75f);
  EXPECT_EQ(half_to_float(y[0].data<f16_t>()[1]), 2.f);
}

TEST(Arithmetic, DtypeErrors) {
  expect_error(make_node("Add", 2), {tensor<float>({1}, {1}), tensor<double>({1}, {1})}, {"same dtype", "f32", "f64"});
  expect_error(make_node("Mul", 2), {tensor<bool>({true}, {1}), tensor<bool>({true}, {1})}, {"bool", "expected one of"});
  expect_error(make_node("Sub", 1), {tensor<float>({1}, {1})}, {"expected 2 inputs, got 1"});
}

// ---- Pow ----

TEST(Pow, MixedDtypes) {
  expect_values<int32_t>(run_node(make_node("Pow", 2, 1, 15), {tensor<int32_t>({1, 2, 3}, {3}), tensor<float>({4, 5, 6}, {3})})[0],
                         {1, 32, 729}, {3});
  expect_values<int64_t>(run_node(make_node("Pow", 2), {tensor<int64_t>({3, -2, 2, -1, 1}, {5}),
                                                        tensor<int64_t>({40, 3, -1, -3, -5}, {5})})[0],
                         {int64_t(12157665459056928801ULL), -8, 0, -1, 1}, {5});
  expect_values<float>(run_node(make_node("Pow", 2), {tensor<float>({2, 4}, {2}), tensor<int64_t>({3, -1}, {2})})[0],
                       {8, 0.25f}, {2});
}

TEST(Pow, Broadcast) {
  expect_values<float>(run_node(make_node("Pow", 2), {tensor<float>({1, 2, 3, 4}, {2, 2}), tensor<float>({2, 0.5f}, {2})})[0],
                       {1, std::sqrt(2.f), 9, 2}, {2, 2});
}

TEST(Pow, Errors) {
  expect_error(make_node("Pow", 2, 1, 11), {tensor<float>({1}, {1}), tensor<int32_t>({1}, {1})}, {"opset 12"});
  expect_error(make_node("Pow", 2), {tensor<int32_t>({0}, {1}), tensor<int32_t>({-1}, {1})}, {"negative power"});
  expect_error(make_node("Pow", 2), {tensor<bool>({true}, {1}), tensor<int32_t>({1}, {1})}, {"base", "bool"});
}

// ---- variadic ----

TEST(Variadic, SumMeanMinMaxBroadcastThreeInputs) {
  Tensor a = tensor<float>({1, 2, 3, 4, 5, 6}, {2, 3}), b = tensor<float>({10, 20, 30}, {3}), c = tensor<float>({-1}, {});
  expect_values<float>(run_node(make_node("Sum", 3), {a, b, c})[0], {10, 21, 32, 13, 24, 35}, {2, 3});
  expect_values<float>(run_node(make_node("Mean", 3), {a, b, c})[0], {10 / 3.f, 7, 32 / 3.f, 13 / 3.f, 8, 35 / 3.f},
                       {2, 3});
  expect_values<float>(run_node(make_node("Min", 3), {a, b, c})[0], {-1, -1, -1, -1, -1, -1}, {2, 3});
  expect_values<float>(run_node(make_node("Max", 3), {a, b, c})[0], {10, 20, 30, 10, 20, 30}, {2, 3});
}

TEST(Variadic, OneInputBroadcastsNothing) {
  expect_values<int32_t>(run_node(make_node("Max", 1), {tensor<int32_t>({3, -1}, {2})})[0], {3, -1}, {2});
}

TEST(Variadic, FirstInputMayBeTheSmallOne) {
  expect_values<int16_t>(run_node(make_node("Sum", 2), {tensor<int16_t>({1}, {1}), tensor<int16_t>({1, 2, 3, 4}, {2, 2})})[0],
                         {2, 3, 4, 5}, {2, 2});
}

TEST(Variadic, MinMaxPropagateNaN) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  Tensor a = tensor<float>({nan, 1}, {2}), b = tensor<float>({1, nan}, {2});
  expect_values<float>(run_node(make_node("Min", 2), {a, b})[0], {nan, nan}, {2});
  expect_values<float>(run_node(make_node("Max", 2), {a, b})[0], {nan, nan}, {2});
}

TEST(Variadic, Errors) {
  expect_error(make_node("Mean", 2), {tensor<int32_t>({1}, {1}), tensor<int32_t>({1}, {1})}, {"i32"});
  expect_error(make_node("Sum", 2), {tensor<float>({1}, {1}), tensor<double>({1}, {1})}, {"input 1 is f64"});
  expect_error(make_node("Max", 0), {}, {"at least 1 input"});
  expect_error(make_node("Min", 2), {Tensor(DType::f32, {2}), Tensor(DType::f32, {3})}, {"cannot be broadcast"});
}

// ---- comparison and logic ----

TEST(Compare, AllFiveWithBroadcast) {
  Tensor a = tensor<int32_t>({1, 2, 3, 4, 5, 6}, {2, 3}), b = tensor<int32_t>({2, 2, 5}, {3});
  expect_values<bool>(run_node(make_node("Equal", 2), {a, b})[0], {false, true, false, false, false, false}, {2, 3});
  expect_values<bool>(run_node(make_node("Less", 2), {a, b})[0], {true, false, true, false, false, false}, {2, 3});
  expect_values<bool>(run_node(make_node("Greater", 2), {a, b})[0], {false, false, false, true, true, true}, {2, 3});
  expect_values<bool>(run_node(make_node("LessOrEqual", 2), {a, b})[0], {true, true, true, false, false, false}, {2, 3});
  expect_values<bool>(run_node(make_node("GreaterOrEqual", 2), {a, b})[0], {false, true, false, true, true, true},
                      {2, 3});
}

TEST(Compare, EqualOnBoolAndNaN) {
  expect_values<bool>(run_node(make_node("Equal", 2), {tensor<bool>({true, false}, {2}), tensor<bool>({true}, {})})[0],
                      {true, false}, {2});
  const float nan = std::numeric_limits<float>::quiet_NaN();
  expect_values<bool>(run_node(make_node("Equal", 2), {tensor<float>({nan}, {1}), tensor<float>({nan}, {1})})[0], {false},
                      {1});
  expect_error(make_node("Less", 2), {tensor<bool>({true}, {1}), tensor<bool>({true}, {1})}, {"test_Less", "bool"});
}

TEST(Logic, AndOrXor) {
  Tensor a = tensor<bool>({true, true, false, false}, {2, 2}), b = tensor<bool>({true, false}, {2});
  expect_values<bool>(run_node(make_node("And", 2), {a, b})[0], {true, false, false, false}, {2, 2});
  expect_values<bool>(run_node(make_node("Or", 2), {a, b})[0], {true, true, true, false}, {2, 2});
  expect_values<bool>(run_node(make_node("Xor", 2), {a, b})[0], {false, true, true, false}, {2, 2});
  expect_error(make_node("And", 2), {tensor<float>({1}, {1}), tensor<float>({1}, {1})}, {"f32", "bool"});
}

TEST(BitShift, LeftRightAndWideShifts) {
  Node l = node_with("BitShift", 2, {{"direction", std::string("LEFT")}});
  Node r = node_with("BitShift", 2, {{"direction", std::string("RIGHT")}});
  Tensor a = tensor<uint8_t>({16, 4, 1, 255}, {4}), s = tensor<uint8_t>({1, 2, 3, 8}, {4});
  expect_values<uint8_t>(run_node(l, {a, s})[0], {32, 16, 8, 0}, {4});
  expect_values<uint8_t>(run_node(r, {a, s})[0], {8, 1, 0, 0}, {4});
  expect_values<uint64_t>(run_node(l, {tensor<uint64_t>({1}, {1}), tensor<uint64_t>({63}, {})})[0], {1ULL << 63}, {1});
  expect_error(node_with("BitShift", 2, {{"direction", std::string("UP")}}), {a, s}, {"LEFT or RIGHT"});
  expect_error(l, {tensor<int32_t>({1}, {1}), tensor<int32_t>({1}, {1})}, {"i32"});
}

// ---- PRelu ----

TEST(PRelu, ChannelSlopeBroadcastsUnidirectionally) {
  Tensor x = tensor<float>({-1, 2, -3, 4, -5, 6, -7, 8}, {1, 2, 2, 2});
  Tensor slope = tensor<float>({0.5f, 0.1f}, {2, 1, 1});
  expect_values<float>(run_node(make_node("PRelu", 2), {x, slope})[0], {-0.5f, 2, -1.5f, 4, -0.5f, 6, -0.7f, 8},
                       {1, 2, 2, 2});
  expect_values<int32_t>(run_node(make_node("PRelu", 2), {tensor<int32_t>({-4, 4}, {2}), tensor<int32_t>({2}, {1})})[0],
                         {-8, 4}, {2});
}

TEST(PRelu, SlopeMustNotGrowTheOutput) {
  expect_error(make_node("PRelu", 2), {Tensor(DType::f32, {3}), Tensor(DType::f32, {2, 3})},
               {"test_PRelu", "unidirectional"});
  expect_error(make_node("PRelu", 2), {Tensor(DType::f32, {3}), Tensor(DType::f64, {3})}, {"slope dtype"});
}

}  // namespace
}  // namespace edgekit::test
