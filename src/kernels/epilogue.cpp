#include "kernels/epilogue.h"

#include <algorithm>
#include <limits>

namespace edgekit {

namespace {
struct ActivationName {
  const char* name;
  FusedActivation::Kind kind;
};
constexpr ActivationName kActivations[] = {
    {"Relu", FusedActivation::Kind::relu},           {"Clip", FusedActivation::Kind::clip},
    {"Sigmoid", FusedActivation::Kind::sigmoid},     {"HardSigmoid", FusedActivation::Kind::hard_sigmoid},
    {"HardSwish", FusedActivation::Kind::hard_swish}, {"LeakyRelu", FusedActivation::Kind::leaky_relu},
    {"Tanh", FusedActivation::Kind::tanh},           {"SiLU", FusedActivation::Kind::silu},
    {"Gelu", FusedActivation::Kind::gelu},
};
}  // namespace

bool FusedActivation::fusable(const std::string& op_type) {
  return std::any_of(std::begin(kActivations), std::end(kActivations),
                     [&](const ActivationName& a) { return op_type == a.name; });
}

FusedActivation::FusedActivation(const Node& node) {
  if (!node.has_attr("_activation")) return;
  std::string name = node.attr_string("_activation");
  auto it = std::find_if(std::begin(kActivations), std::end(kActivations),
                         [&](const ActivationName& a) { return name == a.name; });
  EK_CHECK(it != std::end(kActivations), node.where(), ": unknown fused activation '", name, "'");
  kind_ = it->kind;
  alpha_ = node.attr_float("_activation_alpha", 0.f);
  beta_ = node.attr_float("_activation_beta", 0.f);
}

double FusedActivation::scalar(double x) const {
  switch (kind_) {
    case Kind::sigmoid: return 1.0 / (1.0 + std::exp(-x));
    case Kind::hard_sigmoid: return std::clamp(double(alpha_) * x + double(beta_), 0.0, 1.0);
    case Kind::hard_swish: return x * std::clamp(x / 6.0 + 0.5, 0.0, 1.0);
    case Kind::tanh: return std::tanh(x);
    case Kind::silu: return x / (1.0 + std::exp(-x));
    case Kind::gelu: return 0.5 * x * std::erfc(x * -0.7071067811865476);  // erfc: no cancellation for x << 0
    default: return x;
  }
}

}  // namespace edgekit
