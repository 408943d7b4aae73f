// Helpers for the neural-network op tests: random tensors, attribute setters, comparisons.
#pragma once
#include <random>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "op_test_util.h"

namespace edgekit::test {

inline Tensor random_tensor(Shape shape, std::mt19937& rng, float lo = -1.f, float hi = 1.f) {
  Tensor t(DType::f32, std::move(shape));
  std::uniform_real_distribution<float> dist(lo, hi);
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = dist(rng);
  return t;
}

inline std::vector<float> values_of(const Tensor& t) {
  const float* p = t.data<float>();
  return std::vector<float>(p, p + t.numel());
}

inline void set_ints(Node& n, const std::string& key, std::vector<int64_t> v) { n.attrs[key] = std::move(v); }
inline void set_int(Node& n, const std::string& key, int64_t v) { n.attrs[key] = v; }
inline void set_float(Node& n, const std::string& key, float v) { n.attrs[key] = v; }
inline void set_string(Node& n, const std::string& key, std::string v) { n.attrs[key] = std::move(v); }

// Expects run_node to throw an Error whose message contains every fragment.
inline void expect_error(const Node& n, const std::vector<Tensor>& inputs, const std::vector<std::string>& fragments) {
  try {
    run_node(n, inputs);
    ADD_FAILURE() << "expected an error from " << n.where();
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.find('\n'), std::string::npos) << "multi-line error: " << msg;
    for (const auto& f : fragments) EXPECT_NE(msg.find(f), std::string::npos) << "'" << f << "' not in: " << msg;
  }
}

// Static shape inference of one node: input types with -1 dims, values only where given.
inline std::vector<TensorType> infer_types(const Node& n, const std::vector<TensorType>& types,
                                           const std::vector<const Tensor*>& values = {}) {
  auto op = create_op(n);
  std::vector<const TensorType*> tp;
  for (const auto& t : types) tp.push_back(t.dtype == DType::undefined ? nullptr : &t);
  std::vector<const Tensor*> vals = values;
  vals.resize(types.size(), nullptr);
  InferContext ctx(n, tp, vals);
  op->infer(ctx);
  return ctx.outputs();
}

// Runs a node's kernel after prepare() saw `constants` (index -> tensor), as the Session does.
inline Tensor run_prepared(const Node& node, const std::vector<Tensor>& ins, const std::vector<bool>& constant) {
  auto kernel = create_op(node);
  std::vector<const Tensor*> consts;
  for (size_t i = 0; i < ins.size(); ++i) consts.push_back(constant[i] && ins[i].defined() ? &ins[i] : nullptr);
  kernel->prepare(PrepareContext(node, consts));
  std::vector<TensorType> types;
  for (const Tensor& t : ins) types.push_back({t.dtype(), t.shape(), true});
  std::vector<const TensorType*> tp;
  std::vector<const Tensor*> vp;
  for (size_t i = 0; i < ins.size(); ++i) {
    tp.push_back(ins[i].defined() ? &types[i] : nullptr);
    vp.push_back(ins[i].defined() ? &ins[i] : nullptr);
  }
  InferContext ictx(node, tp, vp);
  kernel->infer(ictx);
  Tensor y(DType::f32, ictx.outputs()[0].shape);
  ThreadPool pool(2);
  RunContext rctx(node, vp, {&y}, &pool);
  kernel->run(rctx);
  return y;
}

}  // namespace edgekit::test
