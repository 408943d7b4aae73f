// The fixed 128-byte header of an .ekm file and the content hash, shared by reader and writer
// (internal; docs/ekm-format.md is the specification).
#pragma once
#include <bit>
#include <cstddef>
#include <cstdint>
#include <string>

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
  uint64_t reserved;        // 0
  uint8_t sha256[32];       // of bytes [0, 64) then [128, file_bytes)
  uint8_t reserved_tail[32];
};
static_assert(sizeof(Header) == 128);
static_assert(offsetof(Header, sha256) == 64);

// SHA-256 of a whole file image as the header defines it (the hash field itself excluded).
void content_hash(const uint8_t* file, size_t size, uint8_t out[32]);
std::string hex(const uint8_t* bytes, size_t n);

}  // namespace edgekit::ekm
