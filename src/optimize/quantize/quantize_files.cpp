// The file-level steps `edgekit quantize` and Python's edgekit.quantize share: where a
// folder of images gets its preprocessing, and how the quantized graph is written.
#include <filesystem>

#include "ekm/ekm.h"
#include "formats/image/image.h"
#include "formats/model_loader.h"
#include "formats/onnx/onnx_export.h"
#include "optimize/quantize/quantize.h"
#include "runtime/compile.h"

namespace edgekit {

bool is_image_folder(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_directory(path, ec)) return false;
  for (const auto& e : std::filesystem::directory_iterator(path, ec))
    if (is_image_file(e.path().string())) return true;
  return false;
}

EkmPreprocessing stored_preprocessing(const std::string& model_path) {
  if (detect_model_format(model_path) != ModelFormat::ekm) return {};
  return read_ekm(model_path).metadata.preprocessing;
}

void write_quantized(Graph q, const std::string& output, const std::string& format, const std::string& source,
                     const std::string& producer) {
  EK_CHECK(format == "onnx" || format == "ekm", "format ", format, ": expected onnx or ekm");
  if (format == "onnx") return export_onnx(q, output);
  EkmModel m = compile_graph(std::move(q), 3, source);  // the int8 kernels chosen and the plan made now
  m.producer = producer;
  write_ekm(m, output);
}

}  // namespace edgekit
