// com.edgekit:QAdd: y = a + b on int8/uint8 values with numpy broadcasting, in TFLite's
// integer arithmetic: both inputs rescaled to a common 2^20-scaled fixed point, summed, then
// requantized to y (multipliers from the scales, as TFLite's ADD prepares them). Same shapes
// (residual connections) of one dtype run on the vector path (kernels/qadd_int8.h), of mixed
// dtypes a block at a time on the vector requantization, large tensors split over the threads;
// broadcasts one element at a time.
//   inputs a, a_scale, a_zero_point, b, b_scale, b_zero_point, y_scale, y_zero_point
//   attrs  activation_min / activation_max
#include <algorithm>
#include <limits>
#include <type_traits>

#include "core/thread_pool.h"
#include "kernels/qadd_int8.h"
#include "kernels/qop_common.h"

namespace edgekit {
namespace {

constexpr int kLeftShift = kQAddLeftShift;

class QAdd final : public QuantBinaryKernel<QAddParams> {
 public:
  using QuantBinaryKernel::QuantBinaryKernel;

  void run(RunContext& ctx) const override {
    const Tensor& a = ctx.input(0);
    const Tensor& b = ctx.input(3);
    Tensor& y = ctx.output(0);
    const QAddParams p = run_params(ctx);
    visit_types(a, b, y, [&](auto ta, auto tb, auto ty) {
      compute(p, a.data<decltype(ta)>(), a.shape(), b.data<decltype(tb)>(), b.shape(), y.data<decltype(ty)>(), y.shape(),
              ctx.threads());
    });
  }

 private:
  QAddParams params(const QuantParams& a, const QuantParams& b, const QuantParams& y, DType t) const override {
    const double twice_max = 2.0 * std::max(double(a.scale[0]), double(b.scale[0]));
    QAddParams p;
    p.a_zp = a.zero_point[0], p.b_zp = b.zero_point[0], p.y_zp = y.zero_point[0];
    p.a_mult = quantize_multiplier(double(a.scale[0]) / twice_max);
    p.b_mult = quantize_multiplier(double(b.scale[0]) / twice_max);
    const double out = twice_max / (double(1 << kLeftShift) * double(y.scale[0]));
    EK_CHECK(out < 1.0, node().where(), ": output scale ", y.scale[0], " is too small for inputs of scales ",
             a.scale[0], " and ", b.scale[0]);
    p.y_mult = quantize_multiplier(out);
    p.act = activation_range(node(), y, t);
    return p;
  }

  // The usual case (residual connections): one dtype on the vector path; mixed dtypes the
  // three fixed-point steps a block at a time on the vector requantization. The same integers
  // as qadd_value.
  template <class TA, class TB, class TY>
  static void same_shape(const QAddParams& p, const TA* a, const TB* b, TY* y, int64_t n) {
    if constexpr (std::is_same_v<TA, TY> && std::is_same_v<TB, TY>) {
      if constexpr (std::is_same_v<TY, int8_t>) return qadd_int8(p, a, b, y, n);
      else return qadd_uint8(p, a, b, y, n);
    }
    constexpr int64_t kBlock = 256;
    alignas(64) int32_t sa[kBlock], sb[kBlock];
    const int32_t lo32 = std::numeric_limits<int32_t>::min(), hi32 = std::numeric_limits<int32_t>::max();
    for (int64_t i0 = 0; i0 < n; i0 += kBlock) {
      const int64_t m = std::min(kBlock, n - i0);
      for (int64_t i = 0; i < m; ++i) {
        sa[i] = (int32_t(a[i0 + i]) - p.a_zp) * (1 << kLeftShift);
        sb[i] = (int32_t(b[i0 + i]) - p.b_zp) * (1 << kLeftShift);
      }
      requantize_to_i32({sa, nullptr, nullptr, nullptr, nullptr, m, 0, lo32, hi32, p.a_mult}, sa);
      requantize_to_i32({sb, nullptr, nullptr, nullptr, nullptr, m, 0, lo32, hi32, p.b_mult}, sb);
      for (int64_t i = 0; i < m; ++i) sa[i] += sb[i];
      const RequantizeArgs out{sa, nullptr, nullptr, nullptr, nullptr, m, p.y_zp, p.act.lo, p.act.hi, p.y_mult};
      if constexpr (std::is_same_v<TY, int8_t>) requantize_to_i8(out, y + i0);
      else requantize_to_u8(out, y + i0);
    }
  }

  template <class TA, class TB, class TY>
  static void compute(const QAddParams& p, const TA* a, const Shape& as, const TB* b, const Shape& bs, TY* y,
                      const Shape& ys, ThreadPool* pool) {
    const int64_t n = shape_numel(ys);
    if (as == ys && bs == ys) {
      return parallel_for(pool, n, [&](int64_t begin, int64_t end) {
        same_shape(p, a + begin, b + begin, y + begin, end - begin);
      }, kMinParallelElements);
    }
    for_each_broadcast_pair(as, bs, ys, [&](int64_t i, int64_t oa, int64_t ob) { y[i] = TY(qadd_value(p, a[oa], b[ob])); });
  }
};

}  // namespace
EK_REGISTER_OP_DOMAIN(kEdgekitDomain, "QAdd", QAdd);
}  // namespace edgekit
