// The Reduce* family: one kernel driven by a table. Each op is
//   finish( combine over the reduced elements of map(x) )
// e.g. ReduceL2 = sqrt(sum(x^2)), ReduceLogSumExp = log(sum(exp(x - max))) + max.
// Axes are an attribute before opset 13 (ReduceSum) or 18 (the others) and an optional
// input after; empty axes reduce everything unless noop_with_empty_axes, when nothing is
// reduced and each element is its own set (ReduceSumSquare gives x^2, as onnx's reference).
// Accumulation runs in double for floats and in 64-bit integers for integer sums/products.
#include <algorithm>
#include <cmath>
#include <limits>

#include "kernels/data_movement.h"
#include "kernels/util.h"

namespace edgekit {
namespace {

enum class Map { identity, abs, square, exp };
enum class Combine { sum, prod, max, min };
enum class Finish { none, mean, sqrt, log };

struct ReduceKind {
  const char* op_type;
  Map map;
  Combine combine;
  Finish finish;
  int axes_input_opset;  // first opset taking axes as an input
};

constexpr ReduceKind kReduceKinds[] = {
    {"ReduceSum", Map::identity, Combine::sum, Finish::none, 13},
    {"ReduceMean", Map::identity, Combine::sum, Finish::mean, 18},
    {"ReduceMax", Map::identity, Combine::max, Finish::none, 18},
    {"ReduceMin", Map::identity, Combine::min, Finish::none, 18},
    {"ReduceProd", Map::identity, Combine::prod, Finish::none, 18},
    {"ReduceL1", Map::abs, Combine::sum, Finish::none, 18},
    {"ReduceL2", Map::square, Combine::sum, Finish::sqrt, 18},
    {"ReduceLogSum", Map::identity, Combine::sum, Finish::log, 18},
    {"ReduceLogSumExp", Map::exp, Combine::sum, Finish::log, 18},
    {"ReduceSumSquare", Map::square, Combine::sum, Finish::none, 18},
};

const ReduceKind& kind_of(const Node& node) {
  for (const auto& k : kReduceKinds)
    if (node.op_type == k.op_type) return k;
  fail(node.where(), ": not a reduction");
}

// Accumulator: double for floats (and for exp of integers), else a 64-bit integer.
template <class T, Map M>
using AccOf = std::conditional_t<std::is_floating_point_v<T> || M == Map::exp, double,
                                 std::conditional_t<std::is_signed_v<T>, int64_t, uint64_t>>;

template <class Acc, Combine C, class T>
Acc identity_of() {
  if constexpr (C == Combine::sum) return Acc(0);
  if constexpr (C == Combine::prod) return Acc(1);
  // Max and min of nothing: -inf / +inf where T has them, else T's extreme values.
  if constexpr (C == Combine::max) {
    if constexpr (std::numeric_limits<T>::has_infinity) return -Acc(INFINITY);
    else return Acc(std::numeric_limits<T>::lowest());
  }
  if constexpr (C == Combine::min) {
    if constexpr (std::numeric_limits<T>::has_infinity) return Acc(INFINITY);
    else return Acc(std::numeric_limits<T>::max());
  }
}

template <Map M, class Acc, class T>
Acc apply_map(T x, Acc shift) {
  Acc v = Acc(x);
  if constexpr (M == Map::abs) return v < Acc(0) ? Acc(0) - v : v;
  if constexpr (M == Map::square) return v * v;
  if constexpr (M == Map::exp) return std::exp(v - shift);
  return v;
}

template <Combine C, class Acc>
void combine(Acc& acc, Acc v) {
  if constexpr (C == Combine::sum) acc += v;
  if constexpr (C == Combine::prod) acc *= v;
  if constexpr (C == Combine::max) { if (v > acc || v != v) acc = v; }  // NaN propagates
  if constexpr (C == Combine::min) { if (v < acc || v != v) acc = v; }
}

// Walks x in row-major order; out_strides has 0 on reduced dims, so each element lands on
// its output accumulator. shift (may be null) is subtracted before the map (LogSumExp).
template <Map M, Combine C, class T, class Acc>
void accumulate(const T* x, const Shape& shape, const std::vector<int64_t>& out_strides, const Acc* shift,
                Acc* acc) {
  const size_t rank = shape.size();
  if (rank == 0) {
    combine<C>(acc[0], apply_map<M>(x[0], shift ? shift[0] : Acc(0)));
    return;
  }
  const int64_t inner = shape[rank - 1], step = out_strides[rank - 1];
  int64_t rows = 1;
  for (size_t d = 0; d + 1 < rank; ++d) rows *= shape[d];
  if (inner == 0 || rows == 0) return;
  std::vector<int64_t> idx(rank, 0);
  int64_t base = 0;
  for (int64_t r = 0; r < rows; ++r, x += inner) {
    for (int64_t i = 0; i < inner; ++i) {
      const int64_t o = base + i * step;
      combine<C>(acc[o], apply_map<M>(x[i], shift ? shift[o] : Acc(0)));
    }
    for (int d = int(rank) - 2; d >= 0; --d) {
      base += out_strides[size_t(d)];
      if (++idx[size_t(d)] < shape[size_t(d)]) break;
      base -= out_strides[size_t(d)] * shape[size_t(d)];
      idx[size_t(d)] = 0;
    }
  }
}

template <class T>
T to_output(double v) {
  if constexpr (std::is_floating_point_v<T>) return T(v);
  else return std::isfinite(v) ? T(v) : T(0);  // e.g. the mean of nothing
}

class Reduce final : public OpKernel {
 public:
  explicit Reduce(const Node& node)
      : OpKernel(node), kind_(kind_of(node)), keepdims_(node.attr_int("keepdims", 1) != 0) {
    axes_input_ = opset_of(node) >= kind_.axes_input_opset;
    noop_empty_ = axes_input_ && node.attr_int("noop_with_empty_axes", 0) != 0;
    EK_CHECK(axes_input_ || !node.has_input(1), node.where(), ": axes is an attribute before opset ",
             kind_.axes_input_opset, ", got an input");
  }

  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(1, axes_input_ ? 2 : 1);
    const TensorType& x = ctx.input_type(0);
    // Numeric dtypes (f16 computed in f32); bool only for ReduceMax/Min (any / all).
    const bool bool_ok = kind_.combine == Combine::max || kind_.combine == Combine::min;
    if (!(x.dtype == DType::boolean && bool_ok)) check_numeric_or_f16(x.dtype, node());
    std::optional<std::vector<int64_t>> axes = node().attr_ints("axes", {});
    if (axes_input_) axes = ctx.has_input(1) ? input_ints(ctx, 1) : std::vector<int64_t>{};
    if (!x.shape_known || !axes) {
      if (x.shape_known && keepdims_) set_output_unknown_dims(ctx, 0, x.dtype, x.shape.size());
      else ctx.set_output_unknown(0, x.dtype);
      return;
    }
    std::vector<bool> reduced = reduced_dims(*axes, x.shape.size());
    Shape out;
    for (size_t d = 0; d < reduced.size(); ++d) {
      if (!reduced[d]) out.push_back(x.shape[d]);
      else if (keepdims_) out.push_back(1);
    }
    ctx.set_output(0, x.dtype, out);
  }

