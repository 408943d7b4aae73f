// com.edgekit:QMul: the vector path against the scalar reference (qmul_ref) on every SIMD
// target, over the broadcasts models produce, odd lengths and saturating scales; and the
// integer result against DequantizeLinear -> float Mul -> QuantizeLinear within one step.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "error_of.h"
#include "hwy/targets.h"
#include "kernels/op.h"
#include "kernels/quant_ref.h"
#include "kernels/util.h"
#include "op_test_util.h"

namespace edgekit {

namespace {

template <class T>
constexpr bool kSigned = std::is_signed_v<T>;

template <class T>
Tensor random_q(Shape shape, std::mt19937& rng) {
  Tensor t(dtype_of<T>, shape);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<T>()[i] = T(int(rng() % 256) + (kSigned<T> ? -128 : 0));
  return t;
}

struct Scales {
  float a, b, y;
};

template <class TA, class TB, class TY>
struct Case {
  Tensor a, b;
  TA a_zp;
  TB b_zp;
  TY y_zp;
  Scales s;

  std::vector<Tensor> inputs() const {
    return {a, Tensor::scalar(s.a), Tensor::scalar(a_zp), b, Tensor::scalar(s.b), Tensor::scalar(b_zp),
            Tensor::scalar(s.y), Tensor::scalar(y_zp)};
  }
  Node node() const {
    Node n = test::make_node("QMul", 8);
    n.domain = kEdgekitDomain;
    return n;
  }
  QMulParams params() const {
    QMulParams p;
    p.a_zp = a_zp, p.b_zp = b_zp, p.y_zp = y_zp;
    p.multiplier = quantize_multiplier(double(s.a) * double(s.b) / double(s.y));
    p.act = quant_range(dtype_of<TY>);
    return p;
  }
  Tensor reference(const Shape& ys) const {
    Tensor y(dtype_of<TY>, ys);
    qmul_ref(params(), a.data<TA>(), a.shape(), b.data<TB>(), b.shape(), y.data<TY>(), ys);
    return y;
  }
};

template <class T>
Case<T, T, T> make_case(uint32_t seed, const Shape& as, const Shape& bs, Scales s) {
  std::mt19937 rng(seed);
  Case<T, T, T> c{random_q<T>(as, rng), random_q<T>(bs, rng), T(kSigned<T> ? 5 : 131), T(kSigned<T> ? -9 : 118),
                  T(kSigned<T> ? -2 : 126), s};
  return c;
}

// The op (vector path) equals the reference element for element; returns how many outputs
// were not clamped, so callers can check the arithmetic was exercised.
template <class C>
int64_t expect_matches_reference(const C& c, const std::string& what) {
  const Tensor got = run_node(c.node(), c.inputs()).at(0);
  const Tensor want = c.reference(got.shape());
  EXPECT_EQ(got.dtype(), want.dtype()) << what;
  int64_t inside = 0;
  for (int64_t i = 0; i < got.numel(); ++i) {
    const int g = int(static_cast<const uint8_t*>(got.raw())[i]), w = int(static_cast<const uint8_t*>(want.raw())[i]);
    EXPECT_EQ(g, w) << what << ", element " << i << " of " << shape_str(got.shape());
    if (g != w) break;
    const int32_t v = got.dtype() == DType::i8 ? int32_t(got.data<int8_t>()[i]) : int32_t(got.data<uint8_t>()[i]);
    const QuantRange r = quant_range(got.dtype());
    inside += v != r.lo && v != r.hi;
  }
  return inside;
}

// The broadcasts of real models (NHWC and NCHW squeeze-excitation, SiLU, scalars) and a few
// more, at lengths that leave tails after every vector width.
const std::vector<std::pair<Shape, Shape>>& broadcast_shapes_to_test() {
  static const std::vector<std::pair<Shape, Shape>> shapes = {
      {{1, 7, 5, 3}, {1, 7, 5, 3}},  {{2, 3, 5, 17}, {2, 1, 1, 17}}, {{2, 1, 1, 33}, {2, 3, 3, 33}},
      {{1, 4, 4, 1}, {1, 1, 1, 1}},  {{2, 19, 3, 3}, {2, 19, 1, 1}}, {{2, 5, 1, 1}, {2, 5, 7, 9}},
      {{3, 4, 5, 6}, {6}},           {{}, {3, 37}},                  {{41}, {}},
      {{2, 1, 6, 1}, {1, 5, 1, 7}},  {{1, 3, 3, 576}, {1, 1, 1, 576}},
      // Scales of channels dividing a vector (one stream, the scale repeated), with tails.
      {{1, 5, 7, 16}, {1, 1, 1, 16}}, {{1, 3, 3, 8}, {1, 1, 1, 8}},   {{1, 9, 1, 4}, {1, 1, 1, 4}},
      {{1, 7, 5, 2}, {1, 1, 1, 2}},   {{1, 1, 3, 16}, {1, 1, 1, 16}}, {{1, 1, 1, 16}, {1, 6, 7, 16}},
      {{1, 1, 1, 8}, {1, 3, 5, 8}}};
  return shapes;
}

template <class T>
void check_every_target(uint32_t seed) {
  const Scales usual{0.05f, 1.f / 255, 0.04f}, big{0.3f, 0.2f, 0.01f};  // big: most outputs saturate
  for (int64_t target : hwy::SupportedAndGeneratedTargets()) {
    hwy::SetSupportedTargetsForTest(target);
    SCOPED_TRACE(hwy::TargetName(target));
    for (int64_t n = 0; n <= 70; ++n) {  // same shape: one row, every tail length
      auto c = make_case<T>(seed + uint32_t(n), {n}, {n}, {0.02f, 0.03f, 0.01f});
      expect_matches_reference(c, "length " + std::to_string(n));
    }
    int64_t inside = 0, total = 0;
    for (const auto& [as, bs] : broadcast_shapes_to_test()) {
      const std::string what = shape_str(as) + " * " + shape_str(bs);
      auto c = make_case<T>(seed++, as, bs, usual);
      inside += expect_matches_reference(c, what);
      total += std::max(c.a.numel(), c.b.numel());
      expect_matches_reference(make_case<T>(seed++, as, bs, big), what + " (saturating)");
    }
    EXPECT_GT(inside, total / 2);  // the clamp did not hide the arithmetic
    if (::testing::Test::HasFailure()) break;
  }
  hwy::SetSupportedTargetsForTest(0);
}

}  // namespace

TEST(QMul, VectorPathMatchesReferenceOnEveryTargetInt8) { check_every_target<int8_t>(1); }
TEST(QMul, VectorPathMatchesReferenceOnEveryTargetUint8) { check_every_target<uint8_t>(1000); }

TEST(QMul, LargeTensorsSplitOverThreadsMatchOneThread) {
  // Same shapes (one row, cut), a [N,H,W,C] * [N,1,1,C] gate and an NCHW [N,C,1,1] one (rows).
  for (const auto& [as, bs] : std::vector<std::pair<Shape, Shape>>{{{1, 300001}, {1, 300001}},
                                                                   {{2, 56, 56, 24}, {2, 1, 1, 24}},
                                                                   {{1, 96, 60, 60}, {1, 96, 1, 1}}}) {
    auto c = make_case<int8_t>(7, as, bs, {0.02f, 0.03f, 0.01f});
    const Tensor one = run_node(c.node(), c.inputs()).at(0), two = test::run_on_threads(c.node(), c.inputs(), 2);
    ASSERT_EQ(one.shape(), two.shape());
    EXPECT_EQ(0, std::memcmp(one.raw(), two.raw(), size_t(one.numel()))) << shape_str(as) << " * " << shape_str(bs);
  }
}

TEST(QMul, SaturatesAtBothEndsLikeTheReference) {
  // Large products of both signs: outputs pinned at -128 and 127 (uint8: 0 and 255).
  auto c = make_case<int8_t>(7, {1, 9, 9, 21}, {1, 1, 1, 21}, {0.5f, 0.5f, 0.05f});
  const Tensor y = run_node(c.node(), c.inputs()).at(0);
  int lo = 0, hi = 0;
  for (int64_t i = 0; i < y.numel(); ++i) lo += y.data<int8_t>()[i] == -128, hi += y.data<int8_t>()[i] == 127;
  EXPECT_GT(lo, 0);
  EXPECT_GT(hi, 0);
  expect_matches_reference(c, "saturating int8");
  auto u = make_case<uint8_t>(8, {1, 9, 9, 21}, {1, 1, 1, 21}, {0.5f, 0.5f, 0.05f});
  expect_matches_reference(u, "saturating uint8");
}

TEST(QMul, MixedDtypesRunTheReference) {
  std::mt19937 rng(3);
  Case<int8_t, uint8_t, uint8_t> c{random_q<int8_t>({2, 3, 4}, rng), random_q<uint8_t>({3, 1}, rng), 4, 120, 128,
                                   {0.02f, 0.01f, 0.01f}};
  expect_matches_reference(c, "i8 * u8 -> u8");
}

TEST(QMul, WithinOneStepOfFloatMulBetweenDequantizeAndQuantize) {
  for (const auto& [as, bs] : broadcast_shapes_to_test()) {
    for (const Scales s : {Scales{0.05f, 1.f / 255, 0.04f}, Scales{0.013f, 0.021f, 0.0007f}, Scales{0.3f, 0.2f, 0.5f}}) {
      auto c = make_case<int8_t>(11, as, bs, s);
      const Tensor y = run_node(c.node(), c.inputs()).at(0);
      const QuantRange r = quant_range(DType::i8);
      int64_t exact = 0;
      for_each_broadcast_pair(as, bs, y.shape(), [&](int64_t i, int64_t oa, int64_t ob) {
        const float fa = float(c.a.data<int8_t>()[oa] - c.a_zp) * s.a;
        const float fb = float(c.b.data<int8_t>()[ob] - c.b_zp) * s.b;
        const int32_t want = quantize_value(fa * fb, s.y, c.y_zp, r);
        const int32_t got = y.data<int8_t>()[i];
        EXPECT_LE(std::abs(got - want), 1) << shape_str(as) << " * " << shape_str(bs) << " element " << i;
        exact += got == want;
      });
      EXPECT_GE(double(exact), 0.9 * double(y.numel())) << shape_str(as) << " * " << shape_str(bs);
    }
  }
}

TEST(QMul, FusedActivationClampsInTheQuantizedDomain) {
  auto c = make_case<int8_t>(5, {1, 4, 4, 9}, {1, 1, 1, 9}, {0.05f, 0.05f, 0.01f});
  Node n = c.node();
  n.attrs["activation_min"] = 0.f;
  const Tensor y = run_node(n, c.inputs()).at(0);
  for (int64_t i = 0; i < y.numel(); ++i) EXPECT_GE(int(y.data<int8_t>()[i]), int(c.y_zp)) << i;
}

TEST(QMul, BadScalesAndShapesAreNamed) {
  auto c = make_case<int8_t>(5, {2, 3}, {2, 3}, {10.f, 10.f, 1e-3f});
  EXPECT_NE(test::error_of([&] { run_node(c.node(), c.inputs()); }).find("output scale 0.001 is too small"),
            std::string::npos);
  auto d = make_case<int8_t>(5, {2, 3}, {4}, {0.1f, 0.1f, 0.1f});
  EXPECT_NE(test::error_of([&] { run_node(d.node(), d.inputs()); }).find("QMul"), std::string::npos);
}

}  // namespace edgekit
