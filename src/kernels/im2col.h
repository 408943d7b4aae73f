// im2col / col2im for up to 3 spatial dims, the data movement half of Conv and ConvTranspose
// (the other half is gemm_ref.h).
//
// The "image" is C x D x H x W; the column matrix is (C * kD * kH * kW) x (oD * oH * oW), row
// (c, kd, kh, kw), column (od, oh, ow), where image position = o * stride - pad + k * dilation.
// Positions outside the image read as zero (im2col) or are dropped (col2im).
// 1-D and 2-D problems are the 3-D case with leading unit dims.
#pragma once
#include <array>
#include <cstdint>

#include "kernels/conv_geometry.h"

namespace edgekit {

struct Im2colShape {
  std::array<int64_t, 3> image{1, 1, 1}, cols{1, 1, 1}, kernel{1, 1, 1}, stride{1, 1, 1}, dilation{1, 1, 1},
      pad{0, 0, 0};
  int64_t kernel_size() const { return kernel[0] * kernel[1] * kernel[2]; }
  int64_t col_size() const { return cols[0] * cols[1] * cols[2]; }
  int64_t image_size() const { return image[0] * image[1] * image[2]; }
  // The image and column dims of a forward window op (image = input, columns = output)...
  static Im2colShape forward(const WindowGeometry& g);
  // ...and of a transposed one (image = output, columns = input).
  static Im2colShape transposed(const WindowGeometry& g);
  // True when im2col would be the identity (1x1 kernel, unit strides, no padding).
  bool is_pointwise() const;
};

// col[(c, k), o] = image[c, o * s - p + k * d] or 0.
template <class T>
void im2col(const T* image, int64_t channels, const Im2colShape& s, T* col);

// image[c, o * s - p + k * d] += col[(c, k), o] for in-bounds positions.
template <class T>
void col2im_add(const T* col, int64_t channels, const Im2colShape& s, T* image);

}  // namespace edgekit
