#include <algorithm>
#include <cstring>
#include <vector>

#include "core/thread_pool.h"
#include "ekm/ekm_header.h"
#include "ekm/sha256.h"

namespace edgekit::ekm {

namespace {

// Versions 1 and 2: one SHA-256 of bytes [0, 64) then [128, size).
void whole_content_hash(const uint8_t* file, size_t size, uint8_t out[32]) {
  Sha256 h;
  h.update(file, offsetof(Header, sha256));
  if (size > sizeof(Header)) h.update(file + sizeof(Header), size - sizeof(Header));
  h.final(out);
}

// Version 3: the bytes after the header in chunks of `chunk` bytes (the last may be shorter),
// each hashed on its own; the content hash is SHA-256 of header bytes [0, 64) followed by the
// chunk digests in file order. Chunks go four at a time through Sha256::digest_many, and over
// the pool's threads when it has more than one.
void chunked_content_hash(const uint8_t* file, size_t size, uint64_t chunk, ThreadPool* pool, uint8_t out[32]) {
  const size_t body = size > sizeof(Header) ? size - sizeof(Header) : 0;
  const size_t chunks = size_t((body + chunk - 1) / chunk);
  std::vector<uint8_t> digests(chunks * 32);
  auto digest_range = [&](int64_t begin, int64_t end) {
    constexpr size_t kGroup = 16;  // digest_many's inputs built a few at a time, on the stack
    for (size_t first = size_t(begin); first < size_t(end); first += kGroup) {
      const size_t n = std::min(kGroup, size_t(end) - first);
      const uint8_t* data[kGroup];
      size_t bytes[kGroup];
      for (size_t i = 0; i < n; ++i) {
        const size_t offset = (first + i) * chunk;
        data[i] = file + sizeof(Header) + offset;
        bytes[i] = std::min<size_t>(chunk, body - offset);
      }
      Sha256::digest_many(data, bytes, n, reinterpret_cast<uint8_t(*)[32]>(digests.data() + 32 * first));
    }
  };
  if (pool && pool->size() > 1 && chunks >= 8)
    pool->parallel_for(int64_t(chunks), digest_range, /*min_chunk=*/4);
  else
    digest_range(0, int64_t(chunks));
  Sha256 h;
  h.update(file, offsetof(Header, sha256));
  h.update(digests.data(), digests.size());
  h.final(out);
}

}  // namespace

void content_hash(const uint8_t* file, size_t size, ThreadPool* pool, uint8_t out[32]) {
  Header h;
  std::memcpy(&h, file, sizeof h);
  if (h.format_version < 3) return whole_content_hash(file, size, out);
  chunked_content_hash(file, size, h.hash_chunk_bytes, pool, out);
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
