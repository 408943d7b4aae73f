// ConvTranspose: the gradient of Conv with respect to its input, as GEMM + col2im per image
// and group:
//   col (M/g*k x in) = W[g]^T (M/g*k x C/g) * X[n, g] (C/g x in);  Y[n, g] = col2im(col) + B
// W is C x M/g x k...; output size from strides, pads, output_padding or output_shape.
#include <vector>

#include "kernels/conv_geometry.h"
#include "kernels/gemm_ref.h"
#include "kernels/im2col.h"
#include "kernels/nn_common.h"
#include "kernels/op.h"

namespace edgekit {
namespace {

class ConvTranspose final : public OpKernel {
 public:
  explicit ConvTranspose(const Node& node) : OpKernel(node), group_(node.attr_int("group", 1)) {
    EK_CHECK(group_ >= 1, node.where(), ": group must be >= 1, got ", group_);
  }

  void infer(InferContext& ctx) const override {
    if (!check_conv_operands(ctx, node())) return;
    const TensorType& x = ctx.input_type(0);
    const TensorType& w = ctx.input_type(1);
    const int64_t C = x.shape[1];
    EK_CHECK(C < 0 || w.shape[0] < 0 || w.shape[0] == C, node().where(), ": input X has ", C,
             " channels, expected ", w.shape[0], " (W dim 0)");
    EK_CHECK(C < 0 || C % group_ == 0, node().where(), ": input channels ", C, " are not divisible by group ",
             group_);
    const int64_t M = w.shape[1] < 0 ? -1 : w.shape[1] * group_;
    check_conv_bias(ctx, node(), M, x.dtype);
    const WindowGeometry g = geometry(x.shape, w.shape);
    Shape out{x.shape[0], M};
    for (int64_t d : g.output) out.push_back(d);
    ctx.set_output(0, x.dtype, out);
  }

  void run(RunContext& ctx) const override {
    visit_float(ctx.input(0).dtype(), [&](auto tag) { compute<decltype(tag)>(ctx); });
  }

 private:
  WindowGeometry geometry(const Shape& x, const Shape& w) const {
    const size_t rank = x.size() - 2;
    WindowAttrs attrs = WindowAttrs::read(node(), rank, Shape(w.begin() + 2, w.end()));
    Shape output_padding = node().attr_ints("output_padding", Shape(rank, 0));
    Shape output_shape = node().attr_ints("output_shape", {});
    // Some exporters give the full N, C, spatial... shape.
    if (output_shape.size() == rank + 2) output_shape.erase(output_shape.begin(), output_shape.begin() + 2);
    return attrs.resolve_transposed(node(), Shape(x.begin() + 2, x.end()), output_padding, output_shape);
  }

  template <class T>
  void compute(RunContext& ctx) const {
    const Tensor& x = ctx.input(0);
    const Tensor& w = ctx.input(1);
    Tensor& y = ctx.output(0);
    const WindowGeometry g = geometry(x.shape(), w.shape());
    const Im2colShape s = Im2colShape::transposed(g);
    const int64_t N = x.dim(0), C = x.dim(1), Cg = C / group_, Mg = w.dim(1), M = Mg * group_;
    const int64_t rows = Mg * s.kernel_size(), in_size = s.col_size(), out_size = s.image_size();
    std::vector<T> col(size_t(rows * in_size));  // scratch; the planner will own it later
    const T* X = x.data<T>();
    const T* W = w.data<T>();
    T* Y = y.data<T>();
    std::fill(Y, Y + y.numel(), T(0));
    for (int64_t n = 0; n < N; ++n) {
      for (int64_t gi = 0; gi < group_; ++gi) {
        // W[g] is stored Cg x rows, so W[g]^T is a transposed read.
        gemm<T>(rows, in_size, Cg, W + gi * Cg * rows, rows, true, X + (n * C + gi * Cg) * in_size, in_size,
                    false, col.data(), in_size, T(1), T(0), ctx.threads());
        col2im_add(col.data(), Mg, s, Y + (n * M + gi * Mg) * out_size);
      }
    }
    if (ctx.has_input(2)) add_channel_bias(Y, ctx.input(2).data<T>(), N, M, out_size);
  }

  int64_t group_;
};

}  // namespace
EK_REGISTER_OP("ConvTranspose", ConvTranspose);
}  // namespace edgekit
