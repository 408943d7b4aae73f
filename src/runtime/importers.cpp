// Part of the full edgekit_runtime, not of libedgekit_rt: lets Session open ONNX and TFLite
// files by registering formats/'s loader at start-up (linked whole, so the registration stays).
#include "formats/model_loader.h"
#include "runtime/model_file.h"

namespace edgekit {
namespace {
const bool importer_registered = [] {
  set_model_importer(&load_model);
  return true;
}();
}  // namespace
}  // namespace edgekit
