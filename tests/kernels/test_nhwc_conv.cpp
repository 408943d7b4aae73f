// The NHWC fast path (kernels/nhwc_conv.h: ConvNhwc, MaxPoolNhwc, AveragePoolNhwc,
// GlobalAveragePoolNhwc) against naive double-precision loops and the NCHW reference ops,
// over odd geometries: 1x1 to 7x7 kernels, strides, dilations, pads, groups and depthwise,
// channel counts that are not multiples of the vector width, tiles cut short by the pixel
// count, batches, fused residuals and activations, weights packed in prepare() and not,
// one and two threads.
#include <cstring>
#include <random>

#include "hwy/targets.h"

#include "core/thread_pool.h"
#include "kernels/nhwc_conv.h"
#include "kernels/winograd.h"
#include "nn_test_util.h"

namespace edgekit::test {
namespace {

Tensor nchw_to_nhwc(const Tensor& x) {
  const int64_t N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3);
  Tensor y(DType::f32, {N, H, W, C});
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t w = 0; w < W; ++w)
          y.data<float>()[((n * H + h) * W + w) * C + c] = x.data<float>()[((n * C + c) * H + h) * W + w];
  return y;
}

struct ConvCase {
  int64_t N, C, M, H, W, KH, KW, S, D, G, pt, pl, pb, pr;
  bool bias, residual;
  std::string act;
  bool winograd = false;  // _winograd = 1: a 3x3 of stride 1 by F(4x4, 3x3) (kernels/winograd.h)
};

// y[n, oh, ow, m] in double, NHWC, before the activation.
std::vector<double> naive_conv_nhwc(const ConvCase& c, const Tensor& x, const Tensor& w, const Tensor* b,
                                    const Tensor* r, int64_t OH, int64_t OW) {
  const int64_t Cg = c.C / c.G, Mg = c.M / c.G;
  std::vector<double> y(size_t(c.N * OH * OW * c.M));
  for (int64_t n = 0; n < c.N; ++n)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow)
        for (int64_t m = 0; m < c.M; ++m) {
          const int64_t g = m / Mg;
          double acc = b ? b->data<float>()[m] : 0.0;
          for (int64_t kh = 0; kh < c.KH; ++kh)
            for (int64_t kw = 0; kw < c.KW; ++kw) {
              const int64_t ih = oh * c.S - c.pt + kh * c.D, iw = ow * c.S - c.pl + kw * c.D;
              if (ih < 0 || ih >= c.H || iw < 0 || iw >= c.W) continue;
              for (int64_t k = 0; k < Cg; ++k)
                acc += double(x.data<float>()[((n * c.H + ih) * c.W + iw) * c.C + g * Cg + k]) *
                       w.data<float>()[((m * Cg + k) * c.KH + kh) * c.KW + kw];
            }
          const size_t at = size_t(((n * OH + oh) * OW + ow) * c.M + m);
          y[at] = acc + (r ? r->data<float>()[at] : 0.0);
        }
  return y;
}

double activate(const std::string& act, double v) {
  if (act == "Relu") return v > 0 ? v : 0;
  if (act == "Clip") return std::min(std::max(v, 0.0), 6.0);
  if (act == "HardSwish") return v * std::min(std::max(v / 6 + 0.5, 0.0), 1.0);
  if (act == "LeakyRelu") return v >= 0 ? v : 0.1 * v;
  if (act == "Sigmoid") return 1 / (1 + std::exp(-v));
  if (act == "SiLU") return v / (1 + std::exp(-v));
  if (act == "HardSigmoid") return std::min(std::max(0.1 * v + 6.0 / 10, 0.0), 1.0);
  if (act == "Tanh") return std::tanh(v);
  if (act == "Gelu") return 0.5 * v * std::erfc(-v / std::sqrt(2.0));
  return v;
}

Graph conv_graph(const ConvCase& c) {
  Graph g;
  std::vector<std::string> ins = {"x", "w", c.bias ? "b" : ""};
  if (c.residual) ins.push_back("r");
  Node& n = g.add_node("ConvNhwc", ins, {"y"}, "conv");
  n.domain = kEdgekitDomain;
  n.attrs["group"] = c.G;
  n.attrs["strides"] = std::vector<int64_t>{c.S, c.S};
  n.attrs["dilations"] = std::vector<int64_t>{c.D, c.D};
  n.attrs["pads"] = std::vector<int64_t>{c.pt, c.pl, c.pb, c.pr};
  if (c.residual) n.attrs["_residual"] = int64_t(1);
  if (c.winograd) n.attrs["_winograd"] = int64_t(1);
  if (!c.act.empty()) {
    n.attrs["_activation"] = c.act;
    n.attrs["_activation_alpha"] = c.act == "Clip" ? 0.f : 0.1f;
    n.attrs["_activation_beta"] = c.act == "HardSigmoid" ? 0.6f : 6.f;
  }
  return g;
}

