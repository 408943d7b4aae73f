#include "kernels/rnn_common.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>

#include "kernels/fast_math.h"
#include "kernels/requantize.h"

namespace edgekit::rnn {
namespace {

// How each activation reads activation_alpha / activation_beta, with the defaults of the
// ONNX operator of the same name. Values are consumed in list order, one alpha (beta) per
// activation that takes one, as ONNX Runtime does.
struct ActInfo {
  const char* name;  // lower case
  ActKind kind;
  int params;  // 0: none, 1: alpha, 2: alpha and beta
  float alpha, beta;
};
constexpr ActInfo kActs[] = {
    {"sigmoid", ActKind::sigmoid, 0, 0.f, 0.f},
    {"tanh", ActKind::tanh, 0, 0.f, 0.f},
    {"relu", ActKind::relu, 0, 0.f, 0.f},
    {"affine", ActKind::affine, 2, 1.f, 0.f},
    {"leakyrelu", ActKind::leaky_relu, 1, 0.01f, 0.f},
    {"thresholdedrelu", ActKind::thresholded_relu, 1, 1.f, 0.f},
    {"scaledtanh", ActKind::scaled_tanh, 2, 1.f, 1.f},
    {"hardsigmoid", ActKind::hard_sigmoid, 2, 0.2f, 0.5f},
    {"elu", ActKind::elu, 1, 1.f, 0.f},
    {"softsign", ActKind::softsign, 0, 0.f, 0.f},
    {"softplus", ActKind::softplus, 0, 0.f, 0.f},
};
static_assert(std::size(kActs) == size_t(ActKind::softplus) + 1, "kActs must list every ActKind");

std::vector<Activation> parse_activations(const Node& node, const std::vector<std::string>& names) {
  std::vector<float> alphas = node.attr_floats("activation_alpha", {});
  std::vector<float> betas = node.attr_floats("activation_beta", {});
  size_t next_alpha = 0, next_beta = 0;
  std::vector<Activation> acts;
  for (const std::string& name : names) {
    std::string lower = name;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char ch) { return char(std::tolower(ch)); });
    const ActInfo* info = nullptr;
    for (const ActInfo& a : kActs)
      if (lower == a.name) info = &a;
    EK_CHECK(info, node.where(), ": unsupported activation '", name,
             "' (expected Sigmoid, Tanh, Relu, Affine, LeakyRelu, ThresholdedRelu, ScaledTanh, HardSigmoid, Elu, "
             "Softsign or Softplus)");
    Activation act{info->kind, info->alpha, info->beta};
    if (info->params >= 1 && next_alpha < alphas.size()) act.alpha = alphas[next_alpha++];
    if (info->params >= 2 && next_beta < betas.size()) act.beta = betas[next_beta++];
    acts.push_back(act);
  }
  return acts;
}

const char* const kInputNames[] = {"X", "W", "R", "B", "sequence_lens", "initial_h", "initial_c", "P"};
const char* input_name(const RnnSpec& s, size_t i) {
  if (i < s.float_inputs()) return kInputNames[i];
  return i == s.w_scale_input() ? "W_scale" : "R_scale";
}

// Dims of input i, checked to have `rank`; all -1 when static inference does not know them.
Shape input_dims(const InferContext& ctx, size_t i, size_t rank) {
  const TensorType& t = ctx.input_type(i);
  if (!t.shape_known) return Shape(rank, -1);
  EK_CHECK(t.shape.size() == rank, ctx.node().where(), ": input ", kInputNames[i], " must have rank ", rank,
           ", got shape ", shape_str(t.shape));
  return t.shape;
}

// Checks optional or required input i against `want` (-1: anything), naming what each dim means.
void expect_shape(const InferContext& ctx, size_t i, const Shape& want, const std::string& meaning) {
  if (!ctx.has_input(i)) return;
  Shape got = input_dims(ctx, i, want.size());
  for (size_t k = 0; k < want.size(); ++k)
    EK_CHECK(want[k] < 0 || got[k] < 0 || want[k] == got[k], ctx.node().where(), ": input ", kInputNames[i],
             " must have shape ", shape_str(want), " (", meaning, "), got ", shape_str(got));
}

