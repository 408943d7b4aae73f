#include "core/dtype.h"

namespace edgekit {

namespace {
struct DTypeInfo {
  DType type;
  const char* name;
  size_t size;
};
constexpr DTypeInfo kDTypes[] = {
    {DType::undefined, "undefined", 0}, {DType::f32, "f32", 4}, {DType::f64, "f64", 8},
    {DType::f16, "f16", 2},             {DType::i8, "i8", 1},   {DType::u8, "u8", 1},
    {DType::i16, "i16", 2},             {DType::u16, "u16", 2}, {DType::i32, "i32", 4},
    {DType::u32, "u32", 4},             {DType::i64, "i64", 8}, {DType::u64, "u64", 8},
    {DType::boolean, "bool", 1},
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

}  // namespace edgekit