// tolerance: relative to 1 + |y|; Winograd's transforms round more than the direct sum.
void check_case(const ConvCase& c, std::mt19937& rng, int threads, double tolerance = 2e-5) {
  const int64_t eh = (c.KH - 1) * c.D + 1, ew = (c.KW - 1) * c.D + 1;
  const int64_t OH = (c.H + c.pt + c.pb - eh) / c.S + 1, OW = (c.W + c.pl + c.pr - ew) / c.S + 1;
  Tensor x = random_tensor({c.N, c.H, c.W, c.C}, rng), w = random_tensor({c.M, c.C / c.G, c.KH, c.KW}, rng);
  Tensor b = random_tensor({c.M}, rng), r = random_tensor({c.N, OH, OW, c.M}, rng);
  std::vector<double> want = naive_conv_nhwc(c, x, w, c.bias ? &b : nullptr, c.residual ? &r : nullptr, OH, OW);
  for (double& v : want) v = activate(c.act, v);
  SCOPED_TRACE(cat("N", c.N, " C", c.C, " M", c.M, " ", c.H, "x", c.W, " k", c.KH, "x", c.KW, " s", c.S, " d", c.D,
                   " g", c.G, " pads ", c.pt, c.pl, c.pb, c.pr, " bias ", c.bias, " res ", c.residual, " act '", c.act,
                   "' threads ", threads, c.winograd ? " winograd" : ""));
  Graph g = conv_graph(c);
  std::vector<Tensor> ins = {x, w, c.bias ? b : Tensor()};
  if (c.residual) ins.push_back(r);
  // As the Session runs it: weights packed once in prepare(), then two runs.
  const Node& node = g.nodes[0];
  auto kernel = create_op(node);
  kernel->prepare(PrepareContext(node, {nullptr, &w, c.bias ? &b : nullptr, nullptr}));
  std::vector<TensorType> types;
  std::vector<const TensorType*> type_ptrs;
  std::vector<const Tensor*> in_ptrs;
  for (const Tensor& t : ins) types.push_back({t.dtype(), t.shape(), true});
  for (size_t i = 0; i < ins.size(); ++i) {
    type_ptrs.push_back(ins[i].defined() ? &types[i] : nullptr);
    in_ptrs.push_back(ins[i].defined() ? &ins[i] : nullptr);
  }
  InferContext ictx(node, type_ptrs, in_ptrs);
  kernel->infer(ictx);
  ASSERT_EQ(ictx.outputs()[0].shape, (Shape{c.N, OH, OW, c.M}));
  ThreadPool pool(threads);
  for (int run = 0; run < 2; ++run) {
    Tensor y(DType::f32, ictx.outputs()[0].shape);
    RunContext rctx(node, in_ptrs, {&y}, &pool);
    kernel->run(rctx);
    double err = 0;
    for (int64_t i = 0; i < y.numel(); ++i)
      err = std::max(err, std::fabs(y.data<float>()[i] - want[size_t(i)]) / (1 + std::fabs(want[size_t(i)])));
    ASSERT_LE(err, tolerance);
  }
  // Eagerly (run_node never calls prepare(): weights are packed inside the run).
  Tensor y = run_node(node, ins)[0];
  for (int64_t i = 0; i < y.numel(); ++i)
    ASSERT_NEAR(y.data<float>()[i], want[size_t(i)], 2e-5 * (1 + std::fabs(want[size_t(i)])));
}

}  // namespace

TEST(NhwcConv, MatchesNaiveOverGeometries) {
  std::mt19937 rng(7);
  const char* acts[] = {"", "Relu", "Clip", "HardSwish", "LeakyRelu", "Sigmoid", "SiLU", "HardSigmoid", "Tanh", "Gelu"};
  int cases = 0;
  for (int64_t k : {1, 2, 3, 5, 7})
    for (int64_t stride : {1, 2})
      for (int64_t dil : {1, 2})
        for (int trial = 0; trial < 8; ++trial) {
          ConvCase c{};
          c.N = 1 + rng() % 2;
          const int64_t kind = rng() % 3;  // dense, grouped, depthwise
          c.G = kind == 0 ? 1 : kind == 1 ? 2 : 0;
          c.C = (kind == 1 ? 2 : 1) * (1 + rng() % 37);
          c.M = kind == 2 ? c.C : (kind == 1 ? 2 : 1) * (1 + rng() % 41);
          if (kind == 2) c.G = c.C;
          c.H = 1 + rng() % 13, c.W = 1 + rng() % 17, c.KH = k, c.KW = k == 2 ? 3 : k;
          c.S = stride, c.D = dil;
          c.pt = rng() % k, c.pl = rng() % k, c.pb = rng() % k, c.pr = rng() % k;
          c.bias = trial % 2 == 0, c.residual = trial % 3 == 1, c.act = acts[rng() % 10];
          if (c.H + c.pt + c.pb < (c.KH - 1) * dil + 1 || c.W + c.pl + c.pr < (c.KW - 1) * dil + 1) continue;
          check_case(c, rng, 1 + trial % 2);
          if (HasFatalFailure()) return;
          ++cases;
        }
  EXPECT_GE(cases, 120);
}

