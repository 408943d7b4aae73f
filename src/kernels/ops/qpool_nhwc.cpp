// com.edgekit:QAveragePoolNhwc and QGlobalAveragePoolNhwc: int8/uint8 average pooling in NHWC.
//   inputs x [N,H,W,C], x_scale, x_zero_point, y_scale, y_zero_point
//   attrs  kernel_shape, strides, pads, count_include_pad (AveragePool; TFLite: 0), and
//          activation_min / activation_max
// The global pool sums on the vector path (simd/qpool_int8.cpp), the windowed one loops.
// With equal input and output parameters (TFLite requires it) the result is TFLite's: the sum of
// the window's values divided by the count, rounded half away from zero. Otherwise the sum
// minus count * x_zp is requantized by x_scale / (y_scale * count) in fixed point.
#include <algorithm>
#include <optional>
#include <vector>

#include "kernels/conv_geometry.h"
#include "kernels/qop_common.h"
#include "kernels/qpool_int8.h"

namespace edgekit {
namespace {

class QAveragePoolNhwc final : public OpKernel {
 public:
  explicit QAveragePoolNhwc(const Node& node)
      : OpKernel(node), global_(node.op_type == "QGlobalAveragePoolNhwc"),
        include_pad_(node.attr_int("count_include_pad", 0) != 0) {}

  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(5, 5);
    check_quant_input(ctx, 0, 2, "input 0 (x)");
    const DType y = ctx.input_type(4).dtype;
    check_dtype(node(), "input 4 (y_zero_point)", y, kQuant8Types);
    const TensorType& x = ctx.input_type(0);
    if (!x.shape_known) return ctx.set_output_unknown(0, y);
    EK_CHECK(x.shape.size() == 4, node().where(), ": expected a 4-D NHWC input, got ", shape_str(x.shape));
    if (global_) return ctx.set_output(0, y, {x.shape[0], 1, 1, x.shape[3]});
    const WindowGeometry g = geometry(x.shape);
    ctx.set_output(0, y, {x.shape[0], g.output[0], g.output[1], x.shape[3]});
  }

  void prepare(const PrepareContext& ctx) override {
    auto xq = constant_quant_params(ctx, 1, "x"), yq = constant_quant_params(ctx, 3, "y");
    if (xq && yq) prepared_x_ = xq, prepared_y_ = yq;
  }

  void run(RunContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    Tensor& y = ctx.output(0);
    const QuantParams xq = prepared_x_ ? *prepared_x_ : run_quant_params(ctx, 1, "x");
    const QuantParams yq = prepared_y_ ? *prepared_y_ : run_quant_params(ctx, 3, "y");
    const Shape& s = x.shape();
    const QuantRange act = activation_range(node(), yq, y.dtype());
    const bool same = xq.scale[0] == yq.scale[0] && xq.zero_point[0] == yq.zero_point[0];
    if (global_ && s[1] * s[2] > 0) return global_pool(x, xq, yq, act, same, y);
    WindowGeometry g;
    if (global_) {
      g.input = g.kernel = {s[1], s[2]};
      g.output = g.strides = g.dilations = {1, 1};
      g.pad_begin = g.pad_end = {0, 0};
    } else {
      g = geometry(s);
    }
    // The multiplier of each tap count, when the parameters differ: made when a count first
    // occurs (a global pool over 125 pixels has one count, not 125 to compute every run).
    std::vector<std::optional<QuantMultiplier>> mult(same ? 0 : size_t(g.kernel[0] * g.kernel[1] + 1));
    auto multiplier = [&](int32_t count) -> const QuantMultiplier& {
      std::optional<QuantMultiplier>& m = mult[size_t(count)];
      if (!m) m = quantize_multiplier(double(xq.scale[0]) / (double(yq.scale[0]) * double(count)));
      return *m;
    };
    visit_dtypes<kQuant8Types, kQuant8Types>(x.dtype(), node(), [&](auto tx) {
      visit_dtypes<kQuant8Types, kQuant8Types>(y.dtype(), node(), [&](auto ty) {
        using TX = decltype(tx);
        using TY = decltype(ty);
        const TX* src = x.data<TX>();
        TY* dst = y.data<TY>();
        const int64_t C = s[3], H = s[1], W = s[2];
        std::vector<int32_t> acc(static_cast<size_t>(C));
        for (int64_t n = 0; n < s[0]; ++n)
          for (int64_t oh = 0; oh < g.output[0]; ++oh)
            for (int64_t ow = 0; ow < g.output[1]; ++ow) {
              std::fill(acc.begin(), acc.end(), 0);
              int32_t count = 0;
              for (int64_t kh = 0; kh < g.kernel[0]; ++kh) {
                const int64_t ih = oh * g.strides[0] - g.pad_begin[0] + kh;
                if (ih < 0 || ih >= H) continue;
                for (int64_t kw = 0; kw < g.kernel[1]; ++kw) {
                  const int64_t iw = ow * g.strides[1] - g.pad_begin[1] + kw;
                  if (iw < 0 || iw >= W) continue;
                  const TX* p = src + ((n * H + ih) * W + iw) * C;
                  for (int64_t c = 0; c < C; ++c) acc[size_t(c)] += int32_t(p[c]);
                  ++count;
                }
              }
              const int32_t inside = count;
              if (include_pad_) count = int32_t(g.kernel[0] * g.kernel[1]);
              TY* out = dst + ((n * g.output[0] + oh) * g.output[1] + ow) * C;
              const QuantMultiplier* m = !same && count > 0 ? &multiplier(count) : nullptr;
              for (int64_t c = 0; c < C; ++c) {
                int32_t v;
                if (count == 0) {
                  v = yq.zero_point[0];
                } else if (same) {
                  // padded taps count as the zero point (real 0) under count_include_pad
                  int32_t a = acc[size_t(c)] + (count - inside) * xq.zero_point[0];
                  v = a > 0 ? (a + count / 2) / count : (a - count / 2) / count;
                } else {
                  int32_t a = acc[size_t(c)] - inside * xq.zero_point[0];
                  v = yq.zero_point[0] + multiply_by_quantized_multiplier(a, *m);
                }
                out[c] = TY(std::min(std::max(v, act.lo), act.hi));
              }
            }
      });
    });
  }

