// libFuzzer target: .npy bytes -> parse_npy. What parses must also survive a round trip:
// serialize_npy then parse_npy give back the same dtype, shape and bytes.
#include <cstdlib>
#include <cstring>

#include "formats/npy/npy.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace edgekit;
  Tensor t;
  try {
    t = parse_npy(fuzz::as_bytes(data, size), "fuzz.npy");
  } catch (const Error&) {
    return 0;
  }
  Tensor back = parse_npy(serialize_npy(t), "round trip");
  if (back.dtype() != t.dtype() || back.shape() != t.shape() || back.nbytes() != t.nbytes() ||
      (t.nbytes() && std::memcmp(back.raw(), t.raw(), t.nbytes()) != 0))
    std::abort();
  return 0;
}
