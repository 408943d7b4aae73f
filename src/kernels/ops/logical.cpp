// And, Or, Xor on bool tensors with broadcasting, and BitShift on unsigned integers.
#include "kernels/elementwise.h"

namespace edgekit {
namespace {

template <class Logic>
struct LogicFn : StatelessFn {
  using StatelessFn::StatelessFn;
  static constexpr DTypeSet kTypes = kBoolType;
  static constexpr bool kBoolOut = true;
  bool operator()(bool a, bool b) const { return Logic{}(a, b); }
};

// direction LEFT or RIGHT (required). Shifting by the bit width or more gives 0, as numpy
// does, instead of C++'s undefined behaviour.
struct BitShiftFn {
  static constexpr DTypeSet kTypes = kUnsignedIntTypes;
  static constexpr bool kBoolOut = false;
  bool left;
  explicit BitShiftFn(const Node& node) {
    std::string dir = node.attr_string("direction");
    EK_CHECK(dir == "LEFT" || dir == "RIGHT", node.where(), ": attribute direction must be LEFT or RIGHT, got '",
             dir, "'");
    left = dir == "LEFT";
  }
  void check(const Node&, DType) const {}
  template <class C> C operator()(C a, C b) const {
    if (b >= C(sizeof(C) * 8)) return C(0);
    return left ? C(a << b) : C(a >> b);
  }
};

using And = BinaryKernel<LogicFn<std::logical_and<>>>;
using Or = BinaryKernel<LogicFn<std::logical_or<>>>;
using Xor = BinaryKernel<LogicFn<std::not_equal_to<>>>;
using BitShift = BinaryKernel<BitShiftFn>;

}  // namespace
EK_REGISTER_OP("And", And);
EK_REGISTER_OP("Or", Or);
EK_REGISTER_OP("Xor", Xor);
EK_REGISTER_OP("BitShift", BitShift);
}  // namespace edgekit