int64_t times(int64_t k, int64_t v) { return v < 0 ? -1 : k * v; }

template <class C>
void load(const Tensor& t, C* dst) {
  const int64_t n = t.numel();
  switch (t.dtype()) {
    case DType::f32: std::copy(t.data<float>(), t.data<float>() + n, dst); break;
    case DType::f64: std::copy(t.data<double>(), t.data<double>() + n, dst); break;
    case DType::f16: {
      const f16_t* p = t.data<f16_t>();
      for (int64_t i = 0; i < n; ++i) dst[i] = C(half_to_float(p[i]));
      break;
    }
    default: fail("recurrent op: unsupported dtype ", dtype_name(t.dtype()));
  }
}

template <class C>
void store(const C* src, Tensor& t) {
  const int64_t n = t.numel();
  switch (t.dtype()) {
    case DType::f32: std::copy(src, src + n, t.data<float>()); break;
    case DType::f64: std::copy(src, src + n, t.data<double>()); break;
    case DType::f16: {
      f16_t* p = t.data<f16_t>();
      for (int64_t i = 0; i < n; ++i) p[i] = float_to_half(float(src[i]));
      break;
    }
    default: fail("recurrent op: unsupported dtype ", dtype_name(t.dtype()));
  }
}

// [a, b, inner] -> [b, a, inner]: converts between layout 1 and layout 0.
template <class C>
std::vector<C> swap01(const std::vector<C>& src, int64_t a, int64_t b, int64_t inner) {
  std::vector<C> dst(src.size());
  for (int64_t i = 0; i < a; ++i)
    for (int64_t j = 0; j < b; ++j)
      std::copy_n(&src[(i * b + j) * inner], inner, &dst[(j * a + i) * inner]);
  return dst;
}

// Loads a [D, batch, H] state input given in `layout` (zeros when absent).
template <class C>
std::vector<C> load_state(const RunContext& ctx, size_t i, int64_t layout, int64_t dirs, int64_t batch, int64_t hidden) {
  std::vector<C> v(size_t(dirs * batch * hidden), C(0));
  if (!ctx.has_input(i)) return v;
  load(ctx.input(i), v.data());
  return layout == 0 ? v : swap01(v, batch, dirs, hidden);
}

