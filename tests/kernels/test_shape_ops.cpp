// Tensor-manipulation ops: Reshape, Flatten, Transpose, Squeeze, Unsqueeze, Shape, Size,
// Concat, Split, Slice, Expand, Tile, Constant, ConstantOfShape, DepthToSpace, SpaceToDepth.
#include <numeric>
#include <random>

#include "hwy/targets.h"

#include "elementwise_test_util.h"

namespace edgekit::test {
namespace {

using I = std::vector<int64_t>;
Tensor iota_f(Shape s) {
  Tensor t(DType::f32, s);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = float(i);
  return t;
}
Tensor ints(const I& v) { return tensor<int64_t>(v, {int64_t(v.size())}); }

// Static inference of one node: input types with -1 dims, values only where given.
std::vector<TensorType> infer_static(const Node& n, const std::vector<TensorType>& types,
                                     const std::vector<const Tensor*>& values = {}) {
  auto op = create_op(n);
  std::vector<const TensorType*> tp;
  for (const auto& t : types) tp.push_back(&t);
  std::vector<const Tensor*> vp = values;
  vp.resize(types.size(), nullptr);
  InferContext ctx(n, tp, vp);
  op->infer(ctx);
  return ctx.outputs();
}

TEST(Reshape, ZeroCopiesDimAndMinusOneIsInferred) {
  auto out = run_node(make_node("Reshape", 2), {iota_f({2, 3, 4}), ints({0, -1})});
  EXPECT_EQ(out[0].shape(), (Shape{2, 12}));
  EXPECT_EQ(out[0].data<float>()[13], 13.f);
}

TEST(Reshape, AllowZeroMakesZeroSizedDim) {
  Node n = node_with("Reshape", 2, {{"allowzero", int64_t(1)}});
  auto out = run_node(n, {Tensor(DType::f32, {0, 3}), ints({3, 0})});
  EXPECT_EQ(out[0].shape(), (Shape{3, 0}));
  expect_error(n, {Tensor(DType::f32, {0, 3}), ints({0, -1})}, {"both 0 and -1"});
}

TEST(Reshape, SizeMismatchNamesBothShapes) {
  expect_error(make_node("Reshape", 2), {iota_f({2, 3}), ints({4, 2})},
               {"test_Reshape", "[2,3]", "[4,2]", "6 elements", "8 elements"});
  expect_error(make_node("Reshape", 2), {iota_f({2, 3}), ints({-1, -1})}, {"more than one -1"});
  expect_error(make_node("Reshape", 2), {iota_f({2, 3}), ints({4, -1})}, {"[2,3]", "[4,?]"});
}

TEST(Reshape, StaticInferenceKeepsRankWhenShapeUnknown) {
  Node n = make_node("Reshape", 2);
  auto o = infer_static(n, {{DType::f32, {-1, 3, 4}}, {DType::i64, {3}}});
  EXPECT_EQ(o[0].shape, (Shape{-1, -1, -1}));
  Tensor s = ints({0, 12});
  o = infer_static(n, {{DType::f32, {-1, 3, 4}}, {DType::i64, {2}}}, {nullptr, &s});
  EXPECT_EQ(o[0].shape, (Shape{-1, 12}));
}

TEST(Flatten, AxisRange) {
  EXPECT_EQ(run_node(node_with("Flatten", 1, {{"axis", int64_t(0)}}), {iota_f({2, 3, 4})})[0].shape(), (Shape{1, 24}));
  EXPECT_EQ(run_node(node_with("Flatten", 1, {{"axis", int64_t(3)}}), {iota_f({2, 3, 4})})[0].shape(), (Shape{24, 1}));
  EXPECT_EQ(run_node(node_with("Flatten", 1, {{"axis", int64_t(-1)}}), {iota_f({2, 3, 4})})[0].shape(), (Shape{6, 4}));
  expect_error(node_with("Flatten", 1, {{"axis", int64_t(4)}}), {iota_f({2, 3, 4})}, {"axis 4", "rank 3"});
}

TEST(Transpose, DefaultReversesAndPermWorksForAnyDtype) {
  auto out = run_node(make_node("Transpose", 1), {iota_f({2, 3})});
  expect_values<float>(out[0], {0, 3, 1, 4, 2, 5}, {3, 2});
  Node n = node_with("Transpose", 1, {{"perm", I{1, 2, 0}}});
  Tensor x = tensor<int8_t>({0, 1, 2, 3, 4, 5, 6, 7}, {2, 2, 2});
  expect_values<int8_t>(run_node(n, {x})[0], {0, 4, 1, 5, 2, 6, 3, 7}, {2, 2, 2});
  Tensor h(DType::f16, {2, 1});
  h.data<f16_t>()[1].bits = 0x3c00;
  EXPECT_EQ(run_node(make_node("Transpose", 1), {h})[0].data<f16_t>()[1].bits, 0x3c00);
  expect_error(node_with("Transpose", 1, {{"perm", I{0, 0}}}), {iota_f({2, 3})}, {"not a permutation"});
  expect_error(node_with("Transpose", 1, {{"perm", I{0}}}), {iota_f({2, 3})}, {"rank 2"});
}

TEST(Squeeze, AxesAsInputFrom13AndAttributeBefore) {
  auto out = run_node(make_node("Squeeze", 2), {iota_f({1, 3, 1}), ints({-1})});
  EXPECT_EQ(out[0].shape(), (Shape{1, 3}));
  out = run_node(make_node("Squeeze", 1), {iota_f({1, 3, 1})});
  EXPECT_EQ(out[0].shape(), (Shape{3}));
  Node old = node_with("Squeeze", 1, {{"axes", I{0}}}, 11);
  EXPECT_EQ(run_node(old, {iota_f({1, 3, 1})})[0].shape(), (Shape{3, 1}));
  expect_error(make_node("Squeeze", 2), {iota_f({1, 3}), ints({1})}, {"cannot squeeze axis 1 of size 3"});
  expect_error(make_node("Squeeze", 2), {iota_f({1, 3}), ints({2})}, {"test_Squeeze", "axis 2", "rank 2"});
}

TEST(Unsqueeze, AxesCountAgainstOutputRank) {
  auto out = run_node(make_node("Unsqueeze", 2), {iota_f({3, 4}), ints({-1, 0})});
  EXPECT_EQ(out[0].shape(), (Shape{1, 3, 4, 1}));
  Node old = node_with("Unsqueeze", 1, {{"axes", I{1}}}, 11);
  EXPECT_EQ(run_node(old, {iota_f({3})})[0].shape(), (Shape{3, 1}));
  expect_error(make_node("Unsqueeze", 2), {iota_f({3}), ints({0, 0})}, {"repeated"});
  expect_error(make_node("Unsqueeze", 2), {iota_f({3}), ints({2})}, {"axis 2", "rank 2"});
}

TEST(Shape, StartEndAreClamped) {
  Tensor x(DType::u8, {2, 3, 4, 5});
  expect_values<int64_t>(run_node(make_node("Shape", 1), {x})[0], {2, 3, 4, 5}, {4});
  Node n = node_with("Shape", 1, {{"start", int64_t(-3)}, {"end", int64_t(-1)}});
  expect_values<int64_t>(run_node(n, {x})[0], {3, 4}, {2});
  n = node_with("Shape", 1, {{"start", int64_t(10)}});
  expect_values<int64_t>(run_node(n, {x})[0], {}, {0});
  expect_values<int64_t>(run_node(make_node("Size", 1), {x})[0], {120}, {});
}

TEST(Concat, JoinsAlongAxisForAnyDtype) {
  Node n = node_with("Concat", 2, {{"axis", int64_t(-1)}});
  auto out = run_node(n, {tensor<int64_t>({1, 2, 3, 4}, {2, 2}), tensor<int64_t>({5, 6}, {2, 1})});
  expect_values<int64_t>(out[0], {1, 2, 5, 3, 4, 6}, {2, 3});
  out = run_node(node_with("Concat", 2, {{"axis", int64_t(0)}}),
                 {tensor<bool>({true}, {1}), tensor<bool>({}, {0})});
  expect_values<bool>(out[0], {true}, {1});
  expect_error(n, {tensor<int64_t>({1, 2}, {1, 2}), tensor<int64_t>({1, 2}, {2, 1})}, {"differs", "[1,2]", "[2,1]"});
  expect_error(node_with("Concat", 2, {{"axis", int64_t(2)}}), {iota_f({2, 2}), iota_f({2, 2})},
               {"test_Concat", "axis 2", "rank 2"});
}

// Large concatenations split their outer indices over the threads: every element in place,
// for NHWC channel joins (64-byte rows), odd row sizes and an outer axis.
TEST(Concat, LargeJoinsOnThreadsPlaceEveryElement) {
  struct Case { Shape a, b; int64_t axis; };
  for (const Case& c : {Case{{1, 40, 40, 64}, {1, 40, 40, 32}, 3}, Case{{2, 37, 41, 3}, {2, 37, 41, 5}, -1},
                        Case{{300, 500}, {200, 500}, 0}}) {
    Node n = node_with("Concat", 2, {{"axis", c.axis}});
    const Tensor a = iota_f(c.a), b = iota_f(c.b);
    const Tensor y = run_on_threads(n, {a, b}, 2);
    const size_t axis = size_t(c.axis < 0 ? c.axis + int64_t(c.a.size()) : c.axis);
    int64_t outer = 1, ra = 1, rb = 1;
    for (size_t d = 0; d < axis; ++d) outer *= c.a[d];
    for (size_t d = axis; d < c.a.size(); ++d) ra *= c.a[d], rb *= c.b[d];
    ASSERT_EQ(y.numel(), outer * (ra + rb));
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t i = 0; i < ra; ++i) ASSERT_EQ(y.data<float>()[o * (ra + rb) + i], a.data<float>()[o * ra + i]);
      for (int64_t i = 0; i < rb; ++i) ASSERT_EQ(y.data<float>()[o * (ra + rb) + ra + i], b.data<float>()[o * rb + i]);
    }
  }
}

