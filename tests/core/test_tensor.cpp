#include <gtest/gtest.h>

#include <cmath>

#include "core/tensor.h"

namespace edgekit {

TEST(Tensor, AllocatesZeroedAndAligned) {
  Tensor t(DType::f32, {2, 3});
  EXPECT_EQ(t.numel(), 6);
  EXPECT_EQ(t.nbytes(), 24u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.raw()) % 64, 0u);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(t.data<float>()[i], 0.f);
}

TEST(Tensor, ReshapeSharesAndCloneCopies) {
  Tensor t = Tensor::from<int64_t>({1, 2, 3, 4}, {2, 2});
  Tensor r = t.reshaped({4});
  Tensor c = t.clone();
  t.data<int64_t>()[0] = 9;
  EXPECT_EQ(r.data<int64_t>()[0], 9);
  EXPECT_EQ(c.data<int64_t>()[0], 1);
  EXPECT_THROW(t.reshaped({3}), Error);
}

TEST(Tensor, WrongTypedAccessThrows) {
  Tensor t(DType::i32, {1});
  EXPECT_THROW(t.data<float>(), Error);
}

TEST(Tensor, RefusesAbsurdShapes) {
  EXPECT_THROW(Tensor(DType::f32, {-1, 3}), Error);
  EXPECT_THROW(Tensor(DType::f32, {int64_t(1) << 40, int64_t(1) << 30}), Error);
}

TEST(Half, RoundTripsAndRounds) {
  for (float f : {0.f, 1.f, -2.5f, 65504.f, 6.1035156e-05f, 5.9604645e-08f})
    EXPECT_EQ(half_to_float(float_to_half(f)), f) << f;
  EXPECT_TRUE(std::isinf(half_to_float(float_to_half(1e6f))));
  EXPECT_EQ(float_to_half(1.f + 1.f / 2048).bits, float_to_half(1.f).bits);  // ties to even
}

TEST(DType, NamesRoundTrip) {
  for (DType t : {DType::f32, DType::i8, DType::boolean, DType::u64}) EXPECT_EQ(dtype_from_name(dtype_name(t)), t);
  EXPECT_THROW(dtype_from_name("f7"), Error);
}

}  // namespace edgekit

namespace edgekit {
TEST(Tensor, MoreThanPhysicalMemoryIsAClearError) {
  try {
    Tensor t(DType::f32, {int64_t(1) << 22, int64_t(1) << 20});  // 16 TiB
    FAIL() << "allocated 16 TiB";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("more memory than this machine has"), std::string::npos) << e.what();
  }
}
}  // namespace edgekit
