// The depthwise fast paths (padded 3x3/5x5 and the generic direct loop) against a naive
// convolution over many geometries, with and without bias and fused activation.
#include <random>

#include "op_test_util.h"

namespace edgekit::test {

namespace {
std::vector<float> naive_depthwise(const Tensor& x, const Tensor& w, const Tensor* b, int64_t sh, int64_t sw,
                                   int64_t dh, int64_t dw, int64_t pt, int64_t pl, int64_t OH, int64_t OW) {
  const int64_t N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3), KH = w.dim(2), KW = w.dim(3);
  std::vector<float> y(size_t(N * C * OH * OW));
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow) {
          double acc = b ? b->data<float>()[c] : 0;
          for (int64_t kh = 0; kh < KH; ++kh)
            for (int64_t kw = 0; kw < KW; ++kw) {
              int64_t ih = oh * sh - pt + kh * dh, iw = ow * sw - pl + kw * dw;
              if (ih >= 0 && ih < H && iw >= 0 && iw < W)
                acc += double(x.data<float>()[((n * C + c) * H + ih) * W + iw]) * w.data<float>()[(c * KH + kh) * KW + kw];
            }
          y[size_t(((n * C + c) * OH + oh) * OW + ow)] = float(acc);
        }
  return y;
}

Tensor random(Shape s, std::mt19937& rng) {
  std::uniform_real_distribution<float> d(-1, 1);
  Tensor t(DType::f32, std::move(s));
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = d(rng);
  return t;
}
}  // namespace

TEST(DepthwiseConv, MatchesNaiveOverGeometries) {
  std::mt19937 rng(42);
  int cases = 0;
  for (int64_t k : {1, 3, 4, 5})
    for (int64_t stride : {1, 2, 3})
      for (int64_t dil : {1, 2})
        for (int trial = 0; trial < 6; ++trial) {
          const int64_t C = 1 + rng() % 5, H = 1 + rng() % 12, W = 1 + rng() % 21;
          const int64_t pt = rng() % k, pl = rng() % k, pb = rng() % k, pr = rng() % k;
          const int64_t ext = (k - 1) * dil + 1;
          if (H + pt + pb < ext || W + pl + pr < ext) continue;
          const int64_t OH = (H + pt + pb - ext) / stride + 1, OW = (W + pl + pr - ext) / stride + 1;
          Tensor x = random({2, C, H, W}, rng), w = random({C, 1, k, k}, rng), b = random({C}, rng);
          const bool with_bias = trial % 2 == 0;
          Node n = make_node("Conv", with_bias ? 3 : 2);
          n.attrs["group"] = C;
          n.attrs["strides"] = std::vector<int64_t>{stride, stride};
          n.attrs["dilations"] = std::vector<int64_t>{dil, dil};
          n.attrs["pads"] = std::vector<int64_t>{pt, pl, pb, pr};
          std::vector<Tensor> ins = {x, w};
          if (with_bias) ins.push_back(b);
          auto out = run_node(n, ins);
          SCOPED_TRACE(cat("k ", k, " stride ", stride, " dil ", dil, " x ", shape_str(x.shape()), " pads ", pt, pl, pb, pr));
          ASSERT_EQ(out[0].shape(), (Shape{2, C, OH, OW}));
          expect_close(out[0], naive_depthwise(x, w, with_bias ? &b : nullptr, stride, stride, dil, dil, pt, pl, OH, OW),
                       1e-4f);
          ++cases;
        }
  EXPECT_GT(cases, 100);
}

TEST(DepthwiseConv, FusedReluApplies) {
  std::mt19937 rng(3);
  Tensor x = random({1, 3, 6, 7}, rng), w = random({3, 1, 3, 3}, rng);
  Node n = make_node("Conv", 2);
  n.attrs["group"] = int64_t(3);
  n.attrs["pads"] = std::vector<int64_t>{1, 1, 1, 1};
  n.attrs["_activation"] = std::string("Relu");
  auto out = run_node(n, {x, w});
  std::vector<float> want = naive_depthwise(x, w, nullptr, 1, 1, 1, 1, 1, 1, 6, 7);
  for (auto& v : want) v = v > 0 ? v : 0;
  expect_close(out[0], want, 1e-4f);
}

}  // namespace edgekit::test
