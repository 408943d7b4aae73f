// libFuzzer target: ONNX model bytes -> import_onnx_bytes, then shape inference and Session
// construction on whatever imports. External data is refused (no base directory), so the
// target never opens a file.
#include "formats/onnx/onnx_import.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace edgekit;
  Graph g;
  try {
    g = import_onnx_bytes(fuzz::as_bytes(data, size), "", "fuzz.onnx");
  } catch (const Error&) {
    return 0;
  }
  fuzz::check_later_stages(g);
  return 0;
}
