// The vector path of com.edgekit:QAdd on same-shape operands of one 8-bit dtype (residual
// connections; simd/qadd_int8.cpp): y[i] = qadd_value(a[i], b[i]) (kernels/quant_ref.h) a
// vector of int32 lanes at a time, the three fixed-point steps in registers
// (simd/requantize-inl.h), then 128-bit vectors, then one element at a time: the reference's
// bytes on every target.
#pragma once
#include <cstdint>

#include "kernels/quant_ref.h"

namespace edgekit {

void qadd_int8(const QAddParams& p, const int8_t* a, const int8_t* b, int8_t* y, int64_t n);
void qadd_uint8(const QAddParams& p, const uint8_t* a, const uint8_t* b, uint8_t* y, int64_t n);

}  // namespace edgekit
