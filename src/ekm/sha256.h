// SHA-256 (FIPS 180-4) for .ekm content hashes, fast where the CPU has SHA instructions.
//
//   Sha256 h;
//   h.update(bytes, n);          // any number of times
//   uint8_t digest[32];
//   h.final(digest);
//
// On x86-64 with the SHA extensions (Intel since Ice Lake / Goldmont, AMD since Zen) the
// compression runs on them (~2 GB/s a core, against ~0.25 GB/s for libsodium's portable
// code, which was most of an .ekm load); elsewhere it is libsodium's crypto_hash_sha256. Both
// give the same digest (tests/ekm/test_sha256.cpp checks them against each other).
#pragma once
#include <cstddef>
#include <cstdint>

namespace edgekit {

class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t bytes);
  void final(uint8_t digest[32]);  // the object is spent afterwards

  // The digests of `count` independent messages (message i: bytes [data[i], data[i] + bytes[i]))
  // into digests[i]. With SHA-NI four messages go through the rounds interleaved in one
  // thread: sha256rnds2 waits on its own previous result, so one stream leaves the unit idle
  // most cycles and four keep it busy (~1.8x one stream's speed when the messages are equal
  // in length, as the chunks of an .ekm content hash are). Elsewhere one after another.
  static void digest_many(const uint8_t* const data[], const size_t bytes[], size_t count, uint8_t digests[][32]);

  // "sha-ni" or "libsodium": which implementation this CPU uses.
  static const char* implementation();
  // Forces the portable implementation (tests compare the two).
  static void force_portable(bool on);

 private:
  alignas(16) uint32_t state_[8];
  uint8_t block_[64];
  size_t block_used_ = 0;
  uint64_t total_ = 0;
  bool native_ = false;
  alignas(64) unsigned char sodium_state_[128];  // crypto_hash_sha256_state when not native
};

}  // namespace edgekit
