// Helpers for the elementwise op tests: typed tensors, typed comparison, nodes with attributes.
#pragma once
#include <cmath>
#include <string>
#include <vector>

#include "op_test_util.h"

namespace edgekit::test {

template <class T>
Tensor tensor(const std::vector<T>& values, Shape shape) {
  return Tensor::from<T>(values, std::move(shape));
}

template <class T>
std::vector<T> values_of(const Tensor& t) {
  const T* p = t.data<T>();
  return std::vector<T>(p, p + t.numel());
}

// Exact comparison for integer and bool tensors, relative tolerance for floats.
template <class T>
void expect_values(const Tensor& got, const std::vector<T>& want, Shape shape, double tol = 1e-6) {
  ASSERT_EQ(got.dtype(), dtype_of<T>);
  ASSERT_EQ(got.shape(), shape);
  ASSERT_EQ(got.numel(), int64_t(want.size()));
  const T* g = got.data<T>();
  for (size_t i = 0; i < want.size(); ++i) {
    if constexpr (std::is_floating_point_v<T>) {
      if (std::isnan(want[i])) {
        EXPECT_TRUE(std::isnan(g[i])) << "at " << i;
      } else if (std::isinf(want[i])) {
        EXPECT_EQ(g[i], want[i]) << "at " << i;
      } else {
        EXPECT_NEAR(g[i], want[i], tol * (1 + std::fabs(want[i]))) << "at " << i;
      }
    } else {
      EXPECT_EQ(g[i], want[i]) << "at " << i;
    }
  }
}

// Runs the node and expects an Error whose message contains every fragment.
inline void expect_error(const Node& n, const std::vector<Tensor>& inputs, const std::vector<std::string>& fragments) {
  try {
    run_node(n, inputs);
    ADD_FAILURE() << n.op_type << ": expected an error";
  } catch (const Error& e) {
    std::string msg = e.what();
    for (const auto& f : fragments) EXPECT_NE(msg.find(f), std::string::npos) << "'" << f << "' not in: " << msg;
  }
}

inline Node node_with(const std::string& op, size_t num_inputs, std::map<std::string, AttributeValue> attrs = {},
                      int opset = 18, size_t num_outputs = 1) {
  Node n = make_node(op, num_inputs, num_outputs, opset);
  n.attrs = std::move(attrs);
  return n;
}

}  // namespace edgekit::test