// check_case of every case on each SIMD target Highway built that this CPU runs (AVX-512,
// AVX2, the portable one...), depthwise ones also on two threads.
void check_on_every_isa(std::initializer_list<ConvCase> cases, std::mt19937& rng) {
  for (int64_t target : hwy::SupportedAndGeneratedTargets()) {
    hwy::SetSupportedTargetsForTest(target);
    SCOPED_TRACE(cat("target ", hwy::TargetName(target), " (", nhwc_kernel_isa(), ")"));
    for (const ConvCase& c : cases) {
      check_case(c, rng, 1);
      if (::testing::Test::HasFatalFailure()) break;
      if (c.G == c.C && c.C > 1) check_case(c, rng, 2);  // depthwise tasks over rows and blocks
      if (::testing::Test::HasFatalFailure()) break;
    }
  }
  hwy::SetSupportedTargetsForTest(0);  // back to what the CPU supports
}

TEST(NhwcConv, EveryCompiledIsaMatches) {
  std::mt19937 rng(13);
  check_on_every_isa({ConvCase{2, 5, 37, 6, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1, true, true, "HardSwish"},
                              ConvCase{1, 3, 20, 9, 9, 3, 3, 2, 1, 1, 1, 1, 1, 1, true, false, "Relu"},
                              ConvCase{1, 21, 21, 7, 5, 3, 3, 2, 1, 21, 1, 1, 1, 1, true, true, "Clip"},
                              ConvCase{1, 40, 40, 5, 5, 5, 5, 1, 1, 40, 2, 2, 2, 2, false, false, "SiLU"},
                              // depthwise, the inline epilogues (clamp, HardSwish; no residual)
                              ConvCase{1, 48, 48, 12, 13, 3, 3, 1, 1, 48, 1, 1, 1, 1, true, false, "Clip"},
                              ConvCase{2, 40, 40, 9, 9, 3, 3, 2, 1, 40, 1, 1, 1, 1, false, false, "HardSwish"},
                              // depthwise 3x3 by rows (at least eight pixels): tails of 4 and
                              // of 1-3 at stride 1, stride 2, a residual, a masked block
                              ConvCase{1, 17, 17, 6, 12, 3, 3, 1, 1, 17, 1, 1, 1, 1, false, true, "SiLU"},
                              ConvCase{1, 24, 24, 5, 20, 3, 3, 2, 1, 24, 1, 1, 1, 1, true, true, "Relu"},
                              ConvCase{2, 32, 32, 4, 11, 3, 3, 1, 1, 32, 1, 1, 1, 1, true, false, ""},
                              // depthwise slabs (a channel block at a time, copied inside
                              // its border): two images, a masked last block, stride 2, 5x5,
                              // a residual; a 5x5 image with many edge pixels on two threads
                              ConvCase{2, 37, 37, 7, 7, 5, 5, 1, 1, 37, 2, 2, 2, 2, true, true, "SiLU"},
                              ConvCase{2, 40, 40, 9, 10, 3, 3, 2, 1, 40, 1, 0, 1, 1, false, false, "Clip"},
                              ConvCase{1, 20, 20, 28, 28, 5, 5, 1, 1, 20, 2, 2, 2, 2, true, false, "HardSwish"},
                              // 3x3 rows skipping their padding in the kernel: rows of 4-7
                              // pixels, TF's SAME at stride 2 (nothing left, one right), a
                              // residual and a masked block, two images
                              ConvCase{2, 33, 33, 7, 7, 3, 3, 1, 1, 33, 1, 1, 1, 1, true, true, "HardSwish"},
                              ConvCase{1, 48, 48, 12, 12, 3, 3, 2, 1, 48, 0, 0, 1, 1, false, false, "SiLU"},
                              ConvCase{1, 16, 16, 3, 9, 3, 3, 1, 1, 16, 2, 1, 0, 1, true, false, "Relu"},
                              // rows of 5 and 6 pixels (a group of 4, then one ending at the
                              // row's end), stride 1 and 2, a residual, a masked block
                              ConvCase{1, 64, 64, 25, 5, 3, 3, 1, 1, 64, 1, 1, 1, 1, true, true, "Relu"},
                              ConvCase{2, 20, 20, 12, 11, 3, 3, 2, 1, 20, 1, 1, 1, 1, false, false, "Clip"},
                              ConvCase{1, 32, 32, 6, 6, 5, 5, 1, 1, 32, 2, 2, 2, 2, true, false, ""},
                              ConvCase{1, 32, 32, 15, 16, 5, 5, 2, 1, 32, 1, 2, 2, 1, true, true, "SiLU"},
                              ConvCase{1, 19, 19, 4, 4, 5, 5, 1, 1, 19, 2, 2, 2, 2, false, false, ""},
                              // at most 8 output channels: quarter-width panels (8 lanes) on
                              // AVX-512, half-width elsewhere; an RGB stem, a residual
                              ConvCase{1, 3, 8, 17, 15, 3, 3, 2, 1, 1, 1, 1, 1, 1, true, false, "Clip"},
                              ConvCase{2, 6, 5, 9, 11, 3, 3, 1, 1, 1, 1, 1, 1, 1, true, true, "HardSwish"},
                              ConvCase{1, 40, 7, 5, 5, 1, 1, 1, 1, 1, 0, 0, 0, 0, false, false, "Sigmoid"},
                              ConvCase{1, 9, 19, 4, 6, 1, 1, 1, 1, 1, 0, 0, 0, 0, true, false, "Tanh"},
                              ConvCase{1, 9, 19, 4, 6, 1, 1, 1, 1, 1, 0, 0, 0, 0, true, false, "HardSigmoid"}},
                     rng);
}

