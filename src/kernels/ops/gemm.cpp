// Gemm: Y = alpha * op(A) * op(B) + beta * C, with A, B 2-D and C (optional from opset 11)
// unidirectionally broadcast to M x N. C is copied into Y and gemm_ref accumulates onto it.
#include "kernels/epilogue.h"
#include <optional>
#include <vector>

#include "kernels/gemm_ref.h"
#include "kernels/nhwc_conv.h"
#include "kernels/nn_common.h"
#include "kernels/op.h"
#include "kernels/util.h"

namespace edgekit {
namespace {

class Gemm final : public OpKernel {
 public:
  explicit Gemm(const Node& node)
      : OpKernel(node),
        trans_a_(node.attr_int("transA", 0) != 0),
        trans_b_(node.attr_int("transB", 0) != 0),
        alpha_(node.attr_float("alpha", 1.f)),
        beta_(node.attr_float("beta", 1.f)),
        activation_(node) {}

  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(node().opset != 0 && node().opset < 11 ? 3 : 2, 3);
    const TensorType& a = ctx.input_type(0);
    const TensorType& b = ctx.input_type(1);
    EK_CHECK(is_gemm_dtype(a.dtype), node().where(), ": input A has dtype ", dtype_name(a.dtype),
             ", expected f32, f64, i32, i64, u32 or u64");
    check_same_dtype(node(), "B", b.dtype, a.dtype);
    if (!a.shape_known || !b.shape_known) return ctx.set_output_unknown(0, a.dtype);
    EK_CHECK(a.shape.size() == 2, node().where(), ": input A has shape ", shape_str(a.shape), ", expected rank 2");
    EK_CHECK(b.shape.size() == 2, node().where(), ": input B has shape ", shape_str(b.shape), ", expected rank 2");
    const int64_t M = a.shape[trans_a_ ? 1 : 0], K = a.shape[trans_a_ ? 0 : 1];
    const int64_t Kb = b.shape[trans_b_ ? 1 : 0], N = b.shape[trans_b_ ? 0 : 1];
    EK_CHECK(K < 0 || Kb < 0 || K == Kb, node().where(), ": inner dims differ: op(A) ", shape_str({M, K}),
             " (transA=", trans_a_, ") times op(B) ", shape_str({Kb, N}), " (transB=", trans_b_, ")");
    if (ctx.has_input(2)) {
      const TensorType& c = ctx.input_type(2);
      check_same_dtype(node(), "C", c.dtype, a.dtype);
      if (c.shape_known) check_c_shape(c.shape, M, N);
    }
    ctx.set_output(0, a.dtype, {M, N});
  }

  // f32 with constant B (and C a constant row of biases, or none): B is packed once for the
  // igemm micro-kernel, with alpha and beta * C folded in (kernels/nhwc_conv.h).
  void prepare(const PrepareContext& ctx) override {
    if (const PackedWeights* p = ctx.packed_input(1)) {  // from an .ekm: in place, or unpacked for us
      if (!trans_a_ && alpha_ == 1.f && p->k_major == !trans_b_ && p->dims.size() == 2 &&
          (packed_ = NhwcConvWeights::adopt(*p, 1, 1))) {
        b_dims_ = p->dims;
        ctx.adopt(1);
      }
      return;
    }
    const Tensor* b = ctx.constant_input(1);
    if (trans_a_ || !b || b->dtype() != DType::f32 || b->rank() != 2) return;
    const int64_t N = b->dim(trans_b_ ? 0 : 1), K = b->dim(trans_b_ ? 1 : 0);
    std::vector<float> bias;
    if (node().has_input(2) && beta_ != 0.f) {
      const Tensor* c = ctx.constant_input(2);
      if (!c || c->dtype() != DType::f32 || c->numel() != N || (c->rank() == 2 && c->dim(0) != 1) || c->rank() > 2)
        return;
      bias.assign(c->data<float>(), c->data<float>() + N);
      for (float& v : bias) v *= beta_;
    }
    std::vector<float> w(size_t(N * K));  // as [N, K], scaled by alpha
    const float* B = b->data<float>();
    for (int64_t n = 0; n < N; ++n)
      for (int64_t k = 0; k < K; ++k) w[size_t(n * K + k)] = alpha_ * (trans_b_ ? B[n * K + k] : B[k * N + n]);
    packed_.emplace(w.data(), bias.empty() ? nullptr : bias.data(), N, K, 1, 1, 1);
    b_dims_ = b->shape();
  }

  // Stored only when the panels are B's own values in another order (alpha folded in would
  // not unpack to B).
  std::vector<std::pair<size_t, PackedWeights>> packed_inputs() const override {
    if (!packed_ || alpha_ != 1.f) return {};
    return {{1, packed_->describe(b_dims_, !trans_b_)}};
  }

  void run(RunContext& ctx) const override {
    if (packed_ && ctx.input(0).dtype() == DType::f32) {
      const Tensor& a = ctx.input(0);
      return packed_gemm_f32(*packed_, a.data<float>(), a.dim(0), ctx.output(0).data<float>(), activation_,
                             ctx.threads());
    }
    visit_gemm_dtype(ctx.input(0).dtype(), [&](auto tag) { compute<decltype(tag)>(ctx); });
  }

 private:
  // C must broadcast to M x N without Y growing (unidirectional broadcasting).
  void check_c_shape(const Shape& c, int64_t M, int64_t N) const {
    EK_CHECK(c.size() <= 2, node().where(), ": input C has shape ", shape_str(c), ", expected rank <= 2");
    const Shape want{M, N};
    for (size_t i = 0; i < c.size(); ++i) {
      const int64_t got = c[i], full = want[2 - c.size() + i];
      EK_CHECK(got == 1 || got < 0 || full < 0 || got == full, node().where(), ": input C has shape ", shape_str(c),
               ", which does not broadcast to the output ", shape_str(want));
    }
  }

  template <class T>
  void compute(RunContext& ctx) const {
    const Tensor& a = ctx.input(0);
    const Tensor& b = ctx.input(1);
    Tensor& y = ctx.output(0);
    const int64_t M = y.dim(0), N = y.dim(1), K = a.dim(trans_a_ ? 0 : 1);
    T* Y = y.data<T>();
    T beta = T(0);
    if (ctx.has_input(2) && beta_ != 0.f) {
      const Tensor& c = ctx.input(2);
      const std::vector<int64_t> st = broadcast_strides(c.shape(), y.shape());
      const T* C = c.data<T>();
      for (int64_t i = 0; i < M; ++i)
        for (int64_t j = 0; j < N; ++j) Y[i * N + j] = C[i * st[0] + j * st[1]];
      beta = T(beta_);
    }
    gemm<T>(M, N, K, a.data<T>(), a.dim(1), trans_a_, b.data<T>(), b.dim(1), trans_b_, Y, N, T(alpha_), beta,
                ctx.threads());
    activation_.apply(Y, M * N);
  }

  bool trans_a_, trans_b_;
  float alpha_, beta_;
  FusedActivation activation_;
  std::optional<NhwcConvWeights> packed_;
  std::vector<int64_t> b_dims_;  // of the B that was packed
};

}  // namespace
EK_REGISTER_OP("Gemm", Gemm);
}  // namespace edgekit
