#include "formats/model_loader.h"

#include <cstring>
#include <fstream>

#include "ekm/ekm.h"
#include "formats/onnx/onnx_import.h"
#include "formats/tflite/tflite_import.h"

namespace edgekit {

const char* model_format_name(ModelFormat f) {
  switch (f) {
    case ModelFormat::onnx: return "onnx";
    case ModelFormat::tflite: return "tflite";
    case ModelFormat::ekm: return "ekm";
    default: return "unknown";
  }
}

namespace {
std::string read_head(const std::string& path, size_t n) {
  std::ifstream f(path, std::ios::binary);
  EK_CHECK(f.good(), path, ": cannot open model file (missing or unreadable)");
  std::string head(n, '\0');
  f.read(head.data(), std::streamsize(n));
  head.resize(size_t(f.gcount()));
  return head;
}
}  // namespace

ModelFormat detect_model_format(const std::string& path) {
  std::string head = read_head(path, 16);
  if (head.size() >= 8 && std::memcmp(head.data() + 4, "TFL3", 4) == 0) return ModelFormat::tflite;
  if (has_ekm_magic(head.data(), head.size())) return ModelFormat::ekm;
  // An ONNX ModelProto starts with a protobuf field tag; field 1 (ir_version, varint) is 0x08,
  // other fields (opset_import 8, graph 7, producer 2..) use length-delimited tags.
  if (!head.empty()) {
    unsigned char tag = static_cast<unsigned char>(head[0]);
    int field = tag >> 3, wire = tag & 7;
    if (field >= 1 && field <= 20 && (wire == 0 || wire == 2)) return ModelFormat::onnx;
  }
  return ModelFormat::unknown;
}

Graph load_model(const std::string& path) {
  switch (detect_model_format(path)) {
    case ModelFormat::onnx: return import_onnx(path);
    case ModelFormat::tflite: return import_tflite(path);
    case ModelFormat::ekm: return read_ekm(path).graph;
    default: fail(path, ": not a model edgekit can read (expected ONNX, TFLite or .ekm content)");
  }
}

}  // namespace edgekit