TEST(NhwcConv, LargeChannelCountsUseKBlocksAndPanels) {
  // Enough input channels for the K dimension to be split into blocks within one tap, enough
  // output channels for several panels, and pixels that leave a partial last tile.
  std::mt19937 rng(11);
  for (const ConvCase& c : {ConvCase{1, 300, 70, 5, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1, true, true, "Relu"},
                            ConvCase{2, 520, 33, 3, 3, 1, 1, 1, 1, 1, 0, 0, 0, 0, true, false, ""},
                            ConvCase{1, 3, 64, 23, 19, 7, 7, 2, 1, 1, 3, 3, 3, 3, true, false, "Relu"},
                            ConvCase{1, 96, 96, 14, 14, 5, 5, 1, 1, 96, 2, 2, 2, 2, true, false, "HardSwish"},
                            // 5x5 depthwise, padded copy above the small-image size: mostly edges
                            ConvCase{2, 200, 200, 9, 11, 5, 5, 1, 1, 200, 2, 2, 2, 2, true, true, "SiLU"},
                            ConvCase{1, 700, 700, 7, 7, 3, 3, 1, 1, 700, 1, 1, 1, 1, true, false, "Relu"}}) {  // 3x3, the same
    check_case(c, rng, 2);
    if (HasFatalFailure()) return;
  }
}

TEST(NhwcConv, DepthwiseWithFewChannelsPacksAdjacentPixels) {
  // Fewer channels than lanes dividing the vector width, stride 1: several adjacent pixels a
  // vector, on every compiled target (16, 8 or 4 lanes). Widths that split evenly and not,
  // padded (copied with the border) and valid, residual, batches, stride 2 (not packed).
  std::mt19937 rng(14);
  for (int64_t target : hwy::SupportedAndGeneratedTargets()) {
    hwy::SetSupportedTargetsForTest(target);
    SCOPED_TRACE(cat("target ", hwy::TargetName(target)));
    for (int64_t C : {1, 2, 4, 8})
      for (const ConvCase& c : {ConvCase{1, C, C, 10, 12, 3, 3, 1, 1, C, 1, 1, 1, 1, true, true, "Relu"},
                                ConvCase{2, C, C, 9, 16, 3, 3, 1, 1, C, 0, 0, 0, 0, true, false, "Clip"},
                                ConvCase{1, C, C, 7, 13, 3, 3, 1, 1, C, 1, 1, 1, 1, false, false, ""},
                                ConvCase{1, C, C, 11, 20, 5, 5, 1, 1, C, 2, 2, 2, 2, true, true, "HardSwish"},
                                ConvCase{1, C, C, 12, 12, 3, 3, 2, 1, C, 1, 1, 1, 1, true, false, "Relu"}}) {
        for (int threads : {1, 2}) check_case(c, rng, threads);
        if (HasFatalFailure()) break;
      }
  }
  hwy::SetSupportedTargetsForTest(0);
}

TEST(NhwcConv, DepthwiseRowsEndInGroupsOfFiveToSeven) {
  // 3x3 at stride 1 on full channel blocks by rows: with 32 vector registers a row's last 5-7
  // pixels are one group (rows of 5, 6, 7 and 14 pixels), with the inline epilogues and with
  // a residual (the out-of-line one), on every compiled ISA; its own random stream.
  std::mt19937 rng(29);
  check_on_every_isa({ConvCase{1, 32, 32, 4, 5, 3, 3, 1, 1, 32, 1, 1, 1, 1, true, false, "Clip"},
                      ConvCase{2, 48, 48, 6, 6, 3, 3, 1, 1, 48, 1, 1, 1, 1, true, true, "Relu"},
                      ConvCase{1, 32, 32, 7, 7, 3, 3, 1, 1, 32, 1, 1, 1, 1, false, false, "HardSwish"},
                      ConvCase{1, 64, 64, 3, 14, 3, 3, 1, 1, 64, 1, 1, 1, 1, true, true, ""},
                      ConvCase{1, 16, 16, 5, 7, 3, 3, 1, 1, 16, 0, 0, 0, 0, true, false, "SiLU"}},
                     rng);
}

TEST(NhwcConv, FirstLayersOfAtMostEightChannelsTakeKernelRowsInPairs) {
  // Few input channels and at most 8 outputs (IgemmTile::paired on 16-lane ISAs): kernel rows
  // of KW x C floats odd (a last k alone) and even, outputs fewer than 8, strides 1 and 2,
  // padding, a residual, two images (tiles of 14, 4 and 1 rows), on every compiled ISA.
  std::mt19937 rng(31);
  check_on_every_isa({ConvCase{1, 3, 8, 17, 15, 3, 3, 2, 1, 1, 1, 1, 1, 1, true, false, "Clip"},
                      ConvCase{2, 3, 5, 9, 10, 3, 3, 1, 1, 1, 1, 1, 1, 1, true, true, "Relu"},
                      ConvCase{1, 2, 8, 8, 13, 5, 5, 1, 1, 1, 2, 2, 2, 2, false, false, "HardSwish"},
                      ConvCase{1, 4, 7, 6, 7, 3, 3, 2, 1, 1, 0, 0, 1, 1, true, false, ""},
                      ConvCase{1, 1, 8, 5, 9, 1, 3, 1, 1, 1, 0, 1, 0, 1, true, true, "SiLU"}},
                     rng);
}

