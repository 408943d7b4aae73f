// Conv and ConvTranspose against direct (naive loop) convolutions over random geometries,
// plus hand-computed cases and error messages.
#include <array>

#include "nn_test_util.h"

namespace edgekit::test {
namespace {

struct Geo {
  int rank = 2;
  int64_t N = 1, C = 1, M = 1, group = 1;
  Shape in, k, s, d, pb, pe;
};

// Index helpers over up to 3 spatial dims, right-aligned (leading unit dims).
std::array<int64_t, 3> pad3(const Shape& v, int64_t fill) {
  std::array<int64_t, 3> a{fill, fill, fill};
  for (size_t i = 0; i < v.size(); ++i) a[3 - v.size() + i] = v[i];
  return a;
}

Tensor naive_conv(const Tensor& x, const Tensor& w, const float* bias, const Geo& g, const Shape& out) {
  const auto in = pad3(g.in, 1), k = pad3(g.k, 1), s = pad3(g.s, 1), d = pad3(g.d, 1), p = pad3(g.pb, 0),
             o = pad3(out, 1);
  Shape yshape{g.N, g.M};
  yshape.insert(yshape.end(), out.begin(), out.end());
  Tensor y(DType::f32, yshape);
  const int64_t Cg = g.C / g.group, Mg = g.M / g.group;
  const float* X = x.data<float>();
  const float* W = w.data<float>();
  float* Y = y.data<float>();
  for (int64_t n = 0; n < g.N; ++n)
    for (int64_t m = 0; m < g.M; ++m)
      for (int64_t o0 = 0; o0 < o[0]; ++o0)
        for (int64_t o1 = 0; o1 < o[1]; ++o1)
          for (int64_t o2 = 0; o2 < o[2]; ++o2) {
            double acc = bias ? bias[m] : 0.0;
            const int64_t grp = m / Mg;
            for (int64_t c = 0; c < Cg; ++c)
              for (int64_t k0 = 0; k0 < k[0]; ++k0)
                for (int64_t k1 = 0; k1 < k[1]; ++k1)
                  for (int64_t k2 = 0; k2 < k[2]; ++k2) {
                    const int64_t i0 = o0 * s[0] - p[0] + k0 * d[0], i1 = o1 * s[1] - p[1] + k1 * d[1],
                                  i2 = o2 * s[2] - p[2] + k2 * d[2];
                    if (i0 < 0 || i0 >= in[0] || i1 < 0 || i1 >= in[1] || i2 < 0 || i2 >= in[2]) continue;
                    const int64_t xc = grp * Cg + c;
                    acc += double(X[(((n * g.C + xc) * in[0] + i0) * in[1] + i1) * in[2] + i2]) *
                           W[(((m * Cg + c) * k[0] + k0) * k[1] + k1) * k[2] + k2];
                  }
            Y[(((n * g.M + m) * o[0] + o0) * o[1] + o1) * o[2] + o2] = float(acc);
          }
  return y;
}

Tensor naive_conv_transpose(const Tensor& x, const Tensor& w, const float* bias, const Geo& g, const Shape& out) {
  const auto in = pad3(g.in, 1), k = pad3(g.k, 1), s = pad3(g.s, 1), d = pad3(g.d, 1), p = pad3(g.pb, 0),
             o = pad3(out, 1);
  Shape yshape{g.N, g.M};
  yshape.insert(yshape.end(), out.begin(), out.end());
  std::vector<double> acc(size_t(shape_numel(yshape)), 0.0);
  const int64_t Cg = g.C / g.group, Mg = g.M / g.group;
  const float* X = x.data<float>();
  const float* W = w.data<float>();
  for (int64_t n = 0; n < g.N; ++n)
    for (int64_t c = 0; c < g.C; ++c)
      for (int64_t i0 = 0; i0 < in[0]; ++i0)
        for (int64_t i1 = 0; i1 < in[1]; ++i1)
          for (int64_t i2 = 0; i2 < in[2]; ++i2) {
            const double xv = X[(((n * g.C + c) * in[0] + i0) * in[1] + i1) * in[2] + i2];
            const int64_t grp = c / Cg;
            for (int64_t m = 0; m < Mg; ++m)
              for (int64_t k0 = 0; k0 < k[0]; ++k0)
                for (int64_t k1 = 0; k1 < k[1]; ++k1)
                  for (int64_t k2 = 0; k2 < k[2]; ++k2) {
                    const int64_t y0 = i0 * s[0] - p[0] + k0 * d[0], y1 = i1 * s[1] - p[1] + k1 * d[1],
                                  y2 = i2 * s[2] - p[2] + k2 * d[2];
                    if (y0 < 0 || y0 >= o[0] || y1 < 0 || y1 >= o[1] || y2 < 0 || y2 >= o[2]) continue;
                    const int64_t ym = grp * Mg + m;
                    acc[size_t((((n * g.M + ym) * o[0] + y0) * o[1] + y1) * o[2] + y2)] +=
                        xv * W[(((c * Mg + m) * k[0] + k0) * k[1] + k1) * k[2] + k2];
                  }
          }
  Tensor y(DType::f32, yshape);
  float* Y = y.data<float>();
  const int64_t plane = o[0] * o[1] * o[2];
  for (size_t i = 0; i < acc.size(); ++i) Y[i] = float(acc[i] + (bias ? bias[(int64_t(i) / plane) % g.M] : 0.0));
  return y;
}

Geo random_geo(std::mt19937& rng) {
  auto r = [&](int lo, int hi) { return int64_t(std::uniform_int_distribution<int>(lo, hi)(rng)); };
  Geo g;
  g.rank = int(r(1, 3));
  g.N = r(1, 2);
  const int kind = int(r(0, 2));  // 0: dense, 1: grouped, 2: depthwise
  g.group = kind == 0 ? 1 : kind == 1 ? r(2, 3) : r(2, 5);
  const int64_t cg = kind == 2 ? 1 : r(1, 4);
  g.C = cg * g.group;
  g.M = g.group * (kind == 2 ? r(1, 2) : r(1, 5));
  for (int i = 0; i < g.rank; ++i) {
    g.k.push_back(r(1, 3));
    g.s.push_back(r(1, 3));
    g.d.push_back(r(1, 2));
    g.pb.push_back(r(0, 2));
    g.pe.push_back(r(0, 2));
    const int64_t ext = (g.k.back() - 1) * g.d.back() + 1;
    g.in.push_back(std::max<int64_t>(ext, r(1, g.rank == 3 ? 7 : 13)));
  }
  return g;
}

Node conv_node(const std::string& op, const Geo& g, bool bias) {
  Node n = make_node(op, bias ? 3 : 2);
  set_ints(n, "strides", g.s);
  set_ints(n, "dilations", g.d);
  Shape pads = g.pb;
  pads.insert(pads.end(), g.pe.begin(), g.pe.end());
  set_ints(n, "pads", pads);
  set_int(n, "group", g.group);
  return n;
}

TEST(Conv, MatchesDirectConvolutionOverRandomGeometries) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 150; ++trial) {
    const Geo g = random_geo(rng);
    Shape xs{g.N, g.C}, ws{g.M, g.C / g.group}, out;
    xs.insert(xs.end(), g.in.begin(), g.in.end());
    ws.insert(ws.end(), g.k.begin(), g.k.end());
    for (int i = 0; i < g.rank; ++i)
      out.push_back((g.in[i] + g.pb[i] + g.pe[i] - (g.k[i] - 1) * g.d[i] - 1) / g.s[i] + 1);
    const bool with_bias = trial % 2 == 0;
    Tensor x = random_tensor(xs, rng), w = random_tensor(ws, rng), b = random_tensor({g.M}, rng);
    std::vector<Tensor> inputs{x, w};
    if (with_bias) inputs.push_back(b);
    auto got = run_node(conv_node("Conv", g, with_bias), inputs);
    Tensor want = naive_conv(x, w, with_bias ? b.data<float>() : nullptr, g, out);
    ASSERT_EQ(got[0].shape(), want.shape()) << "trial " << trial;
    SCOPED_TRACE("trial " + std::to_string(trial) + " x " + shape_str(xs) + " w " + shape_str(ws));
    expect_close(got[0], values_of(want), 1e-4f);
  }
}

