// RNN, GRU and LSTM against a plain step-by-step computation written out from the ONNX
// equations (in double, layout 0), over directions, sequence_lens, layout 1, peepholes,
// input_forget, linear_before_reset, clip and parametrised activations; plus error cases.
#include <functional>
#include <random>

#include "kernels/rnn_common.h"
#include "op_test_util.h"

namespace edgekit::test {
namespace {

using Fn = std::function<double(double)>;

double sigm(double x) { return 1 / (1 + std::exp(-x)); }

struct Case {
  std::string op = "GRU";    // RNN, GRU, LSTM
  std::string direction = "forward";
  int64_t seq = 4, batch = 3, in = 5, hidden = 6;
  bool with_bias = true, with_h0 = true, with_c0 = true, with_p = false;
  std::vector<int32_t> lens;  // empty: not given
  int64_t layout = 0;
  int64_t linear_before_reset = 0, input_forget = 0;
  float clip = 0;  // 0: no clip attribute
  std::vector<std::string> acts;  // one direction's list; empty: defaults
  std::vector<float> alpha, beta;
  std::vector<Fn> act_fns;  // the same activations for the reference; empty: defaults

  int gates() const { return op == "RNN" ? 1 : op == "GRU" ? 3 : 4; }
  int64_t dirs() const { return direction == "bidirectional" ? 2 : 1; }
};

struct Data {
  std::vector<double> x, w, r, b, h0, c0, p;  // layout 0
};

Data random_data(const Case& c, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(-1, 1);
  auto vec = [&](int64_t n) {
    std::vector<double> v(static_cast<size_t>(n));
    for (auto& e : v) e = float(u(rng));  // float-representable, so both sides see the same inputs
    return v;
  };
  const int64_t G = c.gates(), H = c.hidden, D = c.dirs();
  Data d;
  d.x = vec(c.seq * c.batch * c.in);
  d.w = vec(D * G * H * c.in);
  d.r = vec(D * G * H * H);
  d.b = c.with_bias ? vec(D * 2 * G * H) : std::vector<double>(size_t(D * 2 * G * H), 0.0);
  d.h0 = c.with_h0 ? vec(D * c.batch * H) : std::vector<double>(size_t(D * c.batch * H), 0.0);
  d.c0 = c.with_c0 && c.op == "LSTM" ? vec(D * c.batch * H) : std::vector<double>(size_t(D * c.batch * H), 0.0);
  d.p = c.with_p ? vec(D * 3 * H) : std::vector<double>(size_t(D * 3 * H), 0.0);
  return d;
}

struct Outputs {
  std::vector<double> y, yh, yc;  // layout 0
};

// The ONNX equations, one scalar at a time.
Outputs reference(const Case& c, const Data& d) {
  const int64_t G = c.gates(), H = c.hidden, D = c.dirs(), S = c.seq, N = c.batch, I = c.in;
  std::vector<Fn> fns = c.act_fns;
  if (fns.empty()) {
    Fn tanh_fn = [](double v) { return std::tanh(v); };
    if (c.op == "RNN") fns = {tanh_fn};
    if (c.op == "GRU") fns = {sigm, tanh_fn};
    if (c.op == "LSTM") fns = {sigm, tanh_fn, tanh_fn};
  }
  auto clip = [&](double v) { return c.clip > 0 ? std::min<double>(c.clip, std::max<double>(-c.clip, v)) : v; };
  Outputs o;
  o.y.assign(size_t(S * D * N * H), 0.0);
  o.yh.assign(size_t(D * N * H), 0.0);
  o.yc.assign(size_t(D * N * H), 0.0);
  for (int64_t dir = 0; dir < D; ++dir) {
    bool reverse = c.direction == "reverse" || dir == 1;
    // W·x_t + Wb + R·h + Rb for gate block k, unit j (`hv` replaces h when given).
    auto pre = [&](int64_t t, int64_t n, int64_t k, int64_t j, const std::vector<double>& hv, bool with_r_part) {
      double s = d.b[dir * 2 * G * H + k * H + j];
      for (int64_t i = 0; i < I; ++i) s += d.w[((dir * G + k) * H + j) * I + i] * d.x[(t * N + n) * I + i];
      if (with_r_part) {
        s += d.b[dir * 2 * G * H + G * H + k * H + j];
        for (int64_t i = 0; i < H; ++i) s += d.r[((dir * G + k) * H + j) * H + i] * hv[i];
      }
      return s;
    };
    for (int64_t n = 0; n < N; ++n) {
      std::vector<double> h(H), cs(H);
      for (int64_t j = 0; j < H; ++j) h[j] = d.h0[(dir * N + n) * H + j], cs[j] = d.c0[(dir * N + n) * H + j];
      int64_t len = c.lens.empty() ? S : c.lens[n];
      for (int64_t step = 0; step < len; ++step) {
        int64_t t = reverse ? len - 1 - step : step;
        std::vector<double> nh(H);
        if (c.op == "RNN") {
          for (int64_t j = 0; j < H; ++j) nh[j] = fns[0](clip(pre(t, n, 0, j, h, true)));
        } else if (c.op == "GRU") {
          std::vector<double> z(H), r(H), rh(H);
          for (int64_t j = 0; j < H; ++j) {
            z[j] = fns[0](clip(pre(t, n, 0, j, h, true)));
            r[j] = fns[0](clip(pre(t, n, 1, j, h, true)));
            rh[j] = r[j] * h[j];
          }
          for (int64_t j = 0; j < H; ++j) {
            double v;
            if (c.linear_before_reset) {
              double rp = d.b[dir * 2 * G * H + G * H + 2 * H + j];
              for (int64_t i = 0; i < H; ++i) rp += d.r[((dir * G + 2) * H + j) * H + i] * h[i];
              v = pre(t, n, 2, j, h, false) + r[j] * rp;
            } else {
              v = pre(t, n, 2, j, rh, true);
            }
            double hh = fns[1](clip(v));
            nh[j] = (1 - z[j]) * hh + z[j] * h[j];
          }
        } else {
          const double* P = &d.p[dir * 3 * H];
          std::vector<double> nc(H);
          for (int64_t j = 0; j < H; ++j) {
            double i_g = fns[0](clip(pre(t, n, 0, j, h, true) + P[j] * cs[j]));
            double f_g = c.input_forget ? 1 - i_g : fns[0](clip(pre(t, n, 2, j, h, true) + P[2 * H + j] * cs[j]));
            double c_g = fns[1](clip(pre(t, n, 3, j, h, true)));
            nc[j] = f_g * cs[j] + i_g * c_g;
            double o_g = fns[0](clip(pre(t, n, 1, j, h, true) + P[H + j] * nc[j]));
            nh[j] = o_g * fns[2](nc[j]);
          }
          cs = nc;
        }
        h = nh;
        for (int64_t j = 0; j < H; ++j) o.y[((t * D + dir) * N + n) * H + j] = h[j];
      }
      for (int64_t j = 0; j < H; ++j) o.yh[(dir * N + n) * H + j] = h[j], o.yc[(dir * N + n) * H + j] = cs[j];
    }
  }
  return o;
}

// [a, b, inner] -> [b, a, inner]
std::vector<double> swap01(const std::vector<double>& v, int64_t a, int64_t b, int64_t inner) {
  std::vector<double> out(v.size());
  for (int64_t i = 0; i < a; ++i)
    for (int64_t j = 0; j < b; ++j)
      for (int64_t k = 0; k < inner; ++k) out[(j * a + i) * inner + k] = v[(i * b + j) * inner + k];
  return out;
}

template <class T>
Tensor tensor_of(const std::vector<double>& v, Shape shape) {
  std::vector<T> t;
  for (double e : v) {
    if constexpr (std::is_same_v<T, f16_t>)
      t.push_back(float_to_half(float(e)));
    else
      t.push_back(T(e));
  }
  return Tensor::from<T>(t, std::move(shape));
}

Node make_rnn_node(const Case& c, size_t num_inputs, int opset = 18) {
  Node n = make_node(c.op, num_inputs, c.op == "LSTM" ? 3 : 2, opset);
  n.attrs["hidden_size"] = c.hidden;
  n.attrs["direction"] = c.direction;
  if (c.layout) n.attrs["layout"] = c.layout;
  if (c.op == "GRU") n.attrs["linear_before_reset"] = c.linear_before_reset;
  if (c.op == "LSTM") n.attrs["input_forget"] = c.input_forget;
  if (c.clip > 0) n.attrs["clip"] = c.clip;
  if (!c.acts.empty()) n.attrs["activations"] = c.acts;
  if (!c.alpha.empty()) n.attrs["activation_alpha"] = c.alpha;
  if (!c.beta.empty()) n.attrs["activation_beta"] = c.beta;
  return n;
}

// Runs the kernel on `d` (converted to c.layout and dtype T) and returns outputs in layout 0.
// With `prepared`, the kernel sees W, R and B as constants in prepare() first (as in a Session),
// so f32 runs on the packed weights.
std::vector<Tensor> run_maybe_prepared(const Node& n, const std::vector<Tensor>& in, bool prepared) {
  if (!prepared) return run_node(n, in);
  auto kernel = create_op(n);
  std::vector<const Tensor*> consts(in.size(), nullptr), vals(in.size(), nullptr);
  std::vector<TensorType> types(in.size());
  std::vector<const TensorType*> tp(in.size(), nullptr);
  for (size_t i = 0; i < in.size(); ++i) {
    if (!in[i].defined()) continue;
    if (i >= 1 && i <= 3) consts[i] = &in[i];
    vals[i] = &in[i];
    types[i] = {in[i].dtype(), in[i].shape(), true};
    tp[i] = &types[i];
  }
  kernel->prepare(PrepareContext(n, consts));
  InferContext ictx(n, tp, vals);
  kernel->infer(ictx);
  std::vector<Tensor> out;
  std::vector<Tensor*> out_ptrs;
  for (const auto& t : ictx.outputs()) out.emplace_back(t.dtype, t.shape);
  for (auto& t : out) out_ptrs.push_back(&t);
  RunContext rctx(n, vals, out_ptrs, nullptr);
  kernel->run(rctx);
  return out;
}

bool g_prepared = false;  // run_kernel prepares the kernel first (packed f32 weights)

template <class T = float>
Outputs run_kernel(const Case& c, const Data& d) {
  const int64_t G = c.gates(), H = c.hidden, D = c.dirs(), S = c.seq, N = c.batch, I = c.in;
  const bool l1 = c.layout == 1;
  std::vector<Tensor> in(c.op == "LSTM" ? 8 : 6);
  in[0] = l1 ? tensor_of<T>(swap01(d.x, S, N, I), {N, S, I}) : tensor_of<T>(d.x, {S, N, I});
  in[1] = tensor_of<T>(d.w, {D, G * H, I});
  in[2] = tensor_of<T>(d.r, {D, G * H, H});
  if (c.with_bias) in[3] = tensor_of<T>(d.b, {D, 2 * G * H});
  if (!c.lens.empty()) in[4] = Tensor::from<int32_t>(c.lens, {N});
  auto state = [&](const std::vector<double>& v) {
    return l1 ? tensor_of<T>(swap01(v, D, N, H), {N, D, H}) : tensor_of<T>(v, {D, N, H});
  };
  if (c.with_h0) in[5] = state(d.h0);
  if (c.op == "LSTM" && c.with_c0) in[6] = state(d.c0);
  if (c.op == "LSTM" && c.with_p) in[7] = tensor_of<T>(d.p, {D, 3 * H});
  Node n = make_rnn_node(c, in.size());
  for (size_t i = 0; i < in.size(); ++i)
    if (!in[i].defined()) n.inputs[i] = "";
  auto out = run_maybe_prepared(n, in, g_prepared);

  auto to_vec = [](const Tensor& t) {
    std::vector<double> v(size_t(t.numel()));
    for (int64_t i = 0; i < t.numel(); ++i) v[i] = t.as_double(i);
    return v;
  };
  Outputs o;
  o.y = to_vec(out[0]);
  o.yh = to_vec(out[1]);
  if (c.op == "LSTM") o.yc = to_vec(out[2]);
  if (l1) {
    EXPECT_EQ(out[0].shape(), (Shape{N, S, D, H}));
    EXPECT_EQ(out[1].shape(), (Shape{N, D, H}));
    std::vector<double> y(o.y.size());  // [N, S, D, H] -> [S, D, N, H]
    for (int64_t n2 = 0; n2 < N; ++n2)
      for (int64_t t = 0; t < S; ++t)
        for (int64_t dd = 0; dd < D; ++dd)
          for (int64_t j = 0; j < H; ++j) y[((t * D + dd) * N + n2) * H + j] = o.y[((n2 * S + t) * D + dd) * H + j];
    o.y = y;
    o.yh = swap01(o.yh, N, D, H);
    if (c.op == "LSTM") o.yc = swap01(o.yc, N, D, H);
  } else {
    EXPECT_EQ(out[0].shape(), (Shape{S, D, N, H}));
    EXPECT_EQ(out[1].shape(), (Shape{D, N, H}));
  }
  return o;
}

void expect_near(const std::vector<double>& got, const std::vector<double>& want, const char* what, double tol) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < want.size(); ++i) ASSERT_NEAR(got[i], want[i], tol) << what << " at " << i;
}

