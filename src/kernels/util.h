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

// fn(i, offset_a, offset_b) for every element i of out_shape in order, with the offsets of the
// elements of a (shape a) and b (shape b) that numpy broadcasting reads for it: an odometer,
// one element at a time (the plain loop reference kernels use; fast paths plan_broadcast).
template <class Fn>
void for_each_broadcast_pair(const Shape& a, const Shape& b, const Shape& out_shape, Fn&& fn) {
  const std::vector<int64_t> sa = broadcast_strides(a, out_shape), sb = broadcast_strides(b, out_shape);
  std::vector<int64_t> idx(out_shape.size(), 0);
  int64_t oa = 0, ob = 0;
  for (int64_t i = 0, n = shape_numel(out_shape); i < n; ++i) {
    fn(i, oa, ob);
    for (size_t d = out_shape.size(); d-- > 0;) {
      oa += sa[d], ob += sb[d];
      if (++idx[d] < out_shape[d]) break;
      oa -= sa[d] * out_shape[d], ob -= sb[d] * out_shape[d];
      idx[d] = 0;
    }
  }
}

}  // namespace edgekit
