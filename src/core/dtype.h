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

// fn(tag) out of line and marked cold, so GCC compiles it (and what it inlines) for size and
// keeps it off the hot path. The dtype visitors call every dtype but f32 through it: the
// kernels of real networks run f32 (quantized kernels name their int8/uint8 hot set, see
// kernels/elementwise.h's visit_dtypes), and the other dtypes' -O3 copies of each kernel were
// most of the reference ops' share of libedgekit_rt.so.
template <class Fn, class T>
[[gnu::cold, gnu::noinline]] decltype(auto) cold_call(Fn& fn, T tag) {
  return fn(tag);
}

namespace detail {
// visit_dtype and visit_numeric: kNumeric leaves out f16 and bool.
template <bool kNumeric, class Fn>
decltype(auto) visit_dtype_of(DType t, Fn&& fn) {
  switch (t) {
    case DType::f32: return fn(float{});
    case DType::f64: return cold_call(fn, double{});
    case DType::f16:
      if constexpr (!kNumeric) return cold_call(fn, f16_t{});
      break;
    case DType::i8: return cold_call(fn, int8_t{});
    case DType::u8: return cold_call(fn, uint8_t{});
    case DType::i16: return cold_call(fn, int16_t{});
    case DType::u16: return cold_call(fn, uint16_t{});
    case DType::i32: return cold_call(fn, int32_t{});
    case DType::u32: return cold_call(fn, uint32_t{});
    case DType::i64: return cold_call(fn, int64_t{});
    case DType::u64: return cold_call(fn, uint64_t{});
    case DType::boolean:
      if constexpr (!kNumeric) return cold_call(fn, bool{});
      break;
    default: break;
  }
  if (kNumeric) fail("dtype ", dtype_name(t), " is not supported by this arithmetic kernel");
  fail("unsupported dtype ", dtype_name(t));
}
}  // namespace detail

// Calls fn(T{}) with the C++ type stored for `t` (bool is stored as one byte); dtypes other
// than f32 through cold_call. Used to write one templated kernel for several dtypes:
//   visit_dtype(x.dtype(), [&](auto tag) { using T = decltype(tag); ... });
template <class Fn>
decltype(auto) visit_dtype(DType t, Fn&& fn) {
  return detail::visit_dtype_of<false>(t, fn);
}

// Same, restricted to the numeric types arithmetic kernels support (no f16, no bool).
template <class Fn>
decltype(auto) visit_numeric(DType t, Fn&& fn) {
  return detail::visit_dtype_of<true>(t, fn);
}

inline bool is_float(DType t) { return t == DType::f32 || t == DType::f64 || t == DType::f16; }

}  // namespace edgekit
