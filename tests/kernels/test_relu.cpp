#include "op_test_util.h"

namespace edgekit::test {

TEST(Relu, ClampsNegatives) {
  Node n = make_node("Relu", 1);
  auto out = run_node(n, {Tensor::from<float>({-1.f, 0.f, 2.5f}, {3})});
  expect_close(out[0], {0.f, 0.f, 2.5f});
}

TEST(Relu, RejectsBoolInput) {
  Node n = make_node("Relu", 1);
  EXPECT_THROW(run_node(n, {Tensor(DType::boolean, {2})}), Error);
}

}  // namespace edgekit::test
