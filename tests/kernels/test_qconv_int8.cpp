// The fixed-point requantization helpers against values TFLite's own functions give, and the
// int8 convolution engine (kernels/qconv_int8.h) against the integer reference loop
// (kernels/quant_ref.h) on random odd shapes, on every SIMD target this CPU runs (AVX-512
// VNNI, AVX-512, AVX2, portable), at one and two threads.
#define HWY_WANT_AVX3_DL 1  // the int8 kernels are compiled for AVX3_DL too; list it
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "hwy/targets.h"

#include "core/thread_pool.h"
#include "kernels/qconv_int8.h"
#include "kernels/requantize.h"

namespace edgekit {
namespace {

TEST(Requantize, QuantizeMultiplierAsTflite) {
  QuantMultiplier m = quantize_multiplier(0.5);
  EXPECT_EQ(m.multiplier, 1 << 30);
  EXPECT_EQ(m.shift, 0);
  m = quantize_multiplier(1.0);
  EXPECT_EQ(m.multiplier, 1 << 30);
  EXPECT_EQ(m.shift, 1);
  m = quantize_multiplier(0.0);
  EXPECT_EQ(m.multiplier, 0);
  m = quantize_multiplier(0.75 / 1024);
  EXPECT_EQ(m.multiplier, 1610612736);  // 0.75 * 2^31
  EXPECT_EQ(m.shift, -10);
  m = quantize_multiplier(std::ldexp(1.0, -40));  // below 2^-31: zero
  EXPECT_EQ(m.multiplier, 0);
  EXPECT_THROW(quantize_multiplier(std::ldexp(1.0, 31)), Error);
}

TEST(Requantize, RoundingIsHalfAwayFromZero) {
  EXPECT_EQ(rounding_divide_by_pot(5, 1), 3);
  EXPECT_EQ(rounding_divide_by_pot(-5, 1), -3);
  EXPECT_EQ(rounding_divide_by_pot(4, 1), 2);
  EXPECT_EQ(rounding_divide_by_pot(-7, 2), -2);
  EXPECT_EQ(saturating_rounding_doubling_high_mul(INT32_MIN, INT32_MIN), INT32_MAX);
  EXPECT_EQ(saturating_rounding_doubling_high_mul(1 << 30, 1 << 30), 1 << 29);
  // 100 * 0.5 = 50; 101 * 0.5 = 50.5 -> 51; -101 * 0.5 = -50.5 -> -50: gemmlowp's high multiply
  // nudges by 1 - 2^30 below zero, so an exact negative half rounds toward zero (as in TFLite).
  QuantMultiplier half = quantize_multiplier(0.5);
  EXPECT_EQ(multiply_by_quantized_multiplier(100, half), 50);
  EXPECT_EQ(multiply_by_quantized_multiplier(101, half), 51);
  EXPECT_EQ(multiply_by_quantized_multiplier(-101, half), -50);
  EXPECT_EQ(multiply_by_quantized_multiplier(-103, quantize_multiplier(0.25)), -26);  // -25.75
  // a multiplier > 1 shifts left first
  EXPECT_EQ(multiply_by_quantized_multiplier(3, quantize_multiplier(3.0)), 9);
}

// Requant32 (the vector kernels' 32-bit form) against MultiplyByQuantizedMultiplier + zero
// point wherever requant32_constants accepts a range: every shift, the extreme multipliers
// (0, 2^30, 2^30 + 1, 0.75 2^31, 2^31 - 1) and random ones, zero points of both dtypes' ends;
// every x of a small range (all rounding ties of the small shifts) and the ends of random
// ranges up to the int32 limit, where it must refuse what does not fit.
TEST(Requantize, Requant32IsBitIdenticalWhereAccepted) {
  std::mt19937 rng(29);
  std::vector<int32_t> multipliers = {0, 1 << 30, (1 << 30) + 1, 3 << 29, INT32_MAX};
  for (int i = 0; i < 4; ++i) multipliers.push_back(std::uniform_int_distribution<int32_t>(1 << 30, INT32_MAX)(rng));
  const int32_t zero_points[] = {-128, 0, 77, 255};
  int64_t accepted = 0, refused = 0;
  auto check = [&](const QuantMultiplier& m, int32_t zp, const Requant32& k, int64_t x) {
    const int32_t want = multiply_by_quantized_multiplier(int32_t(x), m) + zp;
    const int32_t got = requant32_apply(k, int32_t(x));
    if (got != want) ADD_FAILURE() << "x " << x << " multiplier " << m.multiplier << " shift " << m.shift << " zp " << zp
                                   << ": " << got << ", expected " << want;
    return got == want;
  };
  for (int shift = -31; shift <= 30; ++shift)
    for (int32_t multiplier : multipliers)
      for (int32_t zp : zero_points) {
        const QuantMultiplier m{multiplier, shift};
        Requant32 k;
        // Every x of [-2^15, 2^15] where it fits (shifts from -16 to 2: the ties of both roundings).
        if (shift >= -16 && shift <= 2 && (zp == 0 || zp == 255) && requant32_constants(m, zp, -(1 << 15), 1 << 15, &k)) {
          for (int64_t x = -(1 << 15); x <= (1 << 15); ++x)
            if (!check(m, zp, k, x)) return;
        }
        for (int rep = 0; rep < 40; ++rep) {
          const double bits = std::uniform_real_distribution<double>(0, 31)(rng);
          const int64_t hi = std::min<int64_t>(int64_t(std::exp2(bits)), INT32_MAX);
          const int64_t lo = -std::min<int64_t>(int64_t(std::exp2(std::uniform_real_distribution<double>(0, 31)(rng))),
                                                 int64_t(1) << 31);
          if (!requant32_constants(m, zp, lo, hi, &k)) {
            ++refused;
            continue;
          }
          ++accepted;
          std::uniform_int_distribution<int64_t> in(lo, hi);
          for (int64_t x : {lo, lo + 1, int64_t(-1), int64_t(0), int64_t(1), hi - 1, hi})
            if (x >= lo && x <= hi && !check(m, zp, k, x)) return;
          for (int i = 0; i < 200; ++i)
            if (!check(m, zp, k, in(rng))) return;
        }
      }
  EXPECT_GT(accepted, 10000);
  EXPECT_GT(refused, 10000);
  // At the edge: |x| 2^(left + 2) must stay within int32.
  Requant32 k;
  EXPECT_TRUE(requant32_constants({1 << 30, -8}, 0, -(1 << 29), (1 << 29) - 1, &k));
  EXPECT_FALSE(requant32_constants({1 << 30, -8}, 0, -(1 << 29), 1 << 29, &k));
  EXPECT_FALSE(requant32_constants({1 << 30, -8}, 0, -(1 << 29) - 1, 0, &k));
  EXPECT_FALSE(requant32_constants({1 << 30, 1}, 0, -(1 << 29), 0, &k));
  EXPECT_FALSE(requant32_constants({1 << 30, -31}, 0, -1, 1, &k));  // e = 31
}

TEST(Requantize, QuantizeValueRoundsHalfToEvenAndSaturates) {
  const QuantRange i8 = quant_range(DType::i8);
  EXPECT_EQ(quantize_value(2.5f, 1.f, 0, i8), 2);
  EXPECT_EQ(quantize_value(3.5f, 1.f, 0, i8), 4);
  EXPECT_EQ(quantize_value(-2.5f, 1.f, 0, i8), -2);
  EXPECT_EQ(quantize_value(1000.f, 1.f, 0, i8), 127);
  EXPECT_EQ(quantize_value(-1000.f, 1.f, 10, i8), -128);
  EXPECT_EQ(quantize_value(std::nanf(""), 1.f, 10, i8), 10);
  const QuantRange act = quantized_activation_range(0.f, 6.f, 0.05f, -128, DType::i8);
  EXPECT_EQ(act.lo, -128);
  EXPECT_EQ(act.hi, -8);  // -128 + 6 / 0.05
}

struct Case {
  IntConvShape s;
  DType x_dtype;
};

Case random_case(std::mt19937& rng) {
  auto pick = [&](int lo, int hi) { return int64_t(std::uniform_int_distribution<int>(lo, hi)(rng)); };
  Case c;
  IntConvShape& s = c.s;
  s.nhwc = true;
  s.batch = pick(1, 2);
  s.in_h = pick(1, 9), s.in_w = pick(1, 9);
  s.kernel_h = pick(1, 3), s.kernel_w = pick(1, 3);
  if (pick(0, 5) == 0) s.kernel_h = s.kernel_w = 5;
  s.stride_h = pick(1, 2), s.stride_w = pick(1, 2);
  s.dilation_h = pick(0, 4) == 0 ? 2 : 1, s.dilation_w = pick(0, 6) == 0 ? 2 : 1;
  s.pad_top = pick(0, s.kernel_h / 2 + 1 > 2 ? 2 : s.kernel_h / 2), s.pad_left = pick(0, s.kernel_w / 2);
  const int64_t kind = pick(0, 3);
  if (kind == 0) {  // depthwise
    s.in_c = s.out_c = s.group = pick(1, 40);
  } else if (kind == 1) {  // grouped
    s.group = pick(2, 3);
    s.in_c = s.group * pick(1, 9), s.out_c = s.group * pick(1, 21);
  } else {
    s.group = 1, s.in_c = pick(1, 70), s.out_c = pick(1, 50);
  }
  const int64_t eh = (s.kernel_h - 1) * s.dilation_h + 1, ew = (s.kernel_w - 1) * s.dilation_w + 1;
  s.in_h = std::max(s.in_h, eh - 2 * s.pad_top);
  s.in_w = std::max(s.in_w, ew - 2 * s.pad_left);
  s.out_h = (s.in_h + 2 * s.pad_top - eh) / s.stride_h + 1;
  s.out_w = (s.in_w + 2 * s.pad_left - ew) / s.stride_w + 1;
  c.x_dtype = pick(0, 1) ? DType::i8 : DType::u8;
  return c;
}

// Requantization multipliers drawn log-uniformly from [lo, hi].
struct MultiplierRange {
  double lo = 1e-5, hi = 2e-3;
};

// requant32 (optional): set to whether the packing took the 32-bit requantization.
template <class TX>
void check_case(const Case& c, std::mt19937& rng, ThreadPool* pool, MultiplierRange range = {},
                int32_t bias_limit = 20000, bool* requant32 = nullptr) {
  const IntConvShape& s = c.s;
  const int64_t cg = s.in_c / s.group;
  std::uniform_int_distribution<int> byte(-128, 127), ubyte(0, 255), bias(-bias_limit, bias_limit);
  std::vector<TX> x(size_t(s.batch * s.in_h * s.in_w * s.in_c));
  for (auto& v : x) v = TX(std::is_signed_v<TX> ? byte(rng) : ubyte(rng));
  std::vector<int8_t> w(size_t(s.out_c * cg * s.kernel_h * s.kernel_w));
  for (auto& v : w) v = int8_t(byte(rng));
  QConvInt8Params p;
  p.out_channels = s.out_c;
  p.x_dtype = c.x_dtype;
  p.y_dtype = (rng() & 1) ? DType::i8 : DType::u8;
  p.x_zero_point = std::is_signed_v<TX> ? byte(rng) : ubyte(rng);
  p.y_zero_point = p.y_dtype == DType::i8 ? byte(rng) : ubyte(rng);
  p.act = quant_range(p.y_dtype);
  if (rng() & 1) p.act.lo += 20;  // a fused Relu-like clamp
  for (int64_t m = 0; m < s.out_c; ++m) {
    p.bias.push_back(bias(rng));
    p.multiplier.push_back(quantize_multiplier(
        std::exp(std::uniform_real_distribution<double>(std::log(range.lo), std::log(range.hi))(rng))));
  }
  pack_qconv_weights(p, w.data(), {0}, cg, s.kernel_h, s.kernel_w, s.group, s.dilation_w);
  ASSERT_TRUE(qconv_packed(p));
  if (requant32) *requant32 = p.depthwise ? p.dw_one.requant32 : p.records_requant32;
  const int64_t out_n = s.batch * s.out_h * s.out_w * s.out_c;
  std::vector<int32_t> acc(static_cast<size_t>(out_n));
  int_conv_ref(x.data(), p.x_zero_point, w.data(), {0}, p.bias.data(), s, acc.data());
  std::vector<uint8_t> want(static_cast<size_t>(out_n)), got(static_cast<size_t>(out_n), 0xAB);
  requantize_rows(p, acc.data(), out_n / s.out_c, want.data());
  qconv_nhwc_int8(p, x.data(), s, got.data(), pool);
  for (int64_t i = 0; i < out_n; ++i)
    ASSERT_EQ(int(got[size_t(i)]), int(want[size_t(i)]))
        << "element " << i << " of " << out_n << ": N" << s.batch << " " << s.in_h << "x" << s.in_w << "x" << s.in_c
        << " -> " << s.out_c << " k" << s.kernel_h << "x" << s.kernel_w << " s" << s.stride_h << s.stride_w << " g"
        << s.group << (p.depthwise ? " depthwise" : "");
}

TEST(QConvInt8, MatchesReferenceOnEveryTarget) {
  ThreadPool pool(2);
  for (int64_t target : hwy::SupportedAndGeneratedTargets()) {
    hwy::SetSupportedTargetsForTest(target);
    SCOPED_TRACE(cat("target ", hwy::TargetName(target), " (", qgemm_int8_target(), ")"));
    std::mt19937 rng(7);
    for (int i = 0; i < 60; ++i) {
      Case c = random_case(rng);
      ThreadPool* p = (i & 1) ? &pool : nullptr;
      if (c.x_dtype == DType::i8) check_case<int8_t>(c, rng, p);
      else check_case<uint8_t>(c, rng, p);
      if (HasFatalFailure()) break;
    }
  }
  hwy::SetSupportedTargetsForTest(0);
}

TEST(QConvInt8, DeepKAcrossRowBlocks) {  // K above the portable path's 1024-byte row block
  std::mt19937 rng(3);
  Case c;
  c.s.nhwc = true, c.s.in_h = 3, c.s.in_w = 3, c.s.in_c = 300, c.s.out_c = 17, c.s.kernel_h = c.s.kernel_w = 3;
  c.s.pad_top = c.s.pad_left = 1, c.s.out_h = c.s.out_w = 3;
  c.x_dtype = DType::i8;
  for (int64_t target : hwy::SupportedAndGeneratedTargets()) {
    hwy::SetSupportedTargetsForTest(target);
    SCOPED_TRACE(hwy::TargetName(target));
    check_case<int8_t>(c, rng, nullptr);
  }
  hwy::SetSupportedTargetsForTest(0);
}

}  // namespace
}  // namespace edgekit

