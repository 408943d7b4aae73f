#include <sodium.h>

#include "core/error.h"
#include "ekm/ekm_header.h"

namespace edgekit::ekm {

void content_hash(const uint8_t* file, size_t size, uint8_t out[32]) {
  EK_CHECK(sodium_init() >= 0, "libsodium failed to initialise");
  crypto_hash_sha256_state state;
  crypto_hash_sha256_init(&state);
  crypto_hash_sha256_update(&state, file, offsetof(Header, sha256));
  if (size > sizeof(Header)) crypto_hash_sha256_update(&state, file + sizeof(Header), size - sizeof(Header));
  crypto_hash_sha256_final(&state, out);
}

std::string hex(const uint8_t* bytes, size_t n) {
  static const char digits[] = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    s += digits[bytes[i] >> 4];
    s += digits[bytes[i] & 15];
  }
  return s;
}

}  // namespace edgekit::ekm
