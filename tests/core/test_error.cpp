// cat() and fail() format each argument as an ostream would, through one joiner.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <iomanip>
#include <limits>
#include <sstream>
#include <string>
#include <string_view>

#include "core/error.h"

using namespace edgekit;

namespace {
template <class... Args>
std::string streamed(const Args&... args) {
  std::ostringstream s;
  (s << ... << args);
  return s.str();
}
}  // namespace

TEST(Error, CatFormatsLikeAnOstream) {
  const char* ptr = "ptr";
  std::string str = "str";
  std::string_view view = "view";
  EXPECT_EQ(cat("a", ptr, str, view, 'c', true, false), streamed("a", ptr, str, view, 'c', true, false));
  EXPECT_EQ(cat(int8_t(65), uint8_t(66), int16_t(-7), uint16_t(7)), streamed(int8_t(65), uint8_t(66), int16_t(-7), uint16_t(7)));
  EXPECT_EQ(cat(std::numeric_limits<int64_t>::min(), " ", std::numeric_limits<uint64_t>::max(), " ", size_t(0)),
            streamed(std::numeric_limits<int64_t>::min(), " ", std::numeric_limits<uint64_t>::max(), " ", size_t(0)));
  for (double v : {0.0, -0.0, 1.0, 0.1, 1e-7, 123456.0, 1234567.0, -2.5e300, 1.0 / 3.0, double(INFINITY), double(NAN)})
    EXPECT_EQ(cat(v, " ", float(v)), streamed(v, " ", float(v))) << v;
  EXPECT_EQ(cat(), "");
  const char* null_text = nullptr;
  EXPECT_EQ(cat("[", null_text, "]"), "[]");
}

TEST(Error, CatTakesStreamManipulators) {
  EXPECT_EQ(cat(std::setprecision(3), 3.14159, " ", 2), "3.14 2");
}

TEST(Error, FailThrowsTheMessage) {
  try {
    fail("node '", std::string("conv"), "' has ", 3, " inputs, expected ", 2.5);
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "node 'conv' has 3 inputs, expected 2.5");
  }
  EXPECT_THROW(EK_CHECK(false, "x"), Error);
  EXPECT_NO_THROW(EK_CHECK(true, "x"));
}
