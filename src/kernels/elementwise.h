// Elementwise machinery shared by the unary, binary, variadic and ternary ops.
//
// Broadcasting. plan_broadcast() describes how 1..3 inputs are read to fill an output of
// numpy-broadcast shape, with the dims "collapsed": output dims of size 1 are dropped and
// neighbouring dims are merged whenever every input walks them the same way (contiguously,
// or broadcast on both). Same-shape inputs collapse to one dim; a scalar side to one dim read
// with stride 0; [N,C] + [C] to two dims; [N,C,H,W] + [C,1,1] to [N, C, H*W]. for_each_row()
// then walks all but the innermost collapsed dim with an odometer (offsets updated once per
// row) and hands each row to a tight inner loop. The innermost stride of every input is 0
// (broadcast) or 1 (contiguous), and the loops below specialise on those, so a big same-shape
// or scalar Add runs one flat loop with no index arithmetic. The plan lives on the stack: no
// allocation in run().
//
// Types. Kernels are written once over a "compute type": the element type itself, except f16,
// which is loaded as float and rounded back on store. DTypeSet and visit_dtypes() restrict
// which dtypes a kernel accepts and instantiate code only for those.
//
// Kernel templates. UnaryKernel<Fn> and BinaryKernel<Fn> turn a small functor (which dtypes,
// the per-element function, optional attributes read from the node) into a full OpKernel,
// so each op is a few lines in a table, not a class.
#pragma once
#include <algorithm>
#include <array>
#include <cmath>
#include <climits>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <type_traits>

#include "core/dtype.h"
#include "core/half.h"
#include "core/thread_pool.h"
#include "kernels/binary_f32.h"
#include "kernels/op.h"
#include "kernels/util.h"