  void run(RunContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    Tensor& y = ctx.output(0);
    std::vector<int64_t> axes = node().attr_ints("axes", {});
    if (axes_input_) axes = ctx.has_input(1) ? ctx.input(1).to_int_vector() : std::vector<int64_t>{};
    if (x.dtype() != DType::f16) return reduce(x, axes, y);
    Tensor y32(DType::f32, y.shape());
    reduce(widen_f16(x), axes, y32);
    narrow_to_f16(y32, y);
  }

 private:
  void reduce(const Tensor& x, const std::vector<int64_t>& axes, Tensor& y) const {
    std::vector<bool> reduced = reduced_dims(axes, x.rank());
    // Output strides over the input's dims, 0 on the reduced ones (keepdims layout).
    Shape kept(x.shape());
    int64_t count = 1;
    for (size_t d = 0; d < kept.size(); ++d)
      if (reduced[d]) {
        count *= kept[d];
        kept[d] = 1;
      }
    std::vector<int64_t> ost = strides_of(kept);
    for (size_t d = 0; d < kept.size(); ++d)
      if (reduced[d]) ost[d] = 0;
    switch (kind_.map) {  // only the (map, combine) pairs the table uses are instantiated
      case Map::identity:
        switch (kind_.combine) {
          case Combine::sum: return compute<Map::identity, Combine::sum>(x, ost, count, y);
          case Combine::prod: return compute<Map::identity, Combine::prod>(x, ost, count, y);
          case Combine::max: return compute<Map::identity, Combine::max>(x, ost, count, y);
          case Combine::min: return compute<Map::identity, Combine::min>(x, ost, count, y);
        }
        break;
      case Map::abs: return compute<Map::abs, Combine::sum>(x, ost, count, y);
      case Map::square: return compute<Map::square, Combine::sum>(x, ost, count, y);
      case Map::exp: return compute<Map::exp, Combine::sum>(x, ost, count, y);
    }
  }