TEST(Split, SizesEqualPartsAndNumOutputs) {
  Node n = make_node("Split", 2, 2);
  auto out = run_node(n, {iota_f({5}), ints({2, 3})});
  expect_values<float>(out[0], {0, 1}, {2});
  expect_values<float>(out[1], {2, 3, 4}, {3});
  out = run_node(node_with("Split", 1, {{"axis", int64_t(1)}}, 13, 2), {iota_f({2, 4})});
  expect_values<float>(out[1], {2, 3, 6, 7}, {2, 2});
  // opset 18: num_outputs, uneven last chunk
  out = run_node(node_with("Split", 1, {{"num_outputs", int64_t(3)}}, 18, 3), {iota_f({7})});
  EXPECT_EQ(out[0].shape(), (Shape{3}));
  EXPECT_EQ(out[1].shape(), (Shape{3}));
  expect_values<float>(out[2], {6}, {1});
  // opset 11: split attribute
  out = run_node(node_with("Split", 1, {{"split", I{1, 3}}}, 11, 2), {iota_f({4})});
  expect_values<float>(out[1], {1, 2, 3}, {3});
  expect_error(node_with("Split", 1, {}, 13, 2), {iota_f({5})}, {"cannot be split into 2 equal parts"});
  expect_error(n, {iota_f({5}), ints({2, 2})}, {"sums to 4", "size 5"});
  expect_error(node_with("Split", 1, {{"num_outputs", int64_t(4)}}, 18, 4), {iota_f({5})}, {"chunks of 2"});
}

