// Graph to ONNX, so edgekit's output can be taken to any other runtime.
#pragma once
#include <string>

#include "graph/graph.h"

namespace edgekit {

// Writes `graph` as an ONNX model (opset from graph.opsets, 13 when absent).
void export_onnx(const Graph& graph, const std::string& path);
std::string export_onnx_bytes(const Graph& graph);

}  // namespace edgekit
