// gemm_ref against a naive triple loop (all transposes, odd sizes, alpha/beta, leading
// dims), and the Gemm and MatMul ops.
#include <tuple>

#include "core/thread_pool.h"
#include "kernels/gemm_ref.h"
#include "nn_test_util.h"

namespace edgekit::test {
namespace {

TEST(GemmRef, MatchesNaiveLoopOverShapesAndTransposes) {
  std::mt19937 rng(1);
  std::uniform_int_distribution<int> size(1, 70);
  for (int trial = 0; trial < 80; ++trial) {
    const int64_t M = size(rng), N = size(rng), K = trial == 0 ? 600 : size(rng);  // K > one KC block once
    const bool ta = trial & 1, tb = trial & 2;
    const int64_t lda = (ta ? M : K) + trial % 3, ldb = (tb ? K : N) + trial % 2, ldc = N + 1;
    const float alpha = trial % 4 == 0 ? 1.f : 0.5f, beta = trial % 3 == 0 ? 0.f : 1.5f;
    Tensor A = random_tensor({(ta ? K : M) * lda}, rng), B = random_tensor({(tb ? N : K) * ldb}, rng);
    Tensor C = random_tensor({M * ldc}, rng);
    std::vector<float> want(values_of(C));
    const float* a = A.data<float>();
    const float* b = B.data<float>();
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        double acc = 0;
        for (int64_t k = 0; k < K; ++k)
          acc += double(ta ? a[k * lda + i] : a[i * lda + k]) * (tb ? b[j * ldb + k] : b[k * ldb + j]);
        want[i * ldc + j] = float(alpha * acc + (beta == 0 ? 0.0 : beta * want[i * ldc + j]));
      }
    if (beta == 0) {  // beta == 0 must not read C: poison it
      float* c = C.data<float>();
      for (int64_t i = 0; i < M; ++i)
        for (int64_t j = 0; j < N; ++j) c[i * ldc + j] = std::nanf("");
    }
    gemm_f32(M, N, K, a, lda, ta, b, ldb, tb, C.data<float>(), ldc, alpha, beta);
    SCOPED_TRACE("trial " + std::to_string(trial));
    expect_close(C, want, 1e-4f);
  }
}

TEST(GemmRef, DoubleAndIntegerInstantiations) {
  std::vector<double> a{1, 2, 3, 4, 5, 6}, b{1, 0, 0, 1, 1, 1}, c(4);
  gemm_ref<double>(2, 2, 3, a.data(), 3, false, b.data(), 2, false, c.data(), 2, 1.0, 0.0);
  EXPECT_EQ(c, (std::vector<double>{4, 5, 10, 11}));
  std::vector<int64_t> ai{1, 2, 3, 4}, bi{5, 6, 7, 8}, ci(4);
  gemm_ref<int64_t>(2, 2, 2, ai.data(), 2, false, bi.data(), 2, false, ci.data(), 2, 1, 0);
  EXPECT_EQ(ci, (std::vector<int64_t>{19, 22, 43, 50}));
}

TEST(GemmRef, ThreadedSplitIsBitExact) {
  std::mt19937 rng(4);
  ThreadPool pool(2);
  // Wide (splits N) and tall (splits M), with transposes and odd sizes.
  for (auto [M, N, K, ta, tb] : {std::tuple{7, 301, 203, false, true}, std::tuple{257, 9, 190, true, false}}) {
    Tensor A = random_tensor({M * K}, rng), B = random_tensor({K * N}, rng);
    Tensor c1(DType::f32, {M, N}), c2(DType::f32, {M, N});
    const int64_t lda = ta ? M : K, ldb = tb ? K : N;
    gemm_f32(M, N, K, A.data<float>(), lda, ta, B.data<float>(), ldb, tb, c1.data<float>(), N);
    gemm_f32(M, N, K, A.data<float>(), lda, ta, B.data<float>(), ldb, tb, c2.data<float>(), N, 1.f, 0.f, &pool);
    EXPECT_EQ(values_of(c1), values_of(c2)) << M << "x" << N << "x" << K;
  }
}

TEST(Gemm, AllAttributesWithBroadcastC) {
  // Y = 0.5 * A^T * B^T + 2 * C, A stored 3x2 (K x M), B stored 2x3 (N x K), C a row [N].
  Node n = make_node("Gemm", 3);
  set_int(n, "transA", 1);
  set_int(n, "transB", 1);
  set_float(n, "alpha", 0.5f);
  set_float(n, "beta", 2.f);
  auto y = run_node(n, {Tensor::from<float>({1, 4, 2, 5, 3, 6}, {3, 2}),
                        Tensor::from<float>({1, 0, 1, 0, 1, 1}, {2, 3}),
                        Tensor::from<float>({10, 20}, {2})});
  // A = [[1,2,3],[4,5,6]], B = [[1,0],[0,1],[1,1]]: A*B = [[4,5],[10,11]]
  EXPECT_EQ(y[0].shape(), (Shape{2, 2}));
  expect_close(y[0], {22, 42.5f, 25, 45.5f});
}

TEST(Gemm, OptionalCAndColumnBias) {
  Node n = make_node("Gemm", 2);
  auto y = run_node(n, {Tensor::from<float>({1, 2}, {1, 2}), Tensor::from<float>({3, 4}, {2, 1})});
  expect_close(y[0], {11});
  Node m = make_node("Gemm", 3);
  auto z = run_node(m, {Tensor::from<float>({1, 2, 3, 4}, {2, 2}), Tensor::from<float>({1, 0, 0, 1}, {2, 2}),
                        Tensor::from<float>({100, 200}, {2, 1})});
  expect_close(z[0], {101, 102, 203, 204});
}

TEST(Gemm, Errors) {
  Node n = make_node("Gemm", 3);
  expect_error(n, {Tensor(DType::f32, {2, 3}), Tensor(DType::f32, {4, 5}), Tensor(DType::f32, {5})},
               {"inner dims differ", "[2,3]", "[4,5]"});
  expect_error(n, {Tensor(DType::f32, {2, 3}), Tensor(DType::f32, {3, 5}), Tensor(DType::f32, {3, 5})},
               {"input C has shape [3,5]", "does not broadcast to the output [2,5]"});
  expect_error(n, {Tensor(DType::f32, {2, 3, 1}), Tensor(DType::f32, {3, 5}), Tensor(DType::f32, {5})},
               {"expected rank 2"});
  expect_error(n, {Tensor(DType::f32, {2, 3}), Tensor(DType::f64, {3, 5}), Tensor(DType::f32, {5})},
               {"input B has dtype f64, expected f32"});
}

TEST(MatMul, NumpySemanticsForVectorsAndBatchBroadcast) {
  std::mt19937 rng(2);
  struct Case {
    Shape a, b, y;
  };
  for (const Case& c : std::vector<Case>{{{3}, {3}, {}},
                                         {{3}, {3, 4}, {4}},
                                         {{2, 3}, {3}, {2}},
                                         {{5, 2, 3}, {3}, {5, 2}},
                                         {{3}, {5, 3, 4}, {5, 4}},
                                         {{2, 1, 4, 3}, {5, 3, 2}, {2, 5, 4, 2}},
                                         {{4, 2, 3}, {3, 6}, {4, 2, 6}}}) {
    Tensor a = random_tensor(c.a, rng), b = random_tensor(c.b, rng);
    auto y = run_node(make_node("MatMul", 2), {a, b});
    ASSERT_EQ(y[0].shape(), c.y) << shape_str(c.a) << " x " << shape_str(c.b);
    // Naive: promote, broadcast, loop.
    Shape pa = c.a, pb = c.b;
    if (pa.size() == 1) pa.insert(pa.begin(), 1);
    if (pb.size() == 1) pb.push_back(1);
    const int64_t M = pa[pa.size() - 2], K = pa.back(), N = pb.back();
    const size_t rank = std::max(pa.size(), pb.size());
    pa.insert(pa.begin(), rank - pa.size(), 1);
    pb.insert(pb.begin(), rank - pb.size(), 1);
    std::vector<float> want;
    const int64_t batches = y[0].numel() / (M * N);
    for (int64_t t = 0; t < batches; ++t) {
      // Decompose t over the broadcast batch dims.
      int64_t rem = t, ia = 0, ib = 0, sa = 1, sb = 1;
      for (int k = int(rank) - 3; k >= 0; --k) {
        const int64_t dim = std::max(pa[k], pb[k]), i = rem % dim;
        rem /= dim;
        ia += (pa[k] == 1 ? 0 : i) * sa;
        ib += (pb[k] == 1 ? 0 : i) * sb;
        sa *= pa[k];
        sb *= pb[k];
      }
      for (int64_t i = 0; i < M; ++i)
        for (int64_t j = 0; j < N; ++j) {
          double acc = 0;
          for (int64_t k = 0; k < K; ++k)
            acc += double(a.data<float>()[ia * M * K + i * K + k]) * b.data<float>()[ib * K * N + k * N + j];
          want.push_back(float(acc));
        }
    }
    expect_close(y[0], want, 1e-5f);
  }
}

TEST(MatMul, IntegerAndErrors) {
  auto y = run_node(make_node("MatMul", 2),
                    {Tensor::from<int32_t>({1, 2, 3, 4}, {2, 2}), Tensor::from<int32_t>({1, 1}, {2})});
  EXPECT_EQ(y[0].as_int(0), 3);
  EXPECT_EQ(y[0].as_int(1), 7);
  Node n = make_node("MatMul", 2);
  expect_error(n, {Tensor(DType::f32, {2, 3}), Tensor(DType::f32, {4, 2})}, {"inner dims differ", "K=3", "K=4"});
  expect_error(n, {Tensor(DType::f32, {2, 2, 3}), Tensor(DType::f32, {3, 3, 2})}, {"cannot be broadcast"});
  expect_error(n, {Tensor(DType::f32, {}), Tensor(DType::f32, {3})}, {"rank >= 1"});
}

}  // namespace
}  // namespace edgekit::test