namespace edgekit {
// 1x1, stride 1, no padding, channels a multiple of 4: rows are read in place (no gather), for
// both input dtypes, with and without groups; 3x3 stride 1 with whole kernel rows copied at once.
TEST(QConvInt8, PointwiseAndRowRunPathsMatchReference) {
  std::mt19937 rng(11);
  for (int64_t group : {1, 2})
    for (DType x : {DType::i8, DType::u8})
      for (int64_t kernel : {1, 3}) {
        Case c;
        c.s.nhwc = true, c.s.batch = 2, c.s.in_h = 5, c.s.in_w = 7, c.s.in_c = 8 * group, c.s.out_c = 20 * group;
        c.s.kernel_h = c.s.kernel_w = kernel, c.s.group = group;
        c.s.pad_top = c.s.pad_left = kernel / 2;
        c.s.out_h = c.s.in_h, c.s.out_w = c.s.in_w;
        c.x_dtype = x;
        if (x == DType::i8) check_case<int8_t>(c, rng, nullptr);
        else check_case<uint8_t>(c, rng, nullptr);
        ASSERT_FALSE(HasFatalFailure()) << "group " << group << " kernel " << kernel;
      }
}
}  // namespace edgekit

namespace edgekit {
// Depthwise with enough channels for every vector width's int16 path, then the int32, 128-bit
// and scalar tails (72 = 32 + 32 + 8 on AVX-512; 4 x 16 + 8 on AVX2), on every target.
TEST(QConvInt8, WideDepthwiseMatchesReferenceOnEveryTarget) {
  for (int64_t target : hwy::SupportedAndGeneratedTargets()) {
    hwy::SetSupportedTargetsForTest(target);
    SCOPED_TRACE(hwy::TargetName(target));
    std::mt19937 rng(5);
    for (int64_t stride : {1, 2})
      for (DType x : {DType::i8, DType::u8}) {
        Case c;
        c.s.nhwc = true, c.s.batch = 1, c.s.in_h = 6, c.s.in_w = 5, c.s.in_c = c.s.out_c = c.s.group = 72 + 3;
        c.s.kernel_h = c.s.kernel_w = 3, c.s.stride_h = c.s.stride_w = stride, c.s.pad_top = c.s.pad_left = 1;
        c.s.out_h = (c.s.in_h + 2 - 3) / stride + 1, c.s.out_w = (c.s.in_w + 2 - 3) / stride + 1;
        c.x_dtype = x;
        if (x == DType::i8) check_case<int8_t>(c, rng, nullptr);
        else check_case<uint8_t>(c, rng, nullptr);
        ASSERT_FALSE(HasFatalFailure());
      }
  }
  hwy::SetSupportedTargetsForTest(0);
}
}  // namespace edgekit

