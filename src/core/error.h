// Errors: one exception type whose message is a single line saying what, where and why.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace edgekit {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// cat("node '", name, "': expected ", 4, " inputs") -> one string.
template <class... Args>
std::string cat(const Args&... args) {
  std::ostringstream s;
  (s << ... << args);
  return s.str();
}

template <class... Args>
[[noreturn]] void fail(const Args&... args) {
  throw Error(cat(args...));
}

}  // namespace edgekit

// EK_CHECK(cond, "what", value, "why") throws edgekit::Error with the concatenated message.
#define EK_CHECK(cond, ...)                    \
  do {                                         \
    if (!(cond)) ::edgekit::fail(__VA_ARGS__); \
  } while (0)