TEST(Slice, StepsClampingAndNegativeSteps) {
  Node n = make_node("Slice", 5);
  auto x = iota_f({10});
  expect_values<float>(run_node(n, {x, ints({1}), ints({1000}), ints({0}), ints({3})})[0], {1, 4, 7}, {3});
  expect_values<float>(run_node(n, {x, ints({-1}), ints({-1000}), ints({0}), ints({-4})})[0], {9, 5, 1}, {3});
  expect_values<float>(run_node(n, {x, ints({20}), ints({0}), ints({0}), ints({-1})})[0], {9, 8, 7, 6, 5, 4, 3, 2, 1},
                       {9});
  expect_values<float>(run_node(n, {x, ints({5}), ints({2}), ints({0}), ints({1})})[0], {}, {0});
  // 2-D, default axes and steps
  Node n3 = make_node("Slice", 3);
  auto y = run_node(n3, {iota_f({3, 4}), ints({1, -2}), ints({INT64_MAX, INT64_MAX})})[0];
  expect_values<float>(y, {6, 7, 10, 11}, {2, 2});
  // opset 9: attributes
  Node old = node_with("Slice", 1, {{"starts", I{1}}, {"ends", I{3}}, {"axes", I{1}}}, 9);
  expect_values<float>(run_node(old, {iota_f({2, 4})})[0], {1, 2, 5, 6}, {2, 2});
  expect_error(n, {x, ints({0}), ints({1}), ints({0}), ints({0})}, {"step", "is 0"});
  expect_error(n, {x, ints({0}), ints({1}), ints({1}), ints({1})}, {"test_Slice", "axis 1", "rank 1"});
}

