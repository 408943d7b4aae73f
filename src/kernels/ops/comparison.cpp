// Equal, Less, Greater, LessOrEqual, GreaterOrEqual: broadcast comparisons giving bool.
// Comparisons with NaN are false (Equal(NaN, NaN) too), as in IEEE and numpy.
#include "kernels/elementwise.h"

namespace edgekit {
namespace {

template <class Cmp, DTypeSet Types>
struct CompareFn : StatelessFn {
  using StatelessFn::StatelessFn;
  static constexpr DTypeSet kTypes = Types;
  static constexpr bool kBoolOut = true;
  template <class C> bool operator()(C a, C b) const { return Cmp{}(a, b); }
};

using Equal = BinaryKernel<CompareFn<std::equal_to<>, kAllTypes>>;
using Less = BinaryKernel<CompareFn<std::less<>, kNumericTypes>>;
using Greater = BinaryKernel<CompareFn<std::greater<>, kNumericTypes>>;
using LessOrEqual = BinaryKernel<CompareFn<std::less_equal<>, kNumericTypes>>;
using GreaterOrEqual = BinaryKernel<CompareFn<std::greater_equal<>, kNumericTypes>>;

}  // namespace
EK_REGISTER_OP("Equal", Equal);
EK_REGISTER_OP("Less", Less);
EK_REGISTER_OP("Greater", Greater);
EK_REGISTER_OP("LessOrEqual", LessOrEqual);
EK_REGISTER_OP("GreaterOrEqual", GreaterOrEqual);
}  // namespace edgekit
