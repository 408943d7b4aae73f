// Static shape and type inference over a Graph, using each op's own infer().
//
//   std::vector<std::string> warnings = infer_shapes(g);   // fills g.value_info
//
// Nodes are visited in the graph's order (topological). Each node's kernel infer() gets the
// types known so far (graph inputs, initializers, earlier results, value_info the importer
// gave) and the values known so far: initializers, Constant outputs, and outputs of small
// nodes whose inputs are all known values, which are evaluated with run_node (so
// Shape -> Gather -> Concat -> Reshape chains resolve to concrete shapes). Shape and Size are
// evaluated from their input's type alone when its dims are known.
//
// Results go to g.value_info (intermediate values) and refine g.outputs. A dim that
// stays unknown is -1; it keeps the symbol of an input dim (e.g. "N") when it passes
// through unchanged: the node is inferred a second time with each symbol replaced by a
// distinct sentinel size, and output dims equal to a sentinel take its symbol.
// Unsupported ops and infer errors never throw: their outputs stay unknown (or keep what
// value_info already said) and a one-line warning is returned for each.
#pragma once
#include <string>
#include <vector>

#include "graph/graph.h"

namespace edgekit {

struct ShapeInferenceOptions {
  int64_t max_fold_elements = 4096;  // largest output a node may have to be evaluated as a constant
};

std::vector<std::string> infer_shapes(Graph& g, const ShapeInferenceOptions& options = {});

}  // namespace edgekit