template <class T = float>
void check(const Case& c, unsigned seed = 1, double tol = 2e-5) {
  Data d = random_data(c, seed);
  Outputs want = reference(c, d), got = run_kernel<T>(c, d);
  expect_near(got.y, want.y, "Y", tol);
  expect_near(got.yh, want.yh, "Y_h", tol);
  if (c.op == "LSTM") expect_near(got.yc, want.yc, "Y_c", tol);
}

Case make_case(const std::string& op) {
  Case c;
  c.op = op;
  return c;
}

const char* const kOps[] = {"RNN", "GRU", "LSTM"};

}  // namespace

// Every case below again with the weights packed in prepare() (the f32 fast path).
TEST(Rnn, PackedWeightsMatchReference) {
  g_prepared = true;
  for (const char* op : kOps)
    for (const char* dir : {"forward", "reverse", "bidirectional"})
      for (int variant = 0; variant < 4; ++variant) {
        Case c = make_case(op);
        c.direction = dir;
        c.with_bias = variant != 1;
        c.layout = variant == 2;
        if (variant == 3) c.lens = {4, 1, 3};
        c.linear_before_reset = variant % 2;
        c.hidden = variant == 3 ? 37 : 6;  // several panels of the micro-kernel
        SCOPED_TRACE(cat(op, " ", dir, " variant ", variant));
        check(c, unsigned(variant + 3));
        if (HasFatalFailure()) break;
      }
  g_prepared = false;
}

