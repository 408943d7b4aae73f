// Transpose: permutes dims; the default perm reverses them.
#include <algorithm>
#include <cstring>

#include "kernels/data_movement.h"
#include "kernels/simd/nhwc_kernels.h"
#include "kernels/util.h"

namespace edgekit {
namespace {

class Transpose final : public OpKernel {
 public:
  explicit Transpose(const Node& node) : OpKernel(node), perm_(node.attr_ints("perm", {})) {}

  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(1, 1);
    const TensorType& x = ctx.input_type(0);
    if (!x.shape_known) {
      if (!perm_.empty()) set_output_unknown_dims(ctx, 0, x.dtype, perm_.size());
      else ctx.set_output_unknown(0, x.dtype);
      return;
    }
    std::vector<int64_t> perm = perm_for(x.shape.size());
    Shape out(perm.size());
    for (size_t i = 0; i < perm.size(); ++i) out[i] = x.shape[size_t(perm[i])];
    ctx.set_output(0, x.dtype, out);
  }

  void run(RunContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    std::vector<int64_t> perm = perm_for(x.rank());
    if (swap_fast_path(x, perm, ctx.output(0))) return;
    std::vector<int64_t> src = strides_of(x.shape()), strides(perm.size());
    for (size_t i = 0; i < perm.size(); ++i) strides[i] = src[size_t(perm[i])];
    strided_copy(x, 0, strides, ctx.output(0));
  }

 private:
  // Most Transposes in practice (NCHW <-> NHWC, channel shuffles) swap two groups of dims:
  // after dropping unit dims and merging dims that stay neighbours, the input is
  // [outer, A, B, inner] and the output [outer, B, A, inner]. That is a tiled 2-D transpose
  // (inner = 1) or a copy of contiguous rows of `inner` elements.
  static bool swap_fast_path(const Tensor& x, const std::vector<int64_t>& perm, Tensor& y) {
    std::vector<int64_t> dims, order;  // merged input dims; output order of the merged dims
    std::vector<int64_t> group_of(perm.size(), -1);
    {
      std::vector<int64_t> kept;  // input dims other than size 1, in output order
      for (int64_t p : perm)
        if (x.shape()[size_t(p)] != 1) kept.push_back(p);
      std::vector<std::vector<int64_t>> groups;  // runs of consecutive input dims
      for (int64_t p : kept) {
        if (!groups.empty() && groups.back().back() + 1 == p)
          groups.back().push_back(p);
        else
          groups.push_back({p});
      }
      std::vector<size_t> by_input(groups.size());
      for (size_t i = 0; i < groups.size(); ++i) by_input[i] = i;
      std::sort(by_input.begin(), by_input.end(), [&](size_t a, size_t b) { return groups[a][0] < groups[b][0]; });
      for (size_t i : by_input) {
        int64_t size = 1;
        for (int64_t d : groups[i]) size *= x.shape()[size_t(d)];
        dims.push_back(size);
      }
      for (size_t i = 0; i < groups.size(); ++i)
        order.push_back(int64_t(std::find(by_input.begin(), by_input.end(), i) - by_input.begin()));
    }
    // Now the output is the merged input dims in `order`; find [outer, A, B, inner].
    const size_t r = dims.size();
    size_t first = 0;
    while (first < r && order[first] == int64_t(first)) ++first;
    if (first == r) {  // only unit dims move: the data order is unchanged
      std::memcpy(y.raw(), x.raw(), x.nbytes());
      return true;
    }
    if (first + 2 > r || order[first] != int64_t(first + 1) || order[first + 1] != int64_t(first)) return false;
    for (size_t i = first + 2; i < r; ++i)
      if (order[i] != int64_t(i)) return false;
    int64_t outer = 1, inner = 1;
    for (size_t i = 0; i < first; ++i) outer *= dims[i];
    for (size_t i = first + 2; i < r; ++i) inner *= dims[i];
    const int64_t A = dims[first], B = dims[first + 1];
    const size_t elem = dtype_size(x.dtype()) * size_t(inner);
    if (inner == 1 && A <= 4 && x.dtype() == DType::f32) {  // an RGB image to NHWC, a channel shuffle
      for (int64_t o = 0; o < outer; ++o)
        interleave_channels_f32(x.data<float>() + o * A * B, A, B, y.data<float>() + o * A * B);
      return true;
    }
    if (inner == 1 && A <= 4 && dtype_size(x.dtype()) == 1) {  // the same on int8 values
      const uint8_t* src = static_cast<const uint8_t*>(x.raw());
      uint8_t* dst = static_cast<uint8_t*>(y.raw());
      for (int64_t o = 0; o < outer; ++o) interleave_channels_u8(src + o * A * B, A, B, dst + o * A * B);
      return true;
    }
    switch (inner == 1 ? dtype_size(x.dtype()) : 0) {
      case 1: transpose_2d<uint8_t>(x.raw(), y.raw(), outer, A, B); return true;
      case 2: transpose_2d<uint16_t>(x.raw(), y.raw(), outer, A, B); return true;
      case 4: transpose_2d<uint32_t>(x.raw(), y.raw(), outer, A, B); return true;
      case 8: transpose_2d<uint64_t>(x.raw(), y.raw(), outer, A, B); return true;
      default: break;
    }
    const char* src = static_cast<const char*>(x.raw());
    char* dst = static_cast<char*>(y.raw());
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t b = 0; b < B; ++b)
        for (int64_t a = 0; a < A; ++a)
          std::memcpy(dst + size_t((o * B + b) * A + a) * elem, src + size_t((o * A + a) * B + b) * elem, elem);
    return true;
  }

  // y[o][b][a] = x[o][a][b], in square tiles so both sides stay in cache.
  template <class E>
  static void transpose_2d(const void* xv, void* yv, int64_t outer, int64_t A, int64_t B) {
    constexpr int64_t T = 16;
    const E* x = static_cast<const E*>(xv);
    E* y = static_cast<E*>(yv);
    for (int64_t o = 0; o < outer; ++o, x += A * B, y += A * B)
      for (int64_t a0 = 0; a0 < A; a0 += T)
        for (int64_t b0 = 0; b0 < B; b0 += T) {
          const int64_t a1 = std::min(A, a0 + T), b1 = std::min(B, b0 + T);
          for (int64_t b = b0; b < b1; ++b)
            for (int64_t a = a0; a < a1; ++a) y[b * A + a] = x[a * B + b];
        }
  }

  std::vector<int64_t> perm_for(size_t rank) const {
    std::vector<int64_t> perm(rank);
    if (perm_.empty()) {
      for (size_t i = 0; i < rank; ++i) perm[i] = int64_t(rank - 1 - i);
      return perm;
    }
    EK_CHECK(perm_.size() == rank, node().where(), ": perm ", shape_str(perm_), " has ", perm_.size(),
             " entries for an input of rank ", rank);
    std::vector<bool> seen(rank, false);
    for (size_t i = 0; i < rank; ++i) {
      int64_t p = normalize_axis(perm_[i], int64_t(rank), node());
      EK_CHECK(!seen[size_t(p)], node().where(), ": perm ", shape_str(perm_), " is not a permutation");
      seen[size_t(p)] = true;
      perm[i] = p;
    }
    return perm;
  }

  std::vector<int64_t> perm_;
};

}  // namespace
EK_REGISTER_OP("Transpose", Transpose);
}  // namespace edgekit
