#include "core/dtype.h"

namespace edgekit {

namespace {
struct DTypeInfo {
  DType type;
  const char* name;
  size_t size;
  int onnx_code;  // TensorProto.DataType
};
constexpr DTypeInfo kDTypes[] = {
    {DType::undefined, "undefined", 0, 0}, {DType::f32, "f32", 4, 1}, {DType::f64, "f64", 8, 11},
    {DType::f16, "f16", 2, 10},            {DType::i8, "i8", 1, 3},   {DType::u8, "u8", 1, 2},
    {DType::i16, "i16", 2, 5},             {DType::u16, "u16", 2, 4}, {DType::i32, "i32", 4, 6},
    {DType::u32, "u32", 4, 12},            {DType::i64, "i64", 8, 7}, {DType::u64, "u64", 8, 13},
    {DType::boolean, "bool", 1, 9},
};
constexpr bool table_in_enum_order() {
  for (size_t i = 0; i < std::size(kDTypes); ++i)
    if (size_t(kDTypes[i].type) != i) return false;
  return true;
}
static_assert(table_in_enum_order(), "kDTypes must list every DType in enum order");
static_assert(size_t(DType::boolean) + 1 == std::size(kDTypes), "kDTypes must cover every DType");
}  // namespace

size_t dtype_size(DType t) { return size_t(t) < std::size(kDTypes) ? kDTypes[size_t(t)].size : 0; }

const char* dtype_name(DType t) { return size_t(t) < std::size(kDTypes) ? kDTypes[size_t(t)].name : "invalid"; }

DType dtype_from_name(const std::string& name) {
  for (const auto& d : kDTypes)
    if (name == d.name) return d.type;
  fail("unknown dtype '", name, "'");
}

DType dtype_from_onnx_code(int64_t code) {
  for (const auto& d : kDTypes)
    if (code != 0 && d.onnx_code == code) return d.type;
  return DType::undefined;
}

int onnx_code_of(DType t) { return size_t(t) < std::size(kDTypes) ? kDTypes[size_t(t)].onnx_code : 0; }

std::string onnx_type_name(int64_t code) {
  static const char* names[] = {"undefined", "float", "uint8", "int8", "uint16", "int16", "int32", "int64", "string",
                                "bool", "float16", "double", "uint32", "uint64", "complex64", "complex128", "bfloat16"};
  return code >= 0 && code < int64_t(std::size(names)) ? names[code] : cat("type ", code);
}

}  // namespace edgekit
