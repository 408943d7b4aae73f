// Resize (opsets 10-19) and Upsample (7-9, mapped onto the same code).
//
// Resizing is separable: each resized axis gets a plan mapping every output coordinate to
// input taps and weights, and the axes are applied one after another (as the ONNX reference
// does). Per axis and output coordinate y:
//   x = coordinate_transformation(y)        half_pixel, align_corners, asymmetric, ...
//   nearest:        one tap, x rounded per nearest_mode, clamped to the input
//   linear / cubic: 2 / 4 taps around x (more with antialias when downsampling), weights from
//                   the interpolation kernel, taps outside the input clamp to the edge or,
//                   with exclude_outside, get weight 0 and the rest renormalise
//   tf_crop_and_resize: x outside [0, in - 1] yields extrapolation_value.
// Nearest is a pure gather in the input dtype; linear and cubic accumulate in double and
// round (integers: half to even, saturating) when storing.
//
// Opset differences: Upsample-7 has a `scales` attribute, Upsample-9 and Resize-10 a scales
// input; all three use asymmetric coordinates and floor (ceil when downsampling) nearest
// rounding. Resize-11 adds roi / sizes and the coordinate and nearest modes; Resize-13 makes
// roi and scales optional; Resize-18 adds axes, keep_aspect_ratio_policy and antialias;
// Resize-19 adds half_pixel_symmetric.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "kernels/elementwise.h"
#include "kernels/op.h"
#include "kernels/util.h"

