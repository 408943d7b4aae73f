// com.edgekit:QLookup's byte-table lookup (kernels/qlookup_int8.h) against the scalar loop
// y[i] = table[x[i]], on every SIMD target this CPU runs (including AVX3_DL, which only the
// lookup's file compiles): every byte value, lengths 0..200 and unaligned starts, tables that
// are random, constant and the identity, and a tensor large enough to be split over threads.
#include <gtest/gtest.h>

#include <numeric>
#include <random>
#include <vector>

#include "core/thread_pool.h"
#include "hwy/targets.h"
#include "kernels/qlookup_int8.h"

namespace edgekit {
namespace {

std::vector<uint8_t> scalar_lookup(const ByteTable& t, const std::vector<uint8_t>& x) {
  std::vector<uint8_t> y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = t[x[i]];
  return y;
}

std::vector<ByteTable> tables(std::mt19937& rng) {
  ByteTable random{}, constant{}, identity{};
  for (auto& v : random) v = uint8_t(rng());
  constant.fill(0xA5);
  std::iota(identity.begin(), identity.end(), uint8_t(0));
  return {random, constant, identity};
}

// Each target this CPU supports, one at a time (the lowest bit of the remaining set).
std::vector<int64_t> supported_targets() {
  std::vector<int64_t> out;
  for (int64_t t = hwy::SupportedTargets(); t != 0; t &= t - 1) out.push_back(t & -t);
  return out;
}

TEST(QLookup, EveryTargetMatchesTheScalarLoop) {
  std::mt19937 rng(5);
  std::vector<uint8_t> all(256 * 3 + 17);
  for (size_t i = 0; i < all.size(); ++i) all[i] = uint8_t(i * 7 + 3);  // every byte in every lane
  for (int64_t target : supported_targets()) {
    hwy::SetSupportedTargetsForTest(target);
    SCOPED_TRACE(std::string("target ") + hwy::TargetName(target) + " (" + lookup_bytes_isa() + ")");
    for (const ByteTable& t : tables(rng)) {
      for (size_t offset : {0, 1, 3}) {
        const std::vector<uint8_t> x(all.begin() + long(offset), all.end());
        std::vector<uint8_t> y(x.size(), 0);
        lookup_bytes(t, x.data(), y.data(), int64_t(x.size()), nullptr);
        ASSERT_EQ(y, scalar_lookup(t, x)) << "offset " << offset;
      }
      for (int64_t n = 0; n <= 200; ++n) {
        std::vector<uint8_t> x(size_t(n) + 2);
        for (auto& v : x) v = uint8_t(rng());
        std::vector<uint8_t> y(x.size(), 0x5A);
        lookup_bytes(t, x.data() + 1, y.data() + 1, n, nullptr);  // unaligned, guards either side
        std::vector<uint8_t> want(x.size(), 0x5A);
        for (int64_t i = 1; i <= n; ++i) want[size_t(i)] = t[x[size_t(i)]];
        ASSERT_EQ(y, want) << "n " << n;
      }
    }
  }
  hwy::SetSupportedTargetsForTest(0);  // back to what the CPU supports
}

TEST(QLookup, LargeTensorsSplitOverThreadsMatch) {
  std::mt19937 rng(6);
  ThreadPool pool(2);
  std::vector<uint8_t> x(size_t(1) << 19 | 37);
  for (auto& v : x) v = uint8_t(rng());
  for (const ByteTable& t : tables(rng)) {
    std::vector<uint8_t> y(x.size(), 0);
    lookup_bytes(t, x.data(), y.data(), int64_t(x.size()), &pool);
    ASSERT_EQ(y, scalar_lookup(t, x));
  }
}

}  // namespace
}  // namespace edgekit