TEST(Expand, BroadcastsBothWays) {
  auto out = run_node(make_node("Expand", 2), {tensor<int32_t>({1, 2, 3}, {3, 1}), ints({2, 1, 2})});
  expect_values<int32_t>(out[0], {1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3}, {2, 3, 2});
  expect_error(make_node("Expand", 2), {iota_f({3}), ints({2})}, {"cannot be broadcast"});
}

TEST(Tile, RepeatsEachDim) {
  auto out = run_node(make_node("Tile", 2), {tensor<int64_t>({1, 2, 3, 4}, {2, 2}), ints({1, 2})});
  expect_values<int64_t>(out[0], {1, 2, 1, 2, 3, 4, 3, 4}, {2, 4});
  expect_error(make_node("Tile", 2), {iota_f({2}), ints({1, 2})}, {"2 entries", "rank 1"});
}

TEST(Constant, AttributeKinds) {
  Node n = node_with("Constant", 0, {{"value_ints", I{3, 4}}});
  expect_values<int64_t>(run_node(n, {})[0], {3, 4}, {2});
  n = node_with("Constant", 0, {{"value_float", 2.5f}});
  expect_values<float>(run_node(n, {})[0], {2.5f}, {});
  n = node_with("Constant", 0, {{"value", tensor<int32_t>({7, 8}, {2, 1})}});
  expect_values<int32_t>(run_node(n, {})[0], {7, 8}, {2, 1});
  n = node_with("Constant", 0, {{"sparse_value", tensor<float>({1}, {1})}});
  expect_error(n, {}, {"test_Constant", "sparse_value", "not supported"});
  n = node_with("Constant", 0, {{"value_int", int64_t(1)}, {"value_float", 1.f}});
  expect_error(n, {}, {"exactly one"});
}

TEST(ConstantOfShape, ValueAndDefault) {
  Node n = node_with("ConstantOfShape", 1, {{"value", tensor<int32_t>({5}, {1})}});
  expect_values<int32_t>(run_node(n, {ints({2, 2})})[0], {5, 5, 5, 5}, {2, 2});
  expect_values<float>(run_node(make_node("ConstantOfShape", 1), {ints({0})})[0], {}, {0});
  expect_error(n, {ints({-2})}, {"negative dim"});
}

TEST(DepthToSpace, DcrAndCrdMatchNumpy) {
  // x = arange(32).reshape(1, 8, 2, 2), blocksize 2; expected values from numpy's reference.
  Node dcr = node_with("DepthToSpace", 1, {{"blocksize", int64_t(2)}});
  expect_values<float>(run_node(dcr, {iota_f({1, 8, 2, 2})})[0],
                       {0, 8, 1, 9, 16, 24, 17, 25, 2, 10, 3, 11, 18, 26, 19, 27,
                        4, 12, 5, 13, 20, 28, 21, 29, 6, 14, 7, 15, 22, 30, 23, 31}, {1, 2, 4, 4});
  Node crd = node_with("DepthToSpace", 1, {{"blocksize", int64_t(2)}, {"mode", std::string("CRD")}});
  expect_values<float>(run_node(crd, {iota_f({1, 8, 2, 2})})[0],
                       {0, 4, 1, 5, 8, 12, 9, 13, 2, 6, 3, 7, 10, 14, 11, 15,
                        16, 20, 17, 21, 24, 28, 25, 29, 18, 22, 19, 23, 26, 30, 27, 31}, {1, 2, 4, 4});
  // Round trip through SpaceToDepth restores the DCR input.
  Node s2d = node_with("SpaceToDepth", 1, {{"blocksize", int64_t(2)}});
  Tensor x = iota_f({1, 8, 2, 3});
  Tensor back = run_node(s2d, run_node(dcr, {x}))[0];
  expect_values<float>(back, std::vector<float>(x.data<float>(), x.data<float>() + x.numel()), {1, 8, 2, 3});
  expect_error(dcr, {iota_f({1, 3, 2, 2})}, {"not divisible by blocksize^2 4"});
}

}  // namespace
}  // namespace edgekit::test

