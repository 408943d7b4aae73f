// TFLite flatbuffer (.tflite) to Graph.
//
// Float models import onto the ONNX-style ops edgekit's kernels implement (opset 14 of the
// default domain). Graph inputs and outputs keep TFLite's NHWC layout and the static shapes
// the TFLite interpreter reports (get_input_details()); NHWC convolutions and pools are
// wrapped in Transpose nodes to the NCHW layout of ONNX's Conv, MaxPool and AveragePool, and
// their weights are converted once at import (OHWI -> OIHW; depthwise 1HW(C*M) -> (C*M)1HW
// with group = C). Transposes that would undo each other between two such ops are left out.
// Nodes are named after the TFLite tensor they produce.
//
// Quantized models with 8-bit activations (int8, uint8; weights per tensor or per channel)
// import onto edgekit's int8 ops (com.edgekit:QLinearConvNhwc, QFullyConnected, QAdd,
// QAveragePoolNhwc, QLookup; QuantizeLinear / DequantizeLinear around ops run in float), with
// TFLite's integer arithmetic; graph inputs and outputs keep their int8 dtype. int16
// activations are refused with an error naming the tensor and its operator.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "graph/graph.h"

namespace edgekit {

Graph import_tflite(const std::string& path);
Graph import_tflite_bytes(const std::string& bytes, const std::string& display_name);

// Quantization parameters of one tensor: real = scale * (q - zero_point), per tensor (one
// scale) or per channel along quantized_dimension (one scale per channel).
struct TfliteQuantization {
  std::vector<float> scale;
  std::vector<int64_t> zero_point;
  int quantized_dimension = 0;
  std::vector<float> min, max;  // the converter's recorded ranges, when present

  bool quantized() const { return !scale.empty(); }
  bool per_channel() const { return scale.size() > 1; }
};

struct TfliteTensorQuantization {
  int tensor_index = 0;
  std::string tensor_name;
  DType dtype = DType::undefined;
  TfliteQuantization params;
};

// Every tensor of the main subgraph that carries quantization parameters, in tensor order.
std::vector<TfliteTensorQuantization> tflite_quantization(const std::string& bytes, const std::string& display_name);

}  // namespace edgekit
