// Unary elementwise ops as one table: each line is the per-element function and the dtypes
// it accepts; UnaryKernel (kernels/elementwise.h) supplies infer, dtype checks and the loop.
// Floating-point functions also run on f16 (computed in float, rounded back).
#include "kernels/elementwise.h"
#include "kernels/fast_math.h"

namespace edgekit {
namespace {

template <auto F, DTypeSet Types = kFloatTypes, bool BoolOut = false>
struct MapFn : StatelessFn {
  using StatelessFn::StatelessFn;
  static constexpr DTypeSet kTypes = Types;
  static constexpr bool kBoolOut = BoolOut;
  template <class C> auto operator()(C x) const { return F(x); }
};

// x > 0 ? x + log1p(e^-x) : log1p(e^x): log(1 + e^x) without overflow.
template <class C> C softplus(C x) { return x > C(0) ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x)); }

constexpr DTypeSet kSigned = kFloatTypes | kSignedIntTypes;

using Abs = UnaryKernel<MapFn<[](auto x) {
  using C = decltype(x);
  if constexpr (std::is_unsigned_v<C>) return x;
  else return x < C(0) ? wrapping_sub(C(0), x) : x;  // wraps MIN like numpy
}, kNumericTypes>>;
using Neg = UnaryKernel<MapFn<[](auto x) { return wrapping_sub(decltype(x)(0), x); }, kSigned>>;
using Sign = UnaryKernel<MapFn<[](auto x) {
  using C = decltype(x);
  if (x != x) return x;  // NaN stays NaN
  return C(C(C(0) < x) - C(x < C(0)));
}, kNumericTypes>>;
using Relu = UnaryKernel<MapFn<[](auto x) { return x < decltype(x)(0) ? decltype(x)(0) : x; }, kSigned>>;

using Sqrt = UnaryKernel<MapFn<[](auto x) { return std::sqrt(x); }>>;
using Exp = UnaryKernel<MapFn<[](auto x) { return std::exp(x); }>>;
using Log = UnaryKernel<MapFn<[](auto x) { return std::log(x); }>>;
using Reciprocal = UnaryKernel<MapFn<[](auto x) { return decltype(x)(1) / x; }>>;
using Floor = UnaryKernel<MapFn<[](auto x) { return std::floor(x); }>>;
using Ceil = UnaryKernel<MapFn<[](auto x) { return std::ceil(x); }>>;
using Round = UnaryKernel<MapFn<[](auto x) { return std::nearbyint(x); }>>;  // default mode: half to even
using Sin = UnaryKernel<MapFn<[](auto x) { return std::sin(x); }>>;
using Cos = UnaryKernel<MapFn<[](auto x) { return std::cos(x); }>>;
using Tan = UnaryKernel<MapFn<[](auto x) { return std::tan(x); }>>;
using Asin = UnaryKernel<MapFn<[](auto x) { return std::asin(x); }>>;
using Acos = UnaryKernel<MapFn<[](auto x) { return std::acos(x); }>>;
using Atan = UnaryKernel<MapFn<[](auto x) { return std::atan(x); }>>;
using Sinh = UnaryKernel<MapFn<[](auto x) { return std::sinh(x); }>>;
using Cosh = UnaryKernel<MapFn<[](auto x) { return std::cosh(x); }>>;
using Asinh = UnaryKernel<MapFn<[](auto x) { return std::asinh(x); }>>;
using Acosh = UnaryKernel<MapFn<[](auto x) { return std::acosh(x); }>>;
using Atanh = UnaryKernel<MapFn<[](auto x) { return std::atanh(x); }>>;
using Erf = UnaryKernel<MapFn<[](auto x) { return std::erf(x); }>>;
using Tanh = UnaryKernel<MapFn<[](auto x) { return std::tanh(x); }>>;
using SigmoidReference = UnaryKernel<MapFn<[](auto x) {
  using C = decltype(x);
  if constexpr (std::is_same_v<C, float>) return sigmoid_f32(x);
  if (x >= C(0)) return C(1) / (C(1) + std::exp(-x));
  const C e = std::exp(x);  // no overflow for very negative x
  return e / (C(1) + e);
}>>;
// f32 goes through the vectorised array function (fast_math.h); f64 and f16 through the table.
class Sigmoid final : public OpKernel {
 public:
  explicit Sigmoid(const Node& node) : OpKernel(node), table_(node) {}
  void infer(InferContext& ctx) const override { table_.infer(ctx); }
  void run(RunContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    if (x.dtype() != DType::f32) return table_.run(ctx);
    sigmoid_f32_array(x.data<float>(), ctx.output(0).data<float>(), x.numel());
  }

 private:
  SigmoidReference table_;
};

using Softplus = UnaryKernel<MapFn<[](auto x) { return softplus(x); }>>;
using Softsign = UnaryKernel<MapFn<[](auto x) { return x / (decltype(x)(1) + std::fabs(x)); }>>;
using Mish = UnaryKernel<MapFn<[](auto x) { return x * std::tanh(softplus(x)); }>>;

using Not = UnaryKernel<MapFn<[](bool x) { return !x; }, kBoolType>>;
using IsNaN = UnaryKernel<MapFn<[](auto x) { return x != x; }, kFloatTypes, true>>;

// IsInf: detect_positive / detect_negative (default 1) choose which infinities count.
struct IsInfFn {
  static constexpr DTypeSet kTypes = kFloatTypes;
  static constexpr bool kBoolOut = true;
  bool pos, neg;
  explicit IsInfFn(const Node& node)
      : pos(node.attr_int("detect_positive", 1) != 0), neg(node.attr_int("detect_negative", 1) != 0) {}
  template <class C> bool operator()(C x) const { return std::isinf(x) && (x > C(0) ? pos : neg); }
};
using IsInf = UnaryKernel<IsInfFn>;

}  // namespace
EK_REGISTER_OP("Abs", Abs);
EK_REGISTER_OP("Neg", Neg);
EK_REGISTER_OP("Sign", Sign);
EK_REGISTER_OP("Relu", Relu);
EK_REGISTER_OP("Sqrt", Sqrt);
EK_REGISTER_OP("Exp", Exp);
EK_REGISTER_OP("Log", Log);
EK_REGISTER_OP("Reciprocal", Reciprocal);
EK_REGISTER_OP("Floor", Floor);
EK_REGISTER_OP("Ceil", Ceil);
EK_REGISTER_OP("Round", Round);
EK_REGISTER_OP("Sin", Sin);
EK_REGISTER_OP("Cos", Cos);
EK_REGISTER_OP("Tan", Tan);
EK_REGISTER_OP("Asin", Asin);
EK_REGISTER_OP("Acos", Acos);
EK_REGISTER_OP("Atan", Atan);
EK_REGISTER_OP("Sinh", Sinh);
EK_REGISTER_OP("Cosh", Cosh);
EK_REGISTER_OP("Asinh", Asinh);
EK_REGISTER_OP("Acosh", Acosh);
EK_REGISTER_OP("Atanh", Atanh);
EK_REGISTER_OP("Erf", Erf);
EK_REGISTER_OP("Tanh", Tanh);
EK_REGISTER_OP("Sigmoid", Sigmoid);
EK_REGISTER_OP("Softplus", Softplus);
EK_REGISTER_OP("Softsign", Softsign);
EK_REGISTER_OP("Mish", Mish);
EK_REGISTER_OP("Not", Not);
EK_REGISTER_OP("IsNaN", IsNaN);
EK_REGISTER_OP("IsInf", IsInf);
}  // namespace edgekit
