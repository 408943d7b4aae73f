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

}  // namespace edgekit
