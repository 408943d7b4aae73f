#include "passes/pass_manager.h"

#include <set>

namespace edgekit {

PassManager::PassManager(int level) {
  EK_CHECK(level >= 0 && level <= kMaxOptLevel, "optimization level must be 0 to ", kMaxOptLevel, ", got ", level);
  if (level >= 1) {
    passes_.push_back(make_eliminate_identity());
    passes_.push_back(make_constant_folding());
  }
  if (level >= 2) passes_.push_back(make_fold_batch_norm());
  if (level >= 3) passes_.push_back(make_fuse_activation());
  if (level >= 1) passes_.push_back(make_eliminate_dead_nodes());
}

std::vector<PassReport> PassManager::run(Graph& graph) {
  std::vector<PassReport> report;
  for (const auto& p : passes_) report.push_back({p->name(), 0});
  constexpr int kMaxRounds = 4;  // each pass only shrinks the graph, so this converges fast
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
