// PassManager: the optimisation levels of `--opt-level` (SessionOptions::opt_level).
//
//   0  nothing: the graph runs as imported
//   1  clean-up, exact: Identity/Dropout/no-op Cast elimination, Shape/Size of statically
//      known dims to constants, constant folding (size-capped), Reshape targets built from the
//      data's own dims made constant, Reshape/Flatten/Squeeze/Unsqueeze chains collapsed,
//      dead nodes and unused initializers removed
//   2  + algebraic rewrites (results equal up to float rounding): BatchNormalization folded
//      into the Conv/ConvTranspose/Gemm/2-D MatMul before it, MatMul + constant Add -> Gemm,
//      Transposes moved after elementwise ops, adjacent Transposes merged or cancelled, 2-D
//      Transposes into Gemm's transA/transB,
//      decomposed LayerNorm -> LayerNormalization, erf GELU -> Gelu; QDQ int8 ops (fuse_qdq),
//      their lookups' byte tables computed once (bake_lookup_tables); GRU/LSTM on
//      DequantizeLinear'd int8 weights to DynamicQGRU/DynamicQLSTM (fuse_dynamic_recurrent)
//   3  + fusion into kernels' epilogues (the default): residual Add into a Conv, activations
//      into the Conv/Gemm/MatMul producing their input. Fused nodes carry edgekit-private
//      "_" attributes (kernels/epilogue.h) that ONNX export writes back as plain nodes.
//      Then the layout phase: convolutions, pooling and the elementwise ops between them
//      move to NHWC (com.edgekit ops), and the Transposes at the region's edges are
//      cancelled or turned into Reshapes.
//
// Each round runs every pass once, in the order below; rounds repeat until none changes the
// graph (each pass removes or merges nodes, so this converges in a few rounds). The layout
// phase runs once after that, followed by its own clean-up rounds. Every pass
// keeps graph inputs and outputs (names, types) and leaves a graph that verifies; the
// manager checks that after each pass that changed something.
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
  std::vector<std::unique_ptr<GraphPass>> layout_passes_;  // level 3: after the rounds above
};

// Convenience: optimise a graph at a level, returning what was applied.
std::vector<PassReport> optimize_graph(Graph& graph, int level);

// Factories, one per pass file.
std::unique_ptr<GraphPass> make_eliminate_identity();
std::unique_ptr<GraphPass> make_fold_shape();
std::unique_ptr<GraphPass> make_constant_folding();
std::unique_ptr<GraphPass> make_constant_reshape_shape();
std::unique_ptr<GraphPass> make_collapse_reshapes();
std::unique_ptr<GraphPass> make_eliminate_dead_nodes();
std::unique_ptr<GraphPass> make_fuse_matmul_add();
std::unique_ptr<GraphPass> make_fold_batch_norm();
std::unique_ptr<GraphPass> make_sink_transposes();
std::unique_ptr<GraphPass> make_merge_transposes();
std::unique_ptr<GraphPass> make_fold_transpose_into_gemm();
std::unique_ptr<GraphPass> make_fuse_layer_norm();
std::unique_ptr<GraphPass> make_fuse_gelu();
std::unique_ptr<GraphPass> make_fuse_residual_add();
std::unique_ptr<GraphPass> make_fuse_activation();
std::unique_ptr<GraphPass> make_layout_nhwc();
std::unique_ptr<GraphPass> make_transpose_to_reshape();
std::unique_ptr<GraphPass> make_fuse_qdq();
std::unique_ptr<GraphPass> make_fuse_dynamic_recurrent();
// Its inverse, to float: DynamicQGRU / DynamicQLSTM back to GRU / LSTM on the dequantized f32
// weights (new initializers; the int8 ones stay for other readers). For the quantizer, which
// optimises a model before quantizing it from float: an already quantized model is re-quantized
// as before the fusion existed, and its output stays standard ONNX. Returns whether any changed.
bool defuse_dynamic_recurrent(Graph& g);
std::unique_ptr<GraphPass> make_concat_in_place();
std::unique_ptr<GraphPass> make_bake_lookup_tables();
std::unique_ptr<GraphPass> make_choose_winograd();

}  // namespace edgekit