namespace edgekit {
namespace {

enum class Mode { nearest, linear, cubic };
enum class Coord {
  half_pixel,
  half_pixel_symmetric,
  pytorch_half_pixel,
  align_corners,
  asymmetric,
  tf_crop_and_resize
};
enum class Nearest { round_prefer_floor, round_prefer_ceil, floor, ceil, legacy };

// Taps of one resized axis: for output y, taps [y * taps, (y + 1) * taps) of index / weight.
struct AxisPlan {
  int64_t in = 0, out = 0, taps = 1;
  std::vector<int64_t> index;
  std::vector<double> weight;
  std::vector<uint8_t> outside;  // tf_crop_and_resize: output y takes extrapolation_value
};

// The resolved sizes of one run: per axis of X.
struct Target {
  Shape out;
  std::vector<double> scales;
  std::vector<double> roi;  // begin[rank] + end[rank]
};

template <class E>
E parse_enum(const Node& node, const char* key, const char* fallback, std::initializer_list<const char*> names) {
  const std::string s = node.attr_string(key, fallback);
  int i = 0;
  std::string all;
  for (const char* n : names) {
    if (s == n) return E(i);
    all += (i++ ? ", " : "") + std::string(n);
  }
  fail(node.where(), ": ", key, " '", s, "' is not one of ", all);
}

double cubic_weight(double x, double A) {
  x = std::fabs(x);
  if (x <= 1) return ((A + 2) * x - (A + 3)) * x * x + 1;
  if (x < 2) return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A;
  return 0;
}

class Resize final : public OpKernel {
 public:
  explicit Resize(const Node& node) : OpKernel(node) {
    const bool upsample = node.op_type == "Upsample";
    legacy_ = upsample || (node.opset != 0 && node.opset < 11);
    scales_attr_ = upsample && node.opset != 0 && node.opset < 9;
    const std::string mode = node.attr_string("mode", "nearest");
    // Upsample-7 spelled linear "bilinear" in some exporters.
    if (mode == "nearest") mode_ = Mode::nearest;
    else if (mode == "linear" || mode == "bilinear") mode_ = Mode::linear;
    else if (mode == "cubic" && !legacy_) mode_ = Mode::cubic;
    else fail(node.where(), ": mode '", mode, "' is not one of nearest, linear", legacy_ ? "" : ", cubic");
    if (legacy_) {
      coord_ = Coord::asymmetric;
      nearest_ = Nearest::legacy;
    } else {
      coord_ = parse_enum<Coord>(node, "coordinate_transformation_mode", "half_pixel",
                                 {"half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners",
                                  "asymmetric", "tf_crop_and_resize"});
      nearest_ = parse_enum<Nearest>(node, "nearest_mode", "round_prefer_floor",
                                     {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"});
    }
    cubic_a_ = node.attr_float("cubic_coeff_a", -0.75f);
    exclude_outside_ = node.attr_int("exclude_outside", 0) != 0;
    extrapolation_ = node.attr_float("extrapolation_value", 0.f);
    antialias_ = node.attr_int("antialias", 0) != 0;
    EK_CHECK(!antialias_ || mode_ != Mode::nearest, node.where(), ": antialias needs mode linear or cubic");
    keep_aspect_ = node.attr_string("keep_aspect_ratio_policy", "stretch");
    EK_CHECK(keep_aspect_ == "stretch" || keep_aspect_ == "not_larger" || keep_aspect_ == "not_smaller",
             node.where(), ": keep_aspect_ratio_policy '", keep_aspect_,
             "' is not one of stretch, not_larger, not_smaller");
    axes_ = node.attr_ints("axes", {});
    if (scales_attr_) scales_ = node.attr_floats("scales");
  }

  void infer(InferContext& ctx) const override {
    if (scales_attr_) ctx.expect_inputs(1, 1);
    else if (legacy_) ctx.expect_inputs(2, 2);
    else ctx.expect_inputs(1, 4);
    const TensorType& x = ctx.input_type(0);
    const bool arithmetic = x.dtype != DType::boolean && x.dtype != DType::f16;
    EK_CHECK(x.dtype != DType::undefined && (mode_ == Mode::nearest || arithmetic),
             node().where(), ": input X has dtype ", dtype_name(x.dtype), ", which mode ",
             node().attr_string("mode", "nearest"), " does not support");
    if (!x.shape_known) return ctx.set_output_unknown(0, x.dtype);
    std::vector<const Tensor*> inputs(4, nullptr);
    for (size_t i = 1; i < 4; ++i) {
      if (!ctx.has_input(i)) continue;
      inputs[i] = ctx.input_value(i);
      if (!inputs[i] && !(i == 1 && !legacy_))  // scales / sizes not known yet (roi does not affect the shape)
        return ctx.set_output(0, x.dtype, Shape(x.shape.size(), -1));
    }
    for (int64_t d : x.shape)
      if (d < 0) return ctx.set_output(0, x.dtype, Shape(x.shape.size(), -1));
    ctx.set_output(0, x.dtype, target(x.shape, inputs).out);
  }

  void run(RunContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    std::vector<const Tensor*> inputs(4, nullptr);
    for (size_t i = 1; i < 4 && i < ctx.num_inputs(); ++i)
      if (ctx.has_input(i)) inputs[i] = &ctx.input(i);
    const Target t = target(x.shape(), inputs);
    std::vector<AxisPlan> plans;
    std::vector<int> axes;
    for (size_t a = 0; a < x.rank(); ++a) {
      const bool identity = t.out[a] == x.dim(int(a)) && std::fabs(t.scales[a] - 1.0) < 1e-12 && t.roi[a] == 0.0 &&
                            t.roi[x.rank() + a] == 1.0;
      if (identity) continue;
      plans.push_back(plan(x.dim(int(a)), t.out[a], t.scales[a], t.roi[a], t.roi[x.rank() + a]));
      axes.push_back(int(a));
    }
    Tensor& y = ctx.output(0);
    if (mode_ == Mode::nearest) {
      visit_dtype(x.dtype(), [&](auto tag) { gather<decltype(tag)>(x, y, plans, axes); });
    } else {
      visit_numeric(x.dtype(), [&](auto tag) { interpolate<decltype(tag)>(x, y, plans, axes); });
    }
  }

 private:
  // Reads scales / sizes / roi (and axes) into full-rank output sizes, scales and roi.
  Target target(const Shape& x, const std::vector<const Tensor*>& in) const {
    const int64_t rank = int64_t(x.size());
    auto given = [&](size_t i) { return in[i] && in[i]->numel() > 0 ? in[i] : nullptr; };
    std::vector<int64_t> axes;
    for (int64_t a : axes_) axes.push_back(normalize_axis(a, rank, node()));
    if (axes.empty())
      for (int64_t a = 0; a < rank; ++a) axes.push_back(a);
    const size_t n = axes.size();
    Target t{x, std::vector<double>(size_t(rank), 1.0), std::vector<double>(size_t(2 * rank), 0.0)};
    for (int64_t a = 0; a < rank; ++a) t.roi[rank + a] = 1.0;

    std::vector<double> scales;
    const Tensor* sizes = nullptr;
    if (scales_attr_) {
      scales.assign(scales_.begin(), scales_.end());
    } else if (legacy_) {
      EK_CHECK(given(1), node().where(), ": input 'scales' is required");
      for (int64_t i = 0; i < in[1]->numel(); ++i) scales.push_back(in[1]->as_double(i));
    } else {
      if (const Tensor* roi = given(1); roi && coord_ == Coord::tf_crop_and_resize) {
        EK_CHECK(size_t(roi->numel()) == 2 * n, node().where(), ": input 'roi' has ", roi->numel(),
                 " values, expected ", 2 * n, " (2 x number of axes)");
        for (size_t i = 0; i < n; ++i) {
          t.roi[axes[i]] = roi->as_double(int64_t(i));
          t.roi[rank + axes[i]] = roi->as_double(int64_t(n + i));
        }
      }
      sizes = given(3);
      if (const Tensor* s = given(2)) {
        EK_CHECK(!sizes, node().where(), ": only one of 'scales' and 'sizes' may be given");
        for (int64_t i = 0; i < s->numel(); ++i) scales.push_back(s->as_double(i));
      }
      EK_CHECK(sizes || !scales.empty(), node().where(), ": one of 'scales' and 'sizes' is required");
    }
    if (!scales.empty()) {
      EK_CHECK(scales.size() == n, node().where(), ": 'scales' has ", scales.size(), " values, expected ", n,
               axes_.empty() ? " (the input rank)" : " (one per axis)");
      for (size_t i = 0; i < n; ++i) {
        EK_CHECK(scales[i] > 0, node().where(), ": scale ", scales[i], " for axis ", axes[i], " must be > 0");
        t.scales[axes[i]] = scales[i];
        const double out = std::floor(double(x[axes[i]]) * scales[i]);
        EK_CHECK(out < 1e12, node().where(), ": scale ", scales[i], " for axis ", axes[i], " of size ", x[axes[i]],
                 " gives an output dim of ", out);
        t.out[axes[i]] = int64_t(out);
      }
      return t;
    }
    EK_CHECK(sizes->dtype() == DType::i64, node().where(), ": input 'sizes' has dtype ", dtype_name(sizes->dtype()),
             ", expected i64");
    EK_CHECK(size_t(sizes->numel()) == n, node().where(), ": 'sizes' has ", sizes->numel(), " values, expected ", n,
             axes_.empty() ? " (the input rank)" : " (one per axis)");
    for (size_t i = 0; i < n; ++i) {
      const int64_t s = sizes->as_int(int64_t(i));
      EK_CHECK(s >= 0, node().where(), ": size ", s, " for axis ", axes[i], " is negative");
      EK_CHECK(x[axes[i]] > 0 || s == 0, node().where(), ": cannot resize the empty axis ", axes[i], " to ", s);
      t.out[axes[i]] = s;
      t.scales[axes[i]] = x[axes[i]] > 0 ? double(s) / double(x[axes[i]]) : 1.0;
    }
    if (keep_aspect_ != "stretch") {
      // One scale for all axes: the smallest (fit inside) or largest (cover) of the requested.
      double s = t.scales[axes[0]];
      for (int64_t a : axes) s = keep_aspect_ == "not_larger" ? std::min(s, t.scales[a]) : std::max(s, t.scales[a]);
      for (int64_t a : axes) {
        t.scales[a] = s;
        t.out[a] = int64_t(s * double(x[a]) + 0.5);
      }
    }
    return t;
  }

  // Output coordinate y -> input coordinate along an axis. As in the ONNX reference, the
  // modes that divide by the output length use the unrounded length scale * in.
  double source_coord(int64_t y, int64_t in, int64_t out, double scale, double roi0, double roi1) const {
    const double out_f = scale * double(in);
    switch (coord_) {
      case Coord::half_pixel: return (double(y) + 0.5) / scale - 0.5;
      case Coord::half_pixel_symmetric: {
        const double offset = double(in) / 2 * (1 - double(out) / out_f);
        return offset + (double(y) + 0.5) / scale - 0.5;
      }
      case Coord::pytorch_half_pixel: return out_f != 1 ? (double(y) + 0.5) / scale - 0.5 : -0.5;
      case Coord::align_corners: return out_f != 1 ? double(y) * double(in - 1) / (out_f - 1) : 0.0;
      case Coord::asymmetric: return double(y) / scale;
      case Coord::tf_crop_and_resize: {
        const double x = out_f != 1 ? double(y) * (roi1 - roi0) * double(in - 1) / (out_f - 1)
                                    : (roi1 - roi0) * double(in - 1) / 2;
        return x + roi0 * double(in - 1);
      }
    }
    return 0;
  }

  int64_t round_nearest(double x, double scale) const {
    const double f = std::floor(x);
    const double frac = x - f;
    switch (nearest_) {
      case Nearest::round_prefer_floor: return int64_t(frac <= 0.5 ? f : f + 1);
      case Nearest::round_prefer_ceil: return int64_t(frac < 0.5 ? f : f + 1);
      case Nearest::floor: return int64_t(f);
      case Nearest::ceil: return int64_t(std::ceil(x));
      case Nearest::legacy: return int64_t(scale < 1 ? std::ceil(x) : f);
    }
    return int64_t(f);
  }

  // Interpolation weights of taps first..first+n-1 for source coordinate x. Antialias
  // stretches the kernel by 1/scale when downsampling and normalises the weights.
  void weights(double x, double scale, int64_t first, int64_t n, double* w) const {
    const double s = antialias_ ? std::min(scale, 1.0) : 1.0;
    double sum = 0;
    for (int64_t t = 0; t < n; ++t) {
      const double d = (double(first + t) - x) * s;
      w[t] = mode_ == Mode::linear ? std::max(0.0, 1 - std::fabs(d)) : cubic_weight(d, cubic_a_);
      sum += w[t];
    }
    if (antialias_ && sum != 0)
      for (int64_t t = 0; t < n; ++t) w[t] /= sum;
  }

  AxisPlan plan(int64_t in, int64_t out, double scale, double roi0, double roi1) const {
    AxisPlan p;
    p.in = in;
    p.out = out;
    // Taps per output: twice the kernel support (1 linear, 2 cubic), stretched by 1/scale
    // under antialias when downsampling.
    int64_t half = mode_ == Mode::nearest ? 0 : mode_ == Mode::linear ? 1 : 2;
    if (out == 0) return p;
    if (antialias_ && scale < 1) half = int64_t(std::ceil(double(half) / scale));  // scale > 0 when out > 0
    p.taps = mode_ == Mode::nearest ? 1 : 2 * half;
    p.index.resize(size_t(out * p.taps));
    p.weight.resize(size_t(out * p.taps));
    p.outside.assign(size_t(out), 0);
    for (int64_t y = 0; y < out; ++y) {
      const double x = source_coord(y, in, out, scale, roi0, roi1);
      if (coord_ == Coord::tf_crop_and_resize && (x < 0 || x > double(in - 1))) p.outside[y] = 1;
      int64_t* idx = &p.index[size_t(y * p.taps)];
      double* w = &p.weight[size_t(y * p.taps)];
      if (mode_ == Mode::nearest) {
        idx[0] = std::clamp<int64_t>(round_nearest(x, scale), 0, in - 1);
        w[0] = 1;
        continue;
      }
      // The taps nearest x, ties to the lower side: floor(x) - half + 1 .. floor(x) + half, or
      // x - half .. x + half - 1 when x is integral (as the ONNX reference picks them).
      const double f = std::floor(x);
      const int64_t first = int64_t(f) - half + (x == f ? 0 : 1);
      weights(x, scale, first, p.taps, w);
      double sum = 0;
      for (int64_t t = 0; t < p.taps; ++t) {
        const int64_t i = first + t;
        if (exclude_outside_ && (i < 0 || i >= in)) w[t] = 0;
        sum += w[t];
        idx[t] = std::clamp<int64_t>(i, 0, in - 1);
      }
      if (exclude_outside_ && sum != 0)
        for (int64_t t = 0; t < p.taps; ++t) w[t] /= sum;
    }
    return p;
  }

  // Nearest: each output element copies one input element; axes resolve independently.
  template <class T>
  void gather(const Tensor& x, Tensor& y, const std::vector<AxisPlan>& plans, const std::vector<int>& axes) const {
    const size_t rank = x.rank();
    if (y.numel() == 0) return;
    std::vector<const AxisPlan*> by_axis(rank, nullptr);
    for (size_t i = 0; i < axes.size(); ++i) by_axis[axes[i]] = &plans[i];
    const std::vector<int64_t> xs = strides_of(x.shape());
    const T* X = static_cast<const T*>(x.raw());
    T* Y = static_cast<T*>(y.raw());
    const T fill = convert_value<T>(extrapolation_);
    std::vector<int64_t> idx(rank, 0);
    for (int64_t e = 0, n = y.numel(); e < n; ++e) {
      int64_t off = 0;
      bool outside = false;
      for (size_t k = 0; k < rank; ++k) {
        const AxisPlan* p = by_axis[k];
        if (!p) {
          off += idx[k] * xs[k];
          continue;
        }
        outside = outside || p->outside[idx[k]];
        off += p->index[idx[k]] * xs[k];
      }
      Y[e] = outside ? fill : X[off];
      for (int k = int(rank) - 1; k >= 0 && ++idx[k] == y.dim(k); --k) idx[k] = 0;
    }
  }

  // Linear / cubic: one weighted pass per resized axis over (outer, axis, inner) views, in double.
  template <class T>
  void interpolate(const Tensor& x, Tensor& y, const std::vector<AxisPlan>& plans,
                   const std::vector<int>& axes) const {
    Shape shape = x.shape();
    const T* X = x.data<T>();
    std::vector<double> cur(X, X + x.numel()), next;  // scratch; the planner will own it later
    for (size_t i = 0; i < plans.size(); ++i) {
      const AxisPlan& p = plans[i];
      const int a = axes[i];
      int64_t outer = 1, inner = 1;
      for (int k = 0; k < a; ++k) outer *= shape[k];
      for (size_t k = size_t(a) + 1; k < shape.size(); ++k) inner *= shape[k];
      next.assign(size_t(outer * p.out * inner), 0.0);
      for (int64_t o = 0; o < outer; ++o) {
        const double* src = cur.data() + o * p.in * inner;
        double* dst = next.data() + o * p.out * inner;
        for (int64_t yv = 0; yv < p.out; ++yv) {
          double* row = dst + yv * inner;
          if (p.outside[yv]) {
            std::fill(row, row + inner, double(extrapolation_));
            continue;
          }
          for (int64_t t = 0; t < p.taps; ++t) {
            const double w = p.weight[size_t(yv * p.taps + t)];
            if (w == 0) continue;
            const double* s = src + p.index[size_t(yv * p.taps + t)] * inner;
            for (int64_t j = 0; j < inner; ++j) row[j] += w * s[j];
          }
        }
      }
      shape[a] = p.out;
      cur.swap(next);
    }
    T* Y = y.data<T>();
    for (int64_t e = 0, n = y.numel(); e < n; ++e) Y[e] = store<T>(cur[size_t(e)]);
  }

  template <class T>
  static T store(double v) {
    if constexpr (std::is_floating_point_v<T>) {
      return T(v);
    } else {
      v = std::nearbyint(v);  // half to even, as numpy's round
      v = std::clamp(v, double(std::numeric_limits<T>::lowest()), double(std::numeric_limits<T>::max()));
      return T(v);
    }
  }

  bool legacy_ = false, scales_attr_ = false;
  Mode mode_ = Mode::nearest;
  Coord coord_ = Coord::half_pixel;
  Nearest nearest_ = Nearest::round_prefer_floor;
  float cubic_a_ = -0.75f, extrapolation_ = 0.f;
  bool exclude_outside_ = false, antialias_ = false;
  std::string keep_aspect_;
  std::vector<int64_t> axes_;
  std::vector<float> scales_;
};

}  // namespace
EK_REGISTER_OP("Resize", Resize);
EK_REGISTER_OP_LINE("Upsample", Resize, "", Upsample);
}  // namespace edgekit
