// ReverseSequence: for each batch b, reverses the first sequence_lens[b] steps along
// time_axis; the remaining steps are copied unchanged.
#include <cstring>

#include "kernels/data_movement.h"
#include "kernels/util.h"

namespace edgekit {
namespace {

class ReverseSequence final : public OpKernel {
 public:
  explicit ReverseSequence(const Node& node)
      : OpKernel(node), batch_axis_(node.attr_int("batch_axis", 1)), time_axis_(node.attr_int("time_axis", 0)) {
    EK_CHECK((batch_axis_ == 0 && time_axis_ == 1) || (batch_axis_ == 1 && time_axis_ == 0), node.where(),
             ": batch_axis and time_axis must be 0 and 1 in some order, got ", batch_axis_, " and ", time_axis_);
  }

  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(2, 2);
    const TensorType& x = ctx.input_type(0);
    EK_CHECK(ctx.input_type(1).dtype == DType::i64, node().where(), ": sequence_lens must be int64, got ",
             dtype_name(ctx.input_type(1).dtype));
    EK_CHECK(!x.shape_known || x.shape.size() >= 2, node().where(), ": input must have rank >= 2, got shape ",
             shape_str(x.shape));
    if (x.shape_known) ctx.set_output(0, x.dtype, x.shape);
    else ctx.set_output_unknown(0, x.dtype);
  }

  void run(RunContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    const std::vector<int64_t> lens = ctx.input(1).to_int_vector();
    const int64_t batch = x.shape()[size_t(batch_axis_)], time = x.shape()[size_t(time_axis_)];
    EK_CHECK(int64_t(lens.size()) == batch, node().where(), ": sequence_lens has ", lens.size(),
             " entries for batch size ", batch);
    int64_t inner = 1;
    for (size_t d = 2; d < x.rank(); ++d) inner *= x.shape()[d];
    const size_t es = dtype_size(x.dtype()), block = size_t(inner) * es;
    // Byte offset of step (b, t): the two leading dims in their stored order.
    auto at = [&](int64_t b, int64_t t) {
      return size_t(batch_axis_ == 0 ? b * time + t : t * batch + b) * block;
    };
    const auto* src = static_cast<const uint8_t*>(x.raw());
    auto* dst = static_cast<uint8_t*>(ctx.output(0).raw());
    for (int64_t b = 0; b < batch; ++b) {
      const int64_t len = lens[size_t(b)];
      EK_CHECK(len >= 0 && len <= time, node().where(), ": sequence length ", len, " of batch ", b,
               " is outside 0..", time);
      for (int64_t t = 0; t < time; ++t) {
        const int64_t from = t < len ? len - 1 - t : t;
        if (block) std::memcpy(dst + at(b, t), src + at(b, from), block);
      }
    }
  }

 private:
  int64_t batch_axis_, time_axis_;
};

}  // namespace
EK_REGISTER_OP("ReverseSequence", ReverseSequence);
}  // namespace edgekit
