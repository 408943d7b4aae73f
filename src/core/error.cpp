#include "core/error.h"

#include <charconv>

namespace edgekit::detail {

int CatPiece::format_int(char* buf, long long v) {
  return int(std::to_chars(buf, buf + 32, v).ptr - buf);
}

int CatPiece::format_uint(char* buf, unsigned long long v) {
  return int(std::to_chars(buf, buf + 32, v).ptr - buf);
}

// What an ostream prints for a double by default: %g with 6 significant digits.
int CatPiece::format_double(char* buf, double v) {
  return int(std::to_chars(buf, buf + 32, v, std::chars_format::general, 6).ptr - buf);
}

std::string join(std::initializer_list<CatPiece> pieces) {
  size_t n = 0;
  for (const CatPiece& p : pieces) n += p.text().size();
  std::string s;
  s.reserve(n);
  for (const CatPiece& p : pieces) s += p.text();
  return s;
}

void throw_error(std::initializer_list<CatPiece> pieces) { throw Error(join(pieces)); }

}  // namespace edgekit::detail
