// com.edgekit:DynamicQGRU / DynamicQLSTM (int8 W and R, activations quantized on the fly) and
// their int8 product (kernels/dynamic_qgemm.h):
//   - dynamic_qgemm against a scalar loop on the same quantized bytes, over odd shapes (rows and
//     columns not multiples of the 16-row panels or 4-byte quads, 1 to 19 rows: every tile
//     height, paired panels, and the one-row GEMV), per-tensor and per-row scales: equal up to
//     float rounding;
//   - quantize_rows_u8 against the DynamicQuantizeLinear op: the same bytes, scale, zero point;
//   - the ops against the float GRU / LSTM run on the dequantized weights, over directions,
//     sequence_lens, initial states, layout 1, linear_before_reset, peepholes and hidden sizes
//     that are not multiples of 16, prepared (packed once) and not: within a bound derived from
//     the quantization steps (below);
//   - errors: scales of the wrong length or sign, non-finite inputs.
#include <random>

#include "../error_of.h"
#include "core/thread_pool.h"
#include "kernels/dynamic_qgemm.h"
#include "op_test_util.h"

namespace edgekit::test {
namespace {

std::vector<float> uniform(int64_t n, unsigned seed, float lo = -1.f, float hi = 1.f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& e : v) e = u(rng);
  return v;
}

std::vector<int8_t> random_int8(int64_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> u(-128, 127);
  std::vector<int8_t> v(static_cast<size_t>(n));
  for (int8_t& e : v) e = int8_t(u(rng));
  return v;
}

TEST(DynamicQGemm, MatchesScalarLoopOnOddShapes) {
  unsigned seed = 1;
  for (int64_t rows : {1, 5, 16, 17, 33, 50, 100})  // 100: the GEMV's passes of four panels and one
    for (int64_t cols : {1, 3, 4, 7, 64, 65})
      for (bool per_row : {false, true})
        for (int64_t m : {1, 7, 8, 19}) {
          SCOPED_TRACE(cat(rows, " x ", cols, per_row ? " per row" : " per tensor", ", ", m, " input rows"));
          const std::vector<int8_t> w = random_int8(rows * cols, seed++);
          std::vector<float> scale = uniform(per_row ? rows : 1, seed++, 0.001f, 0.02f);
          const DynamicQWeights packed = pack_dynamic_qweights(w.data(), rows, cols, scale.data(), int64_t(scale.size()));
          const std::vector<float> x = uniform(m * cols, seed++, -3.f, 1.f), init = uniform(rows, seed++);
          std::vector<uint8_t> q(size_t(m * packed.k_padded), 0xAA);
          DynamicQuantized xq;
          ASSERT_TRUE(quantize_rows_u8(x.data(), m, cols, packed.k_padded, q.data(), &xq));
          const int64_t stride = rows + 3;  // y rows apart from each other
          std::vector<float> y(size_t(m * stride), -7.f);
          ThreadPool pool(2);
          dynamic_qgemm(packed, q.data(), m, xq, init.data(), y.data(), stride, &pool);
          for (int64_t r = 0; r < m; ++r) {
            for (int64_t k = cols; k < packed.k_padded; ++k) ASSERT_EQ(q[size_t(r * packed.k_padded + k)], 0);
            for (int64_t o = 0; o < rows; ++o) {
              int64_t sum = 0;
              for (int64_t k = 0; k < cols; ++k)
                sum += (int64_t(q[size_t(r * packed.k_padded + k)]) - xq.zero_point) * w[size_t(o * cols + k)];
              const double want = init[size_t(o)] + double(xq.scale) * scale[per_row ? size_t(o) : 0] * double(sum);
              ASSERT_NEAR(y[size_t(r * stride + o)], want, 1e-5 * (1 + std::fabs(want))) << "row " << r << ", out " << o;
            }
            for (int64_t o = rows; o < stride; ++o) ASSERT_EQ(y[size_t(r * stride + o)], -7.f);  // untouched
          }
        }
}

TEST(DynamicQGemm, QuantizesAsDynamicQuantizeLinear) {
  for (auto [lo, hi] : {std::pair{-3.f, 1.f}, {0.5f, 2.f}, {-2.f, -0.25f}, {0.f, 0.f}}) {
    std::vector<float> x = uniform(37, 5, lo, hi);
    Tensor t = Tensor::from<float>(x, {37});
    Node n = make_node("DynamicQuantizeLinear", 1, 3);
    const std::vector<Tensor> want = run_node(n, {t});
    std::vector<uint8_t> q(40);
    DynamicQuantized p;
    ASSERT_TRUE(quantize_rows_u8(x.data(), 1, 37, 40, q.data(), &p));
    if (hi != lo) {
      EXPECT_EQ(p.scale, want[1].data<float>()[0]);
    }
    EXPECT_EQ(p.zero_point, want[2].data<uint8_t>()[0]);
    for (int i = 0; i < 37; ++i) ASSERT_EQ(q[size_t(i)], want[0].data<uint8_t>()[i]) << "at " << i;
  }
  // Non-finite values in the vector part and in the tail (37 = two vectors of 16 and 5 more).
  for (int64_t at : {1, 20, 35})
    for (float v : {std::nanf(""), INFINITY, -INFINITY}) {
      std::vector<float> bad = uniform(37, 6);
      bad[size_t(at)] = v;
      std::vector<uint8_t> q(40);
      DynamicQuantized p;
      EXPECT_FALSE(quantize_rows_u8(bad.data(), 1, 37, 40, q.data(), &p)) << v << " at " << at;
    }
}

TEST(DynamicQGemm, RefusesRowsTooLongForInt32Sums) {
  const std::vector<int8_t> w(70000, 1);
  const float s = 1.f;
  EXPECT_NE(error_of([&] { pack_dynamic_qweights(w.data(), 1, 70000, &s, 1); }).find("65793 columns"), std::string::npos);
}

struct Case {
  bool lstm = false;
  std::string direction = "forward";
  int64_t seq = 7, batch = 3, in = 11, hidden = 13;
  bool per_row = false, with_h0 = true, with_p = false;
  std::vector<int32_t> lens;  // empty: not given
  int64_t layout = 0, linear_before_reset = 0;

