// Where: y = cond ? x : y with numpy broadcasting of all three inputs. Any dtype: elements
// are copied as raw bits of their size, so one instantiation per element width serves all.
#include "kernels/elementwise.h"

namespace edgekit {
namespace {

template <class Bits>
void where_kernel(const BroadcastPlan& plan, const bool* c, const void* x, const void* y, void* out) {
  const Bits* px = static_cast<const Bits*>(x);
  const Bits* py = static_cast<const Bits*>(y);
  Bits* po = static_cast<Bits*>(out);
  for_each_row(plan, [&](const BroadcastStrides& off, int64_t o, int64_t n, const BroadcastStrides& st) {
    const bool* rc = c + off[0];
    const Bits* rx = px + off[1];
    const Bits* ry = py + off[2];
    Bits* ro = po + o;
    for (int64_t i = 0; i < n; ++i, rc += st[0], rx += st[1], ry += st[2]) ro[i] = *rc ? *rx : *ry;
  });
}

class Where final : public OpKernel {
 public:
  explicit Where(const Node& node) : OpKernel(node) {}

  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(3, 3);
    check_dtype(node(), "input 0 (condition)", ctx.input_type(0).dtype, kBoolType);
    const DType t = ctx.input_type(1).dtype;
    check_dtype(node(), "input 1 (X)", t, kAllTypes);
    EK_CHECK(ctx.input_type(2).dtype == t, node().where(), ": X and Y must have the same dtype, got ",
             dtype_name(t), " and ", dtype_name(ctx.input_type(2).dtype));
    infer_broadcast_output(ctx, 0, 3, t);
  }

  void run(RunContext& ctx) const override {
    const Tensor& c = ctx.input(0);
    const Tensor& x = ctx.input(1);
    const Tensor& y = ctx.input(2);
    Tensor& out = ctx.output(0);
    BroadcastPlan plan = plan_broadcast(node(), out.shape(), c.shape(), x.shape(), y.shape());
    const bool* pc = c.data<bool>();
    switch (dtype_size(x.dtype())) {
      case 1: return where_kernel<uint8_t>(plan, pc, x.raw(), y.raw(), out.raw());
      case 2: return where_kernel<uint16_t>(plan, pc, x.raw(), y.raw(), out.raw());
      case 4: return where_kernel<uint32_t>(plan, pc, x.raw(), y.raw(), out.raw());
      case 8: return where_kernel<uint64_t>(plan, pc, x.raw(), y.raw(), out.raw());
      default: fail(node().where(), ": unsupported dtype ", dtype_name(x.dtype()));
    }
  }
};

}  // namespace
EK_REGISTER_OP("Where", Where);
}  // namespace edgekit