  std::vector<bool> reduced_dims(const std::vector<int64_t>& axes, size_t rank) const {
    std::vector<bool> reduced(rank, axes.empty() && !noop_empty_);
    for (int64_t a : axes) reduced[axis_index(a, int64_t(rank), node())] = true;
    return reduced;
  }

  template <Map M, Combine C>
  void compute(const Tensor& x, const std::vector<int64_t>& ost, int64_t count, Tensor& y) const {
    auto body = [&](auto tag) {
      using T = decltype(tag);
      using Acc = AccOf<T, M>;
      const int64_t n = y.numel();
      std::vector<Acc> acc(size_t(n), identity_of<Acc, C, T>());
      std::vector<Acc> shift;
      if constexpr (M == Map::exp) {  // LogSumExp: subtract the max first so exp cannot overflow
        shift.assign(size_t(n), identity_of<Acc, Combine::max, T>());
        accumulate<Map::identity, Combine::max>(x.data<T>(), x.shape(), ost, (const Acc*)nullptr, shift.data());
        for (Acc& s : shift)
          if (!std::isfinite(s)) s = 0;
      }
      accumulate<M, C>(x.data<T>(), x.shape(), ost, shift.empty() ? nullptr : shift.data(), acc.data());
      T* out = y.data<T>();
      for (int64_t i = 0; i < n; ++i) {
        const Acc a = acc[size_t(i)];
        switch (kind_.finish) {
          case Finish::none: out[i] = T(a); break;
          case Finish::mean: out[i] = to_output<T>(double(a) / double(count)); break;
          case Finish::sqrt: out[i] = to_output<T>(std::sqrt(double(a))); break;
          case Finish::log:
            out[i] = to_output<T>(std::log(double(a)) + (shift.empty() ? 0.0 : double(shift[size_t(i)])));
            break;
        }
      }
    };
    if (x.dtype() == DType::boolean) body(bool{});  // only ReduceMax/Min admit bool (infer checks)
    else visit_numeric(x.dtype(), body);
  }

  const ReduceKind& kind_;
  bool keepdims_;
  bool axes_input_ = false, noop_empty_ = false;
};

// Registered from the table, so an op added there needs no other edit.
const bool ek_registered_reductions = [] {
  for (const auto& k : kReduceKinds)
    register_op(k.op_type, [](const Node& n) { return std::unique_ptr<OpKernel>(new Reduce(n)); });
  return true;
}();

}  // namespace
}  // namespace edgekit