TEST(Rnn, ForwardMatchesReference) {
  for (const char* op : kOps) {
    SCOPED_TRACE(op);
    check(make_case(op));
  }
}

TEST(Rnn, ReverseMatchesReference) {
  for (const char* op : kOps) {
    SCOPED_TRACE(op);
    Case c = make_case(op);
    c.direction = "reverse";
    check(c, 2);
  }
}

TEST(Rnn, BidirectionalMatchesReference) {
  for (const char* op : kOps) {
    SCOPED_TRACE(op);
    Case c = make_case(op);
    c.direction = "bidirectional";
    check(c, 3);
  }
}

TEST(Rnn, SequenceLensZeroPadAndStopEarly) {
  for (const char* op : kOps) {
    SCOPED_TRACE(op);
    Case c = make_case(op);
    c.direction = "bidirectional";
    c.seq = 5;
    c.batch = 4;
    c.lens = {5, 2, 1, 0};  // a zero-length row keeps its initial state
    check(c, 4);
  }
}

TEST(Rnn, Layout1MatchesReference) {
  for (const char* op : kOps) {
    SCOPED_TRACE(op);
    Case c = make_case(op);
    c.direction = "bidirectional";
    c.layout = 1;
    c.lens = {3, 4, 2};
    check(c, 5);
  }
}

