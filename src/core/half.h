// IEEE 754 binary16 storage type with conversions to and from float.
#pragma once
#include <cstdint>
#include <cstring>

namespace edgekit {

struct f16_t {
  uint16_t bits = 0;
};

inline float half_to_float(f16_t h) {
  uint32_t sign = uint32_t(h.bits & 0x8000) << 16;
  uint32_t exp = (h.bits >> 10) & 0x1f;
  uint32_t mant = h.bits & 0x3ff;
  uint32_t out;
  if (exp == 0) {
    if (mant == 0) {
      out = sign;
    } else {  // subnormal: renormalise
      exp = 127 - 15 + 1;
      while (!(mant & 0x400)) {
        mant <<= 1;
        --exp;
      }
      out = sign | (exp << 23) | ((mant & 0x3ff) << 13);
    }
  } else if (exp == 31) {
    out = sign | 0x7f800000u | (mant << 13);
  } else {
    out = sign | ((exp - 15 + 127) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &out, 4);
  return f;
}

// Round to nearest even, as hardware conversions do.
inline f16_t float_to_half(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000;
  uint32_t absx = x & 0x7fffffff;
  f16_t h;
  if (absx >= 0x7f800000u) {  // Inf or NaN
    h.bits = uint16_t(sign | 0x7c00 | (absx > 0x7f800000u ? 0x200 : 0));
    return h;
  }
  if (absx >= 0x477ff000u) {  // overflows to Inf after rounding
    h.bits = uint16_t(sign | 0x7c00);
    return h;
  }
  if (absx < 0x38800000u) {  // subnormal or zero in half
    float a;
    std::memcpy(&a, &absx, 4);
    // scale so that the half subnormal LSB becomes 1.0, then round to nearest even
    float scaled = a * 16777216.0f;  // 2^24
    uint32_t m = uint32_t(scaled);
    float rem = scaled - float(m);
    if (rem > 0.5f || (rem == 0.5f && (m & 1))) ++m;
    h.bits = uint16_t(sign | m);
    return h;
  }
  uint32_t mant = absx & 0x7fffff;
  uint32_t exp = (absx >> 23) - 127 + 15;
  uint32_t base = (exp << 10) | (mant >> 13);
  uint32_t rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest == 0x1000 && (base & 1))) ++base;
  h.bits = uint16_t(sign | base);
  return h;
}

}  // namespace edgekit