template <class C>
void run_recurrence(RunContext& ctx, const RnnSpec& spec, const CellFn<C>& cell, const PackedWeights* packed,
                    const std::vector<int64_t>& block_starts) {
  if (!std::is_same_v<C, float>) packed = nullptr;
  const bool int8 = packed && packed->int8;
  const Node& node = ctx.node();
  const Tensor& X = ctx.input(0);
  const int64_t layout = spec.layout, dirs = spec.num_directions, gh = ctx.input(1).dim(1);
  const int64_t seq = X.dim(layout ? 1 : 0), batch = X.dim(layout ? 0 : 1), in = X.dim(2);
  const int64_t hidden = ctx.input(2).dim(2);

  std::vector<C> x(size_t(X.numel()));
  load(X, x.data());
  if (layout) x = swap01(x, batch, seq, in);
  std::vector<C> w, r;  // packed weights need neither
  if (!packed) {
    w.resize(size_t(ctx.input(1).numel()));
    r.resize(size_t(ctx.input(2).numel()));
    load(ctx.input(1), w.data());
    load(ctx.input(2), r.data());
  }
  std::vector<C> bias(size_t(dirs * 2 * gh), C(0));
  if (ctx.has_input(3)) load(ctx.input(3), bias.data());
  std::vector<C> peep(spec.lstm ? size_t(dirs * 3 * hidden) : 0, C(0));
  if (spec.lstm && ctx.has_input(7)) load(ctx.input(7), peep.data());
  std::vector<C> h = load_state<C>(ctx, 5, layout, dirs, batch, hidden);
  std::vector<C> c = spec.lstm ? load_state<C>(ctx, 6, layout, dirs, batch, hidden) : std::vector<C>();

  std::vector<int64_t> lens(size_t(batch), seq);
  if (ctx.has_input(4))
    for (int64_t b = 0; b < batch; ++b) {
      lens[b] = ctx.input(4).as_int(b);
      EK_CHECK(lens[b] >= 0 && lens[b] <= seq, node.where(), ": sequence_lens[", b, "] = ", lens[b],
               " is outside [0, seq_length=", seq, "]");
    }

  std::vector<C> y(size_t(seq * dirs * batch * hidden), C(0));  // layout 0; zero past each row's length
  std::vector<C> xw(size_t(seq * batch * gh)), scratch(size_t(2 * gh));
  // int8: X quantized once for every step and both directions, and a row for the state.
  std::vector<uint8_t> xq;
  QuantizedVector hq;
  DynamicQuantized xp;
  if constexpr (std::is_same_v<C, float>) {
    if (int8) {
      const int64_t kp = packed->qw[0].k_padded;
      xq.resize(size_t(seq * batch * kp));
      EK_CHECK(quantize_rows_u8(x.data(), seq * batch, in, kp, xq.data(), &xp), node.where(),
               ": input X holds a non-finite value, which int8 quantization cannot represent");
      hq.q.resize(size_t(packed->qr[0][0].k_padded));
      hq.of.resize(size_t(hidden));
    }
  }
  for (int64_t d = 0; d < dirs; ++d) {
    const bool reverse = spec.reverse || d == 1;
    const C* wb = &bias[d * 2 * gh];
    if constexpr (std::is_same_v<C, float>) {
      // every step's x_t·Wᵀ + Wb in one GEMM
      if (int8)
        dynamic_qgemm(packed->qw[size_t(d)], xq.data(), seq * batch, xp, wb, xw.data(), gh, ctx.threads());
      else if (packed)
        packed_gemm_f32(packed->w[size_t(d)], x.data(), seq * batch, xw.data(), FusedActivation(), ctx.threads());
    }
    if (!packed)
      for (int64_t t = 0; t < seq; ++t)
        for (int64_t b = 0; b < batch; ++b)
          if (t < lens[b]) matvec(&w[d * gh * in], &x[(t * batch + b) * in], wb, gh, in, &xw[(t * batch + b) * gh]);

    Step<C> s{};
    s.r = packed ? nullptr : &r[d * gh * hidden];
    s.packed_r = packed && !int8 ? &packed->r[size_t(d)] : nullptr;
    s.qr = int8 ? &packed->qr[size_t(d)] : nullptr;
    s.qv = &hq;
    s.node = &node;
    s.block_starts = &block_starts;
    s.rb = wb + gh;
    s.p = spec.lstm ? &peep[d * 3 * hidden] : nullptr;
    s.act = &spec.activations[d * spec.acts_per_direction];
    s.spec = &spec;
    s.hidden = hidden;
    s.scratch = scratch.data();
    for (int64_t b = 0; b < batch; ++b) {
      s.h = &h[(d * batch + b) * hidden];
      s.c = spec.lstm ? &c[(d * batch + b) * hidden] : nullptr;
      for (int64_t k = 0; k < lens[b]; ++k) {
        const int64_t t = reverse ? lens[b] - 1 - k : k;
        s.xw = &xw[(t * batch + b) * gh];
        cell(s);
        std::copy_n(s.h, hidden, &y[((t * dirs + d) * batch + b) * hidden]);
      }
    }
  }

  if (ctx.has_output(0)) {
    if (layout) {  // [seq, D, batch, H] -> [batch, seq, D, H]
      std::vector<C> yl(y.size());
      for (int64_t t = 0; t < seq; ++t)
        for (int64_t d = 0; d < dirs; ++d)
          for (int64_t b = 0; b < batch; ++b)
            std::copy_n(&y[((t * dirs + d) * batch + b) * hidden], hidden, &yl[((b * seq + t) * dirs + d) * hidden]);
      y.swap(yl);
    }
    store(y.data(), ctx.output(0));
  }
  auto store_state = [&](size_t i, const std::vector<C>& v) {
    if (ctx.has_output(i)) store((layout ? swap01(v, dirs, batch, hidden) : v).data(), ctx.output(i));
  };
  store_state(1, h);
  if (spec.lstm) store_state(2, c);
}

}  // namespace

