// Opening a model file by its content. The device runtime (libedgekit_rt) reads .ekm itself;
// ONNX and TFLite come through an importer that the full library registers (formats/, linked
// by edgekit_runtime), so a device build links neither protobuf nor the ONNX library.
#pragma once
#include <string>

#include "core/api.h"
#include "graph/graph.h"

namespace edgekit {

using ModelImporter = Graph (*)(const std::string& path);
// Installs the importer for non-.ekm files (the full library does this at start-up).
EDGEKIT_API void set_model_importer(ModelImporter importer);

// .ekm -> read_ekm; anything else -> the registered importer, or an Error saying that this
// runtime reads only .ekm and how to make one.
EDGEKIT_API Graph load_model_file(const std::string& path);

}  // namespace edgekit
