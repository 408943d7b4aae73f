// FusedActivation: an activation that graph fusion (passes/fuse_activation.cpp) folded into
// the Conv, Gemm or MatMul producing its input. The fused node carries edgekit-private
// attributes (names start with '_', never valid ONNX):
//   _activation        "Relu" | "Clip" | "Sigmoid" | "HardSigmoid" | "HardSwish" | "LeakyRelu" | "Tanh"
//                      | "SiLU" (x * Sigmoid(x), fused from that two-node pattern)
//   _activation_alpha  Clip: min; LeakyRelu/HardSigmoid: alpha
//   _activation_beta   Clip: max; HardSigmoid: beta
// Kernels read it once in their constructor and apply() it to each output block right after
// computing it (bias included), while the block is still in cache.
#pragma once
#include <cmath>
#include <string>

#include "graph/graph.h"
#include "kernels/fast_math.h"

namespace edgekit {

class FusedActivation {
 public:
  enum class Kind { none, relu, clip, sigmoid, hard_sigmoid, hard_swish, leaky_relu, tanh, silu };

  FusedActivation() = default;
  explicit FusedActivation(const Node& node);  // reads the attributes above; none when absent
  static bool fusable(const std::string& op_type);

  Kind kind() const { return kind_; }
  bool active() const { return kind_ != Kind::none; }

  template <class T>
  void apply(T* data, int64_t n) const {
    switch (kind_) {
      case Kind::none: return;
      case Kind::relu: for (int64_t i = 0; i < n; ++i) data[i] = data[i] > T(0) ? data[i] : T(0); return;
      case Kind::clip:
        for (int64_t i = 0; i < n; ++i) data[i] = data[i] < T(alpha_) ? T(alpha_) : data[i] > T(beta_) ? T(beta_) : data[i];
        return;
      case Kind::leaky_relu: for (int64_t i = 0; i < n; ++i) data[i] = data[i] >= T(0) ? data[i] : T(alpha_) * data[i]; return;
      case Kind::sigmoid:
        if constexpr (std::is_same_v<T, float>) return sigmoid_f32_array(data, data, n);
        [[fallthrough]];
      case Kind::silu:
        if constexpr (std::is_same_v<T, float>)
          if (kind_ == Kind::silu) return silu_f32_array(data, data, n);
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