TEST(Conv, HandComputed2x2WithPadding) {
  // 1x1x3x3 input 1..9, 2x2 kernel of ones, pads 1: every output sums the window inside.
  Node n = make_node("Conv", 2);
  set_ints(n, "pads", {1, 1, 1, 1});
  auto y = run_node(n, {Tensor::from<float>({1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 1, 3, 3}),
                        Tensor::from<float>({1, 1, 1, 1}, {1, 1, 2, 2})});
  EXPECT_EQ(y[0].shape(), (Shape{1, 1, 4, 4}));
  expect_close(y[0], {1, 3, 5, 3, 5, 12, 16, 9, 11, 24, 28, 15, 7, 15, 17, 9});
}

TEST(Conv, AutoPadSameUpperAndLower) {
  std::mt19937 rng(3);
  for (const char* mode : {"SAME_UPPER", "SAME_LOWER"}) {
    // in 6, k 4, stride 2 -> out 3, total pad (3-1)*2+4-6 = 2... use in 7: out 4, total 3.
    Geo g;
    g.rank = 2;
    g.in = {7, 5};
    g.k = {4, 3};
    g.s = {2, 1};
    g.d = {1, 2};
    // total pads: dim0 (4-1)*2+4-7 = 3, dim1 (5-1)*1+5-5 = 4
    const bool upper = std::string(mode) == "SAME_UPPER";
    g.pb = {upper ? 1 : 2, 2};
    g.pe = {upper ? 2 : 1, 2};
    Node n = make_node("Conv", 2);
    set_string(n, "auto_pad", mode);
    set_ints(n, "strides", g.s);
    set_ints(n, "dilations", g.d);
    Tensor x = random_tensor({1, 1, 7, 5}, rng), w = random_tensor({1, 1, 4, 3}, rng);
    auto got = run_node(n, {x, w});
    ASSERT_EQ(got[0].shape(), (Shape{1, 1, 4, 5})) << mode;
    expect_close(got[0], values_of(naive_conv(x, w, nullptr, g, {4, 5})), 1e-4f);
  }
}

