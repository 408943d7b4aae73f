// What `edgekit inspect` says about a model's quantization and weight storage.
//
// Quantized tensors are found through the ops that carry quantization parameters as inputs:
// QuantizeLinear (its output) and DequantizeLinear (its input) in QDQ models, ONNX's
// QLinearConv / QLinearMatMul, and edgekit's int8 ops that TFLite int8 models import to
// (com.edgekit QLinearConvNhwc, QFullyConnected, QAdd, QMul, QLookup, Q(Global)AveragePoolNhwc).
// Each tensor counts once, however many ops read its parameters. A tensor stored as an
// initializer is a weight (int8/uint8) or a bias (int32); any other is an activation.
// Parameters that are not constants (DynamicQuantizeLinear's, computed at run time) are counted
// apart and not in the scale and zero-point ranges.
#pragma once
#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "graph/graph.h"

namespace edgekit::cli {

struct QuantParamStats {
  int tensors = 0, per_tensor = 0, per_channel = 0;
  int64_t channels = 0;  // scale entries of the per-channel tensors
  double scale_min = 0, scale_max = 0;
  int64_t zero_point_min = 0, zero_point_max = 0;
  std::set<std::string> dtypes;  // of the quantized values ("i8", "u8", "i32")
};

struct QuantSummary {
  QuantParamStats activations, weights, biases;
  int runtime_quantized = 0;  // DynamicQuantizeLinear outputs and other non-constant parameters
  int total() const { return activations.tensors + weights.tensors + biases.tensors + runtime_quantized; }
};

QuantSummary summarize_quantization(const Graph& graph);

struct DTypeShare {
  int tensors = 0;
  int64_t elements = 0;
  size_t bytes = 0;
};
// Initializers grouped by dtype.
std::map<DType, DTypeShare> initializers_by_dtype(const Graph& graph);

}  // namespace edgekit::cli
