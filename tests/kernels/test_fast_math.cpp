#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "kernels/fast_math.h"

namespace edgekit {

TEST(FastMath, ExpMatchesLibmAcrossTheRange) {
  double worst = 0;
  for (float x = -87.f; x <= 88.f; x += 0.00731f) {
    double want = std::exp(double(x)), got = exp_f32(x);
    worst = std::max(worst, std::fabs(got - want) / want);
  }
  EXPECT_LT(worst, 3e-7);
  EXPECT_EQ(exp_f32(0.f), 1.f);
  EXPECT_GE(exp_f32(-1000.f), 0.f);
  EXPECT_TRUE(std::isfinite(exp_f32(1000.f)));
}

TEST(FastMath, SigmoidIsAccurateAndSaturates) {
  double worst = 0;
  for (float x = -60.f; x <= 60.f; x += 0.0037f) {
    double want = 1.0 / (1.0 + std::exp(-double(x)));
    worst = std::max(worst, std::fabs(sigmoid_f32(x) - want) / want);
  }
  EXPECT_LT(worst, 1e-6);
  EXPECT_EQ(sigmoid_f32(200.f), 1.f);
  EXPECT_GE(sigmoid_f32(-200.f), 0.f);
  EXPECT_TRUE(std::isnan(sigmoid_f32(std::numeric_limits<float>::quiet_NaN())));
}

}  // namespace edgekit

#include "hwy/targets.h"

namespace edgekit {
// The array versions (simd/fast_math-inl.h) against double-precision libm on every compiled
// ISA: vector bodies, masked tails, saturation, NaN, in-place use.
TEST(FastMath, ArraySigmoidSiluTanhAreAccurateOnEveryIsa) {
  std::vector<float> x;
  for (float v = -80.f; v <= 80.f; v += 0.0137f) x.push_back(v);
  for (float v : {0.f, -0.f, 1e-30f, -1e-20f, 1e-7f, 0.1249f, 0.125f, -0.1251f, 88.f, -100.f, -1000.f, 1000.f}) x.push_back(v);
  for (int64_t target : hwy::SupportedAndGeneratedTargets()) {
    hwy::SetSupportedTargetsForTest(target);
    SCOPED_TRACE(hwy::TargetName(target));
    for (int64_t n : {int64_t(x.size()), int64_t(7), int64_t(1)}) {  // several tail lengths
      std::vector<float> s(static_cast<size_t>(n)), u(static_cast<size_t>(n)), t(x.begin(), x.begin() + n);
      sigmoid_f32_array(x.data(), s.data(), n);
      silu_f32_array(x.data(), u.data(), n);
      tanh_f32_array(t.data(), t.data(), n);  // in place
      for (int64_t i = 0; i < n; ++i) {
        const double v = x[size_t(i)], sig = 1.0 / (1.0 + std::exp(-v));
        ASSERT_LE(std::fabs(s[size_t(i)] - sig), 1e-6 * sig + 1e-37) << "sigmoid(" << v << ")";
        ASSERT_LE(std::fabs(u[size_t(i)] - v * sig), 1e-6 * std::fabs(v * sig) + 1e-37) << "silu(" << v << ")";
        ASSERT_LE(std::fabs(t[size_t(i)] - std::tanh(v)), 1e-6 * std::fabs(std::tanh(v)) + 1e-37) << "tanh(" << v << ")";
      }
    }
    float nan[3] = {std::nanf(""), std::nanf(""), std::nanf("")};
    sigmoid_f32_array(nan, nan, 1);
    silu_f32_array(nan + 1, nan + 1, 1);
    tanh_f32_array(nan + 2, nan + 2, 1);
    for (float v : nan) EXPECT_TRUE(std::isnan(v));
  }
  hwy::SetSupportedTargetsForTest(0);
}
}  // namespace edgekit

#include "hwy/targets.h"
#include "kernels/simd/vector_math.h"

namespace edgekit {
// The vector GELU and shifted exp against double-precision libm, on every compiled ISA, across
// the range and in the far negative tail (where 1 + erf would cancel).
TEST(VectorMath, GeluAndShiftedExpAreAccurateOnEveryIsa) {
  std::vector<float> x;
  for (float v = -30.f; v <= 30.f; v += 0.0371f) x.push_back(v);
  for (float v : {0.f, -0.f, 1e-30f, -1e-20f, 1e-7f, -9.f, -12.f, -13.5f, 88.f, -100.f}) x.push_back(v);
  for (int64_t target : hwy::SupportedAndGeneratedTargets()) {
    hwy::SetSupportedTargetsForTest(target);
    SCOPED_TRACE(hwy::TargetName(target));
    std::vector<float> y(x.size()), e(x.size());
    gelu_f32_array(x.data(), y.data(), int64_t(x.size()) - 3);  // vector body and a masked tail
    gelu_f32_array(x.data() + x.size() - 3, y.data() + x.size() - 3, 3);
    for (size_t i = 0; i < x.size(); ++i) {
      const double want = 0.5 * double(x[i]) * std::erfc(-double(x[i]) / std::sqrt(2.0));
      // Past |x| = 5 the float argument of exp (about -x^2 / 2) carries the error.
      const double rel = std::fabs(x[i]) < 5 ? 2e-6 : 1e-5;
      ASSERT_LE(std::fabs(y[i] - want), rel * std::fabs(want) + 1e-30) << "gelu(" << x[i] << ") = " << y[i] << ", want " << want;
    }
    const float sum = exp_shifted_f32(x.data(), e.data(), int64_t(x.size()), 30.f);
    double want_sum = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      const double want = std::exp(double(x[i]) - 30.0);
      want_sum += want;
      ASSERT_LE(std::fabs(e[i] - want), 2e-6 * want + 1e-38) << "exp(" << x[i] << " - 30)";
    }
    EXPECT_NEAR(sum, want_sum, 1e-5 * want_sum);
  }
  hwy::SetSupportedTargetsForTest(0);
}
}  // namespace edgekit
