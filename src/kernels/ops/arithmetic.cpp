// Add, Sub, Mul, Div, Mod: numpy-broadcast binary arithmetic (ONNX opsets 7..18).
// Integers wrap on overflow; an integer zero divisor is an error rather than a trap.
#include "kernels/elementwise.h"

namespace edgekit {
namespace {

struct AddFn : StatelessFn {
  using StatelessFn::StatelessFn;
  static constexpr DTypeSet kTypes = kNumericTypes;
  static constexpr bool kBoolOut = false;
  static constexpr BinaryF32Op kF32Op = BinaryF32Op::add;
  template <class C> C operator()(C a, C b) const { return wrapping_add(a, b); }
};

struct SubFn : StatelessFn {
  using StatelessFn::StatelessFn;
  static constexpr DTypeSet kTypes = kNumericTypes;
  static constexpr bool kBoolOut = false;
  static constexpr BinaryF32Op kF32Op = BinaryF32Op::sub;
  template <class C> C operator()(C a, C b) const { return wrapping_sub(a, b); }
};

struct MulFn : StatelessFn {
  using StatelessFn::StatelessFn;
  static constexpr DTypeSet kTypes = kNumericTypes;
  static constexpr bool kBoolOut = false;
  static constexpr BinaryF32Op kF32Op = BinaryF32Op::mul;
  template <class C> C operator()(C a, C b) const { return wrapping_mul(a, b); }
};

// Integer division truncates toward zero (C++, ONNX Runtime); MIN / -1 wraps to MIN.
struct DivFn : StatelessFn {
  using StatelessFn::StatelessFn;
  static constexpr DTypeSet kTypes = kNumericTypes;
  static constexpr bool kBoolOut = false;
  static constexpr bool kIntDivides = true;
  static constexpr BinaryF32Op kF32Op = BinaryF32Op::div;
  template <class C> C operator()(C a, C b) const {
    if constexpr (std::is_integral_v<C> && std::is_signed_v<C>)
      if (b == C(-1)) return wrapping_sub(C(0), a);
    return C(a / b);
  }
};

// fmod=0: integer remainder with the divisor's sign (Python's %); fmod=1: C fmod, the
// dividend's sign. Floats require fmod=1, as the spec says.
struct ModFn {
  static constexpr DTypeSet kTypes = kNumericTypes;
  static constexpr bool kBoolOut = false;
  static constexpr bool kIntDivides = true;
  bool fmod;
  explicit ModFn(const Node& node) : fmod(node.attr_int("fmod", 0) != 0) {
    int64_t f = node.attr_int("fmod", 0);
    EK_CHECK(f == 0 || f == 1, node.where(), ": attribute fmod must be 0 or 1, got ", f);
  }
  void check(const Node& node, DType t) const {
    EK_CHECK(fmod || !is_float(t), node.where(), ": floating-point inputs (", dtype_name(t),
             ") require attribute fmod=1");
  }
  template <class C> C operator()(C a, C b) const {
    if constexpr (std::is_floating_point_v<C>) {
      return std::fmod(a, b);
    } else {
      if constexpr (std::is_signed_v<C>)
        if (b == C(-1)) return C(0);  // avoids the MIN % -1 trap
      C r = C(a % b);
      if constexpr (std::is_signed_v<C>)
        if (!fmod && r != 0 && ((r < 0) != (b < 0))) r = C(r + b);
      return r;
    }
  }
};

using Add = BinaryKernel<AddFn>;
using Sub = BinaryKernel<SubFn>;
using Mul = BinaryKernel<MulFn>;
using Div = BinaryKernel<DivFn>;
using Mod = BinaryKernel<ModFn>;

}  // namespace
EK_REGISTER_OP("Add", Add);
EK_REGISTER_OP("Sub", Sub);
EK_REGISTER_OP("Mul", Mul);
EK_REGISTER_OP("Div", Div);
EK_REGISTER_OP("Mod", Mod);
}  // namespace edgekit