 private:
  WindowGeometry geometry(const Shape& x) const {
    WindowAttrs w = WindowAttrs::read(node(), 2);
    return w.resolve(node(), {x[1], x[2]});
  }

  // The whole image as one window (no padding, count = H*W > 0): the sums a vector of channels
  // at a time (simd/qpool_int8.cpp), then the loop above's arithmetic on each sum: the rounding
  // division, or the requantization vectorised (requantize.h).
  static void global_pool(const Tensor& x, const QuantParams& xq, const QuantParams& yq, const QuantRange& act,
                          bool same, Tensor& y) {
    const Shape& s = x.shape();
    const int64_t C = s[3], pixels = s[1] * s[2];
    const int32_t count = int32_t(pixels);
    const QuantMultiplier m = same ? QuantMultiplier{} : quantize_multiplier(double(xq.scale[0]) / (double(yq.scale[0]) * double(count)));
    thread_local std::vector<int32_t> sums;  // the calling thread's, reused
    sums.resize(size_t(C));
    for (int64_t n = 0; n < s[0]; ++n) {
      if (x.dtype() == DType::i8) channel_sums_i8(x.data<int8_t>() + n * pixels * C, pixels, C, sums.data());
      else channel_sums_u8(x.data<uint8_t>() + n * pixels * C, pixels, C, sums.data());
      void* out = static_cast<uint8_t*>(y.raw()) + n * C;
      if (same) {
        for (int64_t c = 0; c < C; ++c) {
          const int32_t a = sums[size_t(c)];
          const int32_t v = std::min(std::max(a > 0 ? (a + count / 2) / count : (a - count / 2) / count, act.lo), act.hi);
          if (y.dtype() == DType::i8) static_cast<int8_t*>(out)[c] = int8_t(v);
          else static_cast<uint8_t*>(out)[c] = uint8_t(v);
        }
        continue;
      }
      for (int64_t c = 0; c < C; ++c) sums[size_t(c)] -= count * xq.zero_point[0];
      const RequantizeArgs r{sums.data(), nullptr, nullptr, nullptr, nullptr, C, yq.zero_point[0], act.lo, act.hi, m};
      if (y.dtype() == DType::i8) requantize_to_i8(r, static_cast<int8_t*>(out));
      else requantize_to_u8(r, static_cast<uint8_t*>(out));
    }
  }

  bool global_, include_pad_;
  std::optional<QuantParams> prepared_x_, prepared_y_;  // when the scales and zero points are constants
};

}  // namespace
EK_REGISTER_OP_DOMAIN(kEdgekitDomain, "QAveragePoolNhwc", QAveragePoolNhwc);
EK_REGISTER_OP_DOMAIN(kEdgekitDomain, "QGlobalAveragePoolNhwc", QAveragePoolNhwc);
}  // namespace edgekit
