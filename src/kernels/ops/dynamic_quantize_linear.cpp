// DynamicQuantizeLinear (opset 11): u8 quantization of x with parameters from x's own range
// (extended to include 0): scale = (max - min) / 255, zero_point = saturate(round(-min / scale)),
// y = saturate(round(x / scale) + zero_point), rounding half to even. Outputs y, y_scale, y_zp.
#include <algorithm>

#include "kernels/elementwise.h"
#include "kernels/requantize.h"

namespace edgekit {
namespace {

class DynamicQuantizeLinear final : public OpKernel {
 public:
  explicit DynamicQuantizeLinear(const Node& node) : OpKernel(node) {}

  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(1, 1);
    const TensorType& x = ctx.input_type(0);
    check_dtype(node(), "input 0 (x)", x.dtype, dtype_bit(DType::f32));
    if (x.shape_known) ctx.set_output(0, DType::u8, x.shape);
    else ctx.set_output_unknown(0, DType::u8);
    if (ctx.has_output(1)) ctx.set_output(1, DType::f32, {});
    if (ctx.has_output(2)) ctx.set_output(2, DType::u8, {});
  }

  void run(RunContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    const float* src = x.data<float>();
    float lo = 0.f, hi = 0.f;
    for (int64_t i = 0; i < x.numel(); ++i) {
      EK_CHECK(std::isfinite(src[i]), node().where(), ": input has a non-finite value at element ", i);
      lo = std::min(lo, src[i]), hi = std::max(hi, src[i]);
    }
    float scale = (hi - lo) / 255.f;
    if (scale == 0.f) scale = 1.f;  // all zeros: any scale gives q = 0
    const QuantRange r{0, 255};
    const int32_t zp = int32_t(std::clamp(std::nearbyint(-lo / scale), 0.f, 255.f));
    uint8_t* dst = ctx.output(0).data<uint8_t>();
    for (int64_t i = 0; i < x.numel(); ++i) dst[i] = uint8_t(quantize_value(src[i], scale, zp, r));
    if (ctx.has_output(1)) ctx.output(1).data<float>()[0] = hi == lo ? 0.f : scale;
    if (ctx.has_output(2)) ctx.output(2).data<uint8_t>()[0] = uint8_t(zp);
  }
};

}  // namespace
EK_REGISTER_OP("DynamicQuantizeLinear", DynamicQuantizeLinear);
}  // namespace edgekit
