#include "core/tensor.h"

#include <sys/mman.h>

#include <unistd.h>

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

// Physical memory of the machine: no single buffer may exceed it. Asking for more would
// either fail late (overcommit, then the OOM killer) or swap; an error now is kinder.
size_t max_buffer_bytes() {
  static const size_t limit = [] {
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    return pages > 0 && page > 0 ? size_t(pages) * size_t(page) : size_t(1) << 40;
  }();
  return limit;
}
}  // namespace

std::shared_ptr<void> allocate_aligned(size_t bytes, bool zero) {
  EK_CHECK(bytes <= max_buffer_bytes(), "cannot allocate ", bytes >> 20, " MiB: more than this machine's ",
           max_buffer_bytes() >> 20, " MiB of memory");
  // Buffers of a few MB (packed weights, arenas) go on 2 MiB pages where the kernel allows
  // it: kernels stream through them, and 4 KiB pages would cost a TLB miss every few
  // hundred multiply-adds.
  constexpr size_t kHugePage = size_t(2) << 20;
  const size_t align = bytes >= kHugePage ? kHugePage : kAlign;
  size_t padded = (bytes + align - 1) / align * align;
  if (padded == 0) padded = kAlign;
  void* p = std::aligned_alloc(align, padded);
  EK_CHECK(p != nullptr, "out of memory allocating ", bytes, " bytes");
#ifdef MADV_HUGEPAGE
  if (align == kHugePage) madvise(p, padded, MADV_HUGEPAGE);
#endif
  if (zero) std::memset(p, 0, padded);
  return std::shared_ptr<void>(p, [](void* q) { std::free(q); });
}

Tensor::Tensor(DType dtype, Shape shape) : dtype_(dtype), shape_(std::move(shape)) {
  EK_CHECK(dtype != DType::undefined, "cannot allocate a tensor of undefined dtype");
  size_t n = size_t(shape_numel(shape_));
  size_t es = dtype_size(dtype);
  EK_CHECK(n <= max_buffer_bytes() / es, "tensor of shape ", shape_str(shape_), " (", dtype_name(dtype),
           ") needs more memory than this machine has");
  storage_ = allocate_aligned(n * es, true);
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
