// The f32 NHWC kernels' shared vector code (included once per target, as Highway's -inl.h
// headers are): the register epilogue (clamp, then one activation) and masked loads and stores
// of a vector's first n lanes. Used by simd/nhwc_kernels.cpp and simd/winograd_kernels.cpp.
#if defined(EDGEKIT_KERNELS_SIMD_NHWC_EPILOGUE_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef EDGEKIT_KERNELS_SIMD_NHWC_EPILOGUE_INL_H_
#undef EDGEKIT_KERNELS_SIMD_NHWC_EPILOGUE_INL_H_
#else
#define EDGEKIT_KERNELS_SIMD_NHWC_EPILOGUE_INL_H_
#endif

#include "hwy/highway.h"
#include "kernels/simd/fast_math-inl.h"
#include "kernels/simd/nhwc_kernels.h"

HWY_BEFORE_NAMESPACE();
namespace edgekit {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;
using D = hn::ScalableTag<float>;
using V = hn::Vec<D>;

inline int64_t lanes() { return int64_t(hn::Lanes(D())); }

// The register epilogue: clamp, then the activation (one predictable branch per vector), on
// vectors of DT (the full width D, or fewer lanes for narrow panels).
template <class DT>
struct EpiT {
  using V = hn::Vec<DT>;
  V lo, hi, sixth, half, zero, one, alpha, beta;
  NhwcEpilogue::Act act;
  explicit EpiT(const NhwcEpilogue& e)
      : lo(hn::Set(DT(), e.lo)), hi(hn::Set(DT(), e.hi)), sixth(hn::Set(DT(), 1.f / 6.f)), half(hn::Set(DT(), 0.5f)),
        zero(hn::Zero(DT())), one(hn::Set(DT(), 1.f)), alpha(hn::Set(DT(), e.alpha)), beta(hn::Set(DT(), e.beta)),
        act(e.act) {}
  HWY_INLINE V sigmoid(V x) const { return FastSigmoid(DT(), x); }  // simd/fast_math-inl.h
  // The epilogue of `count` vectors: one switch for all of them, each case a loop over the
  // vectors so their (long, for the transcendental ones) dependency chains interleave.
  template <int64_t kCount>
  HWY_INLINE void apply(V* x) const {
    for (int64_t i = 0; i < kCount; ++i) x[i] = clamp(x[i]);
    activate<kCount>(x);
  }
  template <int64_t kCount>
  HWY_INLINE void activate(V* x) const {
    using A = NhwcEpilogue::Act;
    switch (act) {
      case A::none: return;
      case A::hard_swish:
        for (int64_t i = 0; i < kCount; ++i) x[i] = hard_swish(x[i]);
        return;
      case A::sigmoid:
        for (int64_t i = 0; i < kCount; ++i) x[i] = sigmoid(x[i]);
        return;
      case A::silu:
        for (int64_t i = 0; i < kCount; ++i) x[i] = hn::Mul(x[i], sigmoid(x[i]));
        return;
      default:
        for (int64_t i = 0; i < kCount; ++i) x[i] = (*this)(x[i], false);
    }
  }
  HWY_INLINE V clamp(V x) const { return hn::Min(hn::Max(x, lo), hi); }
  HWY_INLINE V hard_swish(V x) const { return hn::Mul(x, hn::Min(hn::Max(hn::MulAdd(x, sixth, half), zero), one)); }
  HWY_INLINE V operator()(V x, bool clamp_first = true) const {
    using A = NhwcEpilogue::Act;
    if (clamp_first) x = clamp(x);
    switch (act) {
      case A::none: return x;
      case A::hard_swish: return hard_swish(x);
      case A::leaky_relu: return hn::IfThenElse(hn::Lt(x, zero), hn::Mul(x, alpha), x);
      case A::sigmoid: return sigmoid(x);
      case A::silu: return hn::Mul(x, sigmoid(x));
      case A::hard_sigmoid: return hn::Min(hn::Max(hn::MulAdd(x, alpha, beta), zero), one);
      case A::tanh: return FastTanh(DT(), x);
    }
    return x;
  }
};
using Epi = EpiT<D>;

// The first `n` lanes of v stored, or loaded (all when n >= the lanes of DT).
template <class DT>
HWY_INLINE void store_n(DT d, hn::Vec<DT> v, int64_t n, float* p) {
  if (n >= int64_t(hn::Lanes(d)))
    hn::StoreU(v, d, p);
  else if (n > 0)
    hn::BlendedStore(v, hn::FirstN(d, size_t(n)), d, p);
}
template <class DT>
HWY_INLINE hn::Vec<DT> load_n(DT d, const float* p, int64_t n) {
  return n >= int64_t(hn::Lanes(d)) ? hn::LoadU(d, p) : hn::MaskedLoad(hn::FirstN(d, size_t(n)), d, p);
}

// The same on full vectors.
HWY_INLINE void store_n(V v, int64_t n, float* p) { store_n(D(), v, n, p); }
HWY_INLINE V load_n(const float* p, int64_t n) { return load_n(D(), p, n); }

}  // namespace HWY_NAMESPACE
}  // namespace edgekit
HWY_AFTER_NAMESPACE();

#endif  // EDGEKIT_KERNELS_SIMD_NHWC_EPILOGUE_INL_H_
