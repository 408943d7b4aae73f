// Activations with float attributes, as one table: LeakyRelu, Elu, Selu, Celu,
// ThresholdedRelu, HardSigmoid, HardSwish, plus Gelu (approximate = none | tanh; also
// registered as com.microsoft:Gelu, which is the exact form). All are float-only; f16 is
// computed in float.
#include "kernels/elementwise.h"
#include "kernels/simd/vector_math.h"

namespace edgekit {
namespace {

// Names and defaults of up to two float attributes of an activation.
struct ParamSpec {
  const char* name0 = nullptr;
  float default0 = 0.f;
  const char* name1 = nullptr;
  float default1 = 0.f;
};

template <auto F, const ParamSpec& Spec>
struct ParamFn {
  static constexpr DTypeSet kTypes = kFloatTypes;
  static constexpr bool kBoolOut = false;
  float p0, p1;
  explicit ParamFn(const Node& node)
      : p0(Spec.name0 ? node.attr_float(Spec.name0, Spec.default0) : 0.f),
        p1(Spec.name1 ? node.attr_float(Spec.name1, Spec.default1) : 0.f) {}
  template <class C> C operator()(C x) const { return C(F(x, C(p0), C(p1))); }
};

constexpr ParamSpec kLeakyRelu{"alpha", 0.01f};
constexpr ParamSpec kElu{"alpha", 1.f};
constexpr ParamSpec kSelu{"alpha", 1.67326319217681884765625f, "gamma", 1.05070102214813232421875f};
constexpr ParamSpec kCelu{"alpha", 1.f};
constexpr ParamSpec kThresholdedRelu{"alpha", 1.f};
constexpr ParamSpec kHardSigmoid{"alpha", 0.2f, "beta", 0.5f};
constexpr ParamSpec kNone{};

template <class C> C clamp01(C v) { return std::min(C(1), std::max(C(0), v)); }

using LeakyRelu = UnaryKernel<ParamFn<[](auto x, auto alpha, auto) { return x < 0 ? alpha * x : x; }, kLeakyRelu>>;
using Elu = UnaryKernel<ParamFn<[](auto x, auto alpha, auto) { return x < 0 ? alpha * std::expm1(x) : x; }, kElu>>;
using Selu = UnaryKernel<ParamFn<[](auto x, auto alpha, auto gamma) {
  return (x > 0) ? gamma * x : gamma * (alpha * std::exp(x) - alpha);
}, kSelu>>;
using Celu = UnaryKernel<ParamFn<[](auto x, auto alpha, auto) {
  using C = decltype(x);
  return std::max(C(0), x) + std::min(C(0), alpha * std::expm1(x / alpha));
}, kCelu>>;
using ThresholdedRelu =
    UnaryKernel<ParamFn<[](auto x, auto alpha, auto) { return (x > alpha) ? x : decltype(x)(0); }, kThresholdedRelu>>;
using HardSigmoid =
    UnaryKernel<ParamFn<[](auto x, auto alpha, auto beta) { return clamp01(alpha * x + beta); }, kHardSigmoid>>;
using HardSwish = UnaryKernel<ParamFn<[](auto x, auto, auto) {
  using C = decltype(x);
  return x * clamp01(x / C(6) + C(0.5));
}, kNone>>;

// Gelu: 0.5 x (1 + erf(x / sqrt 2)), or with approximate="tanh"
// 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). Both are evaluated in forms without the
// cancellation of 1 + (-1 + tiny) for negative x: 0.5 x erfc(-x / sqrt 2) and
// x / (1 + exp(-2 z)) (as 1 + tanh z = 2 / (1 + exp(-2z))).
struct GeluFn {
  static constexpr DTypeSet kTypes = kFloatTypes;
  static constexpr bool kBoolOut = false;
  bool tanh_approx;
  explicit GeluFn(const Node& node) {
    std::string a = node.attr_string("approximate", "none");
    EK_CHECK(a == "none" || a == "tanh", node.where(), ": attribute approximate must be 'none' or 'tanh', got '",
             a, "'");
    tanh_approx = a == "tanh";
  }
  template <class C> C operator()(C x) const {
    if (tanh_approx) {
      const C z = C(0.7978845608028654) * (x + C(0.044715) * x * x * x);
      return x / (C(1) + std::exp(C(-2) * z));
    }
    return C(0.5) * x * std::erfc(x * C(-0.7071067811865476));
  }
  bool f32_array(const float* x, float* y, int64_t n) const {
    if (tanh_approx) return false;
    gelu_f32_array(x, y, n);
    return true;
  }
};
using Gelu = UnaryKernel<GeluFn>;

}  // namespace
EK_REGISTER_OP("LeakyRelu", LeakyRelu);
EK_REGISTER_OP("Elu", Elu);
EK_REGISTER_OP("Selu", Selu);
EK_REGISTER_OP("Celu", Celu);
EK_REGISTER_OP("ThresholdedRelu", ThresholdedRelu);
EK_REGISTER_OP("HardSigmoid", HardSigmoid);
EK_REGISTER_OP("HardSwish", HardSwish);
EK_REGISTER_OP("Gelu", Gelu);
EK_REGISTER_OP_DOMAIN("com.microsoft", "Gelu", Gelu);
}  // namespace edgekit
