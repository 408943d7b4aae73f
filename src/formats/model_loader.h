// Loading any supported model file into a Graph, the format chosen by content.
#pragma once
#include <string>

#include "graph/graph.h"

namespace edgekit {

enum class ModelFormat { unknown, onnx, tflite, ekm };

const char* model_format_name(ModelFormat f);
// Sniffs the first bytes: "TFL3" at offset 4 -> tflite, "EKM" magic -> ekm, a parseable
// protobuf with a graph -> onnx. Throws when the file cannot be read.
ModelFormat detect_model_format(const std::string& path);

// Loads the model at `path`. Throws Error "<path>: <why>" on any problem.
Graph load_model(const std::string& path);

}  // namespace edgekit
