#include "core/tensor.h"

#include <cstdlib>
#include <cstring>
#include <limits>

namespace edgekit {

int64_t shape_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    EK_CHECK(d >= 0, "shape ", shape_str(shape), " has a negative or unknown dimension");
    EK_CHECK(d == 0 || n <= std::numeric_limits<int64_t>::max() / d, "shape ", shape_str(shape),
             " has too many elements");
    n *= d;
  }
  return n;
}

std::string shape_str(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ",";
    s += shape[i] < 0 ? "?" : std::to_string(shape[i]);
  }
  return s + "]";
}

namespace {
constexpr size_t kAlign = 64;
constexpr size_t kMaxTensorBytes = size_t(1) << 40;  // refuse absurd allocations instead of crashing

std::shared_ptr<void> allocate(size_t bytes) {
  EK_CHECK(bytes <= kMaxTensorBytes, "tensor of ", bytes, " bytes is too large to allocate");
  size_t padded = (bytes + kAlign - 1) / kAlign * kAlign;
  if (padded == 0) padded = kAlign;
  void* p = std::aligned_alloc(kAlign, padded);
  EK_CHECK(p != nullptr, "out of memory allocating a tensor of ", bytes, " bytes");
  std::memset(p, 0, padded);
  return std::shared_ptr<void>(p, [](void* q) { std::free(q); });
}
}  // namespace

Tensor::Tensor(DType dtype, Shape shape) : dtype_(dtype), shape_(std::move(shape)) {
  EK_CHECK(dtype != DType::undefined, "cannot allocate a tensor of undefined dtype");
  size_t n = size_t(shape_numel(shape_));
  size_t es = dtype_size(dtype);
  EK_CHECK(n <= kMaxTensorBytes / es, "tensor of shape ", shape_str(shape_), " is too large to allocate");
  storage_ = allocate(n * es);
  data_ = storage_.get();
}

Tensor Tensor::wrap(DType dtype, Shape shape, void* data, std::shared_ptr<void> owner) {
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.storage_ = std::move(owner);
  t.data_ = data;
  return t;
}

Tensor Tensor::reshaped(Shape shape) const {
  EK_CHECK(shape_numel(shape) == numel(), "cannot reshape ", shape_str(shape_), " to ", shape_str(shape));
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

Tensor Tensor::clone() const {
  if (!defined()) return {};
  Tensor t(dtype_, shape_);
  if (nbytes()) std::memcpy(t.data_, data_, nbytes());
  return t;
}

void Tensor::check_type(DType t) const {
  EK_CHECK(t == dtype_, "tensor holds ", dtype_name(dtype_), ", accessed as ", dtype_name(t));
}

double Tensor::as_double(int64_t i) const {
  return visit_dtype(dtype_, [&](auto tag) -> double {
    using T = decltype(tag);
    T v = static_cast<const T*>(data_)[i];
    if constexpr (std::is_same_v<T, f16_t>)
      return half_to_float(v);
    else
      return double(v);
  });
}

int64_t Tensor::as_int(int64_t i) const {
  return visit_dtype(dtype_, [&](auto tag) -> int64_t {
    using T = decltype(tag);
    T v = static_cast<const T*>(data_)[i];
    if constexpr (std::is_same_v<T, f16_t>)
      return int64_t(half_to_float(v));
    else
      return int64_t(v);
  });
}

std::vector<int64_t> Tensor::to_int_vector() const {
  std::vector<int64_t> v(static_cast<size_t>(numel()));
  for (int64_t i = 0; i < numel(); ++i) v[size_t(i)] = as_int(i);
  return v;
}

}  // namespace edgekit
