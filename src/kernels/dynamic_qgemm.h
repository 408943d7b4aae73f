// Float products through int8: y = x·Wᵀ with W stored int8 (symmetric, one scale per tensor or
// per row) and x quantized on the fly ("dynamic" quantization, as ONNX Runtime's
// DynamicQuantizeMatMul and DynamicQuantizeLSTM do). Used by com.edgekit:DynamicQGRU and
// DynamicQLSTM (kernels/rnn_common.h).
//
// x is quantized per call to uint8 with DynamicQuantizeLinear's rule: the range of x widened
// to include 0, scale sx = (max - min) / 255, zero point zx = round(-min / sx), x_q =
// saturate(round_half_even(x / sx) + zx). The integer sums run on the int8 GEMM micro-kernel
// (simd/qgemm_int8.cpp: u8 x s8 into int32, vpdpbusd with AVX-512 VNNI), and each is
// dequantized once:
//   y[r][m] = init[m] + sx * sw[m] * (Σ_k x_q[r][k] w[m][k] - zx * Σ_k w[m][k])
// The int32 sums are exact (|x_q w| <= 255 * 128, so K up to 65,793 cannot wrap; longer rows
// are refused at packing); the only errors are x's rounding to its 255 steps and W's own.
//
// Memory: the packed weights are owned by DynamicQWeights (shared, immutable after packing);
// the quantized rows are the caller's buffer.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

namespace edgekit {

class ThreadPool;

// W [rows][cols] int8 packed for the micro-kernel: panels of kQGemmPanel rows, four columns at
// a time (pack_qconv_weights's GEMM layout), columns padded with zeros to k_padded.
struct DynamicQWeights {
  int64_t rows = 0, cols = 0, k_padded = 0, panels = 0;
  std::shared_ptr<const int8_t> packed;
  std::vector<int32_t> row_sums;  // [panels * 16]: Σ_k w[m][k] (0 past rows)
  std::vector<float> scale;       // [panels * 16]: the weight scale of row m
};

// scale holds 1 (per tensor) or `rows` entries, each finite and positive (the caller checks).
// Throws when cols exceeds what int32 sums hold exactly.
DynamicQWeights pack_dynamic_qweights(const int8_t* w, int64_t rows, int64_t cols, const float* scale,
                                      int64_t scale_count);

// One tensor's quantization.
struct DynamicQuantized {
  float scale = 1.f;
  int32_t zero_point = 0;
};

// x [rows][cols] to q [rows][k_padded] (bytes past cols zero) with one scale and zero point
// from the whole of x, as above. Returns false (q undefined) when x holds a non-finite value,
// which the int8 path cannot represent: callers report it.
bool quantize_rows_u8(const float* x, int64_t rows, int64_t cols, int64_t k_padded, uint8_t* q, DynamicQuantized* p);

// y[r][m] (row r at y + r * y_stride) = init[m] + (dequantized Σ as above) for r < rows,
// m < w.rows; init may be null (zeros), and may alias y when rows is 1.
void dynamic_qgemm(const DynamicQWeights& w, const uint8_t* q, int64_t rows, DynamicQuantized xq, const float* init,
                   float* y, int64_t y_stride, ThreadPool* pool = nullptr);

// The per-call steps, vectorised (simd/dynamic_quant.cpp). The range of x[0..n) widened to
// include 0 in *lo, *hi; returns false when x holds an infinity or NaN.
bool range_with_zero_f32(const float* x, int64_t n, float* lo, float* hi);
// The dequantization of one row of sums:
// y[j] = init[j] + x_scale * scale[j] * float(acc[j] - x_zero_point * row_sums[j]) for j < n;
// init may be null (zeros) or alias y.
void dequantize_sums_f32(const int32_t* acc, const int32_t* row_sums, const float* scale, int64_t n, float x_scale,
                         int32_t x_zero_point, const float* init, float* y);

}  // namespace edgekit
