// Pad: modes constant, reflect, edge and wrap, any dtype, negative pads crop.
// Opset differences: before 11 pads and value are attributes; from 11 they are inputs
// (pads i64 [2 * rank], optional scalar constant_value); from 18 an optional axes input
// restricts pads to those axes (pads then has 2 * len(axes) values).
// Each output axis gets a map output index -> source index (or -1: the constant), so all
// modes share one copy loop over contiguous output rows.
#include <cstring>
#include <vector>

#include "kernels/elementwise.h"
#include "kernels/op.h"
#include "kernels/util.h"

namespace edgekit {
namespace {

enum class PadMode { constant, reflect, edge, wrap };

class Pad final : public OpKernel {
 public:
  explicit Pad(const Node& node) : OpKernel(node), legacy_(node.opset != 0 && node.opset < 11) {
    const std::string m = node.attr_string("mode", "constant");
    if (m == "constant") mode_ = PadMode::constant;
    else if (m == "reflect") mode_ = PadMode::reflect;
    else if (m == "edge") mode_ = PadMode::edge;
    else if (m == "wrap") mode_ = PadMode::wrap;
    else fail(node.where(), ": mode '", m, "' is not one of constant, reflect, edge, wrap");
  }

  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(1, legacy_ ? 1 : 4);
    const TensorType& x = ctx.input_type(0);
    if (!legacy_) {
      EK_CHECK(ctx.has_input(1), node().where(), ": input 'pads' is required (opset >= 11)");
      const TensorType& p = ctx.input_type(1);
      EK_CHECK(p.dtype == DType::i64, node().where(), ": input 'pads' has dtype ", dtype_name(p.dtype),
               ", expected i64");
      if (ctx.has_input(2))
        EK_CHECK(ctx.input_type(2).dtype == x.dtype, node().where(), ": input 'constant_value' has dtype ",
                 dtype_name(ctx.input_type(2).dtype), ", expected ", dtype_name(x.dtype), " like data");
    }
    if (!x.shape_known) return ctx.set_output_unknown(0, x.dtype);
    std::vector<int64_t> pads;
    if (!resolve_pads(ctx, int64_t(x.shape.size()), pads)) return ctx.set_output(0, x.dtype, Shape(x.shape.size(), -1));
    const size_t rank = x.shape.size();
    Shape out(rank);
    for (size_t i = 0; i < rank; ++i) {
      if (x.shape[i] < 0) {
        out[i] = -1;
        continue;
      }
      out[i] = x.shape[i] + pads[i] + pads[rank + i];
      EK_CHECK(out[i] >= 0, node().where(), ": pads ", pads[i], " and ", pads[rank + i], " on axis ", i,
               " of size ", x.shape[i], " give a negative output size");
      EK_CHECK(mode_ == PadMode::constant || x.shape[i] > 0 || out[i] == 0, node().where(), ": mode ",
               node().attr_string("mode", "constant"), " cannot pad the empty axis ", i);
    }
    ctx.set_output(0, x.dtype, out);
  }

  void run(RunContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    Tensor& y = ctx.output(0);
    const int64_t rank = int64_t(x.rank());
    std::vector<int64_t> pads;
    resolve_pads_run(ctx, rank, pads);
    // Per-axis source maps (scratch; small: sum of output dims).
    std::vector<std::vector<int64_t>> maps(static_cast<size_t>(rank));
    for (int64_t a = 0; a < rank; ++a) maps[a] = axis_map(x.dim(int(a)), y.dim(int(a)), pads[a]);
    visit_dtype(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      T value{};
      if (legacy_) value = convert_value<T>(node().attr_float("value", 0.f));
      else if (ctx.has_input(2) && ctx.input(2).numel() > 0) value = convert_value<T>(ctx.input(2).as_double(0));
      copy<T>(x, y, maps, value);
    });
  }

 private:
  // Pads as begin[rank] + end[rank], expanded from the axes subset. False when not known yet.
  bool resolve_pads(const InferContext& ctx, int64_t rank, std::vector<int64_t>& pads) const {
    if (legacy_) {
      pads = node().attr_ints("pads");
      EK_CHECK(int64_t(pads.size()) == 2 * rank, node().where(), ": attribute 'pads' has ", pads.size(),
               " values, expected ", 2 * rank, " (2 x rank)");
      return true;
    }
    const Tensor* p = ctx.input_value(1);
    if (!p) return false;
    const Tensor* axes = ctx.has_input(3) ? ctx.input_value(3) : nullptr;
    if (ctx.has_input(3) && !axes) return false;
    pads = expand(p->to_int_vector(), axes ? axes->to_int_vector() : std::vector<int64_t>{}, ctx.has_input(3), rank);
    return true;
  }

