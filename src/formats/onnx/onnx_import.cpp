#include "formats/onnx/onnx_import.h"

namespace edgekit {
Graph import_onnx(const std::string& path) { fail(path, ": ONNX import is not implemented yet"); }
Graph import_onnx_bytes(const std::string&, const std::string&, const std::string& name) {
  fail(name, ": ONNX import is not implemented yet");
}
}  // namespace edgekit
