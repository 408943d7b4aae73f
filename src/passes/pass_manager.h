// PassManager: the optimisation levels of `--opt-level`.
//
//   0  nothing
//   1  clean-up: constant folding, Identity/Dropout elimination, dead-node elimination
//   2  + algebraic rewrites: BatchNormalization folded into the Conv or Gemm before it
//   3  + fusion (default): activations fused into the producing Conv/Gemm/MatMul
//
// Passes run in order, repeated until none changes the graph (at most a few rounds).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "passes/pass.h"

namespace edgekit {

constexpr int kMaxOptLevel = 3;

struct PassReport {
  std::string pass;
  int applied = 0;  // rounds in which it changed the graph
};

class PassManager {
 public:
  explicit PassManager(int level);  // throws for a level outside 0..kMaxOptLevel
  std::vector<PassReport> run(Graph& graph);
  const std::vector<std::unique_ptr<GraphPass>>& passes() const { return passes_; }

 private:
  std::vector<std::unique_ptr<GraphPass>> passes_;
};

// Convenience: optimise a graph at a level, returning what was applied.
std::vector<PassReport> optimize_graph(Graph& graph, int level);

// Factories, one per pass file.
std::unique_ptr<GraphPass> make_constant_folding();
std::unique_ptr<GraphPass> make_eliminate_identity();
std::unique_ptr<GraphPass> make_eliminate_dead_nodes();
std::unique_ptr<GraphPass> make_fold_batch_norm();
std::unique_ptr<GraphPass> make_fuse_activation();

}  // namespace edgekit