TEST(Rnn, OptionalInputsAbsent) {
  for (const char* op : kOps) {
    SCOPED_TRACE(op);
    Case c = make_case(op);
    c.with_bias = c.with_h0 = c.with_c0 = false;
    check(c, 6);
  }
}

TEST(Rnn, DoublePrecision) {
  Case c = make_case("LSTM");
  c.direction = "bidirectional";
  check<double>(c, 7, 1e-12);
}

TEST(Rnn, HalfPrecisionRoundsOnlyAtTheEdges) {
  Case c = make_case("GRU");
  c.seq = 2;
  check<f16_t>(c, 8, 1e-2);
}

TEST(Gru, LinearBeforeReset) {
  Case c = make_case("GRU");
  c.linear_before_reset = 1;
  c.direction = "bidirectional";
  check(c, 9);
}

TEST(Lstm, PeepholesAndInputForget) {
  Case c = make_case("LSTM");
  c.with_p = true;
  check(c, 10);
  c.input_forget = 1;
  c.direction = "reverse";
  check(c, 11);
}

TEST(Rnn, ClipBoundsGateInputs) {
  for (const char* op : kOps) {
    SCOPED_TRACE(op);
    Case c = make_case(op);
    c.clip = 0.4f;
    c.with_p = true;
    check(c, 12);
  }
}

