// Helpers for pass tests: random inputs, and "the graph computes the same before and after".
// Outputs are compared with a tolerance of 1e-4 relative to the largest magnitude of each
// reference output (passes reorder float arithmetic, e.g. BatchNorm folding).
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "passes/pass_manager.h"
#include "runtime/session.h"

namespace edgekit::test {

inline Tensor random_tensor(Shape shape, uint32_t seed, float lo = 0.f, float scale = 1.f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.f, 1.f);
  Tensor t(DType::f32, std::move(shape));
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = lo + scale * d(rng);
  return t;
}

// Positive values (variances).
inline Tensor positive_tensor(Shape shape, uint32_t seed) {
  Tensor t = random_tensor(std::move(shape), seed);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = 0.5f + std::fabs(t.data<float>()[i]);
  return t;
}

// One random f32 tensor per graph input; dynamic dims (the batch) are 2.
inline std::map<std::string, Tensor> random_feeds(const Graph& g, uint32_t seed) {
  std::map<std::string, Tensor> feeds;
  for (const auto& in : g.inputs) {
    Shape s = in.dims;
    for (auto& d : s) d = d < 0 ? 2 : d;
    feeds[in.name] = random_tensor(s, seed++);
  }
  return feeds;
}

inline void expect_close(const std::vector<Tensor>& want, const std::vector<Tensor>& got, const std::string& what) {
  ASSERT_EQ(want.size(), got.size()) << what;
  for (size_t i = 0; i < want.size(); ++i) {
    ASSERT_EQ(want[i].shape(), got[i].shape()) << what << ", output " << i;
    double scale = 0, err = 0;
    for (int64_t k = 0; k < want[i].numel(); ++k) {
      scale = std::max(scale, std::fabs(want[i].as_double(k)));
      err = std::max(err, std::fabs(want[i].as_double(k) - got[i].as_double(k)));
    }
    EXPECT_LE(err, 1e-4 * std::max(scale, 1e-6)) << what << ", output " << i << " (max |ref| " << scale << ")";
  }
}

// Runs both graphs as they are (opt_level 0) on the same random inputs and compares.
inline void expect_same_results(const Graph& before, const Graph& after, const std::string& what, uint32_t seed = 1) {
  Session a(Graph(before), {.threads = 1, .opt_level = 0});
  Session b(Graph(after), {.threads = 1, .opt_level = 0});
  auto feeds = random_feeds(before, seed);
  expect_close(a.run(feeds), b.run(feeds), what);
}

// The graph at `level` computes what it computes at level 0.
inline void expect_same_outputs(const Graph& original, int level, uint32_t seed = 1) {
  Session ref(Graph(original), {.threads = 1, .opt_level = 0});
  Session opt(Graph(original), {.threads = 1, .opt_level = level});
  auto feeds = random_feeds(original, seed);
  expect_close(ref.run(feeds), opt.run(feeds), "level " + std::to_string(level));
}

// Applies one pass (from its factory) and checks the graph still verifies and keeps its
// outputs' names; returns whether the pass changed anything.
inline bool apply_pass(Graph& g, std::unique_ptr<GraphPass> pass) {
  std::vector<std::string> outputs;
  for (const auto& o : g.outputs) outputs.push_back(o.name);
  const bool changed = pass->apply(g);
  EXPECT_NO_THROW(verify(g)) << pass->name();
  for (size_t i = 0; i < outputs.size(); ++i) EXPECT_EQ(g.outputs[i].name, outputs[i]) << pass->name();
  return changed;
}

inline size_t count_op(const Graph& g, const std::string& op) {
  size_t n = 0;
  for (const auto& node : g.nodes) n += node.op_type == op;
  return n;
}

}  // namespace edgekit::test
