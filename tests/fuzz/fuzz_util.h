// What every edgekit fuzz target shares: the input as bytes, and the stages a model that
// imported must survive as well.
//
// A target returns normally when the code under test accepts the input or refuses it with an
// edgekit::Error (the one-line message importers promise). Anything else is a finding that
// libFuzzer reports and saves as crash-<sha1>: a sanitizer report (out-of-bounds access, use
// after free, leak, undefined behaviour), any other exception escaping (std::out_of_range,
// std::bad_alloc, ...), a hang past -timeout, or an allocation past -malloc_limit_mb.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "graph/graph.h"
#include "kernels/shape_inference.h"
#include "runtime/session.h"

namespace edgekit::fuzz {

inline std::string as_bytes(const uint8_t* data, size_t size) {
  return std::string(reinterpret_cast<const char*>(data), size);
}

// A loaded but hostile graph must not crash later stages either: static shape inference
// (which reports problems as warnings, never by throwing) and Session construction
// (optimisation passes, then one kernel created per node), which may refuse the graph only
// with an edgekit::Error. Nothing is run: a valid graph may legitimately take long to run.
inline void check_later_stages(const Graph& g) {
  Graph inferred = g;
  infer_shapes(inferred);
  try {
    Session session(g, SessionOptions{.threads = 1});
  } catch (const Error&) {
  }
}

}  // namespace edgekit::fuzz
