// libFuzzer target: .npz (zip of .npy, stored or deflated) bytes -> parse_npz.
#include "formats/npy/npy.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace edgekit;
  try {
    parse_npz(fuzz::as_bytes(data, size), "fuzz.npz");
  } catch (const Error&) {
  }
  return 0;
}
