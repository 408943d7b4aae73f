// The 8-bit pooling vector paths (kernels/qpool_int8.h) on every SIMD target, over odd
// geometries and channel counts that are not multiples of any vector width:
//   - MaxPoolNhwc on int8 / uint8 values against the f32 MaxPoolNhwc on the same values (a max
//     is exact in float), with padding, strides, dilations and ceil_mode;
//   - QGlobalAveragePoolNhwc against QAveragePoolNhwc with the image as its window (the
//     reference loop), byte for byte, with equal and different parameters, both dtypes, a
//     fused clamp, weights prepared and not.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "hwy/targets.h"
#include "kernels/op.h"
#include "kernels/util.h"
#include "op_test_util.h"

namespace edgekit {
namespace {

using test::make_node;
using test::run_on_threads;

template <class T>
Tensor random_bytes(Shape shape, std::mt19937& rng) {
  Tensor t(dtype_of<T>, std::move(shape));
  for (int64_t i = 0; i < t.numel(); ++i) t.data<T>()[i] = T(int(rng() % 256) + (std::is_signed_v<T> ? -128 : 0));
  return t;
}

template <class T>
Tensor to_float(const Tensor& q) {
  Tensor f(DType::f32, q.shape());
  for (int64_t i = 0; i < q.numel(); ++i) f.data<float>()[i] = float(q.data<T>()[i]);
  return f;
}

Node edgekit_node(const std::string& op, size_t inputs) {
  Node n = make_node(op, inputs);
  n.domain = kEdgekitDomain, n.opset = 1;
  return n;
}

template <class T>
void check_max_pool(std::mt19937& rng, int trial) {
  auto pick = [&](int lo, int hi) { return int64_t(std::uniform_int_distribution<int>(lo, hi)(rng)); };
  const int64_t C = trial % 7 == 0 ? 130 : pick(1, 70), kh = trial % 9 == 0 ? 5 : pick(1, 3), kw = pick(1, 3);
  const int64_t dh = pick(0, 4) == 0 ? 2 : 1, dw = pick(0, 4) == 0 ? 2 : 1;
  const int64_t H = pick((kh - 1) * dh + 1, 11), W = pick((kw - 1) * dw + 1, 11);
  Node n = edgekit_node("MaxPoolNhwc", 1);
  n.attrs["kernel_shape"] = std::vector<int64_t>{kh, kw};
  n.attrs["strides"] = std::vector<int64_t>{pick(1, 2), pick(1, 3)};
  n.attrs["dilations"] = std::vector<int64_t>{dh, dw};
  n.attrs["pads"] = std::vector<int64_t>{pick(0, kh / 2), pick(0, kw / 2), pick(0, kh / 2), pick(0, kw / 2)};
  n.attrs["ceil_mode"] = pick(0, 1);
  const Tensor x = random_bytes<T>({pick(1, 2), H, W, C}, rng);
  const int threads = int(trial % 2) + 1;
  const Tensor got = run_on_threads(n, {x}, threads), want = run_on_threads(n, {to_float<T>(x)}, threads);
  ASSERT_EQ(got.shape(), want.shape());
  for (int64_t i = 0; i < got.numel(); ++i)
    ASSERT_EQ(float(got.data<T>()[i]), want.data<float>()[i])
        << "element " << i << ": " << shape_str(x.shape()) << " kernel " << kh << "x" << kw << " dilation " << dh << "x" << dw;
}

// trial(rng, i) for i < trials on each compiled SIMD target, the same random stream on each.
template <class Trial>
void on_every_target(uint32_t seed, int trials, const Trial& trial) {
  for (int64_t target : hwy::SupportedAndGeneratedTargets()) {
    hwy::SetSupportedTargetsForTest(target);
    SCOPED_TRACE(hwy::TargetName(target));
    std::mt19937 rng(seed);
    for (int i = 0; i < trials && !::testing::Test::HasFatalFailure(); ++i) trial(rng, i);
  }
  hwy::SetSupportedTargetsForTest(0);
}

TEST(QPoolInt8, MaxPoolMatchesFloatOnEveryTarget) {
  on_every_target(17, 40, [](std::mt19937& rng, int trial) {
    if (trial % 2) check_max_pool<int8_t>(rng, trial);
    else check_max_pool<uint8_t>(rng, trial);
  });
}

template <class TX, class TY>
void check_global_average(std::mt19937& rng, int trial) {
  auto pick = [&](int lo, int hi) { return int64_t(std::uniform_int_distribution<int>(lo, hi)(rng)); };
  const bool large = trial % 5 == 0;  // many pixels: sums far past 16 bits
  const int64_t H = large ? 56 : pick(1, 9), W = large ? 48 : pick(1, 9);
  const int64_t C = trial % 3 == 0 ? pick(60, 150) : pick(1, 40);
  const Tensor x = random_bytes<TX>({pick(1, 2), H, W, C}, rng);
  const bool same = trial % 4 <= 1 && (trial / 4) % 2 == 0;  // same dtypes only
  const TX x_zp = TX(int(rng() % 256) + (std::is_signed_v<TX> ? -128 : 0));
  const float x_scale = 0.02f + 0.01f * float(rng() % 8);
  const TY y_zp = same ? TY(x_zp) : TY(int(rng() % 256) + (std::is_signed_v<TY> ? -128 : 0));
  const float y_scale = same ? x_scale : x_scale * (0.2f + 0.1f * float(rng() % 12));
  const std::vector<Tensor> in = {x, Tensor::scalar<float>(x_scale), Tensor::scalar<TX>(x_zp),
                                  Tensor::scalar<float>(y_scale), Tensor::scalar<TY>(y_zp)};
  Node global = edgekit_node("QGlobalAveragePoolNhwc", 5), windowed = edgekit_node("QAveragePoolNhwc", 5);
  windowed.attrs["kernel_shape"] = std::vector<int64_t>{H, W};
  if (trial % 6 == 2) global.attrs["activation_min"] = windowed.attrs["activation_min"] = 0.f;
  const std::vector<bool> prepared = {false, true, true, true, true};  // the parameters in prepare()
  const Tensor got = run_on_threads(global, in, 1, trial % 2 == 0 ? prepared : std::vector<bool>{});
  const Tensor want = run_on_threads(windowed, in, 1);
  ASSERT_EQ(got.shape(), want.shape());
  ASSERT_EQ(got.dtype(), want.dtype());
  for (int64_t i = 0; i < got.numel(); ++i)
    ASSERT_EQ(int(got.data<TY>()[i]), int(want.data<TY>()[i]))
        << "element " << i << ": " << shape_str(x.shape()) << (same ? " same parameters" : "");
}

TEST(QPoolInt8, GlobalAverageMatchesReferenceOnEveryTarget) {
  on_every_target(23, 48, [](std::mt19937& rng, int trial) {
    switch (trial % 4) {
      case 0: return check_global_average<int8_t, int8_t>(rng, trial);
      case 1: return check_global_average<uint8_t, uint8_t>(rng, trial);
      case 2: return check_global_average<int8_t, uint8_t>(rng, trial);
      default: return check_global_average<uint8_t, int8_t>(rng, trial);
    }
  });
}

}  // namespace
}  // namespace edgekit
