// The vector requantization against the scalar TFLite steps, element for element.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include "hwy/targets.h"
#include "kernels/requantize.h"

namespace edgekit {

namespace {

template <class T>
void check_against_scalar(uint32_t seed, int64_t n, bool extreme) {
  std::mt19937 rng(seed);
  std::vector<int32_t> acc{}, bias{};
  acc.resize(size_t(n));
  bias.resize(size_t(n));
  std::vector<QuantMultiplier> ms;
  ms.resize(size_t(n));
  for (int64_t i = 0; i < n; ++i) {
    // Mostly real multipliers as quantize_multiplier makes them; some zero, some at the ends.
    double real = std::ldexp(double(rng() % 1000 + 1) / 1000.0, int(rng() % 40) - 32);
    if (i % 11 == 5) real = 0;
    ms[size_t(i)] = quantize_multiplier(real);
    if (i % 13 == 7) ms[size_t(i)] = {std::numeric_limits<int32_t>::max(), -31};
    if (i % 17 == 3) ms[size_t(i)] = {int32_t(1) << 30, 4};
    if (extreme && i % 3 == 0) {
      acc[size_t(i)] = i % 2 ? std::numeric_limits<int32_t>::max() : std::numeric_limits<int32_t>::min();
      bias[size_t(i)] = 0;
      continue;
    }
    // Accumulators whose result lands inside the 8-bit range (else the clamp hides rounding),
    // with small integer parts so that exact halves, the cases rounding rules differ on, occur.
    const double m = std::ldexp(double(ms[size_t(i)].multiplier), ms[size_t(i)].shift - 31);
    const double target = double(int(rng() % 301) - 150) + (rng() % 2 ? 0.5 : 0.0);
    const double a = m > 0 ? std::clamp(target / m, -1e9, 1e9) : double(int32_t(rng() % 2000001) - 1000000);
    bias[size_t(i)] = int32_t(rng() % 201) - 100;
    acc[size_t(i)] = int32_t(std::llround(a)) - bias[size_t(i)];
  }
  RequantizeChannels ch;
  ch.set(ms);
  const QuantRange range = quant_range(std::is_same_v<T, int8_t> ? DType::i8 : DType::u8);
  const int32_t zp = std::is_same_v<T, int8_t> ? -3 : 120;
  std::vector<T> got;
  got.resize(size_t(n));
  RequantizeArgs args{acc.data(), bias.data(), ch.multiplier.data(), ch.left.data(), ch.right.data(), n, zp,
                      range.lo, range.hi};
  if constexpr (std::is_same_v<T, int8_t>) requantize_to_i8(args, got.data());
  else requantize_to_u8(args, got.data());
  for (int64_t i = 0; i < n; ++i) {
    int32_t v = multiply_by_quantized_multiplier(acc[size_t(i)] + bias[size_t(i)], ms[size_t(i)]) + zp;
    int32_t want = std::min(std::max(v, range.lo), range.hi);
    ASSERT_EQ(int32_t(got[size_t(i)]), want) << "element " << i << " of " << n << ": acc " << acc[size_t(i)]
                                             << " bias " << bias[size_t(i)] << " multiplier "
                                             << ms[size_t(i)].multiplier << " shift " << ms[size_t(i)].shift;
  }
}

}  // namespace

TEST(RequantizeSimd, MatchesScalarOnEveryTargetAndLength) {
  for (int64_t target : hwy::SupportedAndGeneratedTargets()) {
    hwy::SetSupportedTargetsForTest(target);
    SCOPED_TRACE(hwy::TargetName(target));
    for (int64_t n = 0; n <= 70; ++n) {
      check_against_scalar<int8_t>(uint32_t(n), n, false);
      check_against_scalar<uint8_t>(uint32_t(n + 1000), n, false);
    }
    check_against_scalar<int8_t>(99, 4096, false);
    check_against_scalar<uint8_t>(98, 4096, false);
    check_against_scalar<int8_t>(5, 777, true);  // INT32_MIN / INT32_MAX accumulators
    check_against_scalar<uint8_t>(6, 777, true);
    if (HasFatalFailure()) break;
  }
  hwy::SetSupportedTargetsForTest(0);
}

TEST(RequantizeSimd, NullBiasAddsNothing) {
  std::vector<int32_t> acc = {1000, -1000, 77, 0, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17};
  std::vector<QuantMultiplier> ms(acc.size(), quantize_multiplier(0.01));
  RequantizeChannels ch;
  ch.set(ms);
  std::vector<int8_t> got(acc.size());
  requantize_to_i8({acc.data(), nullptr, ch.multiplier.data(), ch.left.data(), ch.right.data(), int64_t(acc.size()),
                    0, -128, 127},
                   got.data());
  EXPECT_EQ(got[0], 10);
  EXPECT_EQ(got[1], -10);
  EXPECT_EQ(got[2], 1);
}

}  // namespace edgekit