TEST(Rnn, ParametrisedActivationsConsumeAlphaBetaInOrder) {
  // Alphas go to LeakyRelu, HardSigmoid, ThresholdedRelu in that order; betas to HardSigmoid.
  Case c = make_case("LSTM");
  c.direction = "bidirectional";
  c.acts = {"LeakyRelu", "HardSigmoid", "softsign", "ThresholdedRelu", "Softplus", "Elu"};
  c.alpha = {0.2f, 0.3f, 0.1f};
  c.beta = {0.6f};
  // Elu takes no alpha from the list (exhausted) and falls back to its default 1.0.
  c.act_fns = {[](double v) { return v >= 0 ? v : 0.2 * v; },
               [](double v) { return std::min(1.0, std::max(0.0, double(0.3f) * v + double(0.6f))); },
               [](double v) { return v / (1 + std::fabs(v)); }};
  // The reference uses one direction's list; run each direction's list separately.
  Case fwd = c;
  fwd.direction = "forward";
  fwd.acts = {"LeakyRelu", "HardSigmoid", "softsign"};
  fwd.alpha = {0.2f, 0.3f};
  check(fwd, 13);

  Case bwd = c;
  bwd.direction = "reverse";
  bwd.acts = {"ThresholdedRelu", "Softplus", "Elu"};
  bwd.alpha = {0.1f};
  bwd.beta = {};
  bwd.act_fns = {[](double v) { return v >= double(0.1f) ? v : 0.0; },
                 [](double v) { return std::log1p(std::exp(v)); },
                 [](double v) { return v >= 0 ? v : std::exp(v) - 1; }};
  check(bwd, 14);

  // Bidirectional with the six-entry list equals the two single-direction runs.
  Data d = random_data(c, 15);
  Outputs both = run_kernel(c, d);
  Case f1 = fwd, b1 = bwd;
  Data df, db;
  const int64_t H = c.hidden, N = c.batch;
  auto half = [](const std::vector<double>& v, int which) {
    size_t n = v.size() / 2;
    return std::vector<double>(v.begin() + which * n, v.begin() + (which + 1) * n);
  };
  for (auto [dd, which] : {std::pair<Data*, int>{&df, 0}, {&db, 1}}) {
    dd->x = d.x;
    dd->w = half(d.w, which);
    dd->r = half(d.r, which);
    dd->b = half(d.b, which);
    dd->h0 = half(d.h0, which);
    dd->c0 = half(d.c0, which);
    dd->p = half(d.p, which);
  }
  Outputs of = reference(f1, df), ob = reference(b1, db);
  for (int64_t t = 0; t < c.seq; ++t)
    for (int64_t k = 0; k < N * H; ++k) {
      ASSERT_NEAR(both.y[(t * 2 + 0) * N * H + k], of.y[t * N * H + k], 2e-5);
      ASSERT_NEAR(both.y[(t * 2 + 1) * N * H + k], ob.y[t * N * H + k], 2e-5);
    }
}