namespace edgekit::test {
namespace {

// Static inference must cope with inputs of unknown rank and unknown values: no exception,
// outputs typed (dtype known), shapes unknown or with -1 dims.
TEST(StaticInference, UnknownRanksAndValuesNeverThrow) {
  struct Op {
    const char* type;
    size_t inputs, outputs;
    std::map<std::string, AttributeValue> attrs;
    std::vector<DType> dtypes = {};  // default: f32 data, int64 for the rest
  };
  using D = std::vector<DType>;
  const std::vector<Op> ops = {
      {"Reshape", 2, 1, {}},          {"Flatten", 1, 1, {}},
      {"Transpose", 1, 1, {}},        {"Squeeze", 2, 1, {}},
      {"Unsqueeze", 2, 1, {}},        {"Shape", 1, 1, {}},
      {"Size", 1, 1, {}},             {"Concat", 2, 1, {{"axis", int64_t(1)}}, D{DType::f32, DType::f32}},
      {"Split", 2, 2, {}},            {"Slice", 5, 1, {}},
      {"Gather", 2, 1, {}},           {"GatherElements", 2, 1, {}},
      {"GatherND", 2, 1, {}},         {"ScatterElements", 3, 1, {}, D{DType::f32, DType::i64, DType::f32}},
      {"ScatterND", 3, 1, {}, D{DType::f32, DType::i64, DType::f32}},        {"Expand", 2, 1, {}},
      {"Tile", 2, 1, {}},             {"ConstantOfShape", 1, 1, {}, D{DType::i64}},
      {"Range", 3, 1, {}},            {"EyeLike", 1, 1, {}},
      {"Trilu", 1, 1, {}},            {"OneHot", 3, 1, {}},
      {"CumSum", 2, 1, {}},           {"ReverseSequence", 2, 1, {}},
      {"DepthToSpace", 1, 1, {{"blocksize", int64_t(2)}}},
      {"SpaceToDepth", 1, 1, {{"blocksize", int64_t(2)}}},
      {"NonZero", 1, 1, {}},          {"TopK", 2, 2, {}},
      {"ArgMax", 1, 1, {}},           {"ReduceMean", 2, 1, {}},
      {"ReduceSum", 2, 1, {{"keepdims", int64_t(0)}}},
  };
  for (const Op& op : ops) {
    SCOPED_TRACE(op.type);
    Node n = node_with(op.type, op.inputs, op.attrs, 18, op.outputs);
    std::vector<TensorType> types(op.inputs);
    for (size_t i = 0; i < op.inputs; ++i)
      types[i] = TensorType{i < op.dtypes.size() ? op.dtypes[i] : (i == 0 ? DType::f32 : DType::i64), {}, false};
    if (std::string(op.type) == "Range") types = {{DType::f32, {}, true}, {DType::f32, {}, true}, {DType::f32, {}, true}};
    std::vector<TensorType> out;
    ASSERT_NO_THROW(out = infer_static(n, types));
    for (const auto& t : out) EXPECT_NE(t.dtype, DType::undefined);
    // Known rank, unknown dims.
    for (size_t i = 0; i < op.inputs; ++i)
      if (types[i].dtype == DType::f32 || i == 0) types[i] = TensorType{types[i].dtype, {-1, -1, -1, -1}, true};
    if (std::string(op.type) == "Range" || std::string(op.type) == "EyeLike") continue;  // scalars, 2-D only
    EXPECT_NO_THROW(infer_static(n, types));
  }
}

}  // namespace
}  // namespace edgekit::test

