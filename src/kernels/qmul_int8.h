// The vector path of com.edgekit:QMul (simd/qmul_int8.cpp): y = a * b on 8-bit values of one
// dtype (int8 or uint8 throughout), numpy broadcasting through a BroadcastPlan
// (kernels/elementwise.h), so the shapes of real models run as rows both operands read
// contiguously or with one side held: same shapes (one row), a per-channel [N,1,1,C] scale
// against [N,H,W,C] (rows of C) or [N,C,1,1] against NCHW (rows of H*W, b held), a scalar.
// Each row goes a vector of int32 lanes at a time (the 8-bit inputs widened, centred,
// multiplied, requantized by simd/requantize-inl.h), then 128-bit vectors, then qmul_value
// one element at a time: bit for bit qmul_ref (kernels/quant_ref.h) on every target.
#pragma once
#include <cstdint>

#include "kernels/elementwise.h"
#include "kernels/quant_ref.h"

namespace edgekit {

void qmul_int8(const QMulParams& p, const BroadcastPlan& plan, const int8_t* a, const int8_t* b, int8_t* y);
void qmul_uint8(const QMulParams& p, const BroadcastPlan& plan, const uint8_t* a, const uint8_t* b, uint8_t* y);

}  // namespace edgekit
