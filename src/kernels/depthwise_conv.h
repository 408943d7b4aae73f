// Direct depthwise 2-D convolution (group == C_in == C_out, one filter per channel), NCHW.
//
// Im2col + a GEMM of one row per channel wastes most of the work on packing; a direct loop
// per channel does not. For each output row and each kernel tap, the range of output columns
// whose input column is inside the image is computed once, so the innermost loop is a plain
// multiply-add over contiguous memory (stride 1) that the compiler vectorises, with no branch.
#pragma once
#include <cstdint>

#include "kernels/epilogue.h"
#include "kernels/im2col.h"

namespace edgekit {

class ThreadPool;

// x: [N, C, H, W], w: [C, 1, kh, kw], bias: [C] or null, y: [N, C, OH, OW] (fully written).
// The geometry `s` is Im2colShape::forward of the conv.
template <class T>
void depthwise_conv2d(const T* x, const T* w, const T* bias, T* y, int64_t n, int64_t c, const Im2colShape& s,
                      const FusedActivation& activation, ThreadPool* pool);

}  // namespace edgekit