TEST(Conv, ValidAutoPadIgnoresPads) {
  Node n = make_node("Conv", 2);
  set_string(n, "auto_pad", "VALID");
  set_ints(n, "strides", {2});
  auto y = run_node(n, {Tensor::from<float>({1, 2, 3, 4, 5, 6}, {1, 1, 6}), Tensor::from<float>({1, 1, 1}, {1, 1, 3})});
  EXPECT_EQ(y[0].shape(), (Shape{1, 1, 2}));
  expect_close(y[0], {6, 12});
}

TEST(Conv, ErrorsNameExpectedAndGot) {
  Tensor x(DType::f32, {1, 4, 5, 5});
  {
    Node n = make_node("Conv", 2);
    expect_error(n, {x, Tensor(DType::f32, {2, 3, 3, 3})}, {"test_Conv", "has 4 channels", "expected 3"});
  }
  {
    Node n = make_node("Conv", 2);
    set_int(n, "group", 3);
    expect_error(n, {x, Tensor(DType::f32, {3, 1, 3, 3})}, {"not divisible by group 3"});
  }
  {
    Node n = make_node("Conv", 2);
    set_int(n, "group", 0);
    expect_error(n, {x, Tensor(DType::f32, {3, 1, 3, 3})}, {"group must be >= 1"});
  }
  {
    Node n = make_node("Conv", 2);
    expect_error(n, {x, Tensor(DType::f32, {2, 4, 3})}, {"expected rank 4"});
  }
  {
    Node n = make_node("Conv", 2);
    expect_error(n, {Tensor(DType::f32, {4, 5}), Tensor(DType::f32, {2, 4, 3})}, {"expected rank 3 to 5"});
  }
  {
    Node n = make_node("Conv", 3);
    expect_error(n, {x, Tensor(DType::f32, {2, 4, 3, 3}), Tensor(DType::f32, {3})}, {"bias B has shape [3]", "[2]"});
  }
  {
    Node n = make_node("Conv", 2);
    set_ints(n, "strides", {1});
    expect_error(n, {x, Tensor(DType::f32, {2, 4, 3, 3})}, {"'strides' has 1 values, expected 2"});
  }
  {
    Node n = make_node("Conv", 2);
    expect_error(n, {x, Tensor(DType::f32, {2, 4, 7, 7})}, {"smaller than the kernel extent 7"});
  }
  {
    Node n = make_node("Conv", 2);
    expect_error(n, {Tensor(DType::i32, {1, 4, 5, 5}), Tensor(DType::i32, {2, 4, 3, 3})}, {"dtype i32"});
  }
}