  int64_t gates() const { return lstm ? 4 : 3; }
  int64_t dirs() const { return direction == "bidirectional" ? 2 : 1; }
};

// The int8 node's inputs (X, W, R, B, sequence_lens, initial_h[, initial_c, P], W_scale, R_scale)
// and the float node's (W and R dequantized, no scales).
struct Inputs {
  std::vector<Tensor> q, f;
  float one_step_bound = 0;  // see check()
};

// Symmetric int8 as quantize --mode dynamic writes it: scale = max |w| / 127 per tensor or row.
void quantize_weight(const std::vector<float>& w, int64_t dirs, int64_t rows, int64_t cols, bool per_row, Tensor& q,
                     Tensor& scale, Tensor& dequantized) {
  std::vector<float> s(per_row ? size_t(rows) : 1, 0.f);
  for (int64_t i = 0; i < dirs * rows * cols; ++i) {
    float& m = s[per_row ? size_t(i / cols % rows) : 0];
    m = std::max(m, std::fabs(w[size_t(i)]) / 127.f);
  }
  q = Tensor(DType::i8, {dirs, rows, cols});
  dequantized = Tensor(DType::f32, {dirs, rows, cols});
  for (int64_t i = 0; i < dirs * rows * cols; ++i) {
    const float sc = s[per_row ? size_t(i / cols % rows) : 0];
    q.data<int8_t>()[i] = int8_t(std::nearbyint(w[size_t(i)] / sc));
    dequantized.data<float>()[i] = float(q.data<int8_t>()[i]) * sc;
  }
  scale = per_row ? Tensor::from<float>(s, {rows}) : Tensor::scalar<float>(s[0]);
}

// The largest row sum of |w| (over directions): what one unit of input error moves a gate by.
float max_row_l1(const Tensor& w) {
  const int64_t cols = w.dim(2);
  float best = 0;
  for (int64_t r = 0; r < w.numel() / cols; ++r) {
    float s = 0;
    for (int64_t k = 0; k < cols; ++k) s += std::fabs(w.data<float>()[r * cols + k]);
    best = std::max(best, s);
  }
  return best;
}

Inputs make_inputs(const Case& c, unsigned seed) {
  const int64_t G = c.gates(), H = c.hidden, D = c.dirs(), S = c.seq, N = c.batch;
  Inputs in;
  Tensor wq, ws, wf, rq, rs, rf;
  quantize_weight(uniform(D * G * H * c.in, seed, -0.6f, 0.6f), D, G * H, c.in, c.per_row, wq, ws, wf);
  quantize_weight(uniform(D * G * H * H, seed + 1, -0.4f, 0.4f), D, G * H, H, c.per_row, rq, rs, rf);
  const Shape xs = c.layout ? Shape{N, S, c.in} : Shape{S, N, c.in};
  const Shape hs = c.layout ? Shape{N, D, H} : Shape{D, N, H};
  Tensor x = Tensor::from<float>(uniform(S * N * c.in, seed + 2, -2.f, 2.f), xs);
  Tensor b = Tensor::from<float>(uniform(D * 2 * G * H, seed + 3, -0.3f, 0.3f), {D, 2 * G * H});
  std::vector<int32_t> lens = c.lens.empty() ? std::vector<int32_t>(size_t(N), int32_t(S)) : c.lens;
  Tensor l = Tensor::from<int32_t>(lens, {N});
  Tensor h0 = c.with_h0 ? Tensor::from<float>(uniform(D * N * H, seed + 4), hs) : Tensor(DType::f32, hs);
  in.f = {x, wf, rf, b, l, h0};
  if (c.lstm) {
    in.f.push_back(Tensor::from<float>(uniform(D * N * H, seed + 5), hs));
    in.f.push_back(c.with_p ? Tensor::from<float>(uniform(D * 3 * H, seed + 6, -0.5f, 0.5f), {D, 3 * H})
                            : Tensor(DType::f32, {D, 3 * H}));
  }
  in.q = in.f;
  in.q[1] = wq, in.q[2] = rq;
  in.q.push_back(ws);
  in.q.push_back(rs);
  // One step's worst case: X rounded by half its step (4 / 255 over [-2, 2]) moves a gate's
  // pre-activation by at most that times a row's Σ|w|; the state (|h| <= 1 after a tanh-bounded
  // cell, here its actual range <= 2 / 255 a step) likewise through R.
  in.one_step_bound = 0.5f * (4.f / 255) * max_row_l1(wf) + 0.5f * (2.f / 255) * max_row_l1(rf);
  return in;
}

Node recurrent_node(const Case& c, bool int8) {
  const char* op = c.lstm ? "LSTM" : "GRU";
  Node n = make_node(int8 ? (c.lstm ? "DynamicQLSTM" : "DynamicQGRU") : op, c.lstm ? 8 : 6, c.lstm ? 3 : 2, 14);
  if (int8) {
    n.domain = kEdgekitDomain, n.opset = 1;
    n.inputs.push_back("w_scale");
    n.inputs.push_back("r_scale");
  }
  n.attrs["hidden_size"] = c.hidden;
  n.attrs["direction"] = c.direction;
  if (c.layout) n.attrs["layout"] = c.layout;
  if (c.linear_before_reset) n.attrs["linear_before_reset"] = c.linear_before_reset;
  return n;
}

// Infers and runs `node`, first giving every input but X to prepare() when `prepared`.
std::vector<Tensor> run_prepared(const Node& node, const std::vector<Tensor>& inputs, bool prepared) {
  if (!prepared) return run_node(node, inputs);
  auto kernel = create_op(node);
  std::vector<const Tensor*> given, in;
  for (size_t i = 0; i < inputs.size(); ++i) given.push_back(i == 0 ? nullptr : &inputs[i]), in.push_back(&inputs[i]);
  kernel->prepare(PrepareContext(node, given));
  std::vector<TensorType> types;
  for (const Tensor& t : inputs) types.push_back({t.dtype(), t.shape(), true});
  std::vector<const TensorType*> tp;
  for (const TensorType& t : types) tp.push_back(&t);
  InferContext ictx(node, tp, in);
  kernel->infer(ictx);
  std::vector<Tensor> out;
  for (const TensorType& t : ictx.outputs()) out.emplace_back(t.dtype, t.shape);
  std::vector<Tensor*> op;
  for (Tensor& t : out) op.push_back(&t);
  RunContext rctx(node, in, op, nullptr);
  kernel->run(rctx);
  return out;
}

// The int8 op within a bound of the float op on the dequantized weights. Errors of a step enter
// the gates' pre-activations bounded by one_step_bound; sigmoid and tanh have slope <= 1 and the
// gates (< 1) shrink what the state carries on, so over a sequence the worst case grows slowly,
// while the rounding errors are random and mostly cancel: on these cases the largest error over
// all outputs is 0.09 to 0.25 of one step's worst case, so one step's worst case is the bound.
// The int8 path must also differ from the float one at all (it really quantizes).
void check(const Case& c, unsigned seed) {
  const Inputs in = make_inputs(c, seed);
  const std::vector<Tensor> want = run_node(recurrent_node(c, false), in.f);
  for (bool prepared : {true, false}) {
    SCOPED_TRACE(prepared ? "prepared" : "packed at run");
    const std::vector<Tensor> got = run_prepared(recurrent_node(c, true), in.q, prepared);
    ASSERT_EQ(got.size(), want.size());
    double worst = 0;
    for (size_t o = 0; o < got.size(); ++o) {
      ASSERT_EQ(got[o].shape(), want[o].shape()) << "output " << o;
      for (int64_t i = 0; i < got[o].numel(); ++i)
        worst = std::max(worst, std::fabs(double(got[o].data<float>()[i]) - want[o].data<float>()[i]));
    }
    EXPECT_LE(worst, in.one_step_bound) << "one step's bound " << in.one_step_bound;
    EXPECT_GT(worst, 0.0);
    // Past a row's length Y is zero, as in the float op.
    if (!c.lens.empty() && c.layout == 0) {
      const int64_t D = c.dirs(), H = c.hidden;
      for (int64_t t = 0; t < c.seq; ++t)
        for (int64_t d = 0; d < D; ++d)
          for (int64_t b = 0; b < c.batch; ++b)
            for (int64_t j = 0; j < H && t >= c.lens[size_t(b)]; ++j)
              ASSERT_EQ(got[0].data<float>()[((t * D + d) * c.batch + b) * H + j], 0.f);
    }
  }
}

TEST(DynamicQRnn, MatchesFloatOpOnDequantizedWeights) {
  unsigned seed = 10;
  for (bool lstm : {false, true})
    for (const char* dir : {"forward", "reverse", "bidirectional"})
      for (int variant = 0; variant < 4; ++variant) {
        Case c;
        c.lstm = lstm, c.direction = dir;
        c.per_row = variant % 2;
        c.hidden = variant < 2 ? 13 : 20;  // several 16-row panels either way
        if (variant == 1) c.lens = {7, 2, 5};
        if (variant == 2) c.layout = 1, c.with_h0 = false;
        if (variant == 3) c.batch = 1, c.seq = 12, c.in = 40, c.with_p = lstm, c.lens = {9};
        c.linear_before_reset = !lstm && variant >= 2;
        SCOPED_TRACE(cat(lstm ? "LSTM " : "GRU ", dir, " variant ", variant));
        check(c, seed++);
        if (HasFatalFailure()) return;
      }
}

TEST(DynamicQRnn, BadScalesAndInputsAreClearErrors) {
  Case c;
  Inputs in = make_inputs(c, 3);
  Node n = recurrent_node(c, true);
  std::vector<Tensor> bad = in.q;
  bad[6] = Tensor::from<float>(std::vector<float>(5, 0.01f), {5});  // neither 1 nor 3 * 13
  std::string e = error_of([&] { run_node(n, bad); });
  EXPECT_NE(e.find("W_scale must hold one scale or 3*hidden_size"), std::string::npos) << e;
  bad = in.q;
  bad[7] = Tensor::scalar<float>(-0.5f);
  e = error_of([&] { run_prepared(n, bad, true); });
  EXPECT_NE(e.find("R_scale"), std::string::npos) << e;
  EXPECT_NE(e.find("test_DynamicQGRU"), std::string::npos) << e;
  bad = in.q;
  bad[1] = in.f[1];  // float W
  e = error_of([&] { run_node(n, bad); });
  EXPECT_NE(e.find("input W has dtype f32, expected i8"), std::string::npos) << e;
  bad = in.q;
  bad.pop_back();
  n.inputs.pop_back();
  e = error_of([&] { run_node(n, bad); });
  EXPECT_NE(e.find("R_scale is required"), std::string::npos) << e;
  n = recurrent_node(c, true);
  bad = in.q;
  bad[0].data<float>()[4] = std::nanf("");
  e = error_of([&] { run_node(n, bad); });
  EXPECT_NE(e.find("non-finite"), std::string::npos) << e;
}

}  // namespace
}  // namespace edgekit::test
