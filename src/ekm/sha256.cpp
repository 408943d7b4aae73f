#include "ekm/sha256.h"

#include <sodium.h>

#include <atomic>
#include <cstring>

#include "core/error.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <immintrin.h>
#define EDGEKIT_SHA_NI 1
#endif

namespace edgekit {

namespace {

static_assert(sizeof(crypto_hash_sha256_state) <= 128, "Sha256::sodium_state_ too small");

std::atomic<bool> portable_forced{false};

#ifdef EDGEKIT_SHA_NI
// FIPS 180-4 section 4.2.2: the first 32 bits of the fractional parts of the cube roots of the
// first 64 primes.
alignas(16) constexpr uint32_t kRound[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

bool cpu_has_sha() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
  const bool sha = (b >> 29) & 1;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return false;
  const bool ssse3 = (c >> 9) & 1, sse41 = (c >> 19) & 1;
  return sha && ssse3 && sse41;
}

// The SHA instructions keep the eight working variables as two vectors, (A,B,E,F) and
// (C,D,G,H), highest lane first; sha256rnds2 does two rounds, sha256msg1/msg2 the message
// schedule four words at a time.
__attribute__((target("sha,sse4.1,ssse3"))) void compress_sha_ni(uint32_t state[8], const uint8_t* data,
                                                                 size_t blocks) {
  const __m128i byte_swap = _mm_set_epi8(12, 13, 14, 15, 8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3);
  __m128i dcba = _mm_loadu_si128(reinterpret_cast<const __m128i*>(state));
  __m128i hgfe = _mm_loadu_si128(reinterpret_cast<const __m128i*>(state + 4));
  __m128i cdab = _mm_shuffle_epi32(dcba, 0xB1);
  __m128i efgh = _mm_shuffle_epi32(hgfe, 0x1B);
  __m128i abef = _mm_alignr_epi8(cdab, efgh, 8);
  __m128i cdgh = _mm_blend_epi16(efgh, cdab, 0xF0);
  for (; blocks; --blocks, data += 64) {
    const __m128i abef_in = abef, cdgh_in = cdgh;
    __m128i w[4];  // w[i % 4] holds message words 4i .. 4i+3, lowest lane first
    for (int i = 0; i < 16; ++i) {
      __m128i& wi = w[i % 4];
      if (i < 4) {
        wi = _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(data + 16 * i)), byte_swap);
      } else {
        // W[t] = s1(W[t-2]) + W[t-7] + s0(W[t-15]) + W[t-16], four at once.
        const __m128i& w1 = w[(i - 1) % 4];
        const __m128i& w2 = w[(i - 2) % 4];
        __m128i s = _mm_sha256msg1_epu32(wi, w[(i - 3) % 4]);  // wi still holds words 4(i-4)..
        s = _mm_add_epi32(s, _mm_alignr_epi8(w1, w2, 4));
        wi = _mm_sha256msg2_epu32(s, w1);
      }
      __m128i wk = _mm_add_epi32(wi, _mm_load_si128(reinterpret_cast<const __m128i*>(kRound + 4 * i)));
      cdgh = _mm_sha256rnds2_epu32(cdgh, abef, wk);  // rounds 4i, 4i+1: result is the new ABEF
      wk = _mm_shuffle_epi32(wk, 0x0E);
      abef = _mm_sha256rnds2_epu32(abef, cdgh, wk);  // rounds 4i+2, 4i+3
    }
    abef = _mm_add_epi32(abef, abef_in);
    cdgh = _mm_add_epi32(cdgh, cdgh_in);
  }
  __m128i feba = _mm_shuffle_epi32(abef, 0x1B);
  __m128i dchg = _mm_shuffle_epi32(cdgh, 0xB1);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(state), _mm_blend_epi16(feba, dchg, 0xF0));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(state + 4), _mm_alignr_epi8(dchg, feba, 8));
}

bool use_native() {
  static const bool has = cpu_has_sha();
  return has && !portable_forced.load();
}
#else
bool use_native() { return false; }
void compress_sha_ni(uint32_t*, const uint8_t*, size_t) {}
#endif

crypto_hash_sha256_state* sodium(unsigned char* storage) {
  return reinterpret_cast<crypto_hash_sha256_state*>(storage);
}

}  // namespace

Sha256::Sha256() : native_(use_native()) {
  if (native_) {
    const uint32_t initial[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    std::memcpy(state_, initial, sizeof state_);
  } else {
    EK_CHECK(sodium_init() >= 0, "libsodium failed to initialise");
    crypto_hash_sha256_init(sodium(sodium_state_));
  }
}

void Sha256::update(const void* data, size_t bytes) {
  if (!native_) {
    crypto_hash_sha256_update(sodium(sodium_state_), static_cast<const unsigned char*>(data), bytes);
    return;
  }
  const auto* p = static_cast<const uint8_t*>(data);
  total_ += bytes;
  if (bytes == 0) return;
  if (block_used_) {
    size_t take = std::min(bytes, 64 - block_used_);
    std::memcpy(block_ + block_used_, p, take);
    block_used_ += take, p += take, bytes -= take;
    if (block_used_ < 64) return;
    compress_sha_ni(state_, block_, 1);
    block_used_ = 0;
  }
  if (bytes >= 64) {
    compress_sha_ni(state_, p, bytes / 64);
    p += bytes / 64 * 64;
    bytes %= 64;
  }
  if (bytes) std::memcpy(block_, p, bytes);  // p may be null for an empty update
  block_used_ = bytes;
}

void Sha256::final(uint8_t digest[32]) {
  if (!native_) {
    crypto_hash_sha256_final(sodium(sodium_state_), digest);
    return;
  }
  // Padding: a 1 bit, zeros, then the message length in bits, big-endian, ending a block.
  const uint64_t bits = total_ * 8;
  uint8_t pad[72] = {0x80};
  size_t pad_bytes = (block_used_ < 56 ? 56 : 120) - block_used_;
  for (int i = 0; i < 8; ++i) pad[pad_bytes + size_t(i)] = uint8_t(bits >> (56 - 8 * i));
  update(pad, pad_bytes + 8);
  for (int i = 0; i < 8; ++i)
    for (int j = 0; j < 4; ++j) digest[4 * i + j] = uint8_t(state_[i] >> (24 - 8 * j));
}

const char* Sha256::implementation() { return use_native() ? "sha-ni" : "libsodium"; }

void Sha256::force_portable(bool on) { portable_forced.store(on); }

}  // namespace edgekit