template <class C>
void apply_activation(const Activation& act, C* x, int64_t n) {
  const C a = C(act.alpha), b = C(act.beta);
  switch (act.kind) {
    case ActKind::sigmoid:
      if constexpr (std::is_same_v<C, float>) {
        sigmoid_f32_array(x, x, n);
      } else {
        for (int64_t i = 0; i < n; ++i) x[i] = C(1) / (C(1) + std::exp(-x[i]));
      }
      break;
    case ActKind::tanh:
      if constexpr (std::is_same_v<C, float>) {
        tanh_f32_array(x, x, n);
      } else {
        for (int64_t i = 0; i < n; ++i) x[i] = std::tanh(x[i]);
      }
      break;
    case ActKind::relu:
      for (int64_t i = 0; i < n; ++i) x[i] = x[i] > C(0) ? x[i] : C(0);
      break;
    case ActKind::affine:
      for (int64_t i = 0; i < n; ++i) x[i] = a * x[i] + b;
      break;
    case ActKind::leaky_relu:
      for (int64_t i = 0; i < n; ++i) x[i] = x[i] >= C(0) ? x[i] : a * x[i];
      break;
    case ActKind::thresholded_relu:
      for (int64_t i = 0; i < n; ++i) x[i] = x[i] >= a ? x[i] : C(0);
      break;
    case ActKind::scaled_tanh:
      for (int64_t i = 0; i < n; ++i) x[i] = a * std::tanh(b * x[i]);
      break;
    case ActKind::hard_sigmoid:
      for (int64_t i = 0; i < n; ++i) x[i] = std::min(C(1), std::max(C(0), a * x[i] + b));
      break;
    case ActKind::elu:
      for (int64_t i = 0; i < n; ++i) x[i] = x[i] >= C(0) ? x[i] : a * (std::exp(x[i]) - C(1));
      break;
    case ActKind::softsign:
      for (int64_t i = 0; i < n; ++i) x[i] = x[i] / (C(1) + std::fabs(x[i]));
      break;
    case ActKind::softplus:  // log(1 + e^x) without overflow for large x
      for (int64_t i = 0; i < n; ++i) x[i] = std::max(x[i], C(0)) + std::log1p(std::exp(-std::fabs(x[i])));
      break;
  }
}
template void apply_activation<float>(const Activation&, float*, int64_t);
template void apply_activation<double>(const Activation&, double*, int64_t);

