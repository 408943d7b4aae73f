// BatchNormalization, InstanceNormalization, LayerNormalization and LRN against the formulas.
#include <cmath>

#include "nn_test_util.h"

namespace edgekit::test {
namespace {

TEST(BatchNormalization, PerChannelAffine) {
  Node n = make_node("BatchNormalization", 5);
  set_float(n, "epsilon", 0.f);
  auto y = run_node(n, {Tensor::from<float>({1, 2, 3, 4}, {1, 2, 2}), Tensor::from<float>({1, 2}, {2}),
                        Tensor::from<float>({0, 1}, {2}), Tensor::from<float>({1, 3}, {2}),
                        Tensor::from<float>({4, 1}, {2})});
  // c0: (x - 1) / 2 * 1 + 0; c1: (x - 3) / 1 * 2 + 1
  expect_close(y[0], {0, 0.5f, 1, 3});
}

TEST(BatchNormalization, SpatialZeroInOldOpsets) {
  // opset 7, spatial = 0: statistics per element of C x L.
  Node n = make_node("BatchNormalization", 5, 1, 7);
  set_int(n, "spatial", 0);
  set_float(n, "epsilon", 0.f);
  auto y = run_node(n, {Tensor::from<float>({1, 2, 3, 4}, {1, 2, 2}), Tensor::from<float>({1, 1, 1, 2}, {2, 2}),
                        Tensor::from<float>({0, 0, 0, 0}, {2, 2}), Tensor::from<float>({0, 0, 0, 1}, {2, 2}),
                        Tensor::from<float>({1, 1, 1, 1}, {2, 2})});
  expect_close(y[0], {1, 2, 3, 6});
}

TEST(BatchNormalization, TrainingModeIsAClearError) {
  Node n = make_node("BatchNormalization", 5, 3);
  set_int(n, "training_mode", 1);
  Tensor c = Tensor::from<float>({1}, {1});
  expect_error(n, {Tensor(DType::f32, {2, 1, 3}), c, c, c, c}, {"test_BatchNormalization", "training_mode=1"});
}

TEST(BatchNormalization, ShapeErrors) {
  Node n = make_node("BatchNormalization", 5);
  Tensor c = Tensor::from<float>({1, 1}, {2});
  expect_error(n, {Tensor(DType::f32, {2, 3, 4}), c, c, c, c}, {"input scale has shape [2], expected [3]"});
}

TEST(InstanceNormalization, PerPlaneStatistics) {
  Node n = make_node("InstanceNormalization", 3);
  set_float(n, "epsilon", 0.f);
  auto y = run_node(n, {Tensor::from<float>({1, 3, 10, 14}, {1, 2, 2}), Tensor::from<float>({1, 2}, {2}),
                        Tensor::from<float>({0, 5}, {2})});
  expect_close(y[0], {-1, 1, 3, 7});
}

TEST(LayerNormalization, AxisScaleBiasAndStatOutputs) {
  Node n = make_node("LayerNormalization", 3, 3, 17);
  set_int(n, "axis", 1);
  set_float(n, "epsilon", 0.f);
  auto y = run_node(n, {Tensor::from<float>({1, 3, 1, 3, 0, 4, 4, 0}, {2, 2, 2}), Tensor::from<float>({1, 2}, {2, 1}),
                        Tensor::from<float>({0.5f}, {1})});
  // Row 0: mean 2, var 1 -> [-1, 1, -1, 1]; row 1: mean 2, var 4 -> [-1, 1, 1, -1];
  // Scale [2, 1] broadcasts to [[1, 1], [2, 2]], then + 0.5.
  expect_close(y[0], {-0.5f, 1.5f, -1.5f, 2.5f, -0.5f, 1.5f, 2.5f, -1.5f});
  EXPECT_EQ(y[1].shape(), (Shape{2, 1, 1}));
  expect_close(y[1], {2, 2});
  expect_close(y[2], {1, 0.5f});
}

TEST(LayerNormalization, DefaultAxisAndErrors) {
  Node n = make_node("LayerNormalization", 2, 1, 17);
  auto y = run_node(n, {Tensor::from<float>({0, 2}, {1, 2}), Tensor::from<float>({1, 1}, {2})});
  expect_close(y[0], {-1, 1}, 1e-4f);
  expect_error(n, {Tensor(DType::f32, {2, 3}), Tensor(DType::f32, {2})}, {"input Scale has shape [2]", "[3]"});
  set_int(n, "axis", 2);
  expect_error(n, {Tensor(DType::f32, {2, 3}), Tensor(DType::f32, {3})}, {"axis 2 is out of range"});
}

TEST(LRN, AcrossChannels) {
  Node n = make_node("LRN", 1);
  set_int(n, "size", 3);
  set_float(n, "alpha", 3.f);
  set_float(n, "beta", 1.f);
  set_float(n, "bias", 1.f);
  auto y = run_node(n, {Tensor::from<float>({1, 2, 3}, {1, 3, 1})});
  // sums of squares over [c-1, c+1]: 5, 14, 13; y = x / (1 + sum)
  expect_close(y[0], {1 / 6.f, 2 / 15.f, 3 / 14.f});
  Node bad = make_node("LRN", 1);
  expect_error(bad, {Tensor(DType::f32, {1, 3, 1})}, {"size"});
}

}  // namespace
}  // namespace edgekit::test
