// MaxPool / AveragePool / LpPool / Global*Pool: hand-computed cases, a naive 2-D pool over
// random geometries (pads, strides, dilations, ceil_mode, count_include_pad), errors.
#include <cmath>

#include "nn_test_util.h"

namespace edgekit::test {
namespace {

Tensor iota(Shape shape) {
  Tensor t(DType::f32, std::move(shape));
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = float(i + 1);
  return t;
}

TEST(MaxPool, IndicesRowAndColumnMajor) {
  // 1x1x4x4 of 1..16, 2x2 windows, stride 2: maxima at the bottom-right of each window.
  for (int64_t order : {0, 1}) {
    Node n = make_node("MaxPool", 1, 2);
    set_ints(n, "kernel_shape", {2, 2});
    set_ints(n, "strides", {2, 2});
    set_int(n, "storage_order", order);
    auto y = run_node(n, {iota({1, 1, 4, 4})});
    expect_close(y[0], {6, 8, 14, 16});
    ASSERT_EQ(y[1].dtype(), DType::i64);
    // (h, w) = (1,1), (1,3), (3,1), (3,3): row-major h*4+w, column-major h+w*4
    const std::vector<int64_t> want =
        order == 0 ? std::vector<int64_t>{5, 7, 13, 15} : std::vector<int64_t>{5, 13, 7, 15};
    for (int i = 0; i < 4; ++i) EXPECT_EQ(y[1].as_int(i), want[i]) << "order " << order << " at " << i;
  }
}

TEST(MaxPool, IndicesIncludeBatchAndChannelOffset) {
  Node n = make_node("MaxPool", 1, 2);
  set_ints(n, "kernel_shape", {3});
  auto y = run_node(n, {iota({2, 2, 3})});
  for (int i = 0; i < 4; ++i) EXPECT_EQ(y[1].as_int(i), 3 * i + 2);
}

TEST(MaxPool, CeilModeAndPadsNeverWin) {
  // 1-D input [-5..-1] with pads 1: padding must not produce 0.
  Node n = make_node("MaxPool", 1);
  set_ints(n, "kernel_shape", {2});
  set_ints(n, "strides", {2});
  set_ints(n, "pads", {1, 0});
  set_int(n, "ceil_mode", 1);
  auto y = run_node(n, {Tensor::from<float>({-5, -4, -3, -2, -1}, {1, 1, 5})});
  // windows start at -1, 1, 3 (5 would start past the input): [-5], [-4,-3], [-2,-1]
  expect_close(y[0], {-5, -3, -1});
}

TEST(MaxPool, Uint8AndInt8) {
  Node n = make_node("MaxPool", 1);
  set_ints(n, "kernel_shape", {2});
  auto y = run_node(n, {Tensor::from<uint8_t>({1, 200, 3, 4}, {1, 1, 4})});
  EXPECT_EQ(y[0].dtype(), DType::u8);
  EXPECT_EQ(y[0].as_int(0), 200);
  EXPECT_EQ(y[0].as_int(2), 4);
}

TEST(AveragePool, CountIncludePad) {
  // 3x3 of 1..9, 3x3 kernel, pads 1: corner averages 4 values, or 9 slots with padding.
  for (int include : {0, 1}) {
    Node n = make_node("AveragePool", 1);
    set_ints(n, "kernel_shape", {3, 3});
    set_ints(n, "pads", {1, 1, 1, 1});
    set_int(n, "count_include_pad", include);
    auto y = run_node(n, {iota({1, 1, 3, 3})});
    const float corner = include ? (1 + 2 + 4 + 5) / 9.f : (1 + 2 + 4 + 5) / 4.f;
    const float center = 5;
    EXPECT_NEAR(y[0].data<float>()[0], corner, 1e-6);
    EXPECT_NEAR(y[0].data<float>()[4], center, 1e-6);
  }
}

TEST(AveragePool, SameUpperAndLower) {
  // 1-D [1,2,3,4], k 2: SAME_UPPER pads the end, SAME_LOWER the start.
  for (const char* mode : {"SAME_UPPER", "SAME_LOWER"}) {
    Node n = make_node("AveragePool", 1);
    set_ints(n, "kernel_shape", {2});
    set_string(n, "auto_pad", mode);
    auto y = run_node(n, {Tensor::from<float>({1, 2, 3, 4}, {1, 1, 4})});
    if (std::string(mode) == "SAME_UPPER") expect_close(y[0], {1.5f, 2.5f, 3.5f, 4});
    else expect_close(y[0], {1, 1.5f, 2.5f, 3.5f});
  }
}

// Naive 2-D pooling straight from the definition.
std::vector<float> naive_pool(const std::string& op, const Tensor& x, Shape k, Shape s, Shape d, Shape pads, bool ceil,
                              bool include, Shape& out) {
  const int64_t H = x.dim(2), W = x.dim(3);
  out.clear();
  for (int i = 0; i < 2; ++i) {
    const int64_t in = i == 0 ? H : W, ext = (k[i] - 1) * d[i] + 1;
    const double span = double(in + pads[i] + pads[2 + i] - ext) / double(s[i]);
    int64_t o = int64_t(ceil ? std::ceil(span) : std::floor(span)) + 1;
    if (ceil && (o - 1) * s[i] >= in + pads[i]) --o;
    out.push_back(o);
  }
  std::vector<float> y;
  for (int64_t p = 0; p < x.dim(0) * x.dim(1); ++p)
    for (int64_t oh = 0; oh < out[0]; ++oh)
      for (int64_t ow = 0; ow < out[1]; ++ow) {
        double acc = op == "MaxPool" ? -1e30 : 0;
        int64_t count = 0;
        for (int64_t kh = 0; kh < k[0]; ++kh)
          for (int64_t kw = 0; kw < k[1]; ++kw) {
            const int64_t ih = oh * s[0] - pads[0] + kh * d[0], iw = ow * s[1] - pads[1] + kw * d[1];
            const bool in_pad = ih < H + pads[2] && iw < W + pads[3];
            if (ih < 0 || ih >= H || iw < 0 || iw >= W) {
              count += include && in_pad;
              continue;
            }
            const double v = x.data<float>()[(p * H + ih) * W + iw];
            ++count;
            if (op == "MaxPool") acc = std::max(acc, v);
            else if (op == "AveragePool") acc += v;
            else acc += v * v;
          }
        y.push_back(float(op == "MaxPool" ? acc : op == "AveragePool" ? acc / count : std::sqrt(acc)));
      }
  return y;
}

TEST(Pool, MatchesNaive2DOverRandomGeometries) {
  std::mt19937 rng(9);
  auto r = [&](int lo, int hi) { return int64_t(std::uniform_int_distribution<int>(lo, hi)(rng)); };
  for (int trial = 0; trial < 90; ++trial) {
    const std::string op = trial % 3 == 0 ? "MaxPool" : trial % 3 == 1 ? "AveragePool" : "LpPool";
    Shape k{r(1, 3), r(1, 4)}, s{r(1, 3), r(1, 2)}, d{r(1, 2), 1}, pads{r(0, 1), r(0, 1), r(0, 1), r(0, 1)};
    for (int i = 0; i < 2; ++i) {
      pads[i] = std::min(pads[i], k[i] - 1);
      pads[2 + i] = std::min(pads[2 + i], k[i] - 1);
    }
    const bool ceil = r(0, 1), include = r(0, 1);
    Tensor x = random_tensor({r(1, 2), r(1, 3), r(5, 11), r(5, 11)}, rng);
    Node n = make_node(op, 1);
    set_ints(n, "kernel_shape", k);
    set_ints(n, "strides", s);
    set_ints(n, "pads", pads);
    set_ints(n, "dilations", d);
    set_int(n, "ceil_mode", ceil);
    if (op == "AveragePool") set_int(n, "count_include_pad", include);
    Shape out;
    const std::vector<float> want = naive_pool(op, x, k, s, d, pads, ceil, include && op == "AveragePool", out);
    auto y = run_node(n, {x});
    SCOPED_TRACE(op + " trial " + std::to_string(trial));
    ASSERT_EQ(y[0].shape(), (Shape{x.dim(0), x.dim(1), out[0], out[1]}));
    expect_close(y[0], want, 1e-5f);
  }
}

TEST(LpPool, P1AndP2) {
  Node n = make_node("LpPool", 1);
  set_ints(n, "kernel_shape", {2});
  set_int(n, "p", 1);
  auto y = run_node(n, {Tensor::from<float>({3, -4, 1}, {1, 1, 3})});
  expect_close(y[0], {7, 5});
  Node m = make_node("LpPool", 1);
  set_ints(m, "kernel_shape", {2});
  auto z = run_node(m, {Tensor::from<float>({3, -4, 1}, {1, 1, 3})});
  expect_close(z[0], {5, std::sqrt(17.f)});
}

TEST(GlobalPool, AverageMaxLp) {
  Tensor x = Tensor::from<float>({1, 2, 3, 4, -1, -2, -3, -6}, {1, 2, 2, 2});
  auto a = run_node(make_node("GlobalAveragePool", 1), {x});
  EXPECT_EQ(a[0].shape(), (Shape{1, 2, 1, 1}));
  expect_close(a[0], {2.5f, -3});
  expect_close(run_node(make_node("GlobalMaxPool", 1), {x})[0], {4, -1});
  expect_close(run_node(make_node("GlobalLpPool", 1), {x})[0], {std::sqrt(30.f), std::sqrt(50.f)});
}

TEST(Pool, Errors) {
  Node n = make_node("MaxPool", 1);
  expect_error(n, {Tensor(DType::f32, {1, 1, 4, 4})}, {"test_MaxPool", "'kernel_shape' is required"});
  set_ints(n, "kernel_shape", {2});
  expect_error(n, {Tensor(DType::f32, {1, 1, 4, 4})}, {"'kernel_shape' has 1 values, expected 2"});
  set_ints(n, "kernel_shape", {2, 2});
  expect_error(n, {Tensor(DType::f32, {4, 4})}, {"expected rank 3 to 5"});
  set_ints(n, "strides", {0, 1});
  expect_error(n, {Tensor(DType::f32, {1, 1, 4, 4})}, {"'strides' holds 0"});
  Node a = make_node("AveragePool", 1);
  set_ints(a, "kernel_shape", {2});
  expect_error(a, {Tensor(DType::i32, {1, 1, 4})}, {"dtype i32"});
  set_string(a, "auto_pad", "SAME");
  expect_error(a, {Tensor(DType::f32, {1, 1, 4})}, {"auto_pad 'SAME'"});
  expect_error(make_node("GlobalAveragePool", 1), {Tensor(DType::f32, {2, 3})}, {"expected rank >= 3"});
}

}  // namespace
}  // namespace edgekit::test