RnnSpec parse_spec(const Node& node, int gates, bool lstm,
                   const std::vector<std::string>& default_activations) {
  RnnSpec s;
  s.gates = gates;
  s.lstm = lstm;
  s.int8_weights = node.domain == kEdgekitDomain;

  const std::string direction = node.attr_string("direction", "forward");
  if (direction == "bidirectional") {
    s.num_directions = 2;
  } else if (direction == "reverse") {
    s.reverse = true;
  } else {
    EK_CHECK(direction == "forward", node.where(), ": direction must be forward, reverse or bidirectional, got '",
             direction, "'");
  }

  s.hidden_size = node.attr_int("hidden_size", 0);
  EK_CHECK(!node.has_attr("hidden_size") || s.hidden_size > 0, node.where(), ": hidden_size must be positive, got ",
           s.hidden_size);

  s.layout = node.attr_int("layout", 0);
  EK_CHECK(s.layout == 0 || s.layout == 1, node.where(), ": layout must be 0 or 1, got ", s.layout);
  EK_CHECK(s.layout == 0 || !node.domain.empty() || node.opset == 0 || node.opset >= 14, node.where(),
           ": attribute layout needs opset 14 or later, the model declares opset ", node.opset);

  if (node.has_attr("clip")) {
    s.has_clip = true;
    s.clip = node.attr_float("clip");
    EK_CHECK(s.clip >= 0.f, node.where(), ": clip must be a non-negative threshold, got ", s.clip);
  }

  s.acts_per_direction = default_activations.size();
  std::vector<std::string> names;
  if (node.has_attr("activations")) {
    names = node.attr_strings("activations");
    // A single direction's list given for a bidirectional op applies to both (as ONNX Runtime does).
    if (s.num_directions == 2 && names.size() == s.acts_per_direction)
      names.insert(names.end(), names.begin(), names.end());
  } else {
    for (int d = 0; d < s.num_directions; ++d)
      names.insert(names.end(), default_activations.begin(), default_activations.end());
  }
  EK_CHECK(names.size() == s.acts_per_direction * s.num_directions, node.where(), ": expected ",
           s.acts_per_direction * s.num_directions, " activations (", s.acts_per_direction, " per direction, ",
           s.num_directions, " direction(s)), got ", names.size());
  s.activations = parse_activations(node, names);
  return s;
}

void infer(InferContext& ctx, const RnnSpec& s) {
  const Node& node = ctx.node();
  ctx.expect_inputs(3, s.max_inputs());
  EK_CHECK(ctx.num_outputs() <= s.max_outputs(), node.where(), ": expected at most ", s.max_outputs(),
           " outputs, got ", ctx.num_outputs());

  const DType type = ctx.input_type(0).dtype;
  if (s.int8_weights) {
    EK_CHECK(type == DType::f32, node.where(), ": X must be f32, got ", dtype_name(type));
  } else {
    EK_CHECK(type == DType::f32 || type == DType::f64 || type == DType::f16, node.where(),
             ": X must be f16, f32 or f64, got ", dtype_name(type));
  }
  for (size_t i : {1, 2, 3, 5, 6, 7, 8, 9}) {
    if (i >= s.max_inputs() || !ctx.has_input(i)) continue;
    const bool int8 = s.int8_weights && (i == 1 || i == 2);
    const DType want = int8 ? DType::i8 : type;
    EK_CHECK(ctx.input_type(i).dtype == want, node.where(), ": input ", input_name(s, i), " has dtype ",
             dtype_name(ctx.input_type(i).dtype), ", expected ", dtype_name(want), int8 ? "" : " like X");
  }
  if (s.int8_weights)
    for (size_t i : {s.w_scale_input(), s.w_scale_input() + 1})
      EK_CHECK(ctx.has_input(i), node.where(), ": input ", input_name(s, i), " is required");
  if (ctx.has_input(4)) {
    DType t = ctx.input_type(4).dtype;
    EK_CHECK(t == DType::i32 || t == DType::i64, node.where(), ": sequence_lens must be i32, got ", dtype_name(t));
  }

  const Shape x = input_dims(ctx, 0, 3), w = input_dims(ctx, 1, 3), r = input_dims(ctx, 2, 3);
  const int64_t seq = x[s.layout ? 1 : 0], batch = x[s.layout ? 0 : 1], in = x[2];
  const int64_t dirs = s.num_directions, g = s.gates;
  int64_t hidden = s.hidden_size;
  if (hidden == 0) hidden = r[2] >= 0 ? r[2] : (w[1] >= 0 && w[1] % g == 0 ? w[1] / g : -1);

  const std::string gh = g == 1 ? "hidden_size" : cat(g, "*hidden_size");
  const std::string state = s.layout ? "batch_size, num_directions, hidden_size" : "num_directions, batch_size, hidden_size";
  const Shape state_shape = s.layout ? Shape{batch, dirs, hidden} : Shape{dirs, batch, hidden};
  expect_shape(ctx, 1, {dirs, times(g, hidden), in}, cat("num_directions, ", gh, ", input_size"));
  expect_shape(ctx, 2, {dirs, times(g, hidden), hidden}, cat("num_directions, ", gh, ", hidden_size"));
  for (size_t i = s.w_scale_input(); i < s.max_inputs() && s.int8_weights; ++i) {
    const TensorType& t = ctx.input_type(i);
    if (!t.shape_known) continue;
    const int64_t n = shape_numel(t.shape);
    EK_CHECK(t.shape.size() <= 1 && (n == 1 || n < 0 || hidden < 0 || n == g * hidden), node.where(), ": input ",
             input_name(s, i), " must hold one scale or ", gh, " (one a row of all directions), got shape ",
             shape_str(t.shape));
  }
  expect_shape(ctx, 3, {dirs, times(2 * g, hidden)}, cat("num_directions, 2*", gh));
  expect_shape(ctx, 4, {batch}, "batch_size");
  expect_shape(ctx, 5, state_shape, state);
  if (s.lstm) {
    expect_shape(ctx, 6, state_shape, state);
    expect_shape(ctx, 7, {dirs, times(3, hidden)}, "num_directions, 3*hidden_size");
  }

  if (ctx.num_outputs() > 0)
    ctx.set_output(0, type, s.layout ? Shape{batch, seq, dirs, hidden} : Shape{seq, dirs, batch, hidden});
  for (size_t i = 1; i < ctx.num_outputs(); ++i) ctx.set_output(i, type, state_shape);
}