namespace edgekit {
// QuantizeLinear's vector path against quantize_value: ties to even, saturation, NaN, infinities.
TEST(QuantizeSimd, MatchesScalarOnEveryTarget) {
  for (int64_t target : hwy::SupportedAndGeneratedTargets()) {
    hwy::SetSupportedTargetsForTest(target);
    SCOPED_TRACE(hwy::TargetName(target));
    std::mt19937 rng(3);
    const float scale = 0.05f;
    for (int64_t n : {0, 1, 7, 16, 33, 70, 1000}) {
      std::vector<float> x;
      for (int64_t i = 0; i < n; ++i) {
        switch (i % 7) {
          case 0: x.push_back(float(int(rng() % 600) - 300) * scale + 0.5f * scale); break;  // exact halves
          case 1: x.push_back(std::numeric_limits<float>::quiet_NaN()); break;
          case 2: x.push_back(i % 2 ? std::numeric_limits<float>::infinity() : -std::numeric_limits<float>::infinity()); break;
          case 3: x.push_back(1e30f * (i % 2 ? 1 : -1)); break;
          default: x.push_back(std::uniform_real_distribution<float>(-8, 8)(rng));
        }
      }
      for (int32_t zp : {-5, 0, 17}) {
        std::vector<int8_t> got(x.size());
        quantize_f32_to_i8(x.data(), n, scale, zp, got.data());
        for (int64_t i = 0; i < n; ++i)
          ASSERT_EQ(int(got[size_t(i)]), quantize_value(x[size_t(i)], scale, zp, {-128, 127})) << "x " << x[size_t(i)];
        std::vector<uint8_t> got_u(x.size());
        quantize_f32_to_u8(x.data(), n, scale, zp + 128, got_u.data());
        for (int64_t i = 0; i < n; ++i)
          ASSERT_EQ(int(got_u[size_t(i)]), quantize_value(x[size_t(i)], scale, zp + 128, {0, 255})) << "x " << x[size_t(i)];
      }
    }
  }
  hwy::SetSupportedTargetsForTest(0);
}
// Values at, just below and just above every half step, for scales whose reciprocal is inexact
// (and a subnormal one), round as the scalar x / scale does: the property any faster vector
// form (a multiply by 1 / scale, say) must keep. (Such a multiply with a divide only for
// vectors near a half was tried: 35 us against 32 for 150528 floats; the divide is not the
// limit.)
TEST(QuantizeSimd, HalfStepsRoundAsTheQuotient) {
  for (int64_t target : hwy::SupportedAndGeneratedTargets()) {
    hwy::SetSupportedTargetsForTest(target);
    SCOPED_TRACE(hwy::TargetName(target));
    std::mt19937 rng(11);
    std::vector<float> scales = {0.05f, 0.1f, 1.f / 3.f, 0.0078125f, 0.017f, 3.7e-3f, 1e-6f, 255.f, 1e-38f};
    for (int i = 0; i < 20; ++i) scales.push_back(std::exp(std::uniform_real_distribution<float>(-12, 2)(rng)));
    for (float scale : scales) {
      std::vector<float> x;
      for (int k = -300; k <= 300; ++k) {
        const float at = float((double(k) + 0.5) * double(scale));
        x.insert(x.end(), {at, std::nextafter(at, -INFINITY), std::nextafter(at, INFINITY),
                           std::nextafter(std::nextafter(at, INFINITY), INFINITY)});
      }
      for (int i = 0; i < 4000; ++i) x.push_back(std::uniform_real_distribution<float>(-300, 300)(rng) * scale);
      const int64_t n = int64_t(x.size());
      std::vector<int8_t> got(x.size());
      quantize_f32_to_i8(x.data(), n, scale, 3, got.data());
      for (int64_t i = 0; i < n; ++i)
        ASSERT_EQ(int(got[size_t(i)]), quantize_value(x[size_t(i)], scale, 3, {-128, 127}))
            << "x " << x[size_t(i)] << " scale " << scale;
      std::vector<uint8_t> got_u(x.size());
      quantize_f32_to_u8(x.data(), n, scale, 128, got_u.data());
      for (int64_t i = 0; i < n; ++i)
        ASSERT_EQ(int(got_u[size_t(i)]), quantize_value(x[size_t(i)], scale, 128, {0, 255}))
            << "x " << x[size_t(i)] << " scale " << scale;
    }
  }
  hwy::SetSupportedTargetsForTest(0);
}
}  // namespace edgekit
