#include "kernels/util.h"

#include <algorithm>

namespace edgekit {

int64_t normalize_axis(int64_t axis, int64_t rank, const Node& node) {
  EK_CHECK(axis >= -rank && axis < std::max<int64_t>(rank, 1), node.where(), ": axis ", axis,
           " is out of range for rank ", rank);
  return axis < 0 ? axis + rank : axis;
}

Shape broadcast_shapes(const std::vector<Shape>& shapes, const Node& node) {
  size_t rank = 0;
  for (const auto& s : shapes) rank = std::max(rank, s.size());
  Shape out(rank, 1);
  for (const auto& s : shapes) {
    size_t off = rank - s.size();
    for (size_t i = 0; i < s.size(); ++i) {
      int64_t a = out[off + i], b = s[i];
      if (a == b || b == 1) continue;
      if (a == 1) {
        out[off + i] = b;
      } else if (a == -1 || b == -1) {
        out[off + i] = (a == -1) ? (b > 1 ? b : -1) : a;
      } else {
        std::string all;
        for (const auto& t : shapes) all += (all.empty() ? "" : " and ") + shape_str(t);
        fail(node.where(), ": shapes ", all, " cannot be broadcast together");
      }
    }
  }
  return out;
}

std::vector<int64_t> strides_of(const Shape& shape) {
  std::vector<int64_t> st(shape.size(), 1);
  for (int i = int(shape.size()) - 2; i >= 0; --i) st[i] = st[i + 1] * shape[i + 1];
  return st;
}

std::vector<int64_t> broadcast_strides(const Shape& shape, const Shape& out_shape) {
  std::vector<int64_t> own = strides_of(shape);
  std::vector<int64_t> st(out_shape.size(), 0);
  size_t off = out_shape.size() - shape.size();
  for (size_t i = 0; i < shape.size(); ++i) st[off + i] = shape[i] == 1 ? 0 : own[i];
  return st;
}

}  // namespace edgekit
