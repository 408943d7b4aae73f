#pragma once
#include <initializer_list>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>

#include "core/api.h"

namespace edgekit {

class EDGEKIT_API Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {

// One argument of cat()/fail(), as text: strings are viewed in place, numbers formatted into
// the piece as an ostream would (chars as characters, bool as 1/0, floating point as %g).
// Every call hands an initializer_list of pieces to one out-of-line joiner, so cat and fail
// are not compiled once per combination of argument types (string literals of each length
// are distinct types: that was ~300 instances and ~0.4 MB of the device runtime).
class EDGEKIT_API CatPiece {
 public:
  template <class T>
  CatPiece(const T& v) {  // NOLINT: implicit by design
    using U = std::remove_cv_t<T>;
    if constexpr (std::is_same_v<U, char*> || std::is_same_v<U, const char*>) {
      view_ = v ? std::string_view(v) : std::string_view();
    } else if constexpr (std::is_convertible_v<const T&, std::string_view>) {
      view_ = v;
    } else if constexpr (std::is_same_v<U, bool>) {
      view_ = v ? "1" : "0";
    } else if constexpr (std::is_same_v<U, char> || std::is_same_v<U, signed char> ||
                         std::is_same_v<U, unsigned char>) {
      buf_[0] = char(v);
      len_ = 1;
    } else if constexpr (std::is_integral_v<U> && std::is_signed_v<U>) {
      len_ = format_int(buf_, static_cast<long long>(v));
    } else if constexpr (std::is_integral_v<U>) {
      len_ = format_uint(buf_, static_cast<unsigned long long>(v));
    } else if constexpr (std::is_floating_point_v<U>) {
      len_ = format_double(buf_, static_cast<double>(v));
    } else {
      static_assert(sizeof(T) == 0, "CatPiece takes strings, characters, booleans and numbers");
    }
  }
  CatPiece(const CatPiece&) = delete;
  CatPiece& operator=(const CatPiece&) = delete;

  template <class T>
  static constexpr bool accepts = std::is_convertible_v<const T&, std::string_view> || std::is_arithmetic_v<T> ||
                                  std::is_same_v<std::remove_cv_t<T>, char*>;

  std::string_view text() const { return len_ < 0 ? view_ : std::string_view(buf_, size_t(len_)); }

 private:
  static int format_int(char* buf, long long v);
  static int format_uint(char* buf, unsigned long long v);
  static int format_double(char* buf, double v);

  std::string_view view_;
  int len_ = -1;  // >= 0: the text is buf_[0, len_)
  char buf_[32];
};

EDGEKIT_API std::string join(std::initializer_list<CatPiece> pieces);
[[noreturn]] EDGEKIT_API void throw_error(std::initializer_list<CatPiece> pieces);

}  // namespace detail

// The arguments' text concatenated: cat("node '", name, "' has ", n, " inputs"). Anything
// else an ostream takes (std::setprecision, ...) sends the whole call through an ostringstream.
template <class... Args>
std::string cat(const Args&... args) {
  if constexpr ((detail::CatPiece::accepts<Args> && ...)) {
    return detail::join({detail::CatPiece(args)...});
  } else {
    std::ostringstream s;
    (s << ... << args);
    return s.str();
  }
}

// Throws edgekit::Error with cat(args...) as its message.
template <class... Args>
[[noreturn]] void fail(const Args&... args) {
  if constexpr ((detail::CatPiece::accepts<Args> && ...)) {
    detail::throw_error({detail::CatPiece(args)...});
  } else {
    throw Error(cat(args...));
  }
}

}  // namespace edgekit

#define EK_CHECK(cond, ...)                    \
  do {                                         \
    if (!(cond)) ::edgekit::fail(__VA_ARGS__); \
  } while (0)