TEST(Rnn, MoreActivationKinds) {
  Case c = make_case("GRU");
  c.acts = {"Affine", "ScaledTanh"};
  c.alpha = {0.5f, 1.5f};
  c.beta = {0.25f, 0.7f};
  c.act_fns = {[](double v) { return 0.5 * v + 0.25; },
               [](double v) { return 1.5 * std::tanh(double(0.7f) * v); }};
  check(c, 16);
  Case r = make_case("RNN");
  r.acts = {"Relu"};
  r.act_fns = {[](double v) { return v > 0 ? v : 0; }};
  check(r, 17);
}

TEST(Rnn, OnlyYhRequested) {
  Case c = make_case("GRU");
  Data d = random_data(c, 18);
  Node n = make_rnn_node(c, 6);
  n.outputs[0] = "";
  n.inputs[4] = "";
  std::vector<Tensor> in = {tensor_of<float>(d.x, {4, 3, 5}), tensor_of<float>(d.w, {1, 18, 5}),
                            tensor_of<float>(d.r, {1, 18, 6}), tensor_of<float>(d.b, {1, 36}), Tensor(),
                            tensor_of<float>(d.h0, {1, 3, 6})};
  auto out = run_node(n, in);
  EXPECT_FALSE(out[0].defined());
  Outputs want = reference(c, d);
  std::vector<double> yh(want.yh.size());
  for (size_t i = 0; i < yh.size(); ++i) yh[i] = out[1].data<float>()[i];
  expect_near(yh, want.yh, "Y_h", 2e-5);
}

TEST(Rnn, StaticInferenceKeepsUnknownDims) {
  Case c = make_case("LSTM");
  c.direction = "bidirectional";
  c.layout = 1;
  Node n = make_rnn_node(c, 3);
  TensorType x{DType::f32, {-1, 7, 5}}, w{DType::f32, {2, 24, 5}}, r{DType::f32, {2, 24, 6}};
  InferContext ctx(n, {&x, &w, &r}, {nullptr, nullptr, nullptr});
  n.attrs.erase("hidden_size");  // hidden_size then comes from R
  rnn::RnnSpec spec = rnn::parse_spec(n, 4, true, {"Sigmoid", "Tanh", "Tanh"});
  rnn::infer(ctx, spec);
  EXPECT_EQ(ctx.outputs()[0].shape, (Shape{-1, 7, 2, 6}));
  EXPECT_EQ(ctx.outputs()[2].shape, (Shape{-1, 2, 6}));

  TensorType unknown{DType::f32, {}, false};
  InferContext ctx2(n, {&unknown, &w, &unknown}, {nullptr, nullptr, nullptr});
  rnn::infer(ctx2, spec);
  EXPECT_EQ(ctx2.outputs()[0].shape, (Shape{-1, -1, 2, 6}));  // hidden_size from W's 4*hidden_size
}

// ---- errors ----

