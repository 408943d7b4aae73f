// Helpers for op unit tests: build a one-node graph, run it eagerly, compare with expected values.
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/thread_pool.h"
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

// Runs node on all-present inputs as a Session would (infer, then run) with a pool of
// `threads`: run_node's answer, split over threads where the kernel does. Inputs i with
// constants[i] are given to prepare() first, as a Session gives initializers.
inline Tensor run_on_threads(const Node& node, const std::vector<Tensor>& inputs, int threads,
                             const std::vector<bool>& constants = {}) {
  auto kernel = create_op(node);
  if (!constants.empty()) {
    std::vector<const Tensor*> given;
    for (size_t i = 0; i < inputs.size(); ++i) given.push_back(i < constants.size() && constants[i] ? &inputs[i] : nullptr);
    kernel->prepare(PrepareContext(node, given));
  }
  std::vector<TensorType> types;
  std::vector<const TensorType*> type_ptrs;
  std::vector<const Tensor*> in_ptrs;
  for (const Tensor& t : inputs) types.push_back({t.dtype(), t.shape(), true});
  for (size_t i = 0; i < inputs.size(); ++i) type_ptrs.push_back(&types[i]), in_ptrs.push_back(&inputs[i]);
  InferContext ictx(node, type_ptrs, in_ptrs);
  kernel->infer(ictx);
  Tensor y(ictx.outputs()[0].dtype, ictx.outputs()[0].shape);
  ThreadPool pool(threads);
  RunContext rctx(node, in_ptrs, {&y}, &pool);
  kernel->run(rctx);
  return y;
}

}  // namespace edgekit::test
