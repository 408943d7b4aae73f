// Helpers shared by the data-movement, indexing and reduction reference kernels
// (Transpose, Slice, Expand, Tile, Gather*, Scatter*, Reduce*, ...).
//
// Data movement works on raw bytes by element size, so one kernel serves every dtype.
// strided_copy() is the workhorse: the output is walked in row-major order and each
// element is read from src at `offset + sum(index[d] * strides[d])`. A zero stride
// broadcasts (Expand, Tile), a negative one reverses (Slice with steps < 0), permuted
// strides transpose (Transpose, DepthToSpace, SpaceToDepth).
#pragma once
#include <climits>
#include <cstdint>
#include <optional>
#include <vector>

#include "core/tensor.h"
#include "kernels/op.h"

namespace edgekit {

// The opset to apply for a node of the default domain; 0 (unknown) means the latest.
inline int opset_of(const Node& node) { return node.opset > 0 ? node.opset : INT_MAX; }

// Calls fn(U{}) with an unsigned integer type of `size` bytes, for byte-wise element copies.
template <class Fn>
decltype(auto) visit_elem_size(size_t size, Fn&& fn) {
  switch (size) {
    case 1: return fn(uint8_t{});
    case 2: return fn(uint16_t{});
    case 4: return fn(uint32_t{});
    case 8: return fn(uint64_t{});
    default: fail("unsupported element size ", size);
  }
}

// dst[i] = src[offset + sum(idx[d] * strides[d])] over dst's shape; strides are in elements
// and have one entry per dst dim. src and dst must have the same dtype.
void strided_copy(const Tensor& src, int64_t offset, const std::vector<int64_t>& strides, Tensor& dst);

// normalize_axis for ops that index a real dim: also rejects rank-0 inputs, for which
// normalize_axis admits axis 0.
size_t axis_index(int64_t axis, int64_t rank, const Node& node);

// a * b for non-negative dims; throws naming the node instead of overflowing.
int64_t checked_mul(int64_t a, int64_t b, const Node& node);

// Arithmetic reference kernels (reductions, TopK, ArgMax, CumSum) compute f16 in f32:
// widen the input, compute, narrow the result.
Tensor widen_f16(const Tensor& x);                // f16 -> new f32 tensor
void narrow_to_f16(const Tensor& src, Tensor& dst);  // f32 -> existing f16 tensor of equal shape
// Throws naming the node unless `t` is a numeric dtype or f16 (undefined passes: static inference).
void check_numeric_or_f16(DType t, const Node& node);

// The values of input i as int64 when known (given and constant), else nullopt.
std::optional<std::vector<int64_t>> input_ints(const InferContext& ctx, size_t i);

// Sets output `i` to `dtype` with `rank` unknown dims (when the values deciding them are unknown).
void set_output_unknown_dims(InferContext& ctx, size_t i, DType dtype, size_t rank);

// True when every dim is known (>= 0).
bool all_known(const Shape& shape);

// Product of dims, -1 if any is unknown.
int64_t known_numel(const Shape& shape);

// ONNX TensorProto.DataType code -> DType (for attributes such as EyeLike's dtype).
DType dtype_from_onnx_code(int64_t code, const Node& node);

// Scatter reductions (ScatterElements, ScatterND).
enum class ScatterReduction { none, add, mul, max, min };
ScatterReduction parse_scatter_reduction(const Node& node);

// dst = reduction(dst, v) for one element (none: dst = v).
template <class T>
inline void scatter_apply(ScatterReduction r, T& dst, T v) {
  switch (r) {
    case ScatterReduction::none: dst = v; break;
    case ScatterReduction::add: dst = T(dst + v); break;
    case ScatterReduction::mul: dst = T(dst * v); break;
    case ScatterReduction::max: dst = dst < v ? v : dst; break;
    case ScatterReduction::min: dst = v < dst ? v : dst; break;
  }
}

}  // namespace edgekit
