// Runs the official ONNX backend node tests (model.onnx + test_data_set_*/{input,output}_N.pb)
// through edgekit and compares with the expected outputs, as ONNX's backend test runner does
// (rtol 1e-3, atol 1e-7). Tests using an op edgekit has no kernel for are counted, not run.
//
// usage: onnx_node_tests NODE_DIR [--filter SUBSTRING] [--known-failures FILE] [-v]
// Exit 0 when every attempted test passes or is listed in the known-failures file.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>

#include "formats/onnx/onnx_import.h"
#include "formats/onnx/onnx_tensor.h"
#include "runtime/session.h"

namespace fs = std::filesystem;
using namespace edgekit;

namespace {

struct Outcome {
  enum Kind { passed, failed, unsupported } kind;
  std::string detail;
};

std::string compare(const Tensor& got, const Tensor& want, const std::string& name) {
  if (got.dtype() != want.dtype())
    return cat("output '", name, "': dtype ", dtype_name(got.dtype()), ", expected ", dtype_name(want.dtype()));
  if (got.shape() != want.shape())
    return cat("output '", name, "': shape ", shape_str(got.shape()), ", expected ", shape_str(want.shape()));
  for (int64_t i = 0; i < got.numel(); ++i) {
    double a = got.as_double(i), b = want.as_double(i);
    if (a == b || (std::isnan(a) && std::isnan(b))) continue;  // also equal infinities
    if (is_float(want.dtype()) ? !(std::fabs(a - b) <= 1e-7 + 1e-3 * std::fabs(b)) : a != b)
      return cat("output '", name, "': element ", i, " is ", a, ", expected ", b);
  }
  return "";
}

Outcome run_case(const fs::path& dir) {
  Graph graph;
  try {
    graph = import_onnx((dir / "model.onnx").string());
  } catch (const Error& e) {
    std::string m = e.what();
    if (m.find("not supported") != std::string::npos) return {Outcome::unsupported, m};
    return {Outcome::failed, "import: " + m};
  }
  for (const auto& n : graph.nodes)
    if (!op_supported(n.op_type, n.domain)) return {Outcome::unsupported, "op " + n.op_type};
  std::vector<ValueInfo> inputs = graph.inputs, outputs = graph.outputs;
  try {
    Session session(std::move(graph));
    std::vector<fs::path> sets;
    for (const auto& e : fs::directory_iterator(dir))
      if (e.is_directory() && e.path().filename().string().rfind("test_data_set_", 0) == 0) sets.push_back(e.path());
    std::sort(sets.begin(), sets.end());
    for (const auto& set : sets) {
      std::map<std::string, Tensor> feeds;
      for (size_t i = 0; i < inputs.size(); ++i) {
        fs::path p = set / cat("input_", i, ".pb");
        if (fs::exists(p)) feeds[inputs[i].name] = read_onnx_tensor(p.string());
      }
      // Twice: the first run with new shapes allocates and plans, the second runs in the arena.
      for (const char* pass : {"first run", "planned run"}) {
        std::vector<Tensor> got = session.run(feeds);
        for (size_t i = 0; i < outputs.size(); ++i) {
          fs::path p = set / cat("output_", i, ".pb");
          if (!fs::exists(p)) continue;
          std::string diff = compare(got[i], read_onnx_tensor(p.string()), outputs[i].name);
          if (!diff.empty()) return {Outcome::failed, cat(pass, ": ", diff)};
        }
      }
    }
  } catch (const std::exception& e) {
    return {Outcome::failed, e.what()};
  }
  return {Outcome::passed, ""};
}

std::set<std::string> read_list(const std::string& path) {
  std::set<std::string> names;
  if (path.empty()) return names;
  std::ifstream f(path);
  EK_CHECK(f.good(), path, ": cannot open known-failures file");
  for (std::string line; std::getline(f, line);) {
    line = line.substr(0, line.find('#'));
    line.erase(std::remove_if(line.begin(), line.end(), ::isspace), line.end());
    if (!line.empty()) names.insert(line);
  }
  return names;
}

}  // namespace

int main(int argc, char** argv) {
  std::string root, filter, known_path;
  bool verbose = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--filter" && i + 1 < argc) filter = argv[++i];
    else if (a == "--known-failures" && i + 1 < argc) known_path = argv[++i];
    else if (a == "-v") verbose = true;
    else root = a;
  }
  if (root.empty()) {
    std::fprintf(stderr, "usage: onnx_node_tests NODE_DIR [--filter S] [--known-failures FILE] [-v]\n");
    return 2;
  }
  if (!fs::is_directory(root)) {
    std::printf("SKIP: %s is absent; generate it with `make fixtures`\n", root.c_str());
    return 77;
  }
  std::set<std::string> known;
  try {
    known = read_list(known_path);
  } catch (const Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 2;
  }
  std::vector<fs::path> cases;
  for (const auto& e : fs::directory_iterator(root))
    if (e.is_directory() && e.path().filename().string().find(filter) != std::string::npos) cases.push_back(e.path());
  std::sort(cases.begin(), cases.end());
  int passed = 0, attempted = 0, unexpected = 0, known_failed = 0;
  for (const auto& c : cases) {
    std::string name = c.filename().string();
    Outcome o = run_case(c);
    if (o.kind == Outcome::unsupported) {
      if (verbose) std::printf("skip %s: %s\n", name.c_str(), o.detail.c_str());
      continue;
    }
    ++attempted;
    if (o.kind == Outcome::passed) {
      ++passed;
      if (verbose) std::printf("ok   %s\n", name.c_str());
      if (known.count(name)) std::printf("NOTE %s passes but is listed as a known failure\n", name.c_str());
    } else if (known.count(name)) {
      ++known_failed;
      if (verbose) std::printf("known %s: %s\n", name.c_str(), o.detail.c_str());
    } else {
      ++unexpected;
      std::printf("FAIL %s: %s\n", name.c_str(), o.detail.c_str());
    }
  }
  std::printf("onnx node tests: %d passed / %d attempted / %zu total (%d known failures, %d unexpected)\n", passed,
              attempted, cases.size(), known_failed, unexpected);
  return unexpected == 0 ? 0 : 1;
}