void run_typed(RunContext& ctx, const RnnSpec& spec, const CellFn<float>& f32, const CellFn<double>& f64,
               const PackedWeights* packed, const std::vector<int64_t>& block_starts) {
  if (spec.int8_weights) {  // packed on the fly when prepare() did not (constant folding, weights computed)
    std::shared_ptr<const PackedWeights> own;
    if (!packed) {
      const size_t ws = spec.w_scale_input();
      own = pack_int8_weights(ctx.node(), spec, ctx.input(1), ctx.input(ws), ctx.input(2), ctx.input(ws + 1),
                              block_starts);
    }
    return run_recurrence<float>(ctx, spec, f32, packed ? packed : own.get(), block_starts);
  }
  if (ctx.input(0).dtype() == DType::f64)
    run_recurrence<double>(ctx, spec, f64, nullptr, block_starts);
  else
    run_recurrence<float>(ctx, spec, f32, ctx.input(0).dtype() == DType::f32 ? packed : nullptr, block_starts);
}

std::shared_ptr<const PackedWeights> pack_weights(const PrepareContext& ctx, const RnnSpec& spec,
                                                  std::vector<int64_t> block_starts) {
  const Tensor* w = ctx.constant_input(1);
  const Tensor* r = ctx.constant_input(2);
  if (spec.int8_weights) {
    const Tensor* ws = ctx.constant_input(spec.w_scale_input());
    const Tensor* rs = ctx.constant_input(spec.w_scale_input() + 1);
    if (!w || !r || !ws || !rs) return nullptr;  // packed at each run
    return pack_int8_weights(ctx.node(), spec, *w, *ws, *r, *rs, std::move(block_starts));
  }
  const Tensor* b = ctx.node().has_input(3) ? ctx.constant_input(3) : nullptr;
  if (!w || !r || w->dtype() != DType::f32 || r->dtype() != DType::f32 || w->rank() != 3 || r->rank() != 3) return nullptr;
  if (ctx.node().has_input(3) && (!b || b->dtype() != DType::f32)) return nullptr;
  const int64_t dirs = w->dim(0), gh = w->dim(1), in = w->dim(2), H = r->dim(2);
  if (dirs != spec.num_directions || r->dim(0) != dirs || r->dim(1) != gh || gh != spec.gates * H) return nullptr;
  if (b && (b->rank() != 2 || b->dim(0) != dirs || b->dim(1) != 2 * gh)) return nullptr;  // infer() reports it
  auto p = std::make_shared<PackedWeights>();
  p->block_starts = block_starts;
  for (int64_t d = 0; d < dirs; ++d) {
    p->w.emplace_back(w->data<float>() + d * gh * in, b ? b->data<float>() + d * 2 * gh : nullptr, gh, in, 1, 1, 1);
    std::vector<NhwcConvWeights> blocks;
    for (size_t k = 0; k + 1 < block_starts.size(); ++k) {
      const int64_t row0 = block_starts[k] * H, rows = (block_starts[k + 1] - block_starts[k]) * H;
      blocks.emplace_back(r->data<float>() + (d * gh + row0) * H, nullptr, rows, H, 1, 1, 1);
    }
    p->r.push_back(std::move(blocks));
  }
  return p;
}

