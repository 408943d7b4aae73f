// libFuzzer target: TFLite flatbuffer bytes -> import_tflite_bytes and tflite_quantization,
// then shape inference and Session construction on whatever imports.
#include "formats/tflite/tflite_import.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace edgekit;
  const std::string bytes = fuzz::as_bytes(data, size);
  try {
    tflite_quantization(bytes, "fuzz.tflite");
  } catch (const Error&) {
  }
  Graph g;
  try {
    g = import_tflite_bytes(bytes, "fuzz.tflite");
  } catch (const Error&) {
    return 0;
  }
  fuzz::check_later_stages(g);
  return 0;
}
