// MaxPool, AveragePool and LpPool: one sliding-window walker (1 to 3 spatial dims, strides,
// dilations, pads, auto_pad, ceil_mode via conv_geometry) and a per-kind reduction.
//   MaxPool:     max over the window; optional Indices output (flat index into X, row- or
//                column-major spatial order per storage_order); pads never win.
//   AveragePool: mean over the window; count_include_pad counts pad positions (but never
//                the extra positions ceil_mode adds past the end pad).
//   LpPool:      (sum |x|^p)^(1/p) over the window; pads add zero.
#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/conv_geometry.h"
#include "kernels/nn_common.h"
#include "kernels/op.h"

namespace edgekit {
namespace {

enum class PoolKind { max, average, lp };

// The window geometry right-aligned into 3-D (leading unit dims), in the units the walker uses.
struct Window3 {
  std::array<int64_t, 3> in{1, 1, 1}, out{1, 1, 1}, k{1, 1, 1}, s{1, 1, 1}, d{1, 1, 1}, pb{0, 0, 0}, pe{0, 0, 0};
  explicit Window3(const WindowGeometry& g) {
    const size_t off = 3 - g.rank();
    for (size_t i = 0; i < g.rank(); ++i) {
      in[off + i] = g.input[i];
      out[off + i] = g.output[i];
      k[off + i] = g.kernel[i];
      s[off + i] = g.strides[i];
      d[off + i] = g.dilations[i];
      pb[off + i] = g.pad_begin[i];
      pe[off + i] = g.pad_end[i];
    }
  }
  // For output position o along dim i: the first input position, the kernel taps [lo, hi)
  // that land inside the input, and the number of taps inside input + pads.
  void taps(int i, int64_t o, int64_t& start, int64_t& lo, int64_t& hi, int64_t& padded) const {
    start = o * s[i] - pb[i];
    lo = start >= 0 ? 0 : (-start + d[i] - 1) / d[i];
    hi = std::min(k[i], start >= in[i] ? 0 : (in[i] - start + d[i] - 1) / d[i]);
    padded = std::min(k[i], (in[i] + pe[i] - start + d[i] - 1) / d[i]);
    hi = std::max(hi, lo);
  }
};

template <PoolKind kind>
class Pool final : public OpKernel {
 public:
  explicit Pool(const Node& node)
      : OpKernel(node),
        count_include_pad_(node.attr_int("count_include_pad", 0) != 0),
        storage_order_(node.attr_int("storage_order", 0)),
        p_(node.attr_int("p", 2)) {
    EK_CHECK(storage_order_ == 0 || storage_order_ == 1, node.where(), ": storage_order must be 0 or 1, got ",
             storage_order_);
    EK_CHECK(p_ >= 1, node.where(), ": p must be >= 1, got ", p_);
  }

  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(1, 1);
    const TensorType& x = ctx.input_type(0);
    if (kind == PoolKind::max) {
      EK_CHECK(x.dtype == DType::f32 || x.dtype == DType::f64 || x.dtype == DType::i8 || x.dtype == DType::u8,
               node().where(), ": input X has dtype ", dtype_name(x.dtype), ", expected f32, f64, i8 or u8");
    } else {
      check_float_input(node(), "X", x.dtype);
    }
    EK_CHECK(kind == PoolKind::max || ctx.num_outputs() == 1, node().where(), ": expected 1 output, got ",
             ctx.num_outputs());
    if (!x.shape_known) {
      ctx.set_output_unknown(0, x.dtype);
      if (ctx.has_output(1)) ctx.set_output_unknown(1, DType::i64);
      return;
    }
    const WindowGeometry g = geometry(x.shape);
    Shape out{x.shape[0], x.shape[1]};
    out.insert(out.end(), g.output.begin(), g.output.end());
    ctx.set_output(0, x.dtype, out);
    if (kind == PoolKind::max && ctx.has_output(1)) ctx.set_output(1, DType::i64, out);
  }

  void run(RunContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    auto compute_as = [&](auto tag) { compute<decltype(tag)>(ctx); };
    switch (x.dtype()) {  // f32 hot, the others compiled for size (core/dtype.h cold_call)
      case DType::f32: return compute<float>(ctx);
      case DType::f64: return cold_call(compute_as, double{});
      case DType::i8: return cold_call(compute_as, int8_t{});
      case DType::u8: return cold_call(compute_as, uint8_t{});
      default: fail(node().where(), ": unsupported dtype ", dtype_name(x.dtype()));
    }
  }

