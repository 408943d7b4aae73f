#include "ekm/sha256.h"

#include <sodium.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
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
__attribute__((target("sha,sse4.1,ssse3"))) inline void state_to_lanes(const uint32_t state[8], __m128i& abef,
                                                                      __m128i& cdgh) {
  __m128i dcba = _mm_loadu_si128(reinterpret_cast<const __m128i*>(state));
  __m128i hgfe = _mm_loadu_si128(reinterpret_cast<const __m128i*>(state + 4));
  __m128i cdab = _mm_shuffle_epi32(dcba, 0xB1);
  __m128i efgh = _mm_shuffle_epi32(hgfe, 0x1B);
  abef = _mm_alignr_epi8(cdab, efgh, 8);
  cdgh = _mm_blend_epi16(efgh, cdab, 0xF0);
}

__attribute__((target("sha,sse4.1,ssse3"))) inline void lanes_to_state(__m128i abef, __m128i cdgh, uint32_t state[8]) {
  __m128i feba = _mm_shuffle_epi32(abef, 0x1B);
  __m128i dchg = _mm_shuffle_epi32(cdgh, 0xB1);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(state), _mm_blend_epi16(feba, dchg, 0xF0));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(state + 4), _mm_alignr_epi8(dchg, feba, 8));
}

// `blocks` 64-byte blocks of each of N independent streams, their rounds interleaved so that
// one stream's sha256rnds2 runs while another's result is still in flight.
template <int N>
__attribute__((target("sha,sse4.1,ssse3"))) void compress_interleaved(uint32_t* const state[N],
                                                                      const uint8_t* const data_in[N], size_t blocks) {
  const __m128i byte_swap = _mm_set_epi8(12, 13, 14, 15, 8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3);
  __m128i abef[N], cdgh[N];
  const uint8_t* data[N];
  for (int s = 0; s < N; ++s) state_to_lanes(state[s], abef[s], cdgh[s]), data[s] = data_in[s];
  for (; blocks; --blocks) {
    __m128i abef_in[N], cdgh_in[N];
    __m128i w[N][4];  // w[s][i % 4] holds stream s's message words 4i .. 4i+3, lowest lane first
    for (int s = 0; s < N; ++s) abef_in[s] = abef[s], cdgh_in[s] = cdgh[s];
#pragma GCC unroll 16
    for (int i = 0; i < 16; ++i) {
      const __m128i k = _mm_load_si128(reinterpret_cast<const __m128i*>(kRound + 4 * i));
#pragma GCC unroll 4
      for (int s = 0; s < N; ++s) {
        __m128i& wi = w[s][i % 4];
        if (i < 4) {
          wi = _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(data[s] + 16 * i)), byte_swap);
        } else {
          // W[t] = s1(W[t-2]) + W[t-7] + s0(W[t-15]) + W[t-16], four at once.
          const __m128i& w1 = w[s][(i - 1) % 4];
          const __m128i& w2 = w[s][(i - 2) % 4];
          __m128i m = _mm_sha256msg1_epu32(wi, w[s][(i - 3) % 4]);  // wi still holds words 4(i-4)..
          m = _mm_add_epi32(m, _mm_alignr_epi8(w1, w2, 4));
          wi = _mm_sha256msg2_epu32(m, w1);
        }
        __m128i wk = _mm_add_epi32(wi, k);
        cdgh[s] = _mm_sha256rnds2_epu32(cdgh[s], abef[s], wk);  // rounds 4i, 4i+1: result is the new ABEF
        wk = _mm_shuffle_epi32(wk, 0x0E);
        abef[s] = _mm_sha256rnds2_epu32(abef[s], cdgh[s], wk);  // rounds 4i+2, 4i+3
      }
    }
    for (int s = 0; s < N; ++s) {
      abef[s] = _mm_add_epi32(abef[s], abef_in[s]);
      cdgh[s] = _mm_add_epi32(cdgh[s], cdgh_in[s]);
      data[s] += 64;
    }
  }
  for (int s = 0; s < N; ++s) lanes_to_state(abef[s], cdgh[s], state[s]);
}

void compress_sha_ni(uint32_t state[8], const uint8_t* data, size_t blocks) {
  compress_interleaved<1>(&state, &data, blocks);
}

