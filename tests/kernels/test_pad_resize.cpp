// Pad (all modes, opset differences, axes, negative pads) and Resize / Upsample (nearest
// modes, linear and cubic against hand-computed values, sizes / scales / axes, errors).
#include "nn_test_util.h"

namespace edgekit::test {
namespace {

Tensor i64(std::vector<int64_t> v) {
  const int64_t n = int64_t(v.size());
  return Tensor::from<int64_t>(v, {n});
}

TEST(Pad, ModesOn1D) {
  const Tensor x = Tensor::from<float>({1, 2, 3}, {3});
  struct Case {
    const char* mode;
    std::vector<float> want;
  };
  for (const Case& c : {Case{"constant", {9, 9, 1, 2, 3, 9, 9, 9, 9}}, Case{"edge", {1, 1, 1, 2, 3, 3, 3, 3, 3}},
                        Case{"reflect", {3, 2, 1, 2, 3, 2, 1, 2, 3}}, Case{"wrap", {2, 3, 1, 2, 3, 1, 2, 3, 1}}}) {
    Node n = make_node("Pad", 3);
    set_string(n, "mode", c.mode);
    auto y = run_node(n, {x, i64({2, 4}), Tensor::scalar<float>(9)});
    SCOPED_TRACE(c.mode);
    expect_close(y[0], c.want);
  }
}

TEST(Pad, NegativePadsCropAnd2D) {
  Node n = make_node("Pad", 2);
  auto y = run_node(n, {Tensor::from<float>({1, 2, 3, 4, 5, 6}, {2, 3}), i64({1, -1, 0, 0})});
  EXPECT_EQ(y[0].shape(), (Shape{3, 2}));
  expect_close(y[0], {0, 0, 2, 3, 5, 6});
}

TEST(Pad, AxesInputOpset18) {
  Node n = make_node("Pad", 4, 1, 18);
  auto y = run_node(n, {Tensor::from<float>({1, 2, 3, 4}, {2, 2}), i64({1, 0}), Tensor::scalar<float>(7), i64({-1})});
  EXPECT_EQ(y[0].shape(), (Shape{2, 3}));
  expect_close(y[0], {7, 1, 2, 7, 3, 4});
}

TEST(Pad, AttributesBeforeOpset11AndIntegerData) {
  Node n = make_node("Pad", 1, 1, 2);
  set_ints(n, "pads", {0, 1, 0, 1});
  set_float(n, "value", 5.f);
  auto y = run_node(n, {Tensor::from<int32_t>({1, 2}, {1, 2})});
  EXPECT_EQ(y[0].dtype(), DType::i32);
  EXPECT_EQ(y[0].to_int_vector(), (std::vector<int64_t>{5, 1, 2, 5}));
}

// f16 data: the pad value is converted as a number (it was taken as the raw bits: 1.5 -> 1).
TEST(Pad, HalfConstantValue) {
  Node n = make_node("Pad", 3);
  const Tensor x = Tensor::from<f16_t>({float_to_half(2.f)}, {1});
  auto y = run_node(n, {x, i64({1, 0}), Tensor::from<f16_t>({float_to_half(1.5f)}, {})});
  ASSERT_EQ(y[0].dtype(), DType::f16);
  ASSERT_EQ(y[0].numel(), 2);
  EXPECT_EQ(half_to_float(y[0].data<f16_t>()[0]), 1.5f);
  EXPECT_EQ(half_to_float(y[0].data<f16_t>()[1]), 2.f);
}

TEST(Pad, Errors) {
  Node n = make_node("Pad", 2);
  expect_error(n, {Tensor(DType::f32, {2, 3}), i64({1, 1})}, {"test_Pad", "has 2 values, expected 4"});
  expect_error(n, {Tensor(DType::f32, {2, 3}), i64({0, -4, 0, 0})}, {"negative output size"});
  set_string(n, "mode", "mirror");
  expect_error(n, {Tensor(DType::f32, {2}), i64({1, 1})}, {"mode 'mirror'"});
}

Node resize_node(const std::string& mode, const std::string& coord, int opset = 13) {
  Node n = make_node("Resize", 4, 1, opset);
  set_string(n, "mode", mode);
  if (!coord.empty()) set_string(n, "coordinate_transformation_mode", coord);
  return n;
}

TEST(Resize, NearestModes) {
  // 1-D [1,2,3,4] -> 3 with asymmetric: x = y * 4/3 = 0, 1.33, 2.67
  const Tensor x = Tensor::from<float>({1, 2, 3, 4}, {1, 1, 4});
  struct Case {
    const char* nearest;
    std::vector<float> want;
  };
  for (const Case& c : {Case{"floor", {1, 2, 3}}, Case{"ceil", {1, 3, 4}}, Case{"round_prefer_floor", {1, 2, 4}},
                        Case{"round_prefer_ceil", {1, 2, 4}}}) {
    Node n = resize_node("nearest", "asymmetric");
    set_string(n, "nearest_mode", c.nearest);
    n.inputs[1] = n.inputs[2] = "";
    auto y = run_node(n, {x, Tensor(), Tensor(), i64({1, 1, 3})});
    SCOPED_TRACE(c.nearest);
    expect_close(y[0], c.want);
  }
  // Ties: half_pixel 4 -> 2 gives x = 0.5, 2.5.
  Node n = resize_node("nearest", "half_pixel");
  set_string(n, "nearest_mode", "round_prefer_ceil");
  n.inputs[1] = n.inputs[3] = "";
  expect_close(run_node(n, {x, Tensor(), Tensor::from<float>({1, 1, 0.5f}, {3}), Tensor()})[0], {2, 4});
}

TEST(Resize, LinearHalfPixelAndAlignCorners) {
  const Tensor x = Tensor::from<float>({1, 2, 3, 4}, {1, 1, 2, 2});
  Node n = resize_node("linear", "");
  n.inputs[1] = n.inputs[3] = "";
  auto y = run_node(n, {x, Tensor(), Tensor::from<float>({1, 1, 2, 2}, {4}), Tensor()});
  EXPECT_EQ(y[0].shape(), (Shape{1, 1, 4, 4}));
  // half_pixel rows: x = -0.25, 0.25, 0.75, 1.25 -> clamped weights
  expect_close(y[0], {1, 1.25f, 1.75f, 2, 1.5f, 1.75f, 2.25f, 2.5f, 2.5f, 2.75f, 3.25f, 3.5f, 3, 3.25f, 3.75f, 4});
  Node a = resize_node("linear", "align_corners");
  a.inputs[1] = a.inputs[2] = "";
  auto z = run_node(a, {x, Tensor(), Tensor(), i64({1, 1, 3, 3})});
  expect_close(z[0], {1, 1.5f, 2, 2, 2.5f, 3, 3, 3.5f, 4});
}

TEST(Resize, CubicInterpolatesCubicsExactlyInside) {
  // The Keys kernel with a = -0.5 reproduces quadratics exactly away from the edges.
  std::vector<float> v;
  for (int i = 0; i < 10; ++i) v.push_back(float(i * i));
  Node n = resize_node("cubic", "asymmetric");
  set_float(n, "cubic_coeff_a", -0.5f);
  n.inputs[1] = n.inputs[3] = "";
  auto y = run_node(n, {Tensor::from<float>(v, {10}), Tensor(), Tensor::from<float>({2}, {1}), Tensor()});
  ASSERT_EQ(y[0].numel(), 20);
  for (int i = 4; i < 14; ++i) EXPECT_NEAR(y[0].data<float>()[i], (i / 2.0) * (i / 2.0), 1e-4) << i;
}

TEST(Resize, TfCropAndResizeExtrapolates) {
  Node n = resize_node("linear", "tf_crop_and_resize");
  set_float(n, "extrapolation_value", -1.f);
  n.inputs[2] = "";
  // roi [0.5, 1.5] on a 3-element axis: x = 1, 2, 3 -> the last is outside.
  auto y = run_node(n, {Tensor::from<float>({10, 20, 30}, {3}), Tensor::from<float>({0.5f, 1.5f}, {2}), Tensor(),
                        i64({3})});
  expect_close(y[0], {20, 30, -1});
}

// f16 data: the extrapolation value is converted as a number, not truncated into the bits.
TEST(Resize, TfCropAndResizeExtrapolatesHalf) {
  Node n = resize_node("nearest", "tf_crop_and_resize");
  set_float(n, "extrapolation_value", -1.5f);
  n.inputs[2] = "";
  const Tensor x = Tensor::from<f16_t>({float_to_half(10.f), float_to_half(20.f), float_to_half(30.f)}, {3});
  auto y = run_node(n, {x, Tensor::from<float>({0.5f, 1.5f}, {2}), Tensor(), i64({3})});
  ASSERT_EQ(y[0].dtype(), DType::f16);
  ASSERT_EQ(y[0].numel(), 3);
  EXPECT_EQ(half_to_float(y[0].data<f16_t>()[2]), -1.5f);
}

TEST(Resize, AxesAndKeepAspectRatio) {
  Node n = resize_node("nearest", "asymmetric", 18);
  set_ints(n, "axes", {2, 3});
  set_string(n, "keep_aspect_ratio_policy", "not_larger");
  n.inputs[1] = n.inputs[2] = "";
  auto y = run_node(n, {Tensor(DType::f32, {1, 1, 4, 8}), Tensor(), Tensor(), i64({8, 8})});
  EXPECT_EQ(y[0].shape(), (Shape{1, 1, 4, 8}));  // scales 2 and 1: the smaller wins
  set_string(n, "keep_aspect_ratio_policy", "not_smaller");
  auto z = run_node(n, {Tensor(DType::f32, {1, 1, 4, 8}), Tensor(), Tensor(), i64({8, 8})});
  EXPECT_EQ(z[0].shape(), (Shape{1, 1, 8, 16}));
}

TEST(Upsample, Opset7AttributeAndOpset9Input) {
  Node n = make_node("Upsample", 1, 1, 7);
  n.attrs["scales"] = std::vector<float>{1, 1, 2};
  auto y = run_node(n, {Tensor::from<float>({1, 2}, {1, 1, 2})});
  expect_close(y[0], {1, 1, 2, 2});
  Node m = make_node("Upsample", 2, 1, 9);
  set_string(m, "mode", "linear");
  auto z = run_node(m, {Tensor::from<float>({1, 3}, {1, 1, 2}), Tensor::from<float>({1, 1, 2}, {3})});
  expect_close(z[0], {1, 2, 3, 3});  // asymmetric: x = 0, 0.5, 1, 1.5 (clamped)
}

TEST(Resize, Errors) {
  Node n = resize_node("linear", "");
  n.inputs[1] = "";
  expect_error(n, {Tensor(DType::f32, {1, 4}), Tensor(), Tensor::from<float>({1, 2}, {2}), i64({1, 8})},
               {"test_Resize", "only one of 'scales' and 'sizes'"});
  n.inputs[3] = "";
  expect_error(n, {Tensor(DType::f32, {1, 4}), Tensor(), Tensor::from<float>({2}, {1})},
               {"'scales' has 1 values, expected 2"});
  expect_error(n, {Tensor(DType::f32, {1, 4}), Tensor(), Tensor::from<float>({1, -2}, {2})}, {"must be > 0"});
  Node m = resize_node("area", "");
  expect_error(m, {Tensor(DType::f32, {1, 4})}, {"mode 'area'"});
  Node c = resize_node("linear", "half_pixels");
  expect_error(c, {Tensor(DType::f32, {1, 4})}, {"coordinate_transformation_mode 'half_pixels'"});
}

}  // namespace
}  // namespace edgekit::test