TEST(NhwcConv, DepthwiseOnLargePaddedImagesTakesEdgeTapsRowByRow) {
  // Padded images too large to copy with their border (depthwise_conv keeps the copy for small
  // ones): the pixels near the edges take only their taps inside the image, the others groups
  // of pixels within a row; odd widths leave short tails, channel counts a masked last block.
  std::mt19937 rng(12);
  for (const ConvCase& c : {ConvCase{1, 40, 40, 29, 31, 3, 3, 1, 1, 40, 1, 1, 1, 1, true, true, "Relu"},
                            ConvCase{2, 37, 37, 30, 27, 5, 5, 2, 1, 37, 2, 1, 2, 2, false, false, ""},
                            ConvCase{1, 24, 24, 40, 45, 3, 3, 2, 1, 24, 0, 1, 1, 0, true, false, "Clip"}}) {
    for (int threads : {1, 2}) {
      check_case(c, rng, threads);
      if (HasFatalFailure()) return;
    }
  }
}

TEST(NhwcConv, RowPointersKeptBetweenRunsFollowTheInput) {
  // The row pointers are cached per layer, keyed by the input's address: runs on another
  // buffer with other values, then on the first again, must each read their own input
  // (24 channels: read in place; 3 channels: through the padded copy of a first layer).
  std::mt19937 rng(17);
  for (const ConvCase& c : {ConvCase{1, 24, 20, 9, 11, 3, 3, 1, 1, 1, 1, 1, 1, 1, true, false, "Relu"},
                            ConvCase{1, 3, 8, 16, 16, 3, 3, 2, 1, 1, 1, 1, 1, 1, true, false, ""}}) {
    Tensor w = random_tensor({c.M, c.C / c.G, c.KH, c.KW}, rng), b = random_tensor({c.M}, rng);
    const Graph g = conv_graph(c);
    const Node& node = g.nodes[0];
    auto kernel = create_op(node);
    kernel->prepare(PrepareContext(node, {nullptr, &w, &b}));
    const int64_t OH = (c.H + c.pt + c.pb - c.KH) / c.S + 1, OW = (c.W + c.pl + c.pr - c.KW) / c.S + 1;
    Tensor x1 = random_tensor({c.N, c.H, c.W, c.C}, rng), x2 = random_tensor({c.N, c.H, c.W, c.C}, rng);
    ThreadPool pool(2);
    for (const Tensor* x : {&x1, &x2, &x1, &x2}) {
      std::vector<double> want = naive_conv_nhwc(c, *x, w, &b, nullptr, OH, OW);
      for (double& v : want) v = activate(c.act, v);
      Tensor y(DType::f32, {c.N, OH, OW, c.M});
      RunContext rctx(node, {x, &w, &b}, {&y}, &pool);
      kernel->run(rctx);
      for (int64_t i = 0; i < y.numel(); ++i)
        ASSERT_NEAR(y.data<float>()[i], want[size_t(i)], 2e-5 * (1 + std::fabs(want[size_t(i)]))) << "C " << c.C;
    }
  }
}

TEST(NhwcConv, OneKernelRunOnImagesOfOtherSizes) {
  // The window is resolved on the first run and kept while the sizes stay the same: a kernel
  // run on another image size (a model with dynamic H, W) must resolve it again.
  std::mt19937 rng(18);
  for (int64_t G : {int64_t(1), int64_t(16)}) {  // dense and depthwise
    ConvCase c{1, 16, 16, 0, 0, 3, 3, 2, 1, G, 1, 1, 1, 1, true, false, "Relu"};
    Tensor w = random_tensor({c.M, c.C / c.G, c.KH, c.KW}, rng), b = random_tensor({c.M}, rng);
    const Graph g = conv_graph(c);
    const Node& node = g.nodes[0];
    auto kernel = create_op(node);
    kernel->prepare(PrepareContext(node, {nullptr, &w, &b}));
    ThreadPool pool(1);
    for (auto [H, W] : {std::pair<int64_t, int64_t>{9, 11}, {5, 4}, {9, 11}, {12, 12}}) {
      c.H = H, c.W = W;
      const int64_t OH = (H + 2 - 3) / 2 + 1, OW = (W + 2 - 3) / 2 + 1;
      Tensor x = random_tensor({1, H, W, c.C}, rng), y(DType::f32, {1, OH, OW, c.M});
      std::vector<double> want = naive_conv_nhwc(c, x, w, &b, nullptr, OH, OW);
      RunContext rctx(node, {&x, &w, &b}, {&y}, &pool);
      kernel->run(rctx);
      for (int64_t i = 0; i < y.numel(); ++i)
        ASSERT_NEAR(y.data<float>()[i], activate(c.act, want[size_t(i)]), 2e-5 * (1 + std::fabs(want[size_t(i)])))
            << "group " << G << " " << H << "x" << W;
    }
  }
}

