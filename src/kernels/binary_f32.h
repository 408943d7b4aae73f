// The vector path of float Add, Sub, Mul and Div (ops/arithmetic.cpp): y = a op b over a
// BroadcastPlan (kernels/elementwise.h), each row a vector at a time for the CPU's best ISA
// (simd/binary_f32.cpp), one operand read contiguously or held for the row (a per-channel
// scale against NHWC rows, a scalar). Plain IEEE operations one element each, so results are
// bit for bit those of the scalar loop on every target.
#pragma once
#include <cstdint>

namespace edgekit {

struct BroadcastPlan;  // kernels/elementwise.h

enum class BinaryF32Op : uint8_t { add, sub, mul, div };

void binary_f32(BinaryF32Op op, const BroadcastPlan& plan, const float* a, const float* b, float* y);

}  // namespace edgekit
