// The SHA instruction path against libsodium's portable SHA-256, and FIPS 180-4's examples.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "ekm/ekm_header.h"
#include "ekm/sha256.h"

namespace edgekit {

namespace {

std::string digest_of(const std::vector<uint8_t>& data, bool portable, size_t piece = 0) {
  Sha256::force_portable(portable);
  Sha256 h;
  if (piece == 0) {
    h.update(data.data(), data.size());
  } else {
    for (size_t i = 0; i < data.size(); i += piece) h.update(data.data() + i, std::min(piece, data.size() - i));
  }
  uint8_t d[32];
  h.final(d);
  Sha256::force_portable(false);
  return ekm::hex(d, 32);
}

std::vector<uint8_t> bytes_of(const std::string& s) { return {s.begin(), s.end()}; }

}  // namespace

TEST(Sha256, KnownDigests) {
  for (bool portable : {false, true}) {
    EXPECT_EQ(digest_of({}, portable), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(digest_of(bytes_of("abc"), portable),
              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(digest_of(bytes_of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"), portable),
              "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  }
}

TEST(Sha256, NativeMatchesPortableOnEveryLengthAndSplit) {
  std::printf("SHA-256 implementation on this CPU: %s\n", Sha256::implementation());
  std::mt19937 rng(7);
  std::vector<uint8_t> data(1 << 20);
  for (auto& b : data) b = uint8_t(rng());
  for (size_t n = 0; n <= 300; ++n) {
    std::vector<uint8_t> part(data.begin(), data.begin() + long(n));
    ASSERT_EQ(digest_of(part, false), digest_of(part, true)) << n << " bytes";
  }
  std::string whole = digest_of(data, true);
  EXPECT_EQ(digest_of(data, false), whole);
  for (size_t piece : {1, 7, 63, 64, 65, 1000, 4096})
    EXPECT_EQ(digest_of(data, false, piece), whole) << "pieces of " << piece;
}

TEST(Sha256, DigestManyMatchesOneAtATime) {
  std::mt19937 rng(11);
  std::vector<uint8_t> data(1 << 16);
  for (auto& b : data) b = uint8_t(rng());
  // Equal lengths (as .ekm chunks), a shorter last one, and lengths all different (around
  // the one- and two-block padding edges), in groups of 1..9 (a remainder after each 4).
  std::vector<std::vector<size_t>> cases;
  for (size_t count = 1; count <= 9; ++count) {
    cases.push_back(std::vector<size_t>(count, 4096));
    std::vector<size_t> tail(count, 4096);
    tail.back() = 1000;
    cases.push_back(tail);
    std::vector<size_t> mixed;
    for (size_t i = 0; i < count; ++i) mixed.push_back(size_t(rng() % 300) + (i % 2 ? 55 : 0));
    cases.push_back(mixed);
  }
  cases.push_back({0, 55, 56, 63, 64, 119, 120, 128});
  for (const auto& lengths : cases) {
    std::vector<const uint8_t*> starts;
    size_t at = 0;
    for (size_t n : lengths) starts.push_back(data.data() + (at += 97) % 1000), at += n;  // odd offsets
    for (bool portable : {false, true}) {
      Sha256::force_portable(portable);
      std::vector<uint8_t> many(32 * lengths.size());
      Sha256::digest_many(starts.data(), lengths.data(), lengths.size(), reinterpret_cast<uint8_t(*)[32]>(many.data()));
      Sha256::force_portable(false);
      for (size_t i = 0; i < lengths.size(); ++i) {
        std::vector<uint8_t> one(starts[i], starts[i] + lengths[i]);
        EXPECT_EQ(ekm::hex(many.data() + 32 * i, 32), digest_of(one, true))
            << "message " << i << " of " << lengths.size() << ", " << lengths[i] << " bytes, portable " << portable;
      }
    }
  }
  const std::string abc = "abc";
  const uint8_t* four[4] = {reinterpret_cast<const uint8_t*>(abc.data()), nullptr,
                            reinterpret_cast<const uint8_t*>(abc.data()), nullptr};
  const size_t lengths[4] = {3, 0, 3, 0};
  uint8_t d[4][32];
  Sha256::digest_many(four, lengths, 4, d);
  EXPECT_EQ(ekm::hex(d[0], 32), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(ekm::hex(d[1], 32), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(ekm::hex(d[2], 32), ekm::hex(d[0], 32));
  EXPECT_EQ(ekm::hex(d[3], 32), ekm::hex(d[1], 32));
}

}  // namespace edgekit
