#include "kernels/quant_ref.h"

#include <cmath>

#include "kernels/util.h"

namespace edgekit {

IntConvShape IntConvShape::from(const WindowGeometry& g, int64_t batch, int64_t in_c, int64_t out_c, int64_t group,
                                bool nhwc) {
  IntConvShape s;
  s.batch = batch, s.in_c = in_c, s.out_c = out_c, s.group = group, s.nhwc = nhwc;
  s.in_h = g.input[0], s.in_w = g.input[1], s.out_h = g.output[0], s.out_w = g.output[1];
  s.kernel_h = g.kernel[0], s.kernel_w = g.kernel[1], s.stride_h = g.strides[0], s.stride_w = g.strides[1];
  s.dilation_h = g.dilations[0], s.dilation_w = g.dilations[1], s.pad_top = g.pad_begin[0], s.pad_left = g.pad_begin[1];
  return s;
}

IntConvPlan plan_int_conv(const Node& node, const Shape& x, const Shape& w, int64_t group, bool nhwc) {
  EK_CHECK(x.size() == 4 && w.size() == 4, node.where(), ": expected a 4-D input and 4-D weights (2-D convolution), got ",
           shape_str(x), " and ", shape_str(w));
  EK_CHECK(group >= 1, node.where(), ": group must be >= 1, got ", group);
  const int64_t c = nhwc ? x[3] : x[1], m = w[0];
  EK_CHECK(c < 0 || w[1] < 0 || w[1] * group == c, node.where(), ": input has ", c, " channels, expected ",
           w[1] * group, " (W dim 1 = ", w[1], " per group x group ", group, ")");
  EK_CHECK(m < 0 || m % group == 0, node.where(), ": output channels ", m, " are not divisible by group ", group);
  WindowAttrs attrs = WindowAttrs::read(node, 2, {w[2], w[3]});
  WindowGeometry g = attrs.resolve(node, nhwc ? Shape{x[1], x[2]} : Shape{x[2], x[3]});
  IntConvPlan p;
  p.out = nhwc ? Shape{x[0], g.output[0], g.output[1], m} : Shape{x[0], m, g.output[0], g.output[1]};
  p.shape = IntConvShape::from(g, x[0], c, m, group, nhwc);
  return p;
}

template <class TX, class TW>
void int_conv_ref(const TX* x, int32_t x_zp, const TW* w, const std::vector<int32_t>& w_zp, const int32_t* bias,
                  const IntConvShape& s, int32_t* acc) {
  const int64_t cg = s.in_c / s.group, mg = s.out_c / s.group;
  auto x_at = [&](int64_t n, int64_t c, int64_t h, int64_t ww) {
    return s.nhwc ? x[((n * s.in_h + h) * s.in_w + ww) * s.in_c + c] : x[((n * s.in_c + c) * s.in_h + h) * s.in_w + ww];
  };
  for (int64_t n = 0; n < s.batch; ++n)
    for (int64_t m = 0; m < s.out_c; ++m) {
      const int64_t g = m / mg;
      const int32_t wz = w_zp.size() == 1 ? w_zp[0] : w_zp[size_t(m)];
      const TW* wm = w + m * cg * s.kernel_h * s.kernel_w;
      for (int64_t oh = 0; oh < s.out_h; ++oh)
        for (int64_t ow = 0; ow < s.out_w; ++ow) {
          int32_t sum = bias ? bias[m] : 0;
          for (int64_t c = 0; c < cg; ++c)
            for (int64_t kh = 0; kh < s.kernel_h; ++kh) {
              const int64_t ih = oh * s.stride_h - s.pad_top + kh * s.dilation_h;
              if (ih < 0 || ih >= s.in_h) continue;
              for (int64_t kw = 0; kw < s.kernel_w; ++kw) {
                const int64_t iw = ow * s.stride_w - s.pad_left + kw * s.dilation_w;
                if (iw < 0 || iw >= s.in_w) continue;
                const int32_t xv = int32_t(x_at(n, g * cg + c, ih, iw)) - x_zp;
                const int32_t wv = int32_t(wm[(c * s.kernel_h + kh) * s.kernel_w + kw]) - wz;
                sum = int32_t(uint32_t(sum) + uint32_t(xv * wv));  // wraps as int32 hardware does
              }
            }
          const int64_t o = s.nhwc ? ((n * s.out_h + oh) * s.out_w + ow) * s.out_c + m
                                   : ((n * s.out_c + m) * s.out_h + oh) * s.out_w + ow;
          acc[o] = sum;
        }
    }
}

IntMatMulShape IntMatMulShape::of(const Node& node, const Shape& a0, const Shape& b0) {
  EK_CHECK(!a0.empty() && !b0.empty(), node.where(), ": needs operands of rank >= 1, got ", shape_str(a0), " and ",
           shape_str(b0));
  IntMatMulShape s{a0, b0, {}, {}, 0, 0, 0};
  if (s.a.size() == 1) s.a.insert(s.a.begin(), 1);
  if (s.b.size() == 1) s.b.push_back(1);
  s.M = s.a[s.a.size() - 2], s.K = s.a.back(), s.N = s.b.back();
  const int64_t kb = s.b[s.b.size() - 2];
  EK_CHECK(s.K < 0 || kb < 0 || s.K == kb, node.where(), ": inner dims differ: A ", shape_str(a0), " has K=", s.K,
           ", B ", shape_str(b0), " has K=", kb);
  s.batch = broadcast_shapes({Shape(s.a.begin(), s.a.end() - 2), Shape(s.b.begin(), s.b.end() - 2)}, node);
  s.out = s.batch;
  if (a0.size() > 1) s.out.push_back(s.M);
  if (b0.size() > 1) s.out.push_back(s.N);
  return s;
}

template <class TA, class TB>
void int_matmul_ref(const TA* a, const std::vector<int32_t>& a_zp, const TB* b, const std::vector<int32_t>& b_zp,
                    const IntMatMulShape& s, int32_t* acc) {
  const Shape batch_a(s.a.begin(), s.a.end() - 2), batch_b(s.b.begin(), s.b.end() - 2);
  const std::vector<int64_t> sa = broadcast_strides(batch_a, s.batch), sb = broadcast_strides(batch_b, s.batch);
  std::vector<int64_t> idx(s.batch.size(), 0);
  const int64_t batches = shape_numel(s.batch);
  for (int64_t t = 0; t < batches; ++t) {
    int64_t oa = 0, ob = 0;
    for (size_t k = 0; k < idx.size(); ++k) oa += idx[k] * sa[k], ob += idx[k] * sb[k];
    const TA* A = a + oa * s.M * s.K;
    const TB* B = b + ob * s.K * s.N;
    int32_t* Y = acc + t * s.M * s.N;
    for (int64_t i = 0; i < s.M; ++i) {
      const int32_t za = a_zp.size() == 1 ? a_zp[0] : a_zp[size_t(i)];
      for (int64_t j = 0; j < s.N; ++j) {
        const int32_t zb = b_zp.size() == 1 ? b_zp[0] : b_zp[size_t(j)];
        int32_t sum = 0;
        for (int64_t k = 0; k < s.K; ++k)
          sum = int32_t(uint32_t(sum) + uint32_t((int32_t(A[i * s.K + k]) - za) * (int32_t(B[k * s.N + j]) - zb)));
        Y[i * s.N + j] = sum;
      }
    }
    for (int k = int(idx.size()) - 1; k >= 0 && ++idx[size_t(k)] == s.batch[size_t(k)]; --k) idx[size_t(k)] = 0;
  }
}

std::vector<int32_t> read_zero_points(const Node& node, const char* what, const Tensor* t, int64_t per) {
  if (!t) return {0};
  EK_CHECK(t->dtype() == DType::i8 || t->dtype() == DType::u8, node.where(), ": ", what, " has dtype ",
           dtype_name(t->dtype()), ", expected i8 or u8");
  EK_CHECK(t->numel() == 1 || (t->rank() == 1 && t->numel() == per), node.where(), ": ", what,
           " must hold 1 or ", per, " values, got shape ", shape_str(t->shape()));
  std::vector<int32_t> z(size_t(t->numel()));
  for (int64_t i = 0; i < t->numel(); ++i) z[size_t(i)] = int32_t(t->as_int(i));
  return z;
}

template <class TA, class TB, class TY>
void qmul_ref(const QMulParams& p, const TA* a, const Shape& as, const TB* b, const Shape& bs, TY* y, const Shape& ys) {
  for_each_broadcast_pair(as, bs, ys, [&](int64_t i, int64_t oa, int64_t ob) { y[i] = TY(qmul_value(p, a[oa], b[ob])); });
}

#define EK_INSTANTIATE(TX, TW)                                                                                    \
  template void int_conv_ref<TX, TW>(const TX*, int32_t, const TW*, const std::vector<int32_t>&, const int32_t*, \
                                     const IntConvShape&, int32_t*);                                              \
  template void int_matmul_ref<TX, TW>(const TX*, const std::vector<int32_t>&, const TW*,                        \
                                       const std::vector<int32_t>&, const IntMatMulShape&, int32_t*);    \
  template void qmul_ref<TX, TW, int8_t>(const QMulParams&, const TX*, const Shape&, const TW*, const Shape&,    \
                                         int8_t*, const Shape&);                                                  \
  template void qmul_ref<TX, TW, uint8_t>(const QMulParams&, const TX*, const Shape&, const TW*, const Shape&,   \
                                          uint8_t*, const Shape&);
EK_INSTANTIATE(int8_t, int8_t)
EK_INSTANTIATE(int8_t, uint8_t)
EK_INSTANTIATE(uint8_t, int8_t)
EK_INSTANTIATE(uint8_t, uint8_t)
#undef EK_INSTANTIATE

}  // namespace edgekit
