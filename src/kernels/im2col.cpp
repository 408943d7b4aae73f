#include "kernels/im2col.h"

#include <algorithm>
#include <cstring>

namespace edgekit {
namespace {

// Right-aligns a rank <= 3 geometry into 3-D: the missing leading dims are unit.
Im2colShape make(const WindowGeometry& g, const Shape& image, const Shape& cols) {
  const size_t rank = g.rank();
  EK_CHECK(rank <= 3, "im2col supports up to 3 spatial dims, got ", rank);
  Im2colShape s;
  const size_t off = 3 - rank;
  for (size_t i = 0; i < rank; ++i) {
    s.image[off + i] = image[i];
    s.cols[off + i] = cols[i];
    s.kernel[off + i] = g.kernel[i];
    s.stride[off + i] = g.strides[i];
    s.dilation[off + i] = g.dilations[i];
    s.pad[off + i] = g.pad_begin[i];
  }
  return s;
}

// Range of output positions o in [0, n_out) whose image position o * s + offset lies in
// [0, n_in): [lo, hi).
inline void valid_range(int64_t offset, int64_t s, int64_t n_in, int64_t n_out, int64_t& lo, int64_t& hi) {
  lo = offset >= 0 ? 0 : (-offset + s - 1) / s;
  hi = offset >= n_in ? 0 : (n_in - offset + s - 1) / s;
  lo = std::min(lo, n_out);
  hi = std::clamp(hi, lo, n_out);
}

}  // namespace

Im2colShape Im2colShape::forward(const WindowGeometry& g) { return make(g, g.input, g.output); }
Im2colShape Im2colShape::transposed(const WindowGeometry& g) { return make(g, g.output, g.input); }

bool Im2colShape::is_pointwise() const {
  for (int i = 0; i < 3; ++i)
    if (kernel[i] != 1 || stride[i] != 1 || pad[i] != 0 || image[i] != cols[i]) return false;
  return true;
}

template <class T>
void im2col(const T* image, int64_t channels, const Im2colShape& s, T* col) {
  const int64_t ID = s.image[0], IH = s.image[1], IW = s.image[2];
  const int64_t OD = s.cols[0], OH = s.cols[1], OW = s.cols[2];
  for (int64_t c = 0; c < channels; ++c) {
    const T* img = image + c * s.image_size();
    for (int64_t kd = 0; kd < s.kernel[0]; ++kd)
      for (int64_t kh = 0; kh < s.kernel[1]; ++kh)
        for (int64_t kw = 0; kw < s.kernel[2]; ++kw) {
          const int64_t off_d = kd * s.dilation[0] - s.pad[0];
          const int64_t off_h = kh * s.dilation[1] - s.pad[1];
          const int64_t off_w = kw * s.dilation[2] - s.pad[2];
          int64_t w_lo, w_hi;
          valid_range(off_w, s.stride[2], IW, OW, w_lo, w_hi);
          for (int64_t od = 0; od < OD; ++od) {
            const int64_t id = od * s.stride[0] + off_d;
            for (int64_t oh = 0; oh < OH; ++oh, col += OW) {
              const int64_t ih = oh * s.stride[1] + off_h;
              if (id < 0 || id >= ID || ih < 0 || ih >= IH) {
                std::fill(col, col + OW, T(0));
                continue;
              }
              const T* row = img + (id * IH + ih) * IW;
              std::fill(col, col + w_lo, T(0));
              if (s.stride[2] == 1) {
                if (w_hi > w_lo) std::memcpy(col + w_lo, row + w_lo + off_w, size_t(w_hi - w_lo) * sizeof(T));
              } else {
                for (int64_t ow = w_lo; ow < w_hi; ++ow) col[ow] = row[ow * s.stride[2] + off_w];
              }
              std::fill(col + w_hi, col + OW, T(0));
            }
          }
        }
  }
}

template <class T>
void col2im_add(const T* col, int64_t channels, const Im2colShape& s, T* image) {
  const int64_t ID = s.image[0], IH = s.image[1], IW = s.image[2];
  const int64_t OD = s.cols[0], OH = s.cols[1], OW = s.cols[2];
  for (int64_t c = 0; c < channels; ++c) {
    T* img = image + c * s.image_size();
    for (int64_t kd = 0; kd < s.kernel[0]; ++kd)
      for (int64_t kh = 0; kh < s.kernel[1]; ++kh)
        for (int64_t kw = 0; kw < s.kernel[2]; ++kw) {
          const int64_t off_d = kd * s.dilation[0] - s.pad[0];
          const int64_t off_h = kh * s.dilation[1] - s.pad[1];
          const int64_t off_w = kw * s.dilation[2] - s.pad[2];
          int64_t w_lo, w_hi;
          valid_range(off_w, s.stride[2], IW, OW, w_lo, w_hi);
          for (int64_t od = 0; od < OD; ++od) {
            const int64_t id = od * s.stride[0] + off_d;
            for (int64_t oh = 0; oh < OH; ++oh, col += OW) {
              const int64_t ih = oh * s.stride[1] + off_h;
              if (id < 0 || id >= ID || ih < 0 || ih >= IH) continue;
              T* row = img + (id * IH + ih) * IW;
              for (int64_t ow = w_lo; ow < w_hi; ++ow) row[ow * s.stride[2] + off_w] += col[ow];
            }
          }
        }
  }
}

template void im2col<float>(const float*, int64_t, const Im2colShape&, float*);
template void im2col<double>(const double*, int64_t, const Im2colShape&, double*);
template void col2im_add<float>(const float*, int64_t, const Im2colShape&, float*);
template void col2im_add<double>(const double*, int64_t, const Im2colShape&, double*);

}  // namespace edgekit