namespace edgekit {

// ---- dtype sets --------------------------------------------------------------------------

using DTypeSet = uint32_t;
constexpr DTypeSet dtype_bit(DType t) { return DTypeSet(1) << unsigned(t); }
constexpr DTypeSet kFloatTypes = dtype_bit(DType::f32) | dtype_bit(DType::f64) | dtype_bit(DType::f16);
constexpr DTypeSet kSignedIntTypes =
    dtype_bit(DType::i8) | dtype_bit(DType::i16) | dtype_bit(DType::i32) | dtype_bit(DType::i64);
constexpr DTypeSet kUnsignedIntTypes =
    dtype_bit(DType::u8) | dtype_bit(DType::u16) | dtype_bit(DType::u32) | dtype_bit(DType::u64);
constexpr DTypeSet kIntTypes = kSignedIntTypes | kUnsignedIntTypes;
constexpr DTypeSet kNumericTypes = kFloatTypes | kIntTypes;
constexpr DTypeSet kBoolType = dtype_bit(DType::boolean);
constexpr DTypeSet kAllTypes = kNumericTypes | kBoolType;
// One bit per DType, and the sets (and visit_dtypes below) cover every DType but undefined.
static_assert(unsigned(DType::boolean) < 32, "DTypeSet needs one bit per DType");
static_assert(kAllTypes == (dtype_bit(DType::boolean) << 1) - 2, "a DType is missing from the dtype sets");

inline bool dtype_in(DType t, DTypeSet set) { return t != DType::undefined && (dtype_bit(t) & set) != 0; }
std::string dtype_set_str(DTypeSet set);  // "f32, f64, f16"

// Throws "<node>: <what> has dtype X, expected one of ..." unless t is in set.
void check_dtype(const Node& node, const char* what, DType t, DTypeSet set);

// Calls fn(T{}) for the C++ type of t, instantiating fn only for the dtypes in Set; those
// outside Hot through cold_call (core/dtype.h: compiled for size). Hot is f32 unless a
// quantized kernel names its int8/uint8 types.
constexpr DTypeSet kHotFloat = dtype_bit(DType::f32);
template <DTypeSet Set, DTypeSet Hot = kHotFloat, class Fn>
void visit_dtypes(DType t, const Node& node, Fn&& fn) {
#define EK_VISIT_CASE(D, T)                                              \
  case DType::D:                                                         \
    if constexpr ((Set & Hot & dtype_bit(DType::D)) != 0) return fn(T{}); \
    else if constexpr ((Set & dtype_bit(DType::D)) != 0) return cold_call(fn, T{}); \
    break;
  switch (t) {
    EK_VISIT_CASE(f32, float)
    EK_VISIT_CASE(f64, double)
    EK_VISIT_CASE(f16, f16_t)
    EK_VISIT_CASE(i8, int8_t)
    EK_VISIT_CASE(u8, uint8_t)
    EK_VISIT_CASE(i16, int16_t)
    EK_VISIT_CASE(u16, uint16_t)
    EK_VISIT_CASE(i32, int32_t)
    EK_VISIT_CASE(u32, uint32_t)
    EK_VISIT_CASE(i64, int64_t)
    EK_VISIT_CASE(u64, uint64_t)
    EK_VISIT_CASE(boolean, bool)
    default: break;
  }
#undef EK_VISIT_CASE
  check_dtype(node, "input", t, Set);  // throws: t is not in Set
}

// ---- compute types -----------------------------------------------------------------------

template <class T> struct compute_type { using type = T; };
template <> struct compute_type<f16_t> { using type = float; };
template <class T> using compute_t = typename compute_type<T>::type;

template <class T> inline compute_t<T> load(T v) { return v; }
inline float load(f16_t v) { return half_to_float(v); }
template <class T, class V> inline T store(V v) {
  if constexpr (std::is_same_v<T, f16_t>) return float_to_half(float(v));
  else return static_cast<T>(v);
}

// Integer arithmetic that wraps on overflow (two's complement) instead of being undefined,
// as every runtime effectively does; floats are unaffected.
template <class C> inline C wrapping_add(C a, C b) {
  if constexpr (std::is_integral_v<C>) { using U = std::make_unsigned_t<C>; return C(U(U(a) + U(b))); }
  else return a + b;
}
template <class C> inline C wrapping_sub(C a, C b) {
  if constexpr (std::is_integral_v<C>) { using U = std::make_unsigned_t<C>; return C(U(U(a) - U(b))); }
  else return a - b;
}
template <class C> inline C wrapping_mul(C a, C b) {
  if constexpr (std::is_integral_v<C>) {
    using U = std::conditional_t<(sizeof(C) < sizeof(unsigned)), unsigned, std::make_unsigned_t<C>>;
    return C(U(U(a) * U(b)));  // promoted to at least unsigned int so u16*u16 cannot overflow int
  } else {
    return a * b;
  }
}

// ---- value conversion (Cast semantics) ---------------------------------------------------

// Float to integer as numpy does on x86-64: truncation toward zero. NaN and out-of-range
// values give the hardware's "integer indefinite" (the minimum value) of the conversion
// numpy uses (32-bit for i32 and narrower, 64-bit for u32 and i64), narrowed by wrapping;
// never undefined behaviour.
template <class I>
I float_to_int(double v) {
  if constexpr (std::is_same_v<I, uint64_t>) {
    if (v >= 9223372036854775808.0 && v < 18446744073709551616.0) return I(v);
    return I(float_to_int<int64_t>(v));
  } else if constexpr (sizeof(I) == 8 || std::is_same_v<I, uint32_t>) {
    if (!(v >= -9223372036854775808.0 && v < 9223372036854775808.0)) return I(INT64_MIN);
    return I(int64_t(v));
  } else {
    if (!(v > -2147483649.0 && v < 2147483648.0)) return I(INT32_MIN);
    return I(int32_t(v));
  }
}

// f64 to f16 without double rounding: round to odd into f32 (which keeps 13 extra bits), then
// to nearest even into f16.
inline f16_t double_to_half(double d) {
  float f = float(d);
  if (std::isfinite(f) && double(f) != d) {
    if (std::fabs(double(f)) > std::fabs(d)) f = std::nextafter(f, 0.0f);  // truncate toward zero
    uint32_t bits;
    std::memcpy(&bits, &f, 4);
    bits |= 1;  // sticky bit: inexact
    std::memcpy(&f, &bits, 4);
  }
  return float_to_half(f);
}

// One element of Cast: any stored type (incl. f16, bool) to any other.
template <class To, class From>
To convert_value(From v) {
  if constexpr (std::is_same_v<From, f16_t>) {
    return convert_value<To>(half_to_float(v));
  } else if constexpr (std::is_same_v<To, From>) {
    return v;
  } else if constexpr (std::is_same_v<To, f16_t>) {
    if constexpr (std::is_same_v<From, double>) return double_to_half(v);
    else return float_to_half(float(v));
  } else if constexpr (std::is_same_v<To, bool>) {
    return v != From(0);
  } else if constexpr (std::is_integral_v<To> && std::is_floating_point_v<From>) {
    return float_to_int<To>(double(v));
  } else {
    return static_cast<To>(v);
  }
}

// ---- broadcasting ------------------------------------------------------------------------

constexpr int kMaxBroadcastInputs = 3;
constexpr int kMaxBroadcastRank = 32;  // collapsed rank; real models stay far below
using BroadcastStrides = std::array<int64_t, kMaxBroadcastInputs>;

struct BroadcastPlan {
  int64_t numel = 0;  // output elements
  int rank = 0;       // collapsed rank, >= 1
  int num_inputs = 0;
  std::array<int64_t, kMaxBroadcastRank> dims{};
  std::array<BroadcastStrides, kMaxBroadcastRank> strides{};  // element strides per dim, per input
};

// Elementwise kernels split work over threads only above this many elements a piece: below
// it a piece takes a few microseconds, about what handing it to another thread costs.
constexpr int64_t kMinParallelElements = int64_t(1) << 16;

// The part of plan p covering indices [begin, end) of its outermost dim, to split a broadcast
// over threads: the output starts at element `out`, input k at element `in[k]`.
struct BroadcastSlice {
  BroadcastPlan plan;
  int64_t out = 0;
  BroadcastStrides in{};
};
inline BroadcastSlice slice_outer(const BroadcastPlan& p, int64_t begin, int64_t end) {
  BroadcastSlice s{p, 0, {}};
  const int64_t row = p.dims[0] == 0 ? 0 : p.numel / p.dims[0];  // output elements per outer index
  s.plan.dims[0] = end - begin, s.plan.numel = row * (end - begin), s.out = row * begin;
  for (int k = 0; k < p.num_inputs; ++k) s.in[k] = p.strides[0][k] * begin;
  return s;
}

// Plans reading `inputs` (each broadcastable to out_shape, numpy rules) to fill out_shape.
// Throws naming the node when an input does not broadcast to out_shape.
BroadcastPlan plan_broadcast(const Node& node, const Shape& out_shape, const Shape* const* inputs, int num_inputs);
inline BroadcastPlan plan_broadcast(const Node& node, const Shape& out, const Shape& a) {
  const Shape* in[] = {&a};
  return plan_broadcast(node, out, in, 1);
}
inline BroadcastPlan plan_broadcast(const Node& node, const Shape& out, const Shape& a, const Shape& b) {
  const Shape* in[] = {&a, &b};
  return plan_broadcast(node, out, in, 2);
}
inline BroadcastPlan plan_broadcast(const Node& node, const Shape& out, const Shape& a, const Shape& b,
                                    const Shape& c) {
  const Shape* in[] = {&a, &b, &c};
  return plan_broadcast(node, out, in, 3);
}

// Calls row(offsets, out_offset, n, inner_strides) once per innermost row: input k's row
// starts at element offsets[k], the output row at out_offset, n elements long, and input k
// advances by inner_strides[k] (0 or 1) per element.
template <class RowFn>
void for_each_row(const BroadcastPlan& p, RowFn&& row) {
  if (p.numel == 0) return;
  const int outer = p.rank - 1;
  const int64_t n = p.dims[outer];
  const BroadcastStrides& inner = p.strides[outer];
  std::array<int64_t, kMaxBroadcastRank> idx{};
  BroadcastStrides off{};
  for (int64_t o = 0; o < p.numel; o += n) {
    row(off, o, n, inner);
    for (int d = outer - 1; d >= 0; --d) {  // odometer over the outer dims
      for (int k = 0; k < p.num_inputs; ++k) off[k] += p.strides[d][k];
      if (++idx[d] < p.dims[d]) break;
      for (int k = 0; k < p.num_inputs; ++k) off[k] -= p.strides[d][k] * p.dims[d];
      idx[d] = 0;
    }
  }
}

// y = op(a, b) over broadcast inputs; op takes and returns compute-type values (or bool).
template <class TA, class TB, class TY, class Op>
void broadcast_binary(const BroadcastPlan& p, const TA* a, const TB* b, TY* y, const Op& op) {
  for_each_row(p, [&](const BroadcastStrides& off, int64_t o, int64_t n, const BroadcastStrides& st) {
    const TA* pa = a + off[0];
    const TB* pb = b + off[1];
    TY* py = y + o;
    if (st[0] && st[1]) {
      for (int64_t i = 0; i < n; ++i) py[i] = store<TY>(op(load(pa[i]), load(pb[i])));
    } else if (st[1]) {
      const auto va = load(*pa);
      for (int64_t i = 0; i < n; ++i) py[i] = store<TY>(op(va, load(pb[i])));
    } else if (st[0]) {
      const auto vb = load(*pb);
      for (int64_t i = 0; i < n; ++i) py[i] = store<TY>(op(load(pa[i]), vb));
    } else {
      const TY v = store<TY>(op(load(*pa), load(*pb)));
      for (int64_t i = 0; i < n; ++i) py[i] = v;
    }
  });
}

// y = op(x), contiguous, same shape.
template <class TX, class TY, class Op>
void map_unary(const TX* x, TY* y, int64_t n, const Op& op) {
  for (int64_t i = 0; i < n; ++i) y[i] = store<TY>(op(load(x[i])));
}

// Output shape of broadcasting the inputs, for infer(); unknown rank stays unknown.
// Returns false (and sets output 0 unknown with `dtype`) when some input's rank is unknown.
bool infer_broadcast_output(InferContext& ctx, size_t first_input, size_t num_inputs, DType dtype);

// ---- kernel templates --------------------------------------------------------------------
//
// A unary functor:
//   struct AbsFn {
//     static constexpr DTypeSet kTypes = kNumericTypes;   // accepted input dtypes
//     static constexpr bool kBoolOut = false;             // true: output is bool (IsNaN)
//     explicit AbsFn(const Node&) {}                      // reads attributes
//     template <class C> C operator()(C x) const { ... }  // C: compute type
//   };
// A binary functor has the same members with operator()(C a, C b), plus
//   static constexpr bool kIntDivides = true;  // integer inputs: a zero divisor is an error

// Whether a unary functor has a vectorised whole-array f32 form.
template <class Fn>
inline constexpr bool has_f32_array = requires(const Fn& fn, const float* x, float* y) {
  fn.f32_array(x, y, int64_t(0));
};

template <class Fn>
class UnaryKernel final : public OpKernel {
 public:
  explicit UnaryKernel(const Node& node) : OpKernel(node), fn_(node) {}

  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(1, 1);
    const TensorType& x = ctx.input_type(0);
    check_dtype(node(), "input 0", x.dtype, Fn::kTypes);
    DType out = Fn::kBoolOut ? DType::boolean : x.dtype;
    if (x.shape_known) ctx.set_output(0, out, x.shape);
    else ctx.set_output_unknown(0, out);
  }

