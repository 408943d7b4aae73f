#include "passes/pass_manager.h"

#include <set>

namespace edgekit {

PassManager::PassManager(int level) {
  EK_CHECK(level >= 0 && level <= kMaxOptLevel, "optimization level must be 0 to ", kMaxOptLevel, ", got ", level);
  using Factory = std::unique_ptr<GraphPass> (*)();
  static const std::pair<int, Factory> kPasses[] = {
      {1, make_eliminate_identity},   {1, make_fold_shape},          {1, make_constant_folding},
      {1, make_constant_reshape_shape}, {1, make_collapse_reshapes},
      {2, make_fuse_matmul_add},      {2, make_fold_batch_norm},     {2, make_sink_transposes},
      {2, make_merge_transposes},
      {2, make_fold_transpose_into_gemm}, {2, make_fuse_layer_norm}, {2, make_fuse_gelu},
      {3, make_fuse_residual_add},    {3, make_fuse_activation},
      {1, make_eliminate_dead_nodes},  // last: sweeps what the others left unread
  };
  for (const auto& [min_level, make] : kPasses)
    if (level >= min_level) passes_.push_back(make());
}

std::vector<PassReport> PassManager::run(Graph& graph) {
  std::vector<PassReport> report;
  for (const auto& p : passes_) report.push_back({p->name(), 0});
  constexpr int kMaxRounds = 8;  // passes only shrink or merge, so this converges in a few rounds
  for (int round = 0; round < kMaxRounds; ++round) {
    bool changed = false;
    for (size_t i = 0; i < passes_.size(); ++i) {
      auto types = passes_[i]->op_types();
      if (!types.empty()) {
        std::set<std::string> wanted(types.begin(), types.end());
        bool present = false;
        for (const auto& n : graph.nodes) present = present || wanted.count(n.op_type);
        if (!present) continue;
      }
      if (passes_[i]->apply(graph)) {
        ++report[i].applied;
        changed = true;
        verify(graph);  // a pass must leave a valid graph; fail loudly here rather than at run time
      }
    }
    if (!changed) break;
  }
  return report;
}

std::vector<PassReport> optimize_graph(Graph& graph, int level) { return PassManager(level).run(graph); }

}  // namespace edgekit
