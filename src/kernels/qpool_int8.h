// Vector paths of the 8-bit pooling ops (simd/qpool_int8.cpp), integer throughout, so every
// target gives the reference loops' bytes:
//   - MaxPoolNhwc on int8 / uint8 values: the max over the window's taps inside the image
//     (padding never wins a max), a vector of channels at a time;
//   - QGlobalAveragePoolNhwc's sums: per channel, the int32 sum over an image's pixels,
//     requantized by the op (requantize.h).
#pragma once
#include <cstdint>

namespace edgekit {

// Output rows [row_begin, row_end) (row = n * out_h + oh) of an NHWC max pool over 8-bit values.
struct QMaxPoolRows {
  const void* x;  // [N, in_h, in_w, channels]
  void* y;        // [N, out_h, out_w, channels]
  int64_t in_h, in_w, channels, out_h, out_w;
  int64_t kernel_h, kernel_w, stride_h, stride_w, pad_top, pad_left, dilation_h, dilation_w;
};
void qmax_pool_i8(const QMaxPoolRows& p, int64_t row_begin, int64_t row_end);
void qmax_pool_u8(const QMaxPoolRows& p, int64_t row_begin, int64_t row_end);

// sum[c] = sum over p < pixels of x[p * channels + c].
void channel_sums_i8(const int8_t* x, int64_t pixels, int64_t channels, int32_t* sum);
void channel_sums_u8(const uint8_t* x, int64_t pixels, int64_t channels, int32_t* sum);

}  // namespace edgekit