  void run(RunContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    Tensor& y = ctx.output(0);
    // A functor may offer a vectorised whole-array f32 form: bool f32_array(x, y, n) const.
    // Tested here, outside the generic lambda, where the discarded branch is dependent.
    if constexpr (has_f32_array<Fn>)
      if (x.dtype() == DType::f32 && fn_.f32_array(x.data<float>(), y.data<float>(), x.numel())) return;
    visit_dtypes<Fn::kTypes>(x.dtype(), node(), [&](auto tag) {
      using T = decltype(tag);
      using TY = std::conditional_t<Fn::kBoolOut, bool, T>;
      map_unary(x.data<T>(), y.data<TY>(), x.numel(), fn_);
    });
  }

 private:
  Fn fn_;
};

template <class Fn, class = void> struct int_divides : std::false_type {};
template <class Fn> struct int_divides<Fn, std::void_t<decltype(Fn::kIntDivides)>>
    : std::bool_constant<Fn::kIntDivides> {};

// Throws naming the node when an integer divisor tensor holds a zero (it would trap).
template <class T>
void check_no_zero_divisor(const Node& node, const T* b, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    EK_CHECK(b[i] != T(0), node.where(), ": integer division by zero (divisor element ", i, " is 0)");
}

// A binary functor may name its float vector path: static constexpr BinaryF32Op kF32Op.
template <class Fn, class = void>
struct has_f32_vector_op : std::false_type {};
template <class Fn>
struct has_f32_vector_op<Fn, std::void_t<decltype(Fn::kF32Op)>> : std::true_type {};

