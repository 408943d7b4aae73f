// A rough FLOPs estimate of a graph from its static shapes (a multiply-add counts as 2).
//
// Counted: Conv/ConvTranspose (and edgekit's NHWC Conv and pools), Gemm/MatMul, RNN/GRU/LSTM exactly; pooling by window size;
// elementwise ops, normalisations, softmax and reductions at a few FLOPs per element.
// Data movement (Reshape, Transpose, Gather, ...) counts 0. Dynamic dims are taken as 1.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "graph/graph.h"

namespace edgekit::cli {

struct FlopsEstimate {
  double total = 0;
  std::map<std::string, double> by_op;  // op_type (domain:op_type outside ONNX) -> FLOPs
  int nodes_without_shapes = 0;         // compute nodes whose shapes were unknown (not counted)
};

// How ops are keyed in FlopsEstimate::by_op and in op tables: op_type, or domain:op_type
// outside ONNX's default domain.
std::string op_key(const Node& n);

// Graph must be topologically sorted.
FlopsEstimate estimate_flops(const Graph& graph);

// Concrete shapes of every value infer_shapes (kernels/shape_inference.h) can resolve with
// dynamic input dims set to 1; values it cannot infer are absent. Its warnings (unsupported
// ops, infer errors) go to `warnings` when given.
std::map<std::string, Shape> static_shapes(const Graph& graph, std::vector<std::string>* warnings);

}  // namespace edgekit::cli
