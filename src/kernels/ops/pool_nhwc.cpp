// com.edgekit:MaxPoolNhwc, AveragePoolNhwc, GlobalAveragePoolNhwc — 2-D f32 pooling on
// NHWC activations (passes/layout_nhwc.cpp), X [N, H, W, C] -> Y [N, OH, OW, C]. Attributes
// are those of the ONNX op (kernel_shape, strides, pads, dilations, auto_pad, ceil_mode,
// count_include_pad); MaxPoolNhwc has no Indices output. MaxPoolNhwc also takes int8 and
// uint8 values (passes/fuse_qdq.cpp: the max of quantized values is the quantized max).
#include <type_traits>

#include "core/thread_pool.h"
#include "kernels/conv_geometry.h"
#include "kernels/nhwc_conv.h"
#include "kernels/elementwise.h"
#include "kernels/op.h"
#include "kernels/qpool_int8.h"

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
  // 8-bit max over the taps inside the image (padding never wins a max), channels innermost
  // (simd/qpool_int8.cpp); rows over the threads when there is enough work.
  template <class T>
  void max_pool_q(const T* x, const Shape& xs, T* y, RunContext& ctx) const {
    const NhwcWindow& w = window(xs);
    const QMaxPoolRows p{x, y, w.in_h, w.in_w, xs[3], w.out_h, w.out_w, w.kernel_h, w.kernel_w,
                         w.stride_h, w.stride_w, w.pad_top, w.pad_left, w.dilation_h, w.dilation_w};
    const int64_t rows = xs[0] * w.out_h, work = rows * w.out_w * xs[3] * w.taps();
    parallel_for(work >= kMinParallelElements ? ctx.threads() : nullptr, rows, [&](int64_t begin, int64_t end) {
      if constexpr (std::is_same_v<T, int8_t>) qmax_pool_i8(p, begin, end);
      else qmax_pool_u8(p, begin, end);
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