namespace {
std::string error_of(const Node& n, const std::vector<Tensor>& in) {
  try {
    run_node(n, in);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

std::vector<Tensor> gru_inputs(int64_t w_rows = 18) {
  return {Tensor(DType::f32, {4, 3, 5}), Tensor(DType::f32, {1, w_rows, 5}), Tensor(DType::f32, {1, 18, 6})};
}
}  // namespace

TEST(RnnErrors, WrongWShapeNamesExpectedAndGot) {
  Node n = make_rnn_node(make_case("GRU"), 3);
  std::string msg = error_of(n, gru_inputs(12));
  EXPECT_NE(msg.find("test_GRU"), std::string::npos) << msg;
  EXPECT_NE(msg.find("input W must have shape [1,18,5] (num_directions, 3*hidden_size, input_size), got [1,12,5]"),
            std::string::npos)
      << msg;
}

TEST(RnnErrors, BidirectionalNeedsTwoWeightSets) {
  Case c = make_case("LSTM");
  c.direction = "bidirectional";
  Node n = make_rnn_node(c, 3);
  std::string msg = error_of(n, {Tensor(DType::f32, {4, 3, 5}), Tensor(DType::f32, {1, 24, 5}),
                                 Tensor(DType::f32, {1, 24, 6})});
  EXPECT_NE(msg.find("must have shape [2,24,5]"), std::string::npos) << msg;
}

TEST(RnnErrors, HiddenSizeDisagreesWithR) {
  Node n = make_rnn_node(make_case("GRU"), 3);
  n.attrs["hidden_size"] = int64_t(7);
  std::string msg = error_of(n, gru_inputs());
  EXPECT_NE(msg.find("input W must have shape [1,21,5]"), std::string::npos) << msg;
}

TEST(RnnErrors, BadAttributes) {
  Case c = make_case("GRU");
  Node n = make_rnn_node(c, 3);
  n.attrs["direction"] = std::string("sideways");
  EXPECT_NE(error_of(n, gru_inputs()).find("direction must be forward, reverse or bidirectional, got 'sideways'"),
            std::string::npos);
  n = make_rnn_node(c, 3);
  n.attrs["activations"] = std::vector<std::string>{"Sigmoid"};
  EXPECT_NE(error_of(n, gru_inputs()).find("expected 2 activations"), std::string::npos);
  n.attrs["activations"] = std::vector<std::string>{"Sigmoid", "Gelu"};
  EXPECT_NE(error_of(n, gru_inputs()).find("unsupported activation 'Gelu'"), std::string::npos);
  n = make_rnn_node(c, 3, 13);
  n.attrs["layout"] = int64_t(1);
  EXPECT_NE(error_of(n, gru_inputs()).find("layout needs opset 14"), std::string::npos);
  n = make_rnn_node(c, 3);
  n.attrs["hidden_size"] = int64_t(-2);
  EXPECT_NE(error_of(n, gru_inputs()).find("hidden_size must be positive"), std::string::npos);
}

TEST(RnnErrors, BadInputs) {
  Case c = make_case("GRU");
  Node n = make_rnn_node(c, 5);
  auto in = gru_inputs();
  in.push_back(Tensor());
  in.push_back(Tensor::from<int32_t>({4, 5, 1}, {3}));
  n.inputs[3] = "";
  EXPECT_NE(error_of(n, in).find("sequence_lens[1] = 5 is outside [0, seq_length=4]"), std::string::npos)
      << error_of(n, in);
  in[4] = Tensor::from<float>({1, 1, 1}, {3});
  EXPECT_NE(error_of(n, in).find("sequence_lens must be i32"), std::string::npos);
  in = gru_inputs();
  in[1] = Tensor(DType::f64, {1, 18, 5});
  EXPECT_NE(error_of(make_rnn_node(c, 3), in).find("input W has dtype f64, expected f32"), std::string::npos);
  in = gru_inputs();
  in[0] = Tensor(DType::i32, {4, 3, 5});
  EXPECT_NE(error_of(make_rnn_node(c, 3), in).find("X must be f16, f32 or f64"), std::string::npos);
  in = gru_inputs();
  in[0] = Tensor(DType::f32, {4, 3});
  EXPECT_NE(error_of(make_rnn_node(c, 3), in).find("input X must have rank 3, got shape [4,3]"), std::string::npos);
  EXPECT_NE(error_of(make_rnn_node(c, 2), {Tensor(DType::f32, {4, 3, 5}), Tensor(DType::f32, {1, 18, 5})})
                .find("expected 3 to 6 inputs, got 2"),
            std::string::npos);
}

TEST(RnnErrors, InitialStateShape) {
  Case c = make_case("LSTM");
  c.layout = 1;
  Node n = make_rnn_node(c, 7);
  n.inputs[3] = n.inputs[4] = n.inputs[5] = "";
  std::vector<Tensor> in = {Tensor(DType::f32, {3, 4, 5}), Tensor(DType::f32, {1, 24, 5}), Tensor(DType::f32, {1, 24, 6}),
                            Tensor(), Tensor(), Tensor(), Tensor(DType::f32, {1, 3, 6})};
  EXPECT_NE(error_of(n, in).find("input initial_c must have shape [3,1,6] (batch_size, num_directions, hidden_size), "
                                 "got [1,3,6]"),
            std::string::npos)
      << error_of(n, in);
}

}  // namespace edgekit::test
