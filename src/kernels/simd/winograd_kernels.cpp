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

#include <algorithm>

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


void WinogradPack(const float* w, int64_t M, int64_t C, int64_t nr, int64_t point_floats, float* out) {
  // G (6 x 3), rows for the points 0, 1, -1, 2, -2 and infinity.
  static constexpr float G[6][3] = {{1.f / 4, 0, 0},           {-1.f / 6, -1.f / 6, -1.f / 6},
                                    {-1.f / 6, 1.f / 6, -1.f / 6}, {1.f / 24, 1.f / 12, 1.f / 6},
                                    {1.f / 24, -1.f / 12, 1.f / 6}, {0, 0, 1}};
  const D d;
  const int64_t L = lanes(), panels = (M + nr - 1) / nr, panel_floats = nr + C * nr;
  HWY_ALIGN float taps[9][HWY_MAX_BYTES / sizeof(float)];
  for (int64_t pan = 0; pan < panels; ++pan) {
    const int64_t m0 = pan * nr;
    for (int64_t p = 0; p < 36; ++p) std::fill_n(out + p * point_floats + pan * panel_floats, nr, 0.f);  // biases
    for (int64_t c = 0; c < C; ++c)
      for (int64_t j0 = 0; j0 < nr; j0 += L) {
        // The 9 taps of output channels m0 + j0 + l (zeros past M), one vector a tap.
        const int64_t n = std::min(L, nr - j0);
        for (int64_t l = 0; l < L; ++l) {
          const int64_t m = m0 + j0 + l;
          for (int64_t k = 0; k < 9; ++k) taps[k][l] = l < n && m < M ? w[(m * C + c) * 9 + k] : 0.f;
        }
        V g[9], t[6][3];
        for (int64_t k = 0; k < 9; ++k) g[k] = hn::Load(d, taps[k]);
        for (int64_t i = 0; i < 6; ++i)  // G g
          for (int64_t kx = 0; kx < 3; ++kx)
            t[i][kx] = hn::MulAdd(hn::Set(d, G[i][0]), g[kx],
                                  hn::MulAdd(hn::Set(d, G[i][1]), g[3 + kx], hn::Mul(hn::Set(d, G[i][2]), g[6 + kx])));
        float* at = out + pan * panel_floats + nr + c * nr + j0;
        for (int64_t i = 0; i < 6; ++i)  // (G g) Gᵀ
          for (int64_t j = 0; j < 6; ++j) {
            const V u = hn::MulAdd(t[i][0], hn::Set(d, G[j][0]),
                                   hn::MulAdd(t[i][1], hn::Set(d, G[j][1]), hn::Mul(t[i][2], hn::Set(d, G[j][2]))));
            store_n(u, n, at + (6 * i + j) * point_floats);
          }
      }
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace edgekit
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace edgekit {
HWY_EXPORT(WinogradInput);
HWY_EXPORT(WinogradOutput);
HWY_EXPORT(WinogradPack);

void winograd_input_f32(const float* const* px, int64_t channels, float* v, int64_t v_stride) {
  HWY_DYNAMIC_DISPATCH(WinogradInput)(px, channels, v, v_stride);
}
void winograd_output_f32(const WinogradOutputTile& tile) { HWY_DYNAMIC_DISPATCH(WinogradOutput)(tile); }

void winograd_pack_f32(const float* w, int64_t out_channels, int64_t in_channels, int64_t nr, int64_t point_floats,
                       float* out) {
  HWY_DYNAMIC_DISPATCH(WinogradPack)(w, out_channels, in_channels, nr, point_floats, out);
}
}  // namespace edgekit
#endif  // HWY_ONCE
