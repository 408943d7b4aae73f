// TFLite flatbuffer (.tflite) to Graph.
#pragma once
#include <string>

#include "graph/graph.h"

namespace edgekit {

Graph import_tflite(const std::string& path);
Graph import_tflite_bytes(const std::string& bytes, const std::string& display_name);

}  // namespace edgekit