bool use_native() {
  static const bool has = cpu_has_sha();
  return has && !portable_forced.load();
}
#else
bool use_native() { return false; }
void compress_sha_ni(uint32_t*, const uint8_t*, size_t) {}
template <int N>
void compress_interleaved(uint32_t* const*, const uint8_t* const*, size_t) {}
#endif

constexpr uint32_t kInitialState[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                       0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

// The last block or two of a message: its final `rest` bytes (< 64), a 1 bit, zeros, then the
// message length in bits, big-endian, ending a block. Returns how many blocks.
size_t padded_tail(const uint8_t* rest, size_t rest_bytes, uint64_t total_bytes, uint8_t out[128]) {
  std::memset(out, 0, 128);
  if (rest_bytes) std::memcpy(out, rest, rest_bytes);
  out[rest_bytes] = 0x80;
  const size_t blocks = rest_bytes < 56 ? 1 : 2;
  const uint64_t bits = total_bytes * 8;
  for (int i = 0; i < 8; ++i) out[64 * blocks - 8 + size_t(i)] = uint8_t(bits >> (56 - 8 * i));
  return blocks;
}

void state_to_digest(const uint32_t state[8], uint8_t digest[32]) {
  for (int i = 0; i < 8; ++i)
    for (int j = 0; j < 4; ++j) digest[4 * i + j] = uint8_t(state[i] >> (24 - 8 * j));
}

// Up to four messages at once: the blocks all of them have run interleaved, the rest of each
// (the longer ones' extra blocks, every one's padding) one stream at a time.
void digest_group_sha_ni(const uint8_t* const data[], const size_t bytes[], size_t n, uint8_t digests[][32]) {
  uint32_t states[4][8];
  uint32_t* state[4] = {states[0], states[1], states[2], states[3]};
  size_t common = SIZE_MAX;
  for (size_t s = 0; s < n; ++s) {
    std::memcpy(states[s], kInitialState, sizeof kInitialState);
    common = std::min(common, bytes[s] / 64);
  }
  if (n == 4) {
    compress_interleaved<4>(state, data, common);
  } else {
    const uint8_t* const pair[2] = {data[0], n >= 2 ? data[1] : nullptr};
    if (n >= 2) compress_interleaved<2>(state, pair, common);
    else compress_sha_ni(state[0], data[0], common);
    if (n == 3) compress_sha_ni(state[2], data[2], common);
  }
  for (size_t s = 0; s < n; ++s) {
    const size_t blocks = bytes[s] / 64;
    compress_sha_ni(state[s], data[s] + 64 * common, blocks - common);
    alignas(16) uint8_t tail[128];
    const size_t tail_blocks = padded_tail(data[s] + 64 * blocks, bytes[s] % 64, bytes[s], tail);
    compress_sha_ni(state[s], tail, tail_blocks);
    state_to_digest(state[s], digests[s]);
  }
}

crypto_hash_sha256_state* sodium(unsigned char* storage) {
  return reinterpret_cast<crypto_hash_sha256_state*>(storage);
}

}  // namespace

Sha256::Sha256() : native_(use_native()) {
  if (native_) {
    std::memcpy(state_, kInitialState, sizeof state_);
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
  alignas(16) uint8_t tail[128];
  compress_sha_ni(state_, tail, padded_tail(block_, block_used_, total_, tail));
  state_to_digest(state_, digest);
}

void Sha256::digest_many(const uint8_t* const data[], const size_t bytes[], size_t count, uint8_t digests[][32]) {
  if (!use_native()) {
    EK_CHECK(sodium_init() >= 0, "libsodium failed to initialise");
    for (size_t i = 0; i < count; ++i) crypto_hash_sha256(digests[i], data[i], bytes[i]);
    return;
  }
  for (size_t first = 0; first < count; first += 4)
    digest_group_sha_ni(data + first, bytes + first, std::min<size_t>(4, count - first), digests + first);
}

const char* Sha256::implementation() { return use_native() ? "sha-ni" : "libsodium"; }

void Sha256::force_portable(bool on) { portable_forced.store(on); }

}  // namespace edgekit
