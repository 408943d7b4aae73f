// The vector path of com.edgekit:QLookup (simd/qlookup_int8.cpp): y[i] = table[x[i]] for a
// 256-entry byte table, the same bytes as the scalar loop on every target.
//   AVX-512 VBMI (Highway's AVX3_DL target): the table in four 64-byte registers, two
//     permutex2var_epi8 (vpermi2b, a 128-entry lookup on the low 7 bits) and a blend by the
//     top bit, 64 bytes at a time.
//   other vector targets (AVX-512, AVX2, NEON): sixteen 16-entry lookups (TableLookupBytesOr0),
//     one per high nibble, their tables XOR-ed with the next one's so that the lookups whose
//     index falls below their range cancel (see the .cpp).
//   the portable 128-bit emulation and tails: the scalar loop.
// Large tensors are split over the pool (null: one thread).
#pragma once
#include <array>
#include <cstdint>

namespace edgekit {

class ThreadPool;

using ByteTable = std::array<uint8_t, 256>;

void lookup_bytes(const ByteTable& table, const uint8_t* x, uint8_t* y, int64_t n, ThreadPool* pool);

// The instruction set lookup_bytes uses on this CPU (Highway's target name), for benchmarks.
const char* lookup_bytes_isa();

}  // namespace edgekit