template <class Fn>
class BinaryKernel final : public OpKernel {
 public:
  explicit BinaryKernel(const Node& node) : OpKernel(node), fn_(node) {}

  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(2, 2);
    const TensorType& a = ctx.input_type(0);
    const TensorType& b = ctx.input_type(1);
    check_dtype(node(), "input 0", a.dtype, Fn::kTypes);
    EK_CHECK(a.dtype == b.dtype, node().where(), ": inputs must have the same dtype, got ", dtype_name(a.dtype),
             " and ", dtype_name(b.dtype));
    fn_.check(node(), a.dtype);
    infer_broadcast_output(ctx, 0, 2, Fn::kBoolOut ? DType::boolean : a.dtype);
  }

  void run(RunContext& ctx) const override {
    const Tensor& a = ctx.input(0);
    const Tensor& b = ctx.input(1);
    Tensor& y = ctx.output(0);
    BroadcastPlan plan = plan_broadcast(node(), y.shape(), a.shape(), b.shape());
    if constexpr (has_f32_vector_op<Fn>::value) {
      if (a.dtype() == DType::f32) return run_f32(ctx, plan, a.data<float>(), b.data<float>(), y.data<float>());
    }
    visit_dtypes<Fn::kTypes>(a.dtype(), node(), [&](auto tag) {
      using T = decltype(tag);
      using TY = std::conditional_t<Fn::kBoolOut, bool, T>;
      if constexpr (int_divides<Fn>::value && std::is_integral_v<T>)
        check_no_zero_divisor(node(), b.data<T>(), b.numel());
      broadcast_binary(plan, a.data<T>(), b.data<T>(), y.data<TY>(), fn_);
    });
  }

 private:
  // The vector path (kernels/binary_f32.h) over slices of the plan's outermost dim, on the
  // threads when large.
  static void run_f32(const RunContext& ctx, const BroadcastPlan& plan, const float* a, const float* b, float* y) {
    const int64_t outer = plan.dims[0], row = outer == 0 ? 1 : std::max<int64_t>(plan.numel / outer, 1);
    parallel_for(ctx.threads(), outer, [&](int64_t begin, int64_t end) {
      const BroadcastSlice s = slice_outer(plan, begin, end);
      binary_f32(Fn::kF32Op, s.plan, a + s.in[0], b + s.in[1], y + s.out);
    }, (kMinParallelElements + row - 1) / row);
  }

  Fn fn_;
};

// Base for functors without attributes or extra dtype rules.
struct StatelessFn {
  StatelessFn() = default;
  explicit StatelessFn(const Node&) {}
  void check(const Node&, DType) const {}
};

}  // namespace edgekit