  void resolve_pads_run(const RunContext& ctx, int64_t rank, std::vector<int64_t>& pads) const {
    if (legacy_) {
      pads = node().attr_ints("pads");
      return;
    }
    const bool has_axes = ctx.has_input(3);
    pads = expand(ctx.input(1).to_int_vector(), has_axes ? ctx.input(3).to_int_vector() : std::vector<int64_t>{},
                  has_axes, rank);
  }

  std::vector<int64_t> expand(const std::vector<int64_t>& p, const std::vector<int64_t>& axes, bool has_axes,
                              int64_t rank) const {
    if (!has_axes) {
      EK_CHECK(int64_t(p.size()) == 2 * rank, node().where(), ": input 'pads' has ", p.size(), " values, expected ",
               2 * rank, " (2 x rank)");
      return p;
    }
    const int64_t n = int64_t(axes.size());
    EK_CHECK(int64_t(p.size()) == 2 * n, node().where(), ": input 'pads' has ", p.size(), " values, expected ",
             2 * n, " (2 x number of axes)");
    std::vector<int64_t> full(size_t(2 * rank), 0);
    for (int64_t i = 0; i < n; ++i) {
      const int64_t a = normalize_axis(axes[i], rank, node());
      full[a] = p[i];
      full[rank + a] = p[n + i];
    }
    return full;
  }

  // out index o -> source index along one axis of size n, padded by `begin` at the start.
  std::vector<int64_t> axis_map(int64_t n, int64_t out, int64_t begin) const {
    std::vector<int64_t> m(static_cast<size_t>(out));
    for (int64_t o = 0; o < out; ++o) {
      int64_t i = o - begin;
      if (i < 0 || i >= n) {
        switch (mode_) {
          case PadMode::constant: i = -1; break;
          case PadMode::edge: i = i < 0 ? 0 : n - 1; break;
          case PadMode::wrap: i = ((i % n) + n) % n; break;
          case PadMode::reflect: {
            // Reflection without repeating the edge has period 2 * (n - 1).
            if (n == 1) {
              i = 0;
              break;
            }
            const int64_t period = 2 * (n - 1);
            i = ((i % period) + period) % period;
            if (i >= n) i = period - i;
            break;
          }
        }
      }
      m[o] = i;
    }
    return m;
  }

  template <class T>
  static void copy(const Tensor& x, Tensor& y, const std::vector<std::vector<int64_t>>& maps, T value) {
    const size_t rank = maps.size();
    const T* X = static_cast<const T*>(x.raw());
    T* Y = static_cast<T*>(y.raw());
    if (rank == 0) {
      if (y.numel() == 1) Y[0] = X[0];
      return;
    }
    if (y.numel() == 0) return;
    const std::vector<int64_t> xs = strides_of(x.shape());
    const std::vector<int64_t>& last = maps[rank - 1];
    const int64_t row = int64_t(last.size());
    std::vector<int64_t> idx(rank - 1, 0);
    for (int64_t r = 0, rows = y.numel() / row; r < rows; ++r, Y += row) {
      int64_t base = 0;
      bool inside = true;
      for (size_t k = 0; k + 1 < rank && inside; ++k) {
        const int64_t s = maps[k][idx[k]];
        inside = s >= 0;
        base += s * xs[k];
      }
      if (!inside) {
        std::fill(Y, Y + row, value);
      } else {
        const T* src = X + base;
        for (int64_t o = 0; o < row; ++o) Y[o] = last[o] >= 0 ? src[last[o]] : value;
      }
      for (int k = int(rank) - 2; k >= 0 && ++idx[k] == int64_t(maps[k].size()); --k) idx[k] = 0;
    }
  }

  bool legacy_;
  PadMode mode_ = PadMode::constant;
};

}  // namespace
EK_REGISTER_OP("Pad", Pad);
}  // namespace edgekit
