// Highway implementation of simd/winograd_kernels.h, compiled once per target ISA. Each
// transform is separable: the 1-D transform along the tile's rows, then along its columns,
// one vector of channels a point (the 36 of a tile are more than the registers; the compiler
// keeps the rest in L1).
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/simd/winograd_kernels.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "kernels/simd/nhwc_epilogue-inl.h"
#include "kernels/simd/winograd_kernels.h"

HWY_BEFORE_NAMESPACE();
namespace edgekit {
namespace HWY_NAMESPACE {

// z = Bᵀ x for the six values x[0], x[s], ..., x[5 s].
HWY_INLINE void input_1d(const V* x, int64_t s, V* z, int64_t zs) {
  const D d;
  const V two = hn::Set(d, 2.f), four = hn::Set(d, 4.f), five = hn::Set(d, 5.f);
  const V x0 = x[0], x1 = x[s], x2 = x[2 * s], x3 = x[3 * s], x4 = x[4 * s], x5 = x[5 * s];
  z[0] = hn::NegMulAdd(five, x2, hn::MulAdd(four, x0, x4));  // 4 x0 - 5 x2 + x4
  z[zs] = hn::NegMulAdd(four, hn::Add(x1, x2), hn::Add(x3, x4));
  z[2 * zs] = hn::MulAdd(four, hn::Sub(x1, x2), hn::Sub(x4, x3));
  const V x42 = hn::Sub(x4, x2), x31 = hn::Sub(x3, x1);
  z[3 * zs] = hn::MulAdd(two, x31, x42);
  z[4 * zs] = hn::NegMulAdd(two, x31, x42);
  z[5 * zs] = hn::NegMulAdd(five, x3, hn::MulAdd(four, x1, x5));  // 4 x1 - 5 x3 + x5
}

// y = Aᵀ m for the six values m[0], m[s], ..., m[5 s] (four results).
HWY_INLINE void output_1d(const V* m, int64_t s, V* y, int64_t ys) {
  const D d;
  const V two = hn::Set(d, 2.f), four = hn::Set(d, 4.f), eight = hn::Set(d, 8.f);
  const V a = hn::Add(m[s], m[2 * s]), b = hn::Sub(m[s], m[2 * s]);
  const V c = hn::Add(m[3 * s], m[4 * s]), e = hn::Sub(m[3 * s], m[4 * s]);
  y[0] = hn::Add(hn::Add(m[0], a), c);
  y[ys] = hn::MulAdd(two, e, b);
  y[2 * ys] = hn::MulAdd(four, c, a);
  y[3 * ys] = hn::Add(hn::MulAdd(eight, e, b), m[5 * s]);
}

void WinogradInput(const float* const* px, int64_t channels, float* v, int64_t v_stride) {
  for (int64_t c = 0; c < channels; c += lanes()) {
    const int64_t n = channels - c;
    V d[36], t[36];
    for (int64_t p = 0; p < 36; ++p) d[p] = load_n(px[p] + c, n);
    for (int64_t i = 0; i < 6; ++i) input_1d(d + 6 * i, 1, t + 6 * i, 1);  // rows
    for (int64_t j = 0; j < 6; ++j) input_1d(t + j, 6, d + j, 6);           // columns
    for (int64_t p = 0; p < 36; ++p) store_n(d[p], n, v + p * v_stride + c);
  }
}

void WinogradOutput(const WinogradOutputTile& t) {
  const Epi epi(t.epilogue);
  for (int64_t c = 0; c < t.channels; c += lanes()) {
    const int64_t n = t.channels - c;
    V m[36], s[24], y[16];
    for (int64_t p = 0; p < 36; ++p) m[p] = load_n(t.m + p * t.m_stride + c, n);
    for (int64_t i = 0; i < 6; ++i) output_1d(m + 6 * i, 1, s + 4 * i, 1);  // rows: 6 x 4
    for (int64_t j = 0; j < 4; ++j) output_1d(s + j, 4, y + j, 4);          // columns: 4 x 4
    const V bias = load_n(t.bias + c, n);
    for (int64_t p = 0; p < 16; ++p) {
      y[p] = hn::Add(y[p], bias);
      if (t.residual && t.out[p]) y[p] = hn::Add(y[p], load_n(t.residual[p] + c, n));
    }
    epi.apply<16>(y);
    for (int64_t p = 0; p < 16; ++p)
      if (t.out[p]) store_n(y[p], n, t.out[p] + c);
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace edgekit
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace edgekit {
HWY_EXPORT(WinogradInput);
HWY_EXPORT(WinogradOutput);

void winograd_input_f32(const float* const* px, int64_t channels, float* v, int64_t v_stride) {
  HWY_DYNAMIC_DISPATCH(WinogradInput)(px, channels, v, v_stride);
}
void winograd_output_f32(const WinogradOutputTile& tile) { HWY_DYNAMIC_DISPATCH(WinogradOutput)(tile); }

void winograd_kernel_transform(const float* g, float* u) {
  // G (6 x 3), rows for the points 0, 1, -1, 2, -2 and infinity.
  static constexpr double G[6][3] = {{1.0 / 4, 0, 0},           {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                                     {-1.0 / 6, 1.0 / 6, -1.0 / 6}, {1.0 / 24, 1.0 / 12, 1.0 / 6},
                                     {1.0 / 24, -1.0 / 12, 1.0 / 6}, {0, 0, 1}};
  double gg[6][3];  // G g
  for (int i = 0; i < 6; ++i)
    for (int k = 0; k < 3; ++k) gg[i][k] = G[i][0] * g[k] + G[i][1] * g[3 + k] + G[i][2] * g[6 + k];
  for (int i = 0; i < 6; ++i)
    for (int j = 0; j < 6; ++j) u[6 * i + j] = float(gg[i][0] * G[j][0] + gg[i][1] * G[j][1] + gg[i][2] * G[j][2]);
}
}  // namespace edgekit
#endif  // HWY_ONCE