 private:
  WindowGeometry geometry(const Shape& x) const {
    EK_CHECK(x.size() >= 3 && x.size() <= 5, node().where(), ": input X has shape ", shape_str(x),
             ", expected rank 3 to 5 (N, C, 1 to 3 spatial dims)");
    const WindowAttrs attrs = WindowAttrs::read(node(), x.size() - 2);
    return attrs.resolve(node(), Shape(x.begin() + 2, x.end()));
  }

  template <class T>
  void compute(RunContext& ctx) const {
    if constexpr (kind != PoolKind::max && !std::is_floating_point_v<T>) {
      fail(node().where(), ": integer input is only supported by MaxPool");
    } else {
      const Tensor& x = ctx.input(0);
      const Window3 w(geometry(x.shape()));
      const int64_t planes = x.dim(0) * x.dim(1);
      const int64_t in_size = w.in[0] * w.in[1] * w.in[2];
      const T* X = x.data<T>();
      T* Y = ctx.output(0).data<T>();
      int64_t* I = (kind == PoolKind::max && ctx.has_output(1)) ? ctx.output(1).data<int64_t>() : nullptr;
      if constexpr (kind == PoolKind::max) {
        if (!I) return max_pool_planes(X, Y, planes, in_size, w, ctx.threads());
      }
      for (int64_t plane = 0; plane < planes; ++plane) {
        const T* src = X + plane * in_size;
        for (int64_t od = 0; od < w.out[0]; ++od) {
          int64_t sd, d_lo, d_hi, d_pad;
          w.taps(0, od, sd, d_lo, d_hi, d_pad);
          for (int64_t oh = 0; oh < w.out[1]; ++oh) {
            int64_t sh, h_lo, h_hi, h_pad;
            w.taps(1, oh, sh, h_lo, h_hi, h_pad);
            for (int64_t ow = 0; ow < w.out[2]; ++ow) {
              int64_t sw, w_lo, w_hi, w_pad;
              w.taps(2, ow, sw, w_lo, w_hi, w_pad);
              double acc = kind == PoolKind::max ? -std::numeric_limits<double>::infinity() : 0.0;
              int64_t best = -1;
              for (int64_t kd = d_lo; kd < d_hi; ++kd) {
                const int64_t id = sd + kd * w.d[0];
                for (int64_t kh = h_lo; kh < h_hi; ++kh) {
                  const int64_t ih = sh + kh * w.d[1];
                  const T* row = src + (id * w.in[1] + ih) * w.in[2];
                  for (int64_t kw = w_lo; kw < w_hi; ++kw) {
                    const int64_t iw = sw + kw * w.d[2];
                    const double v = double(row[iw]);
                    if constexpr (kind == PoolKind::max) {
                      if (v > acc || best < 0) {
                        acc = v;
                        best = storage_order_ == 0 ? (id * w.in[1] + ih) * w.in[2] + iw
                                                   : id + ih * w.in[0] + iw * w.in[0] * w.in[1];
                      }
                    } else if constexpr (kind == PoolKind::average) {
                      acc += v;
                    } else {
                      acc += std::pow(std::fabs(v), double(p_));
                    }
                  }
                }
              }
              *Y++ = finish<T>(acc, best < 0, count_include_pad_ ? d_pad * h_pad * w_pad
                                                                 : (d_hi - d_lo) * (h_hi - h_lo) * (w_hi - w_lo));
              if (I) *I++ = best < 0 ? -1 : plane * in_size + best;
            }
          }
        }
      }
    }
  }

