// Small helpers shared by the neural-network reference ops (conv, pooling, normalisation,
// resize): float dtype dispatch and checks.
#pragma once
#include "kernels/op.h"

namespace edgekit {

// Calls fn(float{}) or fn(double{}); infer() has already rejected other dtypes.
template <class Fn>
decltype(auto) visit_float(DType t, Fn&& fn) {
  if (t == DType::f64) return fn(double{});
  EK_CHECK(t == DType::f32, "visit_float: dtype ", dtype_name(t), " is not f32 or f64");
  return fn(float{});
}

// Throws "<node>: input 'X' has dtype i8, expected f32 or f64" unless t is f32 or f64.
inline void check_float_input(const Node& node, const char* what, DType t) {
  EK_CHECK(t == DType::f32 || t == DType::f64, node.where(), ": input ", what, " has dtype ", dtype_name(t),
           ", expected f32 or f64");
}

// Throws unless input `what` has the same dtype as X.
inline void check_same_dtype(const Node& node, const char* what, DType t, DType x) {
  EK_CHECK(t == x, node.where(), ": input ", what, " has dtype ", dtype_name(t), ", expected ", dtype_name(x),
           " like X");
}

}  // namespace edgekit

namespace edgekit {

// y[n, c, ...] += bias[c] for a tensor viewed as N x C x inner.
template <class T>
void add_channel_bias(T* y, const T* bias, int64_t N, int64_t C, int64_t inner) {
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c) {
      T* row = y + (n * C + c) * inner;
      const T b = bias[c];
      for (int64_t i = 0; i < inner; ++i) row[i] += b;
    }
}

}  // namespace edgekit

namespace edgekit {

// The dtypes gemm_ref is instantiated for (Gemm, MatMul).
inline bool is_gemm_dtype(DType t) {
  return t == DType::f32 || t == DType::f64 || t == DType::i32 || t == DType::i64 || t == DType::u32 ||
         t == DType::u64;
}

template <class Fn>
decltype(auto) visit_gemm_dtype(DType t, Fn&& fn) {
  switch (t) {
    case DType::f32: return fn(float{});
    case DType::f64: return fn(double{});
    case DType::i32: return fn(int32_t{});
    case DType::i64: return fn(int64_t{});
    case DType::u32: return fn(uint32_t{});
    case DType::u64: return fn(uint64_t{});
    default: fail("dtype ", dtype_name(t), " is not supported by gemm");
  }
}


// The optional bias B (input 2) of a convolution with M output channels: X's dtype, shape [M].
inline void check_conv_bias(InferContext& ctx, const Node& node, int64_t M, DType x_dtype) {
  if (!ctx.has_input(2)) return;
  const TensorType& b = ctx.input_type(2);
  check_same_dtype(node, "B", b.dtype, x_dtype);
  EK_CHECK(!b.shape_known || (b.shape.size() == 1 && (b.shape[0] < 0 || M < 0 || b.shape[0] == M)), node.where(),
           ": bias B has shape ", shape_str(b.shape), ", expected [", M, "]");
}

// The checks Conv and ConvTranspose share on X and W: float dtypes, rank 3 to 5, W of X's rank.
// Returns false (output set unknown) when a shape is not known yet.
inline bool check_conv_operands(InferContext& ctx, const Node& node) {
  ctx.expect_inputs(2, node.attr_int("_residual", 0) != 0 ? 4 : 3);  // a fused residual is a 4th input
  const TensorType& x = ctx.input_type(0);
  const TensorType& w = ctx.input_type(1);
  check_float_input(node, "X", x.dtype);
  check_same_dtype(node, "W", w.dtype, x.dtype);
  if (!x.shape_known || !w.shape_known) {
    ctx.set_output_unknown(0, x.dtype);
    return false;
  }
  EK_CHECK(x.shape.size() >= 3 && x.shape.size() <= 5, node.where(), ": input X has shape ", shape_str(x.shape),
           ", expected rank 3 to 5 (N, C, 1 to 3 spatial dims)");
  EK_CHECK(w.shape.size() == x.shape.size(), node.where(), ": weight W has shape ", shape_str(w.shape),
           ", expected rank ", x.shape.size(), " like X ", shape_str(x.shape));
  return true;
}

}  // namespace edgekit
