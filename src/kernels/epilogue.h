// FusedActivation: the epilogue that graph fusion (passes/fuse_activation.cpp,
// passes/fuse_residual_add.cpp) folded into the Conv, Gemm or MatMul producing its input. The
// fused node carries edgekit-private attributes (names start with '_', never valid ONNX):
//   _activation        "Relu" | "Clip" | "Sigmoid" | "HardSigmoid" | "HardSwish" | "LeakyRelu" | "Tanh"
//                      | "SiLU" (x * Sigmoid(x)) | "Gelu" (exact, erf form)
//   _activation_alpha  Clip: min; LeakyRelu/HardSigmoid: alpha
//   _activation_beta   Clip: max; HardSigmoid: beta
//   _residual          1: the node's last input R (same shape as the output) is added before
//                      the activation: Y = act(conv(X, W) + B + R). Conv only.
// Kernels read it once in their constructor and apply() it to each output block right after
// computing it (bias included), while the block is still in cache. ONNX export writes the
// fused node back as the plain nodes it came from.
#pragma once
#include <algorithm>
#include <cmath>
#include <string>

#include "graph/graph.h"
#include "kernels/fast_math.h"
#include "kernels/simd/vector_math.h"

namespace edgekit {

class FusedActivation {
 public:
  enum class Kind { none, relu, clip, sigmoid, hard_sigmoid, hard_swish, leaky_relu, tanh, silu, gelu };

  FusedActivation() = default;
  explicit FusedActivation(const Node& node);  // reads the attributes above; none when absent
  static bool fusable(const std::string& op_type);
  // Whether the node carries a residual input (its last input), and that input's index.
  static bool has_residual(const Node& node) { return node.attr_int("_residual", 0) != 0; }

  Kind kind() const { return kind_; }
  bool active() const { return kind_ != Kind::none; }
  float alpha() const { return alpha_; }  // Clip: min; LeakyRelu, HardSigmoid: alpha
  float beta() const { return beta_; }    // Clip: max; HardSigmoid: beta

  // The whole epilogue of one output block: residual (when given, same layout as data) added,
  // then the activation, in place.
  template <class T>
  void apply(T* data, const T* residual, int64_t n) const {
    if (residual)
      for (int64_t i = 0; i < n; ++i) data[i] += residual[i];
    apply(data, n);
  }

  // Parameters are copied to locals first: data could alias the members as far as the
  // compiler knows, which would reload them every element and keep the loops scalar.
  template <class T>
  void apply(T* data, int64_t n) const {
    const T a = T(alpha_), b = T(beta_), zero = T(0), one = T(1);
    switch (kind_) {
      case Kind::none: return;
      case Kind::relu: for (int64_t i = 0; i < n; ++i) data[i] = data[i] > zero ? data[i] : zero; return;
      case Kind::clip: for (int64_t i = 0; i < n; ++i) data[i] = std::min(std::max(data[i], a), b); return;
      case Kind::leaky_relu: for (int64_t i = 0; i < n; ++i) data[i] = data[i] >= zero ? data[i] : a * data[i]; return;
      case Kind::hard_sigmoid:
        for (int64_t i = 0; i < n; ++i) data[i] = std::min(std::max(a * data[i] + b, zero), one);
        return;
      case Kind::hard_swish:
        for (int64_t i = 0; i < n; ++i) data[i] *= std::min(std::max(data[i] * T(1.0 / 6.0) + T(0.5), zero), one);
        return;
      case Kind::sigmoid:
        if constexpr (std::is_same_v<T, float>) return sigmoid_f32_array(data, data, n);
        [[fallthrough]];
      case Kind::silu:
        if constexpr (std::is_same_v<T, float>)
          if (kind_ == Kind::silu) return silu_f32_array(data, data, n);
        [[fallthrough]];
      case Kind::gelu:
        if constexpr (std::is_same_v<T, float>)
          if (kind_ == Kind::gelu) return gelu_f32_array(data, data, n);
        [[fallthrough]];
      default: for (int64_t i = 0; i < n; ++i) data[i] = T(scalar(double(data[i]))); return;
    }
  }

 private:
  double scalar(double x) const;  // the less common activations, one element at a time
  Kind kind_ = Kind::none;
  float alpha_ = 0.f, beta_ = 0.f;
};

}  // namespace edgekit
