#include "kernels/dynamic_qgemm.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "core/thread_pool.h"
#include "kernels/qconv_int8.h"
#include "kernels/requantize.h"

namespace edgekit {
namespace {
constexpr int64_t kP = kQGemmPanel;
constexpr int64_t kTileRows = 8;  // rows per micro-kernel call
// The largest K whose sums of u8 x s8 products stay exact in int32: 255 * 128 * K < 2^31.
constexpr int64_t kMaxCols = ((int64_t(1) << 31) - 1) / (255 * 128);
}  // namespace

DynamicQWeights pack_dynamic_qweights(const int8_t* w, int64_t rows, int64_t cols, const float* scale,
                                      int64_t scale_count) {
  EK_CHECK(rows > 0 && cols > 0 && cols <= kMaxCols, "dynamic int8 GEMM: ", rows, " x ", cols,
           " weights; rows of 1 to ", kMaxCols, " columns are supported (int32 sums)");
  EK_CHECK(scale_count == 1 || scale_count == rows, "dynamic int8 GEMM: ", scale_count, " scales for ", rows,
           " rows (expected 1 or ", rows, ")");
  DynamicQWeights p;
  p.rows = rows, p.cols = cols, p.k_padded = (cols + 3) / 4 * 4, p.panels = (rows + kP - 1) / kP;
  const int64_t panel_bytes = p.k_padded * kP;
  auto packed = std::shared_ptr<int8_t>(new int8_t[size_t(p.panels * panel_bytes)](), std::default_delete<int8_t[]>());
  p.row_sums.assign(size_t(p.panels * kP), 0);
  p.scale.assign(size_t(p.panels * kP), 0.f);
  for (int64_t m = 0; m < rows; ++m) {
    int8_t* dst = packed.get() + (m / kP) * panel_bytes + (m % kP) * 4;
    int32_t sum = 0;
    for (int64_t k = 0; k < cols; ++k) {
      const int8_t v = w[m * cols + k];
      dst[(k >> 2) * 4 * kP + (k & 3)] = v;
      sum += v;
    }
    p.row_sums[size_t(m)] = sum;
    p.scale[size_t(m)] = scale[scale_count == 1 ? 0 : m];
  }
  p.packed = std::move(packed);
  return p;
}

bool quantize_rows_u8(const float* x, int64_t rows, int64_t cols, int64_t k_padded, uint8_t* q, DynamicQuantized* p) {
  float lo = 0.f, hi = 0.f;
  if (!range_with_zero_f32(x, rows * cols, &lo, &hi)) return false;
  // Scale and zero point exactly as DynamicQuantizeLinear (ops/dynamic_quantize_linear.cpp).
  float scale = (hi - lo) / 255.f;
  if (scale == 0.f) scale = 1.f;  // all zeros: any scale gives q = 0
  const int32_t zp = int32_t(std::clamp(std::nearbyint(-lo / scale), 0.f, 255.f));
  for (int64_t r = 0; r < rows; ++r) {
    uint8_t* dst = q + r * k_padded;
    quantize_f32_to_u8(x + r * cols, cols, scale, zp, dst);
    for (int64_t k = cols; k < k_padded; ++k) dst[k] = 0;  // at most 3
  }
  *p = {scale, zp};
  return true;
}

void dynamic_qgemm(const DynamicQWeights& w, const uint8_t* q, int64_t rows, DynamicQuantized xq, const float* init,
                   float* y, int64_t y_stride, ThreadPool* pool) {
  if (rows <= 0) return;
  const bool pairs = qgemm_int8_indirect_available();  // VNNI: full tiles take two panels a call
  const int64_t tiles = (rows + kTileRows - 1) / kTileRows;
  const double flops = 2.0 * double(rows) * double(w.rows) * double(w.cols);
  const int64_t row_len = w.panels * kP;  // a tile's sums: each row over every panel
  parallel_for(flops >= 2e6 ? pool : nullptr, tiles, [&](int64_t begin, int64_t end) {
    thread_local std::vector<int32_t> sums;  // this thread's, kept between calls
    if (sums.size() < size_t(kTileRows * row_len)) sums.resize(size_t(kTileRows * row_len));
    for (int64_t tile = begin; tile < end; ++tile) {
      const int64_t r0 = tile * kTileRows, mr = std::min(kTileRows, rows - r0);
      if (mr == 1) qgemv_int8(q + r0 * w.k_padded, w.k_padded, w.packed.get(), w.panels, sums.data());
      for (int64_t pnl = 0, np = 1; pnl < w.panels && mr > 1; pnl += np) {
        np = pairs && mr == kTileRows && pnl + 1 < w.panels ? 2 : 1;
        QGemmTile t{mr, w.k_padded, q + r0 * w.k_padded, w.k_padded, w.packed.get() + pnl * w.k_padded * kP,
                    sums.data() + pnl * kP, row_len};
        t.panels = np;
        qgemm_int8_tile(t);
      }
      for (int64_t r = 0; r < mr; ++r)
        dequantize_sums_f32(sums.data() + r * row_len, w.row_sums.data(), w.scale.data(), w.rows, xq.scale,
                            xq.zero_point, init, y + (r0 + r) * y_stride);
    }
  });
}

}  // namespace edgekit
