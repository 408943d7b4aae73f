// Range: start, start + delta, ... up to (not including) limit;
// count = max(ceil((limit - start) / delta), 0). Integer types count exactly in integers.
#include <cmath>

#include "kernels/data_movement.h"

namespace edgekit {
namespace {

class Range final : public OpKernel {
 public:
  explicit Range(const Node& node) : OpKernel(node) {}

  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(3, 3);
    const DType t = ctx.input_type(0).dtype;
    EK_CHECK(t == DType::f32 || t == DType::f64 || t == DType::i16 || t == DType::i32 || t == DType::i64,
             node().where(), ": unsupported dtype ", dtype_name(t));
    for (size_t i = 0; i < 3; ++i) {
      const TensorType& s = ctx.input_type(i);
      EK_CHECK(s.dtype == t, node().where(), ": input ", i, " has dtype ", dtype_name(s.dtype), ", expected ",
               dtype_name(t));
      EK_CHECK(!s.shape_known || known_numel(s.shape) < 0 || known_numel(s.shape) == 1, node().where(),
               ": input ", i, " must be a scalar, got shape ", shape_str(s.shape));
    }
    const Tensor* v[3] = {ctx.input_value(0), ctx.input_value(1), ctx.input_value(2)};
    if (!v[0] || !v[1] || !v[2]) {
      ctx.set_output(0, t, {-1});
      return;
    }
    ctx.set_output(0, t, {count(*v[0], *v[1], *v[2])});
  }

  void run(RunContext& ctx) const override {
    Tensor& y = ctx.output(0);
    visit_numeric(y.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T start = ctx.input(0).data<T>()[0], delta = ctx.input(2).data<T>()[0];
      T* out = y.data<T>();
      for (int64_t i = 0, n = y.numel(); i < n; ++i) out[i] = T(start + T(i) * delta);
    });
  }

 private:
  int64_t count(const Tensor& start, const Tensor& limit, const Tensor& delta) const {
    return visit_numeric(start.dtype(), [&](auto tag) -> int64_t {
      using T = decltype(tag);
      const T s = start.data<T>()[0], l = limit.data<T>()[0], d = delta.data<T>()[0];
      EK_CHECK(d != T(0), node().where(), ": delta is 0");
      if constexpr (std::is_floating_point_v<T>) {
        double n = std::ceil((double(l) - double(s)) / double(d));
        EK_CHECK(std::isfinite(n) && n < 1e12, node().where(), ": range from ", s, " to ", l, " by ", d,
                 " is too long");
        return n > 0 ? int64_t(n) : 0;
      } else {
        // 128-bit so that e.g. int64 limits cannot overflow the difference.
        const __int128 diff = __int128(l) - __int128(s), step = __int128(d);
        __int128 n = 0;
        if (step > 0 && diff > 0) n = (diff + step - 1) / step;
        if (step < 0 && diff < 0) n = (-diff - step - 1) / -step;
        EK_CHECK(n < (__int128(1) << 40), node().where(), ": range from ", s, " to ", l, " by ", d, " is too long");
        return int64_t(n);
      }
    });
  }
};

}  // namespace
EK_REGISTER_OP("Range", Range);
}  // namespace edgekit
