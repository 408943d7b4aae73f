// Element types. The enum order is part of no file format; formats map to it explicitly.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>

#include "core/api.h"
#include "core/error.h"
#include "core/half.h"

namespace edgekit {

enum class DType : uint8_t { undefined, f32, f64, f16, i8, u8, i16, u16, i32, u32, i64, u64, boolean };

EDGEKIT_API size_t dtype_size(DType t);
EDGEKIT_API const char* dtype_name(DType t);  // "f32", "i64", "bool", ...
EDGEKIT_API DType dtype_from_name(const std::string& name);  // inverse of dtype_name; throws on unknown

// ONNX TensorProto.DataType codes: the interchange numbering of element types (ONNX files and
// attributes such as Cast's `to` use them). Unknown or unheld codes (string 8, bfloat16 16,
// complex) give DType::undefined; onnx_type_name names any code for error messages.
EDGEKIT_API DType dtype_from_onnx_code(int64_t code);
EDGEKIT_API int onnx_code_of(DType t);  // 0 for DType::undefined
EDGEKIT_API std::string onnx_type_name(int64_t code);  // "float", "string", "bfloat16", ... or "type 42"

template <class T> struct dtype_of_t;
template <> struct dtype_of_t<float> { static constexpr DType value = DType::f32; };
template <> struct dtype_of_t<double> { static constexpr DType value = DType::f64; };
template <> struct dtype_of_t<f16_t> { static constexpr DType value = DType::f16; };
template <> struct dtype_of_t<int8_t> { static constexpr DType value = DType::i8; };
template <> struct dtype_of_t<uint8_t> { static constexpr DType value = DType::u8; };
template <> struct dtype_of_t<int16_t> { static constexpr DType value = DType::i16; };
template <> struct dtype_of_t<uint16_t> { static constexpr DType value = DType::u16; };
template <> struct dtype_of_t<int32_t> { static constexpr DType value = DType::i32; };
template <> struct dtype_of_t<uint32_t> { static constexpr DType value = DType::u32; };
template <> struct dtype_of_t<int64_t> { static constexpr DType value = DType::i64; };
template <> struct dtype_of_t<uint64_t> { static constexpr DType value = DType::u64; };
template <> struct dtype_of_t<bool> { static constexpr DType value = DType::boolean; };
template <class T> inline constexpr DType dtype_of = dtype_of_t<T>::value;

// Calls fn(T{}) with the C++ type stored for `t` (bool is stored as one byte).
// Used to write one templated kernel for several dtypes:
//   visit_dtype(x.dtype(), [&](auto tag) { using T = decltype(tag); ... });
template <class Fn>
decltype(auto) visit_dtype(DType t, Fn&& fn) {
  switch (t) {
    case DType::f32: return fn(float{});
    case DType::f64: return fn(double{});
    case DType::f16: return fn(f16_t{});
    case DType::i8: return fn(int8_t{});
    case DType::u8: return fn(uint8_t{});
    case DType::i16: return fn(int16_t{});
    case DType::u16: return fn(uint16_t{});
    case DType::i32: return fn(int32_t{});
    case DType::u32: return fn(uint32_t{});
    case DType::i64: return fn(int64_t{});
    case DType::u64: return fn(uint64_t{});
    case DType::boolean: return fn(bool{});
    default: fail("unsupported dtype ", dtype_name(t));
  }
}

// Same, restricted to the numeric types arithmetic kernels support (no f16, no bool).
template <class Fn>
decltype(auto) visit_numeric(DType t, Fn&& fn) {
  switch (t) {
    case DType::f32: return fn(float{});
    case DType::f64: return fn(double{});
    case DType::i8: return fn(int8_t{});
    case DType::u8: return fn(uint8_t{});
    case DType::i16: return fn(int16_t{});
    case DType::u16: return fn(uint16_t{});
    case DType::i32: return fn(int32_t{});
    case DType::u32: return fn(uint32_t{});
    case DType::i64: return fn(int64_t{});
    case DType::u64: return fn(uint64_t{});
    default: fail("dtype ", dtype_name(t), " is not supported by this arithmetic kernel");
  }
}

inline bool is_float(DType t) { return t == DType::f32 || t == DType::f64 || t == DType::f16; }

}  // namespace edgekit
