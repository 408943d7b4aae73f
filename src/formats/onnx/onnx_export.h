// Graph to ONNX, so edgekit's output can be taken to any other runtime.
#pragma once
#include <string>

#include "graph/graph.h"

namespace edgekit {

// Writes `graph` as an ONNX model: opsets from graph.opsets, completed from the nodes' domains
// and declared opsets (13 for the default domain when neither says); symbolic dims as dim_param;
// initializers as raw_data; producer "edgekit". Throws Error when a dtype has no ONNX equivalent,
// when the file cannot be written, or when the model would reach protobuf's 2 GB message limit
// (writing tensors as external data is not supported).
void export_onnx(const Graph& graph, const std::string& path);
std::string export_onnx_bytes(const Graph& graph);

// Runs ONNX's checker on a serialized model, with full_check semantics (strict shape and type
// inference too). Throws Error "<display_name>: ONNX checker: <why>".
void check_onnx_model(const std::string& bytes, const std::string& display_name);

}  // namespace edgekit
