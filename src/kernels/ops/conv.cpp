// Conv: N-d convolution (1 to 3 spatial dims) with groups, strides, dilations, pads and
// auto_pad, as im2col + GEMM per image and group:
//   Y[n, g] (M/g x out) = W[g] (M/g x C/g*k) * im2col(X[n, g]) (C/g*k x out) + B
// Pointwise convolutions (1x1, stride 1, no pad) skip im2col and multiply X directly.
#include <vector>

#include "core/thread_pool.h"
#include "kernels/conv_geometry.h"
#include "kernels/gemm_ref.h"
#include "kernels/depthwise_conv.h"
#include "kernels/epilogue.h"
#include "kernels/im2col.h"
#include "kernels/nn_common.h"
#include "kernels/op.h"

namespace edgekit {
namespace {

class Conv final : public OpKernel {
 public:
  explicit Conv(const Node& node)
      : OpKernel(node),
        group_(node.attr_int("group", 1)),
        activation_(node),
        residual_(FusedActivation::has_residual(node)) {
    EK_CHECK(group_ >= 1, node.where(), ": group must be >= 1, got ", group_);
    EK_CHECK(!residual_ || node.inputs.size() == 4, node.where(), ": a fused residual is input 3, got ",
             node.inputs.size(), " inputs");
  }

  void infer(InferContext& ctx) const override {
    if (!check_conv_operands(ctx, node())) return;
    const TensorType& x = ctx.input_type(0);
    const TensorType& w = ctx.input_type(1);
    const int64_t C = x.shape[1], M = w.shape[0], Cg = w.shape[1];
    EK_CHECK(C < 0 || C % group_ == 0, node().where(), ": input channels ", C, " are not divisible by group ",
             group_);
    EK_CHECK(M < 0 || M % group_ == 0, node().where(), ": output channels ", M,
             " (W dim 0) are not divisible by group ",
             group_);
    EK_CHECK(C < 0 || Cg < 0 || Cg * group_ == C, node().where(), ": input X has ", C, " channels, expected ",
             Cg * group_, " (W dim 1 = ", Cg, " per group x group ", group_, ")");
    check_conv_bias(ctx, node(), M, x.dtype);
    const size_t rank = x.shape.size() - 2;
    const WindowGeometry g = geometry(x.shape, w.shape);
    Shape out{x.shape[0], M};
    for (size_t i = 0; i < rank; ++i) out.push_back(g.output[i]);
    if (residual_) check_residual(ctx.input_type(3), x.dtype, out);
    ctx.set_output(0, x.dtype, out);
  }

  void run(RunContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    visit_float(x.dtype(), [&](auto tag) { compute<decltype(tag)>(ctx); });
  }

 private:
  WindowGeometry geometry(const Shape& x, const Shape& w) const {
    const size_t rank = x.size() - 2;
    Shape kernel(w.begin() + 2, w.end());
    WindowAttrs attrs = WindowAttrs::read(node(), rank, kernel);
    return attrs.resolve(node(), Shape(x.begin() + 2, x.end()));
  }

  // The fused residual is added element by element, so it must have the output's exact shape.
  void check_residual(const TensorType& r, DType dtype, const Shape& out) const {
    check_same_dtype(node(), "residual", r.dtype, dtype);
    EK_CHECK(!r.shape_known || r.shape.size() == out.size(), node().where(), ": fused residual has shape ",
             shape_str(r.shape), ", expected the output shape ", shape_str(out));
    for (size_t i = 0; r.shape_known && i < out.size(); ++i)
      EK_CHECK(r.shape[i] < 0 || out[i] < 0 || r.shape[i] == out[i], node().where(), ": fused residual has shape ",
               shape_str(r.shape), ", expected the output shape ", shape_str(out));
  }

  template <class T>
  void compute(RunContext& ctx) const {
    const Tensor& x = ctx.input(0);
    const Tensor& w = ctx.input(1);
    Tensor& y = ctx.output(0);
    const WindowGeometry g = geometry(x.shape(), w.shape());
    const Im2colShape s = Im2colShape::forward(g);
    const int64_t N = x.dim(0), C = x.dim(1), M = w.dim(0);
    const int64_t Cg = C / group_, Mg = M / group_;
    const int64_t K = Cg * s.kernel_size(), in_size = s.image_size(), out_size = s.col_size();
    const bool pointwise = s.is_pointwise();
    const T* X = x.data<T>();
    const T* W = w.data<T>();
    T* Y = y.data<T>();
    const T* R = residual_ ? ctx.input(3).data<T>() : nullptr;
    if (group_ == C && M == C && x.rank() == 4 && s.kernel[2] <= 16) {  // depthwise: direct beats im2col + GEMM
      const T* bias = ctx.has_input(2) ? ctx.input(2).data<T>() : nullptr;
      if (!R) return depthwise_conv2d<T>(X, W, bias, Y, N, C, s, activation_, ctx.threads());
      // Rare (residuals follow pointwise convs): the residual epilogue runs as a second pass.
      depthwise_conv2d<T>(X, W, bias, Y, N, C, s, FusedActivation(), ctx.threads());
      return activation_.apply(Y, R, y.numel());
    }
    // Threads split the (image, group) pairs when there are several (grouped, depthwise or
    // batched convs), else the one GEMM. Each task owns its im2col scratch.
    const int64_t tasks = N * group_;
    // Below ~1 MFLOP waking a worker costs more than it saves.
    const bool worth_threads = 2.0 * double(tasks) * double(Mg) * double(K) * double(out_size) >= 1e6;
    ThreadPool* gemm_pool = tasks > 1 ? nullptr : ctx.threads();
    parallel_for(tasks > 1 && worth_threads ? ctx.threads() : nullptr, tasks, [&](int64_t begin, int64_t end) {
      std::vector<T> col(pointwise ? 0 : size_t(K * out_size));  // scratch; the planner will own it later
      for (int64_t t = begin; t < end; ++t) {
        const int64_t n = t / group_, gi = t % group_;
        const T* xg = X + (n * C + gi * Cg) * in_size;
        const T* b = xg;
        if (!pointwise) {
          im2col(xg, Cg, s, col.data());
          b = col.data();
        }
        T* yg = Y + (n * M + gi * Mg) * out_size;
        gemm<T>(Mg, out_size, K, W + gi * Mg * K, K, false, b, out_size, false, yg, out_size, T(1), T(0),
                    gemm_pool);
        // Epilogue on the block just computed, while it is in cache: bias, then a fused
        // residual and activation.
        if (ctx.has_input(2)) add_channel_bias(yg, ctx.input(2).data<T>() + gi * Mg, 1, Mg, out_size);
        activation_.apply(yg, R ? R + (yg - Y) : nullptr, Mg * out_size);
      }
    });
  }

  int64_t group_;
  FusedActivation activation_;
  bool residual_;
};

}  // namespace
EK_REGISTER_OP("Conv", Conv);
}  // namespace edgekit
