// ONNX (opsets 11..18) to Graph, through Debian's libonnx protobuf classes.
#pragma once
#include <string>

#include "graph/graph.h"

namespace edgekit {

// Reads an ONNX model file, including tensors stored as external data next to it.
// Runs ONNX shape inference so value_info holds what it could infer.
Graph import_onnx(const std::string& path);
// Same, from bytes in memory; external data is resolved against `base_dir`.
Graph import_onnx_bytes(const std::string& bytes, const std::string& base_dir, const std::string& display_name);

}  // namespace edgekit
