// Where C++ tests find generated fixtures and shared models; each may be overridden by the
// environment (EDGEKIT_FIXTURES, EDGEKIT_ZOO_DIR, EDGEKIT_MLPERF_DIR).
#pragma once
#include <cstdlib>
#include <filesystem>
#include <string>

namespace edgekit::test {

inline std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : fallback;
}
inline std::string fixtures_dir() { return env_or("EDGEKIT_FIXTURES", EDGEKIT_FIXTURES_DIR); }
inline std::string zoo_dir() { return env_or("EDGEKIT_ZOO_DIR", fixtures_dir() + "/zoo"); }
inline std::string mlperf_dir() {
  return env_or("EDGEKIT_MLPERF_DIR", std::string(EDGEKIT_SOURCE_DIR) + "/../shared/models/mlperf-tiny");
}
inline std::string zoo_model(const std::string& name) { return zoo_dir() + "/" + name + "/model.onnx"; }

}  // namespace edgekit::test
