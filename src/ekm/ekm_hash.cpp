#include "ekm/ekm_header.h"
#include "ekm/sha256.h"

namespace edgekit::ekm {

void content_hash(const uint8_t* file, size_t size, uint8_t out[32]) {
  Sha256 h;
  h.update(file, offsetof(Header, sha256));
  if (size > sizeof(Header)) h.update(file + sizeof(Header), size - sizeof(Header));
  h.final(out);
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