namespace edgekit::test {
namespace {

// Static shape inference (graph-level, before any run): unknown dims stay unknown, known ones
// are computed, and inputs whose values are not known yet give unknown output dims.
TEST(NNStaticInference, UnknownDimsPropagate) {
  Node conv = make_node("Conv", 2);
  set_ints(conv, "strides", {2, 2});
  set_ints(conv, "pads", {1, 1, 1, 1});
  auto c = infer_types(conv, {{DType::f32, {-1, 3, -1, 224}}, {DType::f32, {8, 3, 3, 3}}});
  EXPECT_EQ(c[0].shape, (Shape{-1, 8, -1, 112}));

  Node pool = make_node("MaxPool", 1, 2);
  set_ints(pool, "kernel_shape", {2});
  auto p = infer_types(pool, {{DType::f32, {-1, 4, 9}}});
  EXPECT_EQ(p[0].shape, (Shape{-1, 4, 8}));
  EXPECT_EQ(p[1].dtype, DType::i64);

  Node pad = make_node("Pad", 2);
  auto q = infer_types(pad, {{DType::f32, {2, 3}}, {DType::i64, {4}}});
  EXPECT_EQ(q[0].shape, (Shape{-1, -1}));

  Node resize = make_node("Resize", 3);
  resize.inputs[1] = "";
  Tensor scales = Tensor::from<float>({1, 1, 2, 2}, {4});
  auto r = infer_types(resize, {{DType::f32, {1, 3, 8, 8}}, {}, {DType::f32, {4}}}, {nullptr, nullptr, &scales});
  EXPECT_EQ(r[0].shape, (Shape{1, 3, 16, 16}));
  // A roi that is not known yet does not hide the shape.
  Node resize_roi = make_node("Resize", 3);
  auto rr = infer_types(resize_roi, {{DType::f32, {1, 3, 8, 8}}, {DType::f32, {8}}, {DType::f32, {4}}},
                        {nullptr, nullptr, &scales});
  EXPECT_EQ(rr[0].shape, (Shape{1, 3, 16, 16}));

  Node mm = make_node("MatMul", 2);
  auto m = infer_types(mm, {{DType::f32, {-1, 5, 3}}, {DType::f32, {3, 7}}});
  EXPECT_EQ(m[0].shape, (Shape{-1, 5, 7}));
}

}  // namespace
}  // namespace edgekit::test