namespace edgekit {
// First layers (1 to 5 input channels: row taps with VNNI, a kernel row per tap and zero
// weights in its quad's gap), grouped convolutions read in place, and fully-connected layers
// on 1 to 3 rows with deep K (the micro-kernel's split sums), on every target.
TEST(QConvInt8, FirstLayersGroupsAndFewRowsMatchReference) {
  struct Geometry {
    int64_t c, m, kh, kw, stride, pad, group;
  };
  const Geometry first[] = {{1, 32, 3, 3, 1, 1, 1}, {1, 64, 10, 4, 2, 1, 1}, {3, 16, 3, 3, 1, 1, 1},
                            {3, 24, 3, 3, 2, 1, 1}, {2, 8, 5, 5, 1, 2, 1},   {5, 17, 3, 2, 2, 0, 1},
                            {3, 16, 1, 1, 2, 0, 1}, {8, 12, 3, 3, 1, 1, 2},  {12, 9, 3, 1, 2, 1, 3}};
  for (int64_t target : hwy::SupportedAndGeneratedTargets()) {
    hwy::SetSupportedTargetsForTest(target);
    SCOPED_TRACE(cat("target ", hwy::TargetName(target)));
    std::mt19937 rng(13);
    for (const Geometry& g : first)
      for (DType x : {DType::i8, DType::u8}) {
        Case c;
        IntConvShape& s = c.s;
        s.nhwc = true, s.batch = 2, s.in_h = 11, s.in_w = 9, s.in_c = g.c, s.out_c = g.m, s.group = g.group;
        s.kernel_h = g.kh, s.kernel_w = g.kw, s.stride_h = s.stride_w = g.stride, s.pad_top = s.pad_left = g.pad;
        s.out_h = (s.in_h + 2 * g.pad - g.kh) / g.stride + 1, s.out_w = (s.in_w + 2 * g.pad - g.kw) / g.stride + 1;
        c.x_dtype = x;
        if (x == DType::i8) check_case<int8_t>(c, rng, nullptr);
        else check_case<uint8_t>(c, rng, nullptr);
        ASSERT_FALSE(HasFatalFailure()) << "C " << g.c << " kernel " << g.kh << "x" << g.kw << " group " << g.group;
      }
    for (int64_t rows : {1, 2, 3})
      for (int64_t k : {3136, 131, 64}) {
        Case c;
        c.s.nhwc = true, c.s.in_h = c.s.out_h = rows, c.s.in_w = c.s.out_w = 1, c.s.in_c = k, c.s.out_c = 40;
        c.x_dtype = DType::i8;
        check_case<int8_t>(c, rng, nullptr);
        ASSERT_FALSE(HasFatalFailure()) << rows << " rows, K " << k;
      }
  }
  hwy::SetSupportedTargetsForTest(0);
}

// The depthwise kernel's paths against the reference on every target: channel counts around
// the block widths (16, 32, 64; several pixels a vector below half a vector), kernels 1x1 to
// 5x5 and non-square, strides 1 to 3, dilations 1 and 2, padding, row tails, both input and output
// types, and multipliers below 2^-23 (the zero point added apart), in [0.5, 1) (no rounding
// shift) and above 1 (a left shift first).
TEST(QConvInt8, DepthwisePathsMatchReferenceOnEveryTarget) {
  ThreadPool pool(2);
  const int64_t channels[] = {1, 3, 8, 15, 16, 17, 24, 31, 32, 33, 58, 63, 64, 65, 72, 96, 100, 130};
  const int64_t kernels[][2] = {{1, 1}, {3, 3}, {5, 5}, {1, 3}, {3, 1}, {5, 3}, {2, 2}};
  const MultiplierRange ranges[] = {{1e-5, 2e-3}, {1e-9, 4.0}, {0.5, 0.99}, {1.2, 3.0}};
  for (int64_t target : hwy::SupportedAndGeneratedTargets()) {
    hwy::SetSupportedTargetsForTest(target);
    SCOPED_TRACE(hwy::TargetName(target));
    std::mt19937 rng(13);
    auto pick = [&](int lo, int hi) { return int64_t(std::uniform_int_distribution<int>(lo, hi)(rng)); };
    for (int64_t c : channels)
      for (const auto& k : kernels)
        for (int rep = 0; rep < 3; ++rep) {
          Case cs;
          IntConvShape& s = cs.s;
          s.nhwc = true, s.batch = pick(1, 2), s.in_c = s.out_c = s.group = c;
          s.kernel_h = k[0], s.kernel_w = k[1];
          // Few channels take the several-pixel path at every stride (above 1 from column phases).
          s.stride_h = pick(1, 2), s.stride_w = rep + 1;
          s.dilation_h = pick(0, 3) == 0 ? 2 : 1, s.dilation_w = pick(0, 3) == 0 ? 2 : 1;
          s.pad_top = pick(0, s.kernel_h / 2), s.pad_left = pick(0, s.kernel_w / 2);
          const int64_t eh = (s.kernel_h - 1) * s.dilation_h + 1, ew = (s.kernel_w - 1) * s.dilation_w + 1;
          s.in_h = std::max(pick(1, 7), eh - 2 * s.pad_top), s.in_w = std::max(pick(1, 19), ew - 2 * s.pad_left);
          s.out_h = (s.in_h + 2 * s.pad_top - eh) / s.stride_h + 1;
          s.out_w = (s.in_w + 2 * s.pad_left - ew) / s.stride_w + 1;
          cs.x_dtype = pick(0, 1) ? DType::i8 : DType::u8;
          const MultiplierRange range = ranges[size_t(pick(0, 3))];
          ThreadPool* threads = pick(0, 1) ? &pool : nullptr;
          if (cs.x_dtype == DType::i8) check_case<int8_t>(cs, rng, threads, range);
          else check_case<uint8_t>(cs, rng, threads, range);
          ASSERT_FALSE(HasFatalFailure()) << c << " channels, kernel " << k[0] << "x" << k[1];
        }
  }
  hwy::SetSupportedTargetsForTest(0);
}

// Wide images: rows longer than the kernel's buffer of interleaved columns (tiles of output
// pixels), at strides 1 and 2, and a kernel too tall for it (reference path).
TEST(QConvInt8, DepthwiseWideRowsAndTallKernels) {
  std::mt19937 rng(17);
  for (int64_t target : hwy::SupportedAndGeneratedTargets()) {
    hwy::SetSupportedTargetsForTest(target);
    SCOPED_TRACE(hwy::TargetName(target));
    for (int64_t stride : {1, 2})
      for (int64_t c : {16, 40, 64}) {
        Case cs;
        IntConvShape& s = cs.s;
        s.nhwc = true, s.in_c = s.out_c = s.group = c, s.kernel_h = s.kernel_w = 3, s.stride_h = s.stride_w = stride;
        s.pad_top = s.pad_left = 1, s.in_h = 4, s.in_w = 150;
        s.out_h = (s.in_h + 2 - 3) / stride + 1, s.out_w = (s.in_w + 2 - 3) / stride + 1;
        cs.x_dtype = DType::i8;
        check_case<int8_t>(cs, rng, nullptr);
        ASSERT_FALSE(HasFatalFailure()) << "stride " << stride << ", " << c << " channels";
      }
  }
  hwy::SetSupportedTargetsForTest(0);
  // 17 rows: more than the kernel's four quads of rows, so the weights stay unpacked.
  QConvInt8Params p;
  p.out_channels = 4;
  p.bias.assign(4, 0);
  p.multiplier.assign(4, quantize_multiplier(1e-3));
  const std::vector<int8_t> w(4 * 17 * 1, 1);
  pack_qconv_weights(p, w.data(), {0}, 1, 17, 1, 4);
  EXPECT_FALSE(qconv_packed(p));
}
}  // namespace edgekit

