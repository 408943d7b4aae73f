// com.edgekit:QFullyConnected with a float output (no y_scale / y_zero_point): the packed path
// (weights and parameters constant, kernels/dynamic_qgemm.h's engine) bit-identical to the
// integer reference loop (parameters given at run time), both close to the formula in double,
// for int8 and uint8 x, K a multiple of 4 and not, one row and several, with and without bias,
// on one and two threads; and the clear errors of half-given output parameters.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "core/error.h"
#include "op_test_util.h"

namespace edgekit {
namespace {

using namespace test;

Node float_fc(bool bias) {
  Node n = make_node("QFullyConnected", bias ? 9 : 8);
  n.domain = kEdgekitDomain;
  n.opset = 1;
  n.inputs[6] = n.inputs[7] = "";  // float output
  return n;
}

template <class T>
Tensor random_bytes(Shape shape, std::mt19937& rng) {
  Tensor t(std::is_signed_v<T> ? DType::i8 : DType::u8, shape);
  std::uniform_int_distribution<int> d(std::is_signed_v<T> ? -128 : 0, std::is_signed_v<T> ? 127 : 255);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<T>()[i] = T(d(rng));
  return t;
}

template <class TX>
void check_float_output(int64_t rows, int64_t k, int64_t n_out, bool bias, int threads) {
  SCOPED_TRACE(::testing::Message() << (std::is_signed_v<TX> ? "int8" : "uint8") << " x, rows " << rows << " K " << k
                                    << " N " << n_out << (bias ? " bias" : "") << " threads " << threads);
  std::mt19937 rng(uint32_t(rows * 1000 + k * 10 + n_out));
  const TX zx = TX(std::is_signed_v<TX> ? -5 : 131);
  Tensor x_zp(std::is_signed_v<TX> ? DType::i8 : DType::u8, {});
  std::memcpy(x_zp.raw(), &zx, 1);
  Tensor w_scale(DType::f32, {n_out});
  for (int64_t m = 0; m < n_out; ++m) w_scale.data<float>()[m] = 0.002f + 0.0005f * float(m % 7);
  Tensor b(DType::i32, {n_out});
  for (int64_t m = 0; m < n_out; ++m) b.data<int32_t>()[m] = int32_t(m * 311 % 4001) - 2000;
  std::vector<Tensor> in = {random_bytes<TX>({rows, k}, rng), Tensor::scalar<float>(0.03f), x_zp,
                            random_bytes<int8_t>({n_out, k}, rng), w_scale, Tensor(DType::i8, {n_out}),
                            Tensor(DType::f32, {}), Tensor(DType::i8, {})};
  if (bias) in.push_back(b);
  const Node node = float_fc(bias);
  std::vector<bool> constant(in.size(), true);
  constant[0] = false;
  const Tensor packed = run_on_threads(node, in, threads, constant);
  const Tensor reference = run_on_threads(node, in, threads);  // nothing constant: the reference loop
  ASSERT_EQ(packed.dtype(), DType::f32);
  ASSERT_EQ(packed.shape(), (Shape{rows, n_out}));
  EXPECT_EQ(0, std::memcmp(packed.raw(), reference.raw(), packed.nbytes()));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t m = 0; m < n_out; ++m) {
      double acc = bias ? b.data<int32_t>()[m] : 0;
      for (int64_t i = 0; i < k; ++i)
        acc += (double(in[0].data<TX>()[r * k + i]) - zx) * double(in[3].data<int8_t>()[m * k + i]);
      const double want = 0.03 * double(w_scale.data<float>()[m]) * acc;
      EXPECT_NEAR(packed.data<float>()[r * n_out + m], want, 1e-5 * (1 + std::fabs(want))) << r << ", " << m;
    }
}

TEST(QFullyConnected, FloatOutputPackedMatchesReferenceBitForBit) {
  for (int64_t rows : {1, 3, 9})
    for (int64_t k : {8, 37, 300})
      for (bool bias : {false, true}) {
        check_float_output<int8_t>(rows, k, 19, bias, 1);
        check_float_output<uint8_t>(rows, k, 33, bias, 2);
      }
}

TEST(QFullyConnected, OutputScaleWithoutZeroPointIsAnError) {
  Node n = float_fc(false);
  n.inputs[6] = "in6";  // y_scale alone
  std::mt19937 rng(1);
  std::vector<Tensor> in = {random_bytes<int8_t>({1, 4}, rng), Tensor::scalar<float>(0.1f), Tensor(DType::i8, {}),
                            random_bytes<int8_t>({2, 4}, rng), Tensor::scalar<float>(0.1f), Tensor(DType::i8, {}),
                            Tensor::scalar<float>(0.1f), Tensor(DType::i8, {})};
  try {
    run_on_threads(n, in, 1);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("y_scale and y_zero_point (inputs 6, 7) must be given together"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace edgekit
