// libFuzzer target: .ekm bytes -> read_ekm_bytes, then shape inference and Session
// construction on whatever loads. The content hash is not checked: a mutated file would fail
// it at once, and the checks behind it (flatbuffer verifier, tensor extents, attribute kinds,
// graph structure) are what a hostile file with a recomputed hash reaches.
#include "ekm/ekm.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace edgekit;
  EkmModel m;
  try {
    m = read_ekm_bytes(data, size, "fuzz.ekm", nullptr, EkmReadOptions{.verify_hash = false});
  } catch (const Error&) {
    return 0;
  }
  fuzz::check_later_stages(m.graph);
  return 0;
}
