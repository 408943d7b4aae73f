// com.edgekit:QMul: y = a * b on int8/uint8 values with numpy broadcasting, in TFLite's integer
// arithmetic (its int8 MUL): (a - a_zp) * (b - b_zp) in int32, requantized to y by the one
// fixed-point multiplier a_scale * b_scale / y_scale (kernels/quant_ref.h's qmul_value). The
// gates of squeeze-excitation blocks (x * HardSigmoid(s), a [N,1,1,C] scale in NHWC) and
// SiLU / HardSwish written as x * Sigmoid(x) run on it when fuse_qdq fuses their QDQ Mul.
//   inputs a, a_scale, a_zero_point, b, b_scale, b_zero_point, y_scale, y_zero_point (QAdd's)
//   attrs  activation_min / activation_max
// a, b and y of one dtype run the vector path (kernels/qmul_int8.h), large tensors split over
// the threads; mixed dtypes the reference.
#include <algorithm>
#include <type_traits>

#include "core/thread_pool.h"
#include "kernels/qmul_int8.h"
#include "kernels/qop_common.h"

namespace edgekit {
namespace {

class QMul final : public QuantBinaryKernel<QMulParams> {
 public:
  using QuantBinaryKernel::QuantBinaryKernel;

  void run(RunContext& ctx) const override {
    const Tensor& a = ctx.input(0);
    const Tensor& b = ctx.input(3);
    Tensor& y = ctx.output(0);
    const QMulParams p = run_params(ctx);
    if (a.dtype() == y.dtype() && b.dtype() == y.dtype()) {
      const BroadcastPlan plan = plan_broadcast(node(), y.shape(), a.shape(), b.shape());
      if (y.dtype() == DType::i8) return split(ctx, plan, a.data<int8_t>(), b.data<int8_t>(), y.data<int8_t>(), p);
      if (y.dtype() == DType::u8) return split(ctx, plan, a.data<uint8_t>(), b.data<uint8_t>(), y.data<uint8_t>(), p);
    }
    visit_types(a, b, y, [&](auto ta, auto tb, auto ty) {
      qmul_ref(p, a.data<decltype(ta)>(), a.shape(), b.data<decltype(tb)>(), b.shape(), y.data<decltype(ty)>(), y.shape());
    });
  }

 private:
  // The vector path over slices of the plan's outermost dim, on the threads when large.
  template <class T>
  static void split(const RunContext& ctx, const BroadcastPlan& plan, const T* a, const T* b, T* y, const QMulParams& p) {
    const int64_t outer = plan.dims[0], row = outer == 0 ? 1 : std::max<int64_t>(plan.numel / outer, 1);
    parallel_for(ctx.threads(), outer, [&](int64_t begin, int64_t end) {
      const BroadcastSlice s = slice_outer(plan, begin, end);
      if constexpr (std::is_same_v<T, int8_t>) qmul_int8(p, s.plan, a + s.in[0], b + s.in[1], y + s.out);
      else qmul_uint8(p, s.plan, a + s.in[0], b + s.in[1], y + s.out);
    }, (kMinParallelElements + row - 1) / row);
  }

  QMulParams params(const QuantParams& a, const QuantParams& b, const QuantParams& y, DType t) const override {
    QMulParams p;
    p.a_zp = a.zero_point[0], p.b_zp = b.zero_point[0], p.y_zp = y.zero_point[0];
    p.multiplier = conv_multiplier(node(), a.scale[0], b.scale[0], y.scale[0]);
    // A left shift above 15 could wrap the 17-bit product; such a multiplier (>= 2^15) would
    // saturate every non-zero product anyway.
    EK_CHECK(p.multiplier.shift <= 15, node().where(), ": output scale ", y.scale[0], " is too small for inputs of scales ",
             a.scale[0], " and ", b.scale[0], " (a_scale * b_scale / y_scale must be below 32768)");
    p.act = activation_range(node(), y, t);
    return p;
  }
};

}  // namespace
EK_REGISTER_OP_DOMAIN(kEdgekitDomain, "QMul", QMul);
}  // namespace edgekit
