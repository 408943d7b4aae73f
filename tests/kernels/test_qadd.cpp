// com.edgekit:QAdd: the vector paths (same shapes: one dtype, and mixed dtypes) against the
// scalar broadcast path, on every SIMD target and over lengths that leave every kind of tail.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "hwy/targets.h"
#include "kernels/op.h"
#include "op_test_util.h"

namespace edgekit {

namespace {

template <class T>
Tensor random_q(Shape shape, std::mt19937& rng) {
  Tensor t(dtype_of<T>, shape);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<T>()[i] = T(int(rng() % 256) + (std::is_signed_v<T> ? -128 : 0));
  return t;
}

template <class T, class TB = T>
void check_vector_path_matches_scalar(uint32_t seed, float a_scale, float b_scale, float y_scale,
                                      int64_t count = 777,  // default: several 256-element blocks and a tail
                                      bool expect_in_range = true) {
  std::mt19937 rng(seed);
  Node n = test::make_node("QAdd", 8);
  n.domain = kEdgekitDomain;
  Tensor a = random_q<T>({1, count}, rng), b = random_q<TB>({1, count}, rng);
  const T zp_a = T(std::is_signed_v<T> ? 3 : 130);
  const TB zp_b = TB(std::is_signed_v<TB> ? -7 : 120);
  const T zp_y = T(std::is_signed_v<T> ? 1 : 128);
  auto inputs = [&](const Tensor& x) {
    return std::vector<Tensor>{x, Tensor::scalar(a_scale), Tensor::scalar(zp_a), b, Tensor::scalar(b_scale),
                               Tensor::scalar(zp_b), Tensor::scalar(y_scale), Tensor::scalar(zp_y)};
  };
  Tensor vector_path = run_node(n, inputs(a))[0];
  Tensor scalar_path = run_node(n, inputs(a.reshaped({count})))[0];  // [N] + [1, N]: the broadcast loop
  ASSERT_EQ(vector_path.shape(), scalar_path.shape());
  int in_range = 0;
  for (int64_t i = 0; i < count; ++i) {
    const T v = vector_path.data<T>()[i];
    ASSERT_EQ(int(v), int(scalar_path.data<T>()[i])) << "element " << i;
    in_range += v != std::numeric_limits<T>::min() && v != std::numeric_limits<T>::max();
  }
  if (expect_in_range) {
    EXPECT_GT(in_range, count / 2);  // the clamp did not hide the arithmetic
  }
}

// Every SIMD target: lengths around the vector widths, both dtypes, mixed dtypes.
TEST(QAdd, VectorPathMatchesScalarOnEveryTarget) {
  for (int64_t target : hwy::SupportedAndGeneratedTargets()) {
    hwy::SetSupportedTargetsForTest(target);
    SCOPED_TRACE(hwy::TargetName(target));
    uint32_t seed = 10;
    for (int64_t count : {1, 3, 4, 15, 16, 17, 31, 33, 64, 70, 777}) {
      SCOPED_TRACE(count);
      check_vector_path_matches_scalar<int8_t>(seed++, 0.02f, 0.03f, 0.05f, count);
      check_vector_path_matches_scalar<uint8_t>(seed++, 0.5f, 0.25f, 0.6f, count);
      check_vector_path_matches_scalar<int8_t, uint8_t>(seed++, 0.1f, 0.04f, 0.1f, count);
      if (HasFatalFailure()) break;
    }
  }
  hwy::SetSupportedTargetsForTest(0);
}

// Scales drawn log-uniformly over four decades each: input multipliers from tiny to 0.5 and
// output multipliers whose right shifts run from 0 to about 30 (the 64-bit rounding's limit
// and shift constants at both ends), on every target, both dtypes.
TEST(QAdd, VectorPathMatchesScalarOverScaleRatiosOnEveryTarget) {
  for (int64_t target : hwy::SupportedAndGeneratedTargets()) {
    hwy::SetSupportedTargetsForTest(target);
    SCOPED_TRACE(hwy::TargetName(target));
    std::mt19937 rng(77);
    auto scale = [&] { return float(std::exp(std::uniform_real_distribution<double>(std::log(1e-4), 0.0)(rng))); };
    for (int i = 0; i < 40 && !HasFatalFailure(); ++i) {
      const float a = scale(), b = scale(), y = scale();
      SCOPED_TRACE(testing::Message() << "scales " << a << " " << b << " " << y);
      check_vector_path_matches_scalar<int8_t>(uint32_t(100 + i), a, b, y, 67, false);
      check_vector_path_matches_scalar<uint8_t>(uint32_t(200 + i), a, b, y, 35, false);
    }
  }
  hwy::SetSupportedTargetsForTest(0);
}

}  // namespace

TEST(QAdd, VectorPathMatchesScalarInt8) {
  check_vector_path_matches_scalar<int8_t>(1, 0.02f, 0.03f, 0.05f);
  check_vector_path_matches_scalar<int8_t>(2, 0.1f, 0.001f, 0.1f);
}

TEST(QAdd, LargeTensorsSplitOverThreadsMatchOneThread) {
  std::mt19937 rng(9);
  Node n = test::make_node("QAdd", 8);
  n.domain = kEdgekitDomain;
  const Tensor a = random_q<int8_t>({1, 300001}, rng), b = random_q<int8_t>({1, 300001}, rng);
  const std::vector<Tensor> in = {a, Tensor::scalar(0.02f), Tensor::scalar(int8_t(3)), b, Tensor::scalar(0.03f),
                                  Tensor::scalar(int8_t(-7)), Tensor::scalar(0.05f), Tensor::scalar(int8_t(1))};
  const Tensor one = run_node(n, in)[0], two = test::run_on_threads(n, in, 2);
  EXPECT_EQ(0, std::memcmp(one.raw(), two.raw(), size_t(one.numel())));
}

TEST(QAdd, VectorPathMatchesScalarUint8) {
  check_vector_path_matches_scalar<uint8_t>(3, 0.02f, 0.03f, 0.05f);
  check_vector_path_matches_scalar<uint8_t>(4, 0.5f, 0.25f, 0.6f);
}

}  // namespace edgekit