  // MaxPool without Indices, the common case: tap ranges computed once per call, values
  // compared in their own type, planes split across threads. Same NaN rule as the walker
  // above: the first tap starts the maximum, later taps replace it only when greater (so a
  // NaN wins only as the first tap).
  template <class T>
  static void max_pool_planes(const T* X, T* Y, int64_t planes, int64_t in_size, const Window3& w, ThreadPool* pool) {
    struct Taps {
      int64_t start, lo, hi;
    };
    std::array<std::vector<Taps>, 3> taps;  // per dim, per output position
    for (int i = 0; i < 3; ++i)
      for (int64_t o = 0; o < w.out[size_t(i)]; ++o) {
        Taps t{};
        int64_t padded;
        w.taps(i, o, t.start, t.lo, t.hi, padded);
        taps[size_t(i)].push_back(t);
      }
    const int64_t out_size = w.out[0] * w.out[1] * w.out[2];
    if (double(planes) * double(out_size) * double(w.k[0] * w.k[1] * w.k[2]) < 2e5) pool = nullptr;  // not worth a wake-up
    const int64_t d0 = w.d[0], d1 = w.d[1], d2 = w.d[2], in1 = w.in[1], in2 = w.in[2];
    if (w.in[0] == 1 && w.out[0] == 1 && w.k[0] == 1) {  // 2-D (and 1-D): rows first, then columns
      parallel_for(pool, planes, [&](int64_t begin, int64_t end) {
        std::vector<T> rowmax(static_cast<size_t>(in2));
        for (int64_t plane = begin; plane < end; ++plane) {
          const T* src = X + plane * in_size;
          T* y = Y + plane * out_size;
          for (const Taps& th : taps[1]) {
            if (th.lo >= th.hi) {
              y = std::fill_n(y, w.out[2], std::numeric_limits<T>::lowest());
              continue;
            }
            // Elementwise max of the window's rows: contiguous, vectorised.
            std::copy_n(src + (th.start + th.lo * d1) * in2, in2, rowmax.data());
            for (int64_t kh = th.lo + 1; kh < th.hi; ++kh) {
              const T* row = src + (th.start + kh * d1) * in2;
              for (int64_t i = 0; i < in2; ++i) rowmax[size_t(i)] = row[i] > rowmax[size_t(i)] ? row[i] : rowmax[size_t(i)];
            }
            for (const Taps& tw : taps[2]) {
              if (tw.lo >= tw.hi) {
                *y++ = std::numeric_limits<T>::lowest();
                continue;
              }
              const T* r = rowmax.data() + tw.start;
              T m = r[tw.lo * d2];
              for (int64_t kw = tw.lo + 1; kw < tw.hi; ++kw) m = r[kw * d2] > m ? r[kw * d2] : m;
              *y++ = m;
            }
          }
        }
      }, 4);
      return;
    }
    parallel_for(pool, planes, [&](int64_t begin, int64_t end) {
      for (int64_t plane = begin; plane < end; ++plane) {
        const T* src = X + plane * in_size;
        T* y = Y + plane * out_size;
        for (const Taps& td : taps[0])
          for (const Taps& th : taps[1])
            for (const Taps& tw : taps[2]) {
              if (td.lo >= td.hi || th.lo >= th.hi || tw.lo >= tw.hi) {  // window entirely in the pads
                *y++ = std::numeric_limits<T>::lowest();
                continue;
              }
              // Select, not branch: data-dependent branches mispredict on every other tap.
              T m = src[((td.start + td.lo * d0) * in1 + th.start + th.lo * d1) * in2 + tw.start + tw.lo * d2];
              for (int64_t kd = td.lo; kd < td.hi; ++kd)
                for (int64_t kh = th.lo; kh < th.hi; ++kh) {
                  const T* row = src + ((td.start + kd * d0) * in1 + th.start + kh * d1) * in2 + tw.start;
                  for (int64_t kw = tw.lo; kw < tw.hi; ++kw) {
                    const T v = row[kw * d2];
                    m = v > m ? v : m;
                  }
                }
              *y++ = m;
            }
      }
    }, 4);
  }

  template <class T>
  T finish(double acc, bool empty, int64_t count) const {
    if constexpr (kind == PoolKind::max) {
      return empty ? std::numeric_limits<T>::lowest() : T(acc);
    } else if constexpr (kind == PoolKind::average) {
      return count > 0 ? T(acc / double(count)) : T(0);
    } else {
      return T(std::pow(acc, 1.0 / double(p_)));
    }
  }

  bool count_include_pad_;
  int64_t storage_order_;
  int64_t p_;
};

using MaxPool = Pool<PoolKind::max>;
using AveragePool = Pool<PoolKind::average>;
using LpPool = Pool<PoolKind::lp>;

}  // namespace
EK_REGISTER_OP("MaxPool", MaxPool);
EK_REGISTER_OP("AveragePool", AveragePool);
EK_REGISTER_OP("LpPool", LpPool);
}  // namespace edgekit
