#include "kernels/data_movement.h"

#include <cstring>

#include "kernels/util.h"

namespace edgekit {

namespace {
template <class U>
void strided_copy_typed(const U* src, int64_t offset, const std::vector<int64_t>& strides, const Shape& shape,
                        U* dst) {
  const size_t rank = shape.size();
  if (rank == 0) {
    dst[0] = src[offset];
    return;
  }
  const int64_t inner = shape[rank - 1], inner_stride = strides[rank - 1];
  int64_t rows = 1;
  for (size_t d = 0; d + 1 < rank; ++d) rows *= shape[d];
  if (inner == 0 || rows == 0) return;
  // Odometer over the outer dims; `base` tracks the source offset of the row's first element.
  std::vector<int64_t> idx(rank, 0);
  int64_t base = offset;
  for (int64_t r = 0; r < rows; ++r) {
    const U* s = src + base;
    if (inner_stride == 1) {
      std::memcpy(dst, s, size_t(inner) * sizeof(U));
    } else {
      for (int64_t i = 0; i < inner; ++i) dst[i] = s[i * inner_stride];
    }
    dst += inner;
    for (int d = int(rank) - 2; d >= 0; --d) {
      base += strides[size_t(d)];
      if (++idx[size_t(d)] < shape[size_t(d)]) break;
      base -= strides[size_t(d)] * shape[size_t(d)];
      idx[size_t(d)] = 0;
    }
  }
}
}  // namespace

void strided_copy(const Tensor& src, int64_t offset, const std::vector<int64_t>& strides, Tensor& dst) {
  EK_CHECK(src.dtype() == dst.dtype(), "strided_copy: dtype ", dtype_name(src.dtype()), " to ",
           dtype_name(dst.dtype()));
  EK_CHECK(strides.size() == dst.rank(), "strided_copy: ", strides.size(), " strides for rank ", dst.rank());
  visit_elem_size(dtype_size(src.dtype()), [&](auto tag) {
    using U = decltype(tag);
    strided_copy_typed(static_cast<const U*>(src.raw()), offset, strides, dst.shape(), static_cast<U*>(dst.raw()));
  });
}

size_t axis_index(int64_t axis, int64_t rank, const Node& node) {
  EK_CHECK(rank >= 1, node.where(), ": axis ", axis, " needs an input of rank >= 1, got a scalar");
  return size_t(normalize_axis(axis, rank, node));
}

int64_t checked_mul(int64_t a, int64_t b, const Node& node) {
  int64_t r;
  EK_CHECK(!__builtin_mul_overflow(a, b, &r), node.where(), ": size ", a, " x ", b, " overflows");
  return r;
}

Tensor widen_f16(const Tensor& x) {
  Tensor y(DType::f32, x.shape());
  const f16_t* src = x.data<f16_t>();
  float* dst = y.data<float>();
  for (int64_t i = 0, n = x.numel(); i < n; ++i) dst[i] = half_to_float(src[i]);
  return y;
}

void narrow_to_f16(const Tensor& src, Tensor& dst) {
  EK_CHECK(src.numel() == dst.numel(), "narrow_to_f16: ", shape_str(src.shape()), " to ", shape_str(dst.shape()));
  const float* s = src.data<float>();
  f16_t* d = dst.data<f16_t>();
  for (int64_t i = 0, n = src.numel(); i < n; ++i) d[i] = float_to_half(s[i]);
}

void check_numeric_or_f16(DType t, const Node& node) {
  EK_CHECK(t != DType::boolean, node.where(),
           ": unsupported input dtype ", dtype_name(t), " (numeric types only)");
}

std::optional<std::vector<int64_t>> input_ints(const InferContext& ctx, size_t i) {
  const Tensor* t = ctx.input_value(i);
  if (t == nullptr) return std::nullopt;
  return t->to_int_vector();
}

void set_output_unknown_dims(InferContext& ctx, size_t i, DType dtype, size_t rank) {
  // The rank often comes from a declared dim of a shape tensor, which a hostile model can make
  // 2^48 (found by fuzz_ekm_load): no real tensor has that many dims, so the rank stays unknown.
  constexpr size_t kMaxKnownRank = 64;
  if (rank > kMaxKnownRank) return ctx.set_output_unknown(i, dtype);
  ctx.set_output(i, dtype, Shape(rank, -1));
}

bool all_known(const Shape& shape) {
  for (int64_t d : shape)
    if (d < 0) return false;
  return true;
}

int64_t known_numel(const Shape& shape) { return all_known(shape) ? shape_numel(shape) : -1; }

DType dtype_from_onnx_code(int64_t code, const Node& node) {
  DType t = dtype_from_onnx_code(code);
  EK_CHECK(t != DType::undefined, node.where(), ": ONNX data type ", onnx_type_name(code), " (", code,
           ") is not supported");
  return t;
}

ScatterReduction parse_scatter_reduction(const Node& node) {
  std::string r = node.attr_string("reduction", "none");
  if (r == "none") return ScatterReduction::none;
  if (r == "add") return ScatterReduction::add;
  if (r == "mul") return ScatterReduction::mul;
  if (r == "max") return ScatterReduction::max;
  if (r == "min") return ScatterReduction::min;
  fail(node.where(), ": reduction must be none, add, mul, max or min, got '", r, "'");
}

}  // namespace edgekit