namespace edgekit::test {
// Transpose's fast paths (unit dims dropped, neighbours merged, a swap of two dim groups as a
// tiled 2-D transpose, row copies or channel interleaving) against an index-by-index copy,
// over random shapes with unit dims and every permutation of rank 1 to 5.
TEST(Transpose, EveryPermutationMatchesElementwiseCopy) {
  std::mt19937 rng(21);
  int cases = 0;
  for (size_t rank = 1; rank <= 5; ++rank) {
    std::vector<int64_t> perm(rank);
    std::iota(perm.begin(), perm.end(), 0);
    do {
      for (int trial = 0; trial < 3; ++trial) {
        Shape shape(rank);
        for (auto& d : shape) d = rng() % 3 == 0 ? 1 : 1 + int64_t(rng() % (rank <= 3 ? 40 : 7));
        for (DType dt : {DType::f32, DType::u8, DType::i64}) {
          Tensor x(dt, shape);
          for (int64_t i = 0; i < x.numel(); ++i) {
            if (dt == DType::f32) x.data<float>()[i] = float(i);
            if (dt == DType::u8) x.data<uint8_t>()[i] = uint8_t(i * 7);
            if (dt == DType::i64) x.data<int64_t>()[i] = i * 3;
          }
          Node n = make_node("Transpose", 1, 1, 13);
          n.attrs["perm"] = perm;
          Tensor y = run_node(n, {x})[0];
          // y[i0..] = x[...] with x index k at position perm[k] of y's index
          std::vector<int64_t> xs(rank, 1);
          for (int64_t k = int64_t(rank) - 2; k >= 0; --k) xs[size_t(k)] = xs[size_t(k) + 1] * shape[size_t(k) + 1];
          std::vector<int64_t> idx(rank, 0);
          for (int64_t j = 0; j < y.numel(); ++j) {
            int64_t src = 0;
            for (size_t k = 0; k < rank; ++k) src += idx[k] * xs[size_t(perm[k])];
            ASSERT_EQ(y.as_double(j), x.as_double(src)) << "perm " << shape_str(perm) << " shape " << shape_str(shape);
            for (int64_t k = int64_t(rank) - 1; k >= 0 && ++idx[size_t(k)] == y.shape()[size_t(k)]; --k) idx[size_t(k)] = 0;
          }
          ++cases;
        }
      }
    } while (std::next_permutation(perm.begin(), perm.end()));
  }
  EXPECT_EQ(cases, (1 + 2 + 6 + 24 + 120) * 3 * 3);
}

// The interleaving path ([outer][A][B] -> [outer][B][A], A <= 4: RGB to NHWC, a channel
// shuffle's halves) on every SIMD target, f32 and 8-bit: rows shorter than a vector, one
// vector, a vector and a tail (the last vector overlapping the one before) and long rows.
TEST(Transpose, InterleavingPathOnEveryTarget) {
  for (int64_t target : hwy::SupportedAndGeneratedTargets()) {
    hwy::SetSupportedTargetsForTest(target);
    SCOPED_TRACE(hwy::TargetName(target));
    for (DType dt : {DType::f32, DType::u8, DType::i8})
      for (int64_t a = 1; a <= 4; ++a)
        for (int64_t b : {1, 7, 15, 16, 17, 31, 58, 64, 65, 100, 1000}) {
          Tensor x(dt, {3, a, b});
          for (int64_t i = 0; i < x.numel(); ++i) {
            if (dt == DType::f32) x.data<float>()[i] = float(i);
            else static_cast<uint8_t*>(x.raw())[i] = uint8_t(i * 7 + i / 256);
          }
          Node n = make_node("Transpose", 1, 1, 13);
          n.attrs["perm"] = I{0, 2, 1};
          const Tensor y = run_node(n, {x})[0];
          for (int64_t o = 0; o < 3; ++o)
            for (int64_t j = 0; j < b; ++j)
              for (int64_t k = 0; k < a; ++k)
                ASSERT_EQ(y.as_double((o * b + j) * a + k), x.as_double((o * a + k) * b + j))
                    << dtype_name(dt) << " A " << a << " B " << b;
        }
  }
  hwy::SetSupportedTargetsForTest(0);
}
}  // namespace edgekit::test
