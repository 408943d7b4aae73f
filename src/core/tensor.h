// Tensor: a dtype, a shape and a reference-counted, 64-byte aligned buffer.
//
//   Tensor x(DType::f32, {1, 3, 224, 224});   // zero-filled
//   float* p = x.data<float>();
//   Tensor y = x.reshaped({3, 224 * 224});     // shares x's buffer
//
// Copies of a Tensor share the buffer (like a shared_ptr); clone() copies the data.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/api.h"
#include "core/dtype.h"

namespace edgekit {

using Shape = std::vector<int64_t>;

EDGEKIT_API int64_t shape_numel(const Shape& shape);  // product of dims; 1 for a scalar
EDGEKIT_API std::string shape_str(const Shape& shape);  // "[1,3,224,224]"; unknown dims (-1) print as "?"

// A 64-byte aligned buffer of `bytes` (zero-filled when asked). Throws Error when the request
// exceeds the machine's physical memory or cannot be met.
EDGEKIT_API std::shared_ptr<void> allocate_aligned(size_t bytes, bool zero);

class EDGEKIT_API Tensor {
 public:
  Tensor() = default;
  Tensor(DType dtype, Shape shape);  // allocates, zero-filled

  // A tensor over memory owned by someone else; `owner` keeps it alive (may be null).
  static Tensor wrap(DType dtype, Shape shape, void* data, std::shared_ptr<void> owner);
  // A rank-0 or rank-1 tensor from values, handy in tests and constant folding.
  template <class T>
  static Tensor from(const std::vector<T>& values, Shape shape);
  template <class T>
  static Tensor scalar(T value) { return from<T>({value}, {}); }

  bool defined() const { return dtype_ != DType::undefined; }
  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  size_t rank() const { return shape_.size(); }
  int64_t dim(int i) const { return shape_.at(i < 0 ? i + int(shape_.size()) : i); }
  int64_t numel() const { return shape_numel(shape_); }
  size_t nbytes() const { return size_t(numel()) * dtype_size(dtype_); }

  void* raw() { return data_; }
  const void* raw() const { return data_; }
  template <class T>
  T* data() {
    check_type(dtype_of<T>);
    return static_cast<T*>(data_);
  }
  template <class T>
  const T* data() const {
    check_type(dtype_of<T>);
    return static_cast<const T*>(data_);
  }

  Tensor reshaped(Shape shape) const;  // same buffer, new shape of equal numel
  Tensor clone() const;                // deep copy
  // Element i converted to double / int64, whatever the dtype (for shape inputs and tests).
  double as_double(int64_t i) const;
  int64_t as_int(int64_t i) const;
  std::vector<int64_t> to_int_vector() const;  // all elements as int64 (for shape-like inputs)

 private:
  void check_type(DType t) const;
  DType dtype_ = DType::undefined;
  Shape shape_;
  std::shared_ptr<void> storage_;
  void* data_ = nullptr;
};

template <class T>
Tensor Tensor::from(const std::vector<T>& values, Shape shape) {
  Tensor t(dtype_of<T>, std::move(shape));
  EK_CHECK(int64_t(values.size()) == t.numel(), "Tensor::from: ", values.size(), " values for shape ",
           shape_str(t.shape()));
  T* p = t.data<T>();
  for (size_t i = 0; i < values.size(); ++i) p[i] = values[i];
  return t;
}

}  // namespace edgekit
