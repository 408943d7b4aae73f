// Sliding-window geometry shared by Conv, ConvTranspose and the pooling ops: reading the
// kernel_shape / strides / dilations / pads / auto_pad / ceil_mode attributes, and the
// output-size and padding arithmetic (ONNX semantics), in one place.
//
//   WindowAttrs w = WindowAttrs::read(node, spatial_rank, kernel_from_weights);
//   WindowGeometry g = w.resolve(node, input_spatial);   // output dims + effective pads
//
// Spatial dims are the dims after N and C. Unknown input dims (-1, static inference) give
// unknown output dims.
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "graph/graph.h"

namespace edgekit {

enum class AutoPad { notset, same_upper, same_lower, valid };

AutoPad parse_auto_pad(const Node& node);  // reads the "auto_pad" attribute

// The resolved geometry of one window op on one input: per spatial dim.
struct WindowGeometry {
  Shape input;        // input spatial dims
  Shape output;       // output spatial dims
  Shape kernel, strides, dilations;
  Shape pad_begin, pad_end;  // effective pads (auto_pad resolved)
  size_t rank() const { return input.size(); }
};

struct WindowAttrs {
  Shape kernel, strides, dilations;
  Shape pads;  // begin..., end... (2 * rank); explicit pads, ignored unless auto_pad is notset
  AutoPad auto_pad = AutoPad::notset;
  bool ceil_mode = false;

  // Reads the attributes for `spatial_rank` spatial dims and checks their lengths and signs.
  // `kernel` comes from kernel_shape when present, else from `inferred_kernel` (conv weights);
  // with neither, the op has no kernel_shape and this fails.
  static WindowAttrs read(const Node& node, size_t spatial_rank, const Shape& inferred_kernel = {});

  // Forward window op (conv, pooling): out = floor_or_ceil((in + pads - dilated_k) / s) + 1.
  // SAME_*: out = ceil(in / s), pads split evenly, the odd one at the end (UPPER) or begin (LOWER).
  // VALID: no pads. ceil_mode drops a last window that would start in the end padding.
  WindowGeometry resolve(const Node& node, const Shape& input_spatial) const;

  // ConvTranspose: out = s * (in - 1) + output_padding + dilated_k - pad_begin - pad_end.
  // With output_shape (or SAME_*, where output_shape defaults to in * s) the pads are derived
  // from the requested size instead: SAME_UPPER puts the odd pad at the end, otherwise at the
  // begin. Pads may then be negative (the output extends past the last window).
  WindowGeometry resolve_transposed(const Node& node, const Shape& input_spatial, const Shape& output_padding,
                                    const Shape& output_shape) const;
};

// A value derived from a few sizes (a kernel's window geometry), kept until the sizes change:
// resolving attributes by name on every run costs a small model several percent. A Session
// runs one inference at a time (runtime/session.h), so a kernel's cache needs no lock.
template <class T, size_t N>
class SizeKeyed {
 public:
  template <class Make>
  const T& get(const std::array<int64_t, N>& key, Make&& make) {
    if (!value_ || key != key_) value_.emplace(make()), key_ = key;
    return *value_;
  }

 private:
  std::array<int64_t, N> key_{};
  std::optional<T> value_;
};

// Dilated kernel extent: (k - 1) * d + 1.
inline int64_t dilated_extent(int64_t k, int64_t d) { return (k - 1) * d + 1; }

}  // namespace edgekit