namespace edgekit {
// The GEMM path's requantization (with VNNI in 64-bit lanes from the panels' records) against
// the reference for every kind of multiplier: tiny (2^-23 and below: the zero point is not
// folded into the rounding constant), the TFLite-typical range, [0.5, 1) (no rounding shift)
// and above 1 (a left shift first); odd channel counts around the panel widths, groups, 1x1
// in place, gathered and indirect taps, both dtypes, on every target.
TEST(QConvInt8, GemmRequantizationOverEveryMultiplierRange) {
  const MultiplierRange ranges[] = {{1e-9, 1e-7}, {1e-5, 2e-3}, {0.5, 0.99}, {1.2, 3.0}, {1e-9, 4.0}};
  for (int64_t target : hwy::SupportedAndGeneratedTargets()) {
    hwy::SetSupportedTargetsForTest(target);
    SCOPED_TRACE(hwy::TargetName(target));
    std::mt19937 rng(19);
    for (const MultiplierRange& range : ranges)
      for (int64_t out_c : {1, 15, 16, 17, 33, 48})
        for (int64_t kernel : {1, 3}) {
          Case c;
          c.s.nhwc = true, c.s.batch = 1, c.s.in_h = 4, c.s.in_w = 5, c.s.in_c = kernel == 1 ? 8 : 6;
          c.s.group = out_c % 3 == 0 ? 3 : 1;
          c.s.in_c *= c.s.group, c.s.out_c = out_c;
          c.s.kernel_h = c.s.kernel_w = kernel, c.s.pad_top = c.s.pad_left = kernel / 2;
          c.s.out_h = c.s.in_h, c.s.out_w = c.s.in_w;
          c.x_dtype = out_c % 2 ? DType::i8 : DType::u8;
          if (c.x_dtype == DType::i8) check_case<int8_t>(c, rng, nullptr, range);
          else check_case<uint8_t>(c, rng, nullptr, range);
          ASSERT_FALSE(HasFatalFailure()) << "multipliers " << range.lo << ".." << range.hi << " M " << out_c;
        }
  }
  hwy::SetSupportedTargetsForTest(0);
}

// Both requantization forms of the depthwise kernel and the VNNI GEMM tiles: biases from small
// to the int32 limit and multipliers up to 4, so that some layers' accumulators are bounded
// tightly enough for the 32-bit form and others fall back to 64-bit lanes; both must be seen.
TEST(QConvInt8, Requant32AndItsFallbackMatchReference) {
  const int32_t bias_limits[] = {1000, 1 << 20, 1 << 26, 1 << 28, 1 << 29, INT32_MAX};
  const MultiplierRange ranges[] = {{1e-5, 2e-3}, {1e-9, 4.0}, {1.2, 3.0}};
  int seen[2] = {0, 0};
  for (int64_t target : hwy::SupportedAndGeneratedTargets()) {
    hwy::SetSupportedTargetsForTest(target);
    SCOPED_TRACE(hwy::TargetName(target));
    std::mt19937 rng(31);
    for (int32_t limit : bias_limits)
      for (const MultiplierRange& range : ranges)
        for (int64_t channels : {8, 24, 64, 72}) {
          for (bool depthwise : {true, false}) {
            Case c;
            IntConvShape& s = c.s;
            s.nhwc = true, s.batch = 1, s.in_h = 5, s.in_w = 7, s.kernel_h = s.kernel_w = 3;
            s.pad_top = s.pad_left = 1, s.out_h = 5, s.out_w = 7;
            s.in_c = depthwise ? channels : 12, s.out_c = channels, s.group = depthwise ? channels : 1;
            c.x_dtype = channels % 16 ? DType::u8 : DType::i8;
            bool used = false;
            if (c.x_dtype == DType::i8) check_case<int8_t>(c, rng, nullptr, range, limit, &used);
            else check_case<uint8_t>(c, rng, nullptr, range, limit, &used);
            ASSERT_FALSE(HasFatalFailure()) << "bias limit " << limit << ", multipliers " << range.lo << ".." << range.hi
                                            << ", " << channels << (depthwise ? " depthwise" : " GEMM");
            ++seen[used];
          }
        }
  }
  hwy::SetSupportedTargetsForTest(0);
  EXPECT_GT(seen[0], 0);
  EXPECT_GT(seen[1], 0);
}
}  // namespace edgekit