std::shared_ptr<const PackedWeights> pack_int8_weights(const Node& node, const RnnSpec& spec, const Tensor& w,
                                                       const Tensor& w_scale, const Tensor& r, const Tensor& r_scale,
                                                       std::vector<int64_t> block_starts) {
  EK_CHECK(w.dtype() == DType::i8 && r.dtype() == DType::i8 && w.rank() == 3 && r.rank() == 3, node.where(),
           ": W and R must be int8 of rank 3, got ", dtype_name(w.dtype()), " ", shape_str(w.shape()), " and ",
           dtype_name(r.dtype()), " ", shape_str(r.shape()));
  const int64_t dirs = w.dim(0), gh = w.dim(1), in = w.dim(2), H = r.dim(2);
  EK_CHECK(dirs == spec.num_directions && r.dim(0) == dirs && r.dim(1) == gh && gh == spec.gates * H, node.where(),
           ": W ", shape_str(w.shape()), " and R ", shape_str(r.shape()), " do not match ", spec.num_directions,
           " direction(s) of ", spec.gates, " gates");
  // Scales as DequantizeLinear reads them: one, or one a row along axis 1 (shared by the directions).
  const QuantParams wq = read_quant_params(node, "W_scale", w_scale, nullptr, w.shape(), 1, true);
  const QuantParams rq = read_quant_params(node, "R_scale", r_scale, nullptr, r.shape(), 1, true);
  auto p = std::make_shared<PackedWeights>();
  p->int8 = true;
  p->block_starts = block_starts;
  for (int64_t d = 0; d < dirs; ++d) {
    p->qw.push_back(pack_dynamic_qweights(w.data<int8_t>() + d * gh * in, gh, in, wq.scale.data(),
                                          int64_t(wq.scale.size())));
    std::vector<DynamicQWeights> blocks;
    for (size_t k = 0; k + 1 < block_starts.size(); ++k) {
      const int64_t row0 = block_starts[k] * H, rows = (block_starts[k + 1] - block_starts[k]) * H;
      const bool per_row = rq.scale.size() > 1;
      blocks.push_back(pack_dynamic_qweights(r.data<int8_t>() + (d * gh + row0) * H, rows, H,
                                             rq.scale.data() + (per_row ? row0 : 0), per_row ? rows : 1));
    }
    p->qr.push_back(std::move(blocks));
  }
  return p;
}

void recur_int8(const Step<float>& s, size_t block, const float* v, const float* init, float* out) {
  const DynamicQWeights& w = (*s.qr)[block];
  QuantizedVector& qv = *s.qv;
  const size_t bytes = size_t(s.hidden) * sizeof(float);
  if (!qv.valid || std::memcmp(qv.of.data(), v, bytes) != 0) {
    qv.valid = quantize_rows_u8(v, 1, s.hidden, w.k_padded, qv.q.data(), &qv.params);
    EK_CHECK(qv.valid, s.node->where(), ": the recurrent state became non-finite, which int8 quantization cannot represent");
    std::memcpy(qv.of.data(), v, bytes);
  }
  dynamic_qgemm(w, qv.q.data(), 1, qv.params, init, out, w.rows);
}

}  // namespace edgekit::rnn