TEST(ConvTranspose, MatchesDirectScatterOverRandomGeometries) {
  std::mt19937 rng(11);
  for (int trial = 0; trial < 120; ++trial) {
    Geo g = random_geo(rng);
    Shape xs{g.N, g.C}, ws{g.C, g.M / g.group}, out, out_pad;
    xs.insert(xs.end(), g.in.begin(), g.in.end());
    ws.insert(ws.end(), g.k.begin(), g.k.end());
    for (int i = 0; i < g.rank; ++i) {
      g.pb[i] = std::min(g.pb[i], g.k[i] - 1);
      g.pe[i] = std::min(g.pe[i], g.k[i] - 1);
      out_pad.push_back(trial % 3 == 0 && g.s[i] > 1 ? 1 : 0);
      out.push_back(g.s[i] * (g.in[i] - 1) + out_pad[i] + (g.k[i] - 1) * g.d[i] + 1 - g.pb[i] - g.pe[i]);
    }
    const bool with_bias = trial % 2 == 1;
    Tensor x = random_tensor(xs, rng), w = random_tensor(ws, rng), b = random_tensor({g.M}, rng);
    std::vector<Tensor> inputs{x, w};
    if (with_bias) inputs.push_back(b);
    Node n = conv_node("ConvTranspose", g, with_bias);
    set_ints(n, "output_padding", out_pad);
    auto got = run_node(n, inputs);
    Tensor want = naive_conv_transpose(x, w, with_bias ? b.data<float>() : nullptr, g, out);
    SCOPED_TRACE("trial " + std::to_string(trial) + " x " + shape_str(xs) + " w " + shape_str(ws));
    ASSERT_EQ(got[0].shape(), want.shape());
    expect_close(got[0], values_of(want), 1e-4f);
  }
}

TEST(ConvTranspose, OutputShapeDerivesPads) {
  // ONNX test_convtranspose_output_shape: 3x3 input, stride [3, 2], output_shape [10, 8].
  std::mt19937 rng(5);
  Tensor x = random_tensor({1, 1, 3, 3}, rng), w = random_tensor({1, 2, 3, 3}, rng);
  Node n = make_node("ConvTranspose", 2);
  set_ints(n, "strides", {3, 2});
  set_ints(n, "output_shape", {10, 8});
  auto y = run_node(n, {x, w});
  ASSERT_EQ(y[0].shape(), (Shape{1, 2, 10, 8}));
  // Unpadded size is [9, 7]: total padding -1 puts the extra row/column at the end.
  Geo g;
  g.rank = 2;
  g.C = 1;
  g.M = 2;
  g.in = {3, 3};
  g.k = {3, 3};
  g.s = {3, 2};
  g.d = {1, 1};
  g.pb = {0, 0};
  g.pe = {-1, -1};
  expect_close(y[0], values_of(naive_conv_transpose(x, w, nullptr, g, {10, 8})), 1e-5f);
}

TEST(ConvTranspose, AutoPadSameGivesInputTimesStride) {
  Node n = make_node("ConvTranspose", 2);
  set_string(n, "auto_pad", "SAME_UPPER");
  set_ints(n, "strides", {2, 2});
  auto y = run_node(n, {Tensor(DType::f32, {1, 1, 3, 3}), Tensor(DType::f32, {1, 2, 3, 3})});
  EXPECT_EQ(y[0].shape(), (Shape{1, 2, 6, 6}));
}

TEST(ConvTranspose, Errors) {
  Node n = make_node("ConvTranspose", 2);
  expect_error(n, {Tensor(DType::f32, {1, 3, 4, 4}), Tensor(DType::f32, {2, 2, 3, 3})},
               {"has 3 channels, expected 2 (W dim 0)"});
  Node m = make_node("ConvTranspose", 2);
  set_ints(m, "strides", {2, 2});
  set_ints(m, "output_padding", {2, 0});
  expect_error(m, {Tensor(DType::f32, {1, 2, 4, 4}), Tensor(DType::f32, {2, 2, 3, 3})}, {"output_padding 2"});
}

}  // namespace
}  // namespace edgekit::test