TEST(NhwcConv, WinogradMatchesNaiveOverGeometries) {
  // F(4x4, 3x3): images not a multiple of the 4x4 tile (the last tiles cut short), pads of 0
  // to 2 on each side (tiles reading past the image), channel counts off the vector width and
  // above a K block (300: the GEMMs' K split), one and several panels, batches whose tiles
  // share a block, residuals, register and post-stored activations, one and two threads, every
  // compiled ISA. Against double-precision loops within 3e-4 of 1 + |y|: the transforms'
  // coefficients (up to 5 in, 8 out) make cancellations of terms ~1e3 times the result's
  // rounding; measured worst 1.3e-4 (C = 300, and 64 channels at 56x56), the direct path's 2e-5.
  std::mt19937 rng(23);
  for (int64_t target : hwy::SupportedAndGeneratedTargets()) {
    hwy::SetSupportedTargetsForTest(target);
    SCOPED_TRACE(cat("target ", hwy::TargetName(target)));
    for (ConvCase c : {ConvCase{1, 16, 16, 8, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, true, false, "Relu"},
                       ConvCase{2, 5, 37, 9, 11, 3, 3, 1, 1, 1, 1, 1, 1, 1, true, true, "HardSwish"},
                       ConvCase{1, 33, 70, 13, 6, 3, 3, 1, 1, 1, 0, 0, 0, 0, false, false, ""},
                       ConvCase{1, 8, 9, 3, 3, 3, 3, 1, 1, 1, 2, 0, 1, 2, true, true, "Gelu"},
                       ConvCase{3, 24, 20, 17, 15, 3, 3, 1, 1, 1, 1, 2, 0, 1, false, true, "Clip"},
                       ConvCase{1, 300, 40, 6, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1, true, false, "SiLU"}}) {
      c.winograd = true;
      for (int threads : {1, 2}) {
        check_case(c, rng, threads, 3e-4);
        if (HasFatalFailure()) break;
      }
      if (HasFatalFailure()) break;
    }
  }
  hwy::SetSupportedTargetsForTest(0);
}

TEST(NhwcConv, WinogradOnOtherShapesAndLargeImagesStaysExact) {
  // A kernel marked for Winograd given a stride 2 window at run time (shapes the pass did not
  // see) computes it directly; one on a 56x56 image of 64 channels (ResNet's first stage) has
  // blocks over both threads and its error stays at the transforms' rounding.
  std::mt19937 rng(29);
  ConvCase strided{1, 12, 12, 9, 9, 3, 3, 2, 1, 1, 1, 1, 1, 1, true, false, "Relu", true};
  check_case(strided, rng, 1);
  ConvCase large{1, 64, 64, 56, 56, 3, 3, 1, 1, 1, 1, 1, 1, 1, true, true, "Relu", true};
  check_case(large, rng, 2, 3e-4);
  // Eight output channels: the 8-lane panels of AVX-512 (half-width ones elsewhere).
  ConvCase narrow{1, 12, 8, 10, 9, 3, 3, 1, 1, 1, 1, 1, 1, 1, true, true, "Relu", true};
  check_case(narrow, rng, 1, 3e-4);
}

TEST(NhwcConv, WinogradChoiceFollowsTheCostModel) {
  // Tiles and channels enough: yes (down to 8x8 images, 14x14 at 256 channels); few channels,
  // one tile, tiles mostly padding, or weights far larger than the image's tiles can reuse
  // (7x7 at 512 channels): no.
  EXPECT_TRUE(winograd_pays(64, 64, 56, 56));
  EXPECT_TRUE(winograd_pays(16, 16, 32, 32));
  EXPECT_TRUE(winograd_pays(64, 64, 8, 8));
  EXPECT_TRUE(winograd_pays(256, 256, 14, 14));
  EXPECT_FALSE(winograd_pays(3, 16, 32, 32));
  EXPECT_FALSE(winograd_pays(64, 64, 4, 4));
  EXPECT_FALSE(winograd_pays(64, 64, 5, 5));
  EXPECT_FALSE(winograd_pays(512, 512, 7, 7));
}

TEST(NhwcConv, ErrorsNameTheNode) {
  Node n = make_node("ConvNhwc", 2);
  n.domain = kEdgekitDomain;
  std::mt19937 rng(1);
  expect_error(n, {random_tensor({1, 4, 4, 3}, rng), random_tensor({2, 4, 1, 1}, rng)},
               {"ConvNhwc", "input X has 3 channels, expected 4"});
  expect_error(n, {random_tensor({4, 4, 3}, rng), random_tensor({2, 3, 1, 1}, rng)}, {"expected rank 4 (N, H, W, C)"});
}

