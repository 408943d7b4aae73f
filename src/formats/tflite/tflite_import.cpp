#include "formats/tflite/tflite_import.h"

namespace edgekit {
Graph import_tflite(const std::string& path) { fail(path, ": TFLite import is not implemented yet"); }
Graph import_tflite_bytes(const std::string&, const std::string& name) {
  fail(name, ": TFLite import is not implemented yet");
}
}  // namespace edgekit
