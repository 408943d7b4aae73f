// Small helpers shared by op files: axis normalisation and numpy broadcasting of shapes.
#pragma once
#include <vector>

#include "graph/graph.h"
#include "kernels/op.h"

namespace edgekit {

// Maps axis in [-rank, rank) to [0, rank); throws naming the node otherwise.
int64_t normalize_axis(int64_t axis, int64_t rank, const Node& node);

// numpy broadcasting of two or more shapes; -1 (unknown) dims broadcast to -1 unless the
// other side is a concrete dim > 1. Throws naming the node when shapes are incompatible.
Shape broadcast_shapes(const std::vector<Shape>& shapes, const Node& node);

// Element strides of a row-major shape.
std::vector<int64_t> strides_of(const Shape& shape);

// Strides to read a tensor of `shape` as if it had `out_shape` (0 stride on broadcast dims).
// `shape` is right-aligned against `out_shape`.
std::vector<int64_t> broadcast_strides(const Shape& shape, const Shape& out_shape);

}  // namespace edgekit
