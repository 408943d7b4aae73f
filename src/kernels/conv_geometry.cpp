#include "kernels/conv_geometry.h"

#include <algorithm>

namespace edgekit {
namespace {

// Python-style floor division, so that negative totals split like the ONNX reference.
int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

Shape read_ints(const Node& node, const char* key, size_t expected, int64_t fallback, int64_t min_value) {
  Shape v = node.attr_ints(key, Shape(expected, fallback));
  EK_CHECK(v.size() == expected, node.where(), ": attribute '", key, "' has ", v.size(), " values, expected ",
           expected, key[0] == 'p' ? " (begins then ends, per spatial dim)" : " (one per spatial dim)");
  // The upper bound keeps the window arithmetic far from int64 overflow.
  constexpr int64_t max_value = int64_t(1) << 31;
  for (int64_t x : v)
    EK_CHECK(x >= min_value && x <= max_value, node.where(), ": attribute '", key, "' holds ", x,
             ", expected values in [", min_value, ", ", max_value, "]");
  return v;
}

}  // namespace

AutoPad parse_auto_pad(const Node& node) {
  std::string s = node.attr_string("auto_pad", "NOTSET");
  if (s == "NOTSET" || s.empty()) return AutoPad::notset;
  if (s == "SAME_UPPER") return AutoPad::same_upper;
  if (s == "SAME_LOWER") return AutoPad::same_lower;
  if (s == "VALID") return AutoPad::valid;
  fail(node.where(), ": auto_pad '", s, "' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID");
}

WindowAttrs WindowAttrs::read(const Node& node, size_t rank, const Shape& inferred_kernel) {
  WindowAttrs w;
  if (node.has_attr("kernel_shape")) {
    w.kernel = read_ints(node, "kernel_shape", rank, 1, 1);
    if (!inferred_kernel.empty()) {
      for (size_t i = 0; i < rank; ++i)
        EK_CHECK(inferred_kernel[i] < 0 || inferred_kernel[i] == w.kernel[i], node.where(), ": kernel_shape ",
                 shape_str(w.kernel), " does not match the weight's spatial dims ", shape_str(inferred_kernel));
    }
  } else {
    EK_CHECK(!inferred_kernel.empty(), node.where(), ": attribute 'kernel_shape' is required");
    for (int64_t k : inferred_kernel)
      EK_CHECK(k != 0 && k >= -1, node.where(), ": weight spatial dims ", shape_str(inferred_kernel),
               " must be >= 1");
    w.kernel = inferred_kernel;
  }
  w.strides = read_ints(node, "strides", rank, 1, 1);
  w.dilations = read_ints(node, "dilations", rank, 1, 1);
  w.pads = read_ints(node, "pads", 2 * rank, 0, 0);
  w.auto_pad = parse_auto_pad(node);
  w.ceil_mode = node.attr_int("ceil_mode", 0) != 0;
  return w;
}

WindowGeometry WindowAttrs::resolve(const Node& node, const Shape& input_spatial) const {
  const size_t rank = kernel.size();
  EK_CHECK(input_spatial.size() == rank, node.where(), ": input has ", input_spatial.size(),
           " spatial dims, expected ", rank);
  WindowGeometry g{input_spatial, Shape(rank), kernel, strides, dilations, Shape(rank, 0), Shape(rank, 0)};
  for (size_t i = 0; i < rank; ++i) {
    const int64_t in = kernel[i] < 0 ? -1 : input_spatial[i];
    const int64_t s = strides[i], ext = dilated_extent(kernel[i], dilations[i]);
    if (auto_pad == AutoPad::same_upper || auto_pad == AutoPad::same_lower) {
      if (in < 0) {
        g.output[i] = -1;
        continue;
      }
      const int64_t out = (in + s - 1) / s;
      const int64_t total = std::max<int64_t>(0, (out - 1) * s + ext - in);
      g.pad_begin[i] = auto_pad == AutoPad::same_upper ? total / 2 : total - total / 2;
      g.pad_end[i] = total - g.pad_begin[i];
      g.output[i] = out;
      continue;
    }
    if (auto_pad == AutoPad::notset) {
      g.pad_begin[i] = pads[i];
      g.pad_end[i] = pads[rank + i];
    }
    if (in < 0) {
      g.output[i] = -1;
      continue;
    }
    const int64_t span = in + g.pad_begin[i] + g.pad_end[i] - ext;
    EK_CHECK(span >= 0, node.where(), ": spatial dim ", i, " of size ", in, " (padded ",
             in + g.pad_begin[i] + g.pad_end[i], ") is smaller than the kernel extent ", ext);
    int64_t out = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
    // A window must start inside the input or its begin padding (PyTorch / ONNX rule).
    if (ceil_mode && (out - 1) * s >= in + g.pad_begin[i]) --out;
    g.output[i] = out;
  }
  return g;
}

WindowGeometry WindowAttrs::resolve_transposed(const Node& node, const Shape& input_spatial,
                                               const Shape& output_padding, const Shape& output_shape) const {
  const size_t rank = kernel.size();
  EK_CHECK(input_spatial.size() == rank, node.where(), ": input has ", input_spatial.size(),
           " spatial dims, expected ", rank);
  EK_CHECK(output_padding.size() == rank, node.where(), ": output_padding has ", output_padding.size(),
           " values, expected ", rank);
  EK_CHECK(output_shape.empty() || output_shape.size() == rank, node.where(), ": output_shape has ",
           output_shape.size(), " values, expected ", rank);
  WindowGeometry g{input_spatial, Shape(rank), kernel, strides, dilations, Shape(rank, 0), Shape(rank, 0)};
  const bool same = auto_pad == AutoPad::same_upper || auto_pad == AutoPad::same_lower;
  for (size_t i = 0; i < rank; ++i) {
    const int64_t in = kernel[i] < 0 ? -1 : input_spatial[i];
    const int64_t s = strides[i], ext = dilated_extent(kernel[i], dilations[i]);
    EK_CHECK(output_padding[i] >= 0 && (output_padding[i] < s || output_padding[i] < dilations[i]), node.where(),
             ": output_padding ", output_padding[i], " must be smaller than the stride ", s, " or dilation ",
             dilations[i]);
    if (in < 0) {
      g.output[i] = -1;
      continue;
    }
    EK_CHECK(double(s) * double(in) + double(ext) < 1e15, node.where(), ": stride ", s, " and kernel extent ", ext,
             " overflow the output size of spatial dim ", i);
    const int64_t full = s * (in - 1) + output_padding[i] + ext;  // size with no padding
    if (!output_shape.empty() || same) {
      const int64_t out = output_shape.empty() ? in * s : output_shape[i];
      const int64_t total = full - out;
      const int64_t half = floor_div(total, 2);
      g.pad_begin[i] = auto_pad == AutoPad::same_upper ? half : total - half;
      g.pad_end[i] = total - g.pad_begin[i];
      g.output[i] = out;
    } else {
      if (auto_pad == AutoPad::notset) {
        g.pad_begin[i] = pads[i];
        g.pad_end[i] = pads[rank + i];
      }
      g.output[i] = full - g.pad_begin[i] - g.pad_end[i];
    }
    EK_CHECK(g.output[i] > 0, node.where(), ": spatial dim ", i, " of the output would be ", g.output[i],
             " (input ", in, ", stride ", s, ", kernel extent ", ext, ")");
  }
  return g;
}

}  // namespace edgekit
