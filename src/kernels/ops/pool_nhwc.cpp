// com.edgekit:MaxPoolNhwc, AveragePoolNhwc, GlobalAveragePoolNhwc — 2-D f32 pooling on
// NHWC activations (passes/layout_nhwc.cpp), X [N, H, W, C] -> Y [N, OH, OW, C]. Attributes
// are those of the ONNX op (kernel_shape, strides, pads, dilations, auto_pad, ceil_mode,
// count_include_pad); MaxPoolNhwc has no Indices output. MaxPoolNhwc also takes int8 and
// uint8 values (passes/fuse_qdq.cpp: the max of quantized values is the quantized max).
#include <algorithm>
#include <limits>

#include "core/thread_pool.h"
#include "kernels/conv_geometry.h"
#include "kernels/nhwc_conv.h"
#include "kernels/op.h"

namespace edgekit {
namespace {

enum class NhwcPoolKind { max, average, global_average };

template <NhwcPoolKind kind>
class PoolNhwc final : public OpKernel {
 public:
  explicit PoolNhwc(const Node& node)
      : OpKernel(node), count_include_pad_(node.attr_int("count_include_pad", 0) != 0) {}

  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(1, 1);
    EK_CHECK(ctx.num_outputs() == 1, node().where(), ": expected 1 output, got ", ctx.num_outputs());
    const TensorType& x = ctx.input_type(0);
    const bool quantized_max = kind == NhwcPoolKind::max && (x.dtype == DType::i8 || x.dtype == DType::u8);
    EK_CHECK(x.dtype == DType::f32 || quantized_max, node().where(), ": input X has dtype ", dtype_name(x.dtype),
             kind == NhwcPoolKind::max ? ", expected f32, i8 or u8" : ", expected f32");
    if (!x.shape_known) return ctx.set_output_unknown(0, x.dtype);
    EK_CHECK(x.shape.size() == 4, node().where(), ": input X has shape ", shape_str(x.shape),
             ", expected rank 4 (N, H, W, C)");
    if (kind == NhwcPoolKind::global_average) return ctx.set_output(0, x.dtype, {x.shape[0], 1, 1, x.shape[3]});
    const WindowGeometry g = geometry(x.shape);
    ctx.set_output(0, x.dtype, {x.shape[0], g.output[0], g.output[1], x.shape[3]});
  }

  void run(RunContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    if constexpr (kind == NhwcPoolKind::max) {
      if (x.dtype() == DType::i8) return max_pool_q(x.data<int8_t>(), x.shape(), ctx.output(0).data<int8_t>(), ctx);
      if (x.dtype() == DType::u8) return max_pool_q(x.data<uint8_t>(), x.shape(), ctx.output(0).data<uint8_t>(), ctx);
    }
    float* y = ctx.output(0).data<float>();
    const int64_t N = x.dim(0), C = x.dim(3);
    if constexpr (kind == NhwcPoolKind::global_average) {
      nhwc_global_avg_pool_f32(x.data<float>(), N, x.dim(1) * x.dim(2), C, y, ctx.threads());
    } else {
      const NhwcWindow& win = window(x.shape());
      if (kind == NhwcPoolKind::max)
        nhwc_max_pool_f32(x.data<float>(), N, C, win, y, ctx.threads());
      else
        nhwc_avg_pool_f32(x.data<float>(), N, C, win, count_include_pad_, y, ctx.threads());
    }
  }

 private:
  // 8-bit max over the taps inside the image (padding never wins a max), channels innermost.
  template <class T>
  void max_pool_q(const T* x, const Shape& xs, T* y, RunContext& ctx) const {
    const NhwcWindow& w = window(xs);
    const int64_t C = xs[3], rows = xs[0] * w.out_h;
    parallel_for(ctx.threads(), rows, [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        const int64_t n = r / w.out_h, oh = r % w.out_h;
        for (int64_t ow = 0; ow < w.out_w; ++ow) {
          T* out = y + (r * w.out_w + ow) * C;
          std::fill(out, out + C, std::numeric_limits<T>::min());
          for (int64_t kh = 0; kh < w.kernel_h; ++kh) {
            const int64_t ih = oh * w.stride_h - w.pad_top + kh * w.dilation_h;
            if (ih < 0 || ih >= w.in_h) continue;
            for (int64_t kw = 0; kw < w.kernel_w; ++kw) {
              const int64_t iw = ow * w.stride_w - w.pad_left + kw * w.dilation_w;
              if (iw < 0 || iw >= w.in_w) continue;
              const T* in = x + ((n * w.in_h + ih) * w.in_w + iw) * C;
              for (int64_t c = 0; c < C; ++c) out[c] = std::max(out[c], in[c]);
            }
          }
        }
      }
    });
  }

  WindowGeometry geometry(const Shape& x) const {
    return WindowAttrs::read(node(), 2).resolve(node(), Shape{x[1], x[2]});
  }
  const NhwcWindow& window(const Shape& x) const {
    return window_.get({x[1], x[2]}, [&] { return NhwcWindow::from(geometry(x)); });
  }
  mutable SizeKeyed<NhwcWindow, 2> window_;

  bool count_include_pad_;
};

using MaxPoolNhwc = PoolNhwc<NhwcPoolKind::max>;
using AveragePoolNhwc = PoolNhwc<NhwcPoolKind::average>;
using GlobalAveragePoolNhwc = PoolNhwc<NhwcPoolKind::global_average>;

}  // namespace
EK_REGISTER_OP_DOMAIN(kEdgekitDomain, "MaxPoolNhwc", MaxPoolNhwc);
EK_REGISTER_OP_DOMAIN(kEdgekitDomain, "AveragePoolNhwc", AveragePoolNhwc);
EK_REGISTER_OP_DOMAIN(kEdgekitDomain, "GlobalAveragePoolNhwc", GlobalAveragePoolNhwc);
}  // namespace edgekit