namespace {
// The pool over NHWC data against the NCHW reference op on the same (transposed) data.
void check_pool(const std::string& op, const Tensor& x_nchw, Node nchw, int threads) {
  Tensor want = run_node(nchw, {x_nchw})[0];
  Node nhwc = nchw;
  nhwc.op_type = op + "Nhwc";
  nhwc.domain = kEdgekitDomain;
  ThreadPool pool(threads);
  Tensor x = nchw_to_nhwc(x_nchw);
  auto kernel = create_op(nhwc);
  TensorType xt{DType::f32, x.shape(), true};
  InferContext ictx(nhwc, {&xt}, {&x});
  kernel->infer(ictx);
  Tensor y(DType::f32, ictx.outputs()[0].shape);
  RunContext rctx(nhwc, {&x}, {&y}, &pool);
  kernel->run(rctx);
  Tensor want_nhwc = nchw_to_nhwc(want);
  ASSERT_EQ(y.shape(), want_nhwc.shape());
  for (int64_t i = 0; i < y.numel(); ++i)
    ASSERT_NEAR(y.data<float>()[i], want_nhwc.data<float>()[i], 1e-5f * (1 + std::fabs(want_nhwc.data<float>()[i])))
        << op << " at " << i;
}
}  // namespace

TEST(NhwcPool, MatchesReferenceOverGeometries) {
  std::mt19937 rng(5);
  int cases = 0;
  for (const char* op : {"MaxPool", "AveragePool"})
    for (int64_t k : {1, 2, 3, 5})
      for (int64_t stride : {1, 2, 3})
        for (int trial = 0; trial < 4; ++trial) {
          const int64_t C = 1 + rng() % 35, H = 1 + rng() % 12, W = 1 + rng() % 15;
          const int64_t p = rng() % k;  // pads must be smaller than the kernel
          if (H + 2 * p < k || W + 2 * p < k) continue;
          Node n = make_node(op, 1);
          n.attrs["kernel_shape"] = std::vector<int64_t>{k, k};
          n.attrs["strides"] = std::vector<int64_t>{stride, stride};
          n.attrs["pads"] = std::vector<int64_t>{p, p, p, p};
          n.attrs["ceil_mode"] = int64_t(trial % 2);
          if (std::string(op) == "AveragePool") n.attrs["count_include_pad"] = int64_t(trial / 2);
          SCOPED_TRACE(cat(op, " C", C, " ", H, "x", W, " k", k, " s", stride, " p", p, " trial ", trial));
          check_pool(op, random_tensor({1 + trial % 2, C, H, W}, rng), n, 1 + trial % 2);
          if (HasFatalFailure()) return;
          ++cases;
        }
  EXPECT_GE(cases, 60);
  for (int64_t C : {1, 7, 16, 37}) {
    Node n = make_node("GlobalAveragePool", 1);
    check_pool("GlobalAveragePool", random_tensor({2, C, 5, 3}, rng), n, 1);
  }
}

// Images of several pixel blocks (odd and even counts, a partial last block), channels that
// fill 4 vectors and leave 1-4 more (on AVX-512, AVX2 and 128-bit targets), on 1 and 2 threads: the same bits either way.
TEST(NhwcPool, GlobalAveragePoolOverLargeImagesIsThreadCountIndependent) {
  std::mt19937 rng(9);
  Node n = make_node("GlobalAveragePool", 1);
  for (int64_t target : hwy::SupportedAndGeneratedTargets())
  for (int64_t C : {3, 40, 57, 64, 100, 120, 150})
    for (auto [H, W] : {std::pair<int64_t, int64_t>{16, 16}, {23, 29}, {56, 56}}) {
      hwy::SetSupportedTargetsForTest(target);
      SCOPED_TRACE(cat(hwy::TargetName(target), " C", C, " ", H, "x", W));
      const Tensor x = random_tensor({2, C, H, W}, rng);
      check_pool("GlobalAveragePool", x, n, 1);
      check_pool("GlobalAveragePool", x, n, 2);
      Node nhwc = n;
      nhwc.op_type = "GlobalAveragePoolNhwc", nhwc.domain = kEdgekitDomain;
      const Tensor xn = nchw_to_nhwc(x);
      const Tensor one = run_on_threads(nhwc, {xn}, 1), two = run_on_threads(nhwc, {xn}, 2);
      ASSERT_EQ(std::memcmp(one.data<float>(), two.data<float>(), size_t(one.numel()) * sizeof(float)), 0);
    }
  hwy::SetSupportedTargetsForTest(0);
}

}  // namespace edgekit::test

