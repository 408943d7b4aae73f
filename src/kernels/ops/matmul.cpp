// MatMul: numpy matmul. 1-D A is a row vector and 1-D B a column vector (the added dim is
// dropped from the result); leading batch dims broadcast. Each batch is one gemm_ref call;
// when B has no batch dims the whole batch of A is folded into one taller GEMM.
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

class MatMul final : public OpKernel {
 public:
  explicit MatMul(const Node& node) : OpKernel(node), activation_(node) {}

  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(2, 2);
    const TensorType& a = ctx.input_type(0);
    const TensorType& b = ctx.input_type(1);
    EK_CHECK(is_gemm_dtype(a.dtype), node().where(), ": input A has dtype ", dtype_name(a.dtype),
             ", expected f32, f64, i32, i64, u32 or u64");
    check_same_dtype(node(), "B", b.dtype, a.dtype);
    if (!a.shape_known || !b.shape_known) return ctx.set_output_unknown(0, a.dtype);
    ctx.set_output(0, a.dtype, output_shape(a.shape, b.shape));
  }

  // f32 with a constant 2-D B shared by every batch: packed once for the igemm micro-kernel.
  void prepare(const PrepareContext& ctx) override {
    const Tensor* b = ctx.constant_input(1);
    if (!b || b->dtype() != DType::f32 || b->rank() != 2) return;
    const int64_t K = b->dim(0), N = b->dim(1);
    std::vector<float> w(size_t(N * K));  // as [N, K]
    for (int64_t n = 0; n < N; ++n)
      for (int64_t k = 0; k < K; ++k) w[size_t(n * K + k)] = b->data<float>()[k * N + n];
    packed_.emplace(w.data(), nullptr, N, K, 1, 1, 1);
  }

  void run(RunContext& ctx) const override {
    const Tensor& a = ctx.input(0);
    if (packed_ && a.dtype() == DType::f32 && a.rank() >= 2) {  // all of A's rows times B
      return packed_gemm_f32(*packed_, a.data<float>(), a.numel() / a.dim(-1), ctx.output(0).data<float>(),
                             activation_, ctx.threads());
    }
    visit_gemm_dtype(ctx.input(0).dtype(), [&](auto tag) { compute<decltype(tag)>(ctx); });
  }

 private:
  struct Dims {
    Shape a, b;          // promoted to rank >= 2
    Shape batch;         // broadcast batch dims
    int64_t M, K, N;
  };

  Dims promote(const Shape& a0, const Shape& b0) const {
    EK_CHECK(!a0.empty() && !b0.empty(), node().where(), ": MatMul needs operands of rank >= 1, got ",
             shape_str(a0), " and ", shape_str(b0));
    Dims d{a0, b0, {}, 0, 0, 0};
    if (d.a.size() == 1) d.a.insert(d.a.begin(), 1);
    if (d.b.size() == 1) d.b.push_back(1);
    d.M = d.a[d.a.size() - 2];
    d.K = d.a.back();
    d.N = d.b.back();
    const int64_t Kb = d.b[d.b.size() - 2];
    EK_CHECK(d.K < 0 || Kb < 0 || d.K == Kb, node().where(), ": inner dims differ: A ", shape_str(a0), " has K=",
             d.K, ", B ", shape_str(b0), " has K=", Kb);
    d.batch = broadcast_shapes({Shape(d.a.begin(), d.a.end() - 2), Shape(d.b.begin(), d.b.end() - 2)}, node());
    return d;
  }

  Shape output_shape(const Shape& a0, const Shape& b0) const {
    const Dims d = promote(a0, b0);
    Shape out = d.batch;
    if (a0.size() > 1) out.push_back(d.M);
    if (b0.size() > 1) out.push_back(d.N);
    return out;
  }

  template <class T>
  void compute(RunContext& ctx) const {
    const Tensor& a = ctx.input(0);
    const Tensor& b = ctx.input(1);
    T* Y = ctx.output(0).data<T>();
    const Dims d = promote(a.shape(), b.shape());
    const T* A = a.data<T>();
    const T* B = b.data<T>();
    const int64_t batches = shape_numel(d.batch);
    if (d.b.size() == 2) {  // B shared by every batch: one (batch * M) x N GEMM
      gemm<T>(batches * d.M, d.N, d.K, A, d.K, false, B, d.N, false, Y, d.N, T(1), T(0), ctx.threads());
      return activation_.apply(Y, batches * d.M * d.N);
    }
    // Per-batch element offsets of A and B, via broadcast strides over matrix indices.
    const Shape batch_a(d.a.begin(), d.a.end() - 2), batch_b(d.b.begin(), d.b.end() - 2);
    const std::vector<int64_t> sa = broadcast_strides(batch_a, d.batch), sb = broadcast_strides(batch_b, d.batch);
    std::vector<int64_t> idx(d.batch.size(), 0);
    for (int64_t t = 0; t < batches; ++t) {
      int64_t ia = 0, ib = 0;
      for (size_t k = 0; k < idx.size(); ++k) {
        ia += idx[k] * sa[k];
        ib += idx[k] * sb[k];
      }
      gemm<T>(d.M, d.N, d.K, A + ia * d.M * d.K, d.K, false, B + ib * d.K * d.N, d.N, false,
                  Y + t * d.M * d.N, d.N, T(1), T(0), ctx.threads());
      activation_.apply(Y + t * d.M * d.N, d.M * d.N);
      for (int k = int(idx.size()) - 1; k >= 0 && ++idx[k] == d.batch[k]; --k) idx[k] = 0;
    }
  }

  FusedActivation activation_;
  std::optional<NhwcConvWeights> packed_;
};

}  // namespace
EK_REGISTER_OP("MatMul", MatMul);
}  // namespace edgekit
