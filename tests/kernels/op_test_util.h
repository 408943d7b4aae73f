// Helpers for op unit tests: build a one-node graph, run it eagerly, compare with expected values.
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kernels/op.h"

namespace edgekit::test {

inline Node make_node(const std::string& op_type, size_t num_inputs, size_t num_outputs = 1, int opset = 18) {
  Node n;
  n.op_type = op_type;
  n.name = "test_" + op_type;
  n.opset = opset;
  for (size_t i = 0; i < num_inputs; ++i) n.inputs.push_back("in" + std::to_string(i));
  for (size_t i = 0; i < num_outputs; ++i) n.outputs.push_back("out" + std::to_string(i));
  return n;
}

inline void expect_close(const Tensor& got, const std::vector<float>& want, float tol = 1e-5f) {
  ASSERT_EQ(got.dtype(), DType::f32);
  ASSERT_EQ(got.numel(), int64_t(want.size()));
  const float* g = got.data<float>();
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(g[i], want[i], tol * (1 + std::fabs(want[i]))) << "at " << i;
}

}  // namespace edgekit::test
