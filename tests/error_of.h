// The message of the edgekit::Error that fn throws, or "" when it throws none: tests assert
// on the words of one-line errors.
#pragma once
#include <functional>
#include <string>

#include "core/error.h"

namespace edgekit::test {

inline std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace edgekit::test