namespace edgekit::test {
namespace {
}  // namespace

TEST(PackedGemm, GemmAndMatMulWithConstantWeightsMatchTheReference) {
  std::mt19937 rng(3);
  int cases = 0;
  for (int64_t M : {1, 2, 5, 13, 40})
    for (int64_t K : {1, 7, 64, 300})
      for (int64_t N : {1, 10, 33, 100}) {
        const bool trans_b = (M + K + N) % 2 == 0;
        Node n = make_node("Gemm", 3, 1, 13);
        n.attrs["transB"] = int64_t(trans_b);
        n.attrs["alpha"] = 0.5f;
        n.attrs["beta"] = 2.f;
        if (N % 3 == 1) {
          n.attrs["_activation"] = std::string("Relu");
        }
        Tensor a = random_tensor({M, K}, rng), b = random_tensor(trans_b ? Shape{N, K} : Shape{K, N}, rng);
        Tensor c = random_tensor(M % 2 ? Shape{N} : Shape{1, N}, rng);
        const std::vector<Tensor> ins{a, b, c};
        Tensor want = run_node(n, ins)[0];  // not prepared: the reference GEMM
        Tensor got = run_prepared(n, ins, {false, true, true});
        SCOPED_TRACE(cat("Gemm M", M, " K", K, " N", N, " transB ", trans_b));
        for (int64_t i = 0; i < want.numel(); ++i)
          ASSERT_NEAR(got.data<float>()[i], want.data<float>()[i], 1e-4f * (1 + std::fabs(want.data<float>()[i])));
        Node mm = make_node("MatMul", 2, 1, 13);
        Tensor a3 = random_tensor({2, M, K}, rng), b2 = random_tensor({K, N}, rng);
        want = run_node(mm, {a3, b2})[0];
        got = run_prepared(mm, {a3, b2}, {false, true});
        for (int64_t i = 0; i < want.numel(); ++i)
          ASSERT_NEAR(got.data<float>()[i], want.data<float>()[i], 1e-4f * (1 + std::fabs(want.data<float>()[i])));
        ++cases;
      }
  EXPECT_EQ(cases, 80);
}

}  // namespace edgekit::test

namespace edgekit::test {
// A Concat's part on its own (run_node, no Session to run it in place): the channels outside
// its range come from the tensor it fills in, its own are the plain convolution's.
TEST(NhwcConv, ConcatPartFillsInItsChannels) {
  std::mt19937 rng(5);
  Tensor x = random_tensor({2, 5, 4, 3}, rng), w = random_tensor({4, 3, 3, 3}, rng), b = random_tensor({4}, rng);
  Tensor into = random_tensor({2, 5, 4, 9}, rng);
  Node plain = make_node("ConvNhwc", 3);
  plain.domain = kEdgekitDomain;
  plain.attrs["pads"] = std::vector<int64_t>{1, 1, 1, 1};
  const Tensor alone = run_node(plain, {x, w, b})[0];
  Node part = plain;
  part.inputs = {"x", "w", "b", "", "into"};
  part.attrs["_concat_channels"] = int64_t(9);
  part.attrs["_concat_offset"] = int64_t(2);
  part.attrs["_concat_into"] = int64_t(1);
  const Tensor y = run_node(part, {x, w, b, Tensor(), into})[0];
  ASSERT_EQ(y.shape(), (Shape{2, 5, 4, 9}));
  for (int64_t p = 0; p < 2 * 5 * 4; ++p)
    for (int64_t c = 0; c < 9; ++c) {
      const float want = c >= 2 && c < 6 ? alone.data<float>()[p * 4 + c - 2] : into.data<float>()[p * 9 + c];
      ASSERT_FLOAT_EQ(y.data<float>()[p * 9 + c], want) << "pixel " << p << " channel " << c;
    }
  Node bad = part;
  bad.attrs["_concat_offset"] = int64_t(6);
  expect_error(bad, {x, w, b, Tensor(), into}, {"writes channels [6, 10) of a concatenation of 9"});
  Node wrong_into = part;
  expect_error(wrong_into, {x, w, b, Tensor(), random_tensor({2, 5, 4, 8}, rng)},
               {"the concatenation it fills in has shape [2,5,4,8], expected [2,5,4,9]"});
}
}  // namespace edgekit::test

namespace edgekit::test {
TEST(PackedGemv, MatchesNaiveOnEveryTargetAndPanelCount) {
  // y = init + W x through the matrix-vector kernel: 1 to 9 panels (passes of four and the
  // rest), a last panel cut short, panels of one vector, quarter panels (the igemm path),
  // K of 1 and beyond a K block; init separate from y and in place.
  std::mt19937 rng(31);
  for (int64_t target : hwy::SupportedAndGeneratedTargets()) {
    hwy::SetSupportedTargetsForTest(target);
    SCOPED_TRACE(cat("target ", hwy::TargetName(target)));
    for (int64_t N : {1, 5, 8, 16, 33, 64, 100, 263})
      for (int64_t K : {1, 7, 64, 300}) {
        Tensor w = random_tensor({N, K}, rng), x = random_tensor({K}, rng), init = random_tensor({N}, rng);
        const NhwcConvWeights packed(w.data<float>(), nullptr, N, K, 1, 1, 1);
        std::vector<float> y(static_cast<size_t>(N)), in_place(init.data<float>(), init.data<float>() + N);
        packed_gemv_f32(packed, x.data<float>(), init.data<float>(), y.data());
        packed_gemv_f32(packed, x.data<float>(), in_place.data(), in_place.data());
        for (int64_t n = 0; n < N; ++n) {
          double want = init.data<float>()[n];
          for (int64_t k = 0; k < K; ++k) want += double(w.data<float>()[n * K + k]) * x.data<float>()[k];
          ASSERT_NEAR(y[size_t(n)], want, 1e-5 * (1 + std::fabs(want))) << "N " << N << " K " << K << " n " << n;
          ASSERT_EQ(y[size_t(n)], in_place[size_t(n)]) << "N " << N << " K " << K;
        }
      }
  }
  hwy::SetSupportedTargetsForTest(0);
}
}  // namespace edgekit::test
