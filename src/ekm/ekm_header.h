// The fixed 128-byte header of an .ekm file and the content hash, shared by reader and writer
// (internal; docs/ekm-format.md is the specification).
#pragma once
#include <bit>
#include <cstddef>
#include <cstdint>
#include <string>

namespace edgekit {
class ThreadPool;
}

namespace edgekit::ekm {

static_assert(std::endian::native == std::endian::little,
              ".ekm integers are little-endian and read in place; a big-endian port must byte-swap the header");

struct Header {
  char magic[8];            // "EKMODEL\0"
  uint32_t format_version;  // kEkmFormatVersion of the writer
  uint32_t header_bytes;    // 128
  uint64_t file_bytes;      // the whole file
  uint64_t program_offset;  // the flatbuffer (ekm.fbs), 8-byte aligned; 128 in version 1
  uint64_t program_bytes;
  uint64_t weights_offset;  // 64-byte aligned, after the program
  uint64_t weights_bytes;   // runs to the end of the file
  uint64_t hash_chunk_bytes;  // version 3: chunk size of the content hash (0 before)
  uint8_t sha256[32];         // content hash (content_hash below)
  uint8_t reserved_tail[32];
};
static_assert(sizeof(Header) == 128);
static_assert(offsetof(Header, sha256) == 64);

// The chunk size edgekit's writer uses (version 3), and the range a reader accepts. 64 KiB, not
// 1 MiB: the zoo's ~1 MB models then have 16 chunks for the four streams, not one (ad_autoencoder's
// load + first run 1.25 -> 0.92 ms); 32 bytes of digest a chunk is 0.05% more to hash.
inline constexpr uint64_t kHashChunkBytes = uint64_t(1) << 16;
inline constexpr uint64_t kMinHashChunkBytes = 4096, kMaxHashChunkBytes = uint64_t(1) << 30;

// The content hash of a whole file image as its header's format version defines it
// (docs/ekm-format.md): versions 1-2 one SHA-256 over the file less the hash field, version 3
// SHA-256 over header bytes [0, 64) and the SHA-256 of every hash_chunk_bytes chunk after the
// header. The header's version and chunk size must have been checked. `pool` (may be null)
// lends its threads to a version 3 hash.
void content_hash(const uint8_t* file, size_t size, ThreadPool* pool, uint8_t out[32]);
std::string hex(const uint8_t* bytes, size_t n);

}  // namespace edgekit::ekm
