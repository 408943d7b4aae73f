#include "passes/pass_manager.h"

#include <set>

namespace edgekit {

PassManager::PassManager(int level) {
  EK_CHECK(level >= 0 && level <= kMaxOptLevel, "optimization level must be 0 to ", kMaxOptLevel, ", got ", level);
  using Factory = std::unique_ptr<GraphPass> (*)();
  static const std::pair<int, Factory> kPasses[] = {
      {2, make_fuse_qdq},  // first: before constant folding dequantizes the int8 weights
      {2, make_fuse_dynamic_recurrent},  // likewise: GRU/LSTM on int8 W, R
      {1, make_eliminate_identity},   {1, make_fold_shape},          {1, make_constant_folding},
      {1, make_constant_reshape_shape}, {1, make_collapse_reshapes},
      {2, make_fuse_matmul_add},      {2, make_fold_batch_norm},     {2, make_sink_transposes},
      {2, make_merge_transposes},
      {2, make_fold_transpose_into_gemm}, {2, make_fuse_layer_norm}, {2, make_fuse_gelu},
      {2, make_bake_lookup_tables},   // after fuse_qdq has composed lookups
      {3, make_fuse_residual_add},    {3, make_fuse_activation},
      {1, make_eliminate_dead_nodes},  // last: sweeps what the others left unread
  };
  for (const auto& [min_level, make] : kPasses)
    if (level >= min_level) passes_.push_back(make());
  if (level >= 3) {
    // The layout change first, then rounds of what cleans up after it: Transposes at the
    // region's edges merged, cancelled or made Reshapes, and dead nodes swept; channel
    // Concats of NHWC convolutions written in place; the 3x3 convolutions Winograd runs
    // faster marked.
    for (auto make : {make_layout_nhwc, make_merge_transposes, make_transpose_to_reshape, make_collapse_reshapes,
                      make_eliminate_dead_nodes, make_concat_in_place, make_choose_winograd})
      layout_passes_.push_back(make());
  }
}

namespace {
// Runs `passes` in rounds until none changes the graph; counts into report[offset + i].
void run_rounds(Graph& graph, const std::vector<std::unique_ptr<GraphPass>>& passes, std::vector<PassReport>& report,
                size_t offset) {
  constexpr int kMaxRounds = 8;  // passes only shrink or merge, so this converges in a few rounds
  for (int round = 0; round < kMaxRounds; ++round) {
    bool changed = false;
    for (size_t i = 0; i < passes.size(); ++i) {
      auto types = passes[i]->op_types();
      if (!types.empty()) {
        std::set<std::string> wanted(types.begin(), types.end());
        bool present = false;
        for (const auto& n : graph.nodes) present = present || wanted.count(n.op_type);
        if (!present) continue;
      }
      if (passes[i]->apply(graph)) {
        ++report[offset + i].applied;
        changed = true;
        verify(graph);  // a pass must leave a valid graph; fail loudly here rather than at run time
      }
    }
    if (!changed) break;
  }
}
}  // namespace

std::vector<PassReport> PassManager::run(Graph& graph) {
  std::vector<PassReport> report;
  for (const auto& p : passes_) report.push_back({p->name(), 0});
  for (const auto& p : layout_passes_) report.push_back({p->name(), 0});
  run_rounds(graph, passes_, report, 0);
  if (!layout_passes_.empty()) run_rounds(graph, layout_passes_, report, passes_.size());
  return report;
}

std::vector<PassReport> optimize_graph(Graph& graph, int level) { return PassManager(level).run(graph); }

}  // namespace edgekit
