// Opening a model file by its content. The device runtime (libedgekit_rt) reads .ekm itself;
// ONNX and TFLite come through an importer that the full library registers (formats/, linked
// by edgekit_runtime), so a device build links neither protobuf nor the ONNX library.
#pragma once
#include <string>

#include "core/api.h"
#include "ekm/ekm.h"
#include "graph/graph.h"

namespace edgekit {

class ThreadPool;

using ModelImporter = Graph (*)(const std::string& path);
// Installs the importer for non-.ekm files (the full library does this at start-up).
EDGEKIT_API void set_model_importer(ModelImporter importer);

// What a model file holds: its graph and, for an .ekm, what was compiled beside it (the
// memory plan). A Session opened from a path uses all of it.
struct ModelFile {
  EkmModel model;         // model.graph for every format; the rest only from an .ekm
  bool compiled = false;  // an .ekm, already checked by read_ekm (graph verified)
};
// open_model_file keeps an .ekm's packed weights packed (model.packed; the graph's tensors for
// them hold packed bytes): for a Session. load_model_file gives every initializer plain.

// .ekm -> read_ekm; anything else -> the registered importer, or an Error saying that this
// runtime reads only .ekm and how to make one.
// pool: the threads the hash is verified on; verify_hash false skips the check (SessionOptions).
ModelFile open_model_file(const std::string& path, ThreadPool* pool = nullptr, bool verify_hash = true);
EDGEKIT_API Graph load_model_file(const std::string& path);  // open_model_file(path).model.graph

}  // namespace edgekit
