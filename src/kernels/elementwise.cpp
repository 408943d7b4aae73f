#include "kernels/elementwise.h"

namespace edgekit {

std::string dtype_set_str(DTypeSet set) {
  std::string s;
  for (unsigned t = unsigned(DType::f32); t <= unsigned(DType::boolean); ++t)
    if (set & dtype_bit(DType(t))) s += (s.empty() ? "" : ", ") + std::string(dtype_name(DType(t)));
  return s;
}

void check_dtype(const Node& node, const char* what, DType t, DTypeSet set) {
  EK_CHECK(dtype_in(t, set), node.where(), ": ", what, " has dtype ", dtype_name(t), ", expected one of ",
           dtype_set_str(set));
}

BroadcastPlan plan_broadcast(const Node& node, const Shape& out_shape, const Shape* const* inputs, int num_inputs) {
  EK_CHECK(num_inputs >= 1 && num_inputs <= kMaxBroadcastInputs, node.where(), ": broadcasting supports 1 to ",
           kMaxBroadcastInputs, " inputs, got ", num_inputs);
  BroadcastPlan p;
  p.num_inputs = num_inputs;
  p.numel = shape_numel(out_shape);
  const int out_rank = int(out_shape.size());
  for (int k = 0; k < num_inputs; ++k)
    EK_CHECK(inputs[k]->size() <= out_shape.size(), node.where(), ": input ", k, " of shape ",
             shape_str(*inputs[k]), " has a higher rank than the output shape ", shape_str(out_shape));

  // Walk output dims innermost first, computing each input's element stride along the dim
  // (0 where it broadcasts) and collapsing into p.dims (built innermost first, then flipped).
  BroadcastStrides run;  // each input's stride of the next dim to visit
  run.fill(1);
  int r = 0;
  for (int d = out_rank - 1; d >= 0; --d) {
    const int64_t od = out_shape[d];
    BroadcastStrides st{};
    for (int k = 0; k < num_inputs; ++k) {
      const Shape& s = *inputs[k];
      const int id = d - (out_rank - int(s.size()));
      const int64_t in_dim = id >= 0 ? s[id] : 1;
      EK_CHECK(in_dim == od || in_dim == 1, node.where(), ": input ", k, " of shape ", shape_str(s),
               " does not broadcast to the output shape ", shape_str(out_shape));
      st[k] = in_dim == 1 ? 0 : run[k];
      run[k] *= in_dim;
    }
    if (od == 1) continue;  // size-1 output dims contribute nothing
    bool merge = r > 0;
    for (int k = 0; k < num_inputs && merge; ++k)
      merge = st[k] == p.strides[r - 1][k] * p.dims[r - 1];  // contiguous (or broadcast) across both
    if (merge) {
      p.dims[r - 1] *= od;
      continue;
    }
    EK_CHECK(r < kMaxBroadcastRank, node.where(), ": broadcast pattern of ", shape_str(out_shape),
             " is too irregular (more than ", kMaxBroadcastRank, " collapsed dims)");
    p.dims[r] = od;
    p.strides[r] = st;
    ++r;
  }
  if (r == 0) {  // scalar-like output: one row of one element
    p.dims[0] = 1;
    p.strides[0] = BroadcastStrides{};
    r = 1;
  }
  // Reverse so the outermost dim comes first.
  for (int i = 0, j = r - 1; i < j; ++i, --j) {
    std::swap(p.dims[i], p.dims[j]);
    std::swap(p.strides[i], p.strides[j]);
  }
  p.rank = r;
  return p;
}

bool infer_broadcast_output(InferContext& ctx, size_t first_input, size_t num_inputs, DType dtype) {
  std::vector<Shape> shapes;
  for (size_t i = first_input; i < first_input + num_inputs; ++i) {
    const TensorType& t = ctx.input_type(i);
    if (!t.shape_known) {
      ctx.set_output_unknown(0, dtype);
      return false;
    }
    shapes.push_back(t.shape);
  }
  ctx.set_output(0, dtype, broadcast_shapes(shapes, ctx.node()));
  return true;
}

}  // namespace edgekit
