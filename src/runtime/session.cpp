// The executor. At construction every node gets its kernel and every value a slot; the
// schedule (node order, which slots die after which node) is fixed then. run() walks the
// schedule: infer output shapes from the actual inputs, allocate, compute, release dead slots.
#include "runtime/session.h"

#include <algorithm>
#include <thread>
#include <unordered_map>

#include "formats/model_loader.h"

namespace edgekit {

Session::Session(const std::string& model_path, SessionOptions options)
    : Session(load_model(model_path), options) {}

Session::Session(Graph graph, SessionOptions options)
    : options_(options), graph_(std::make_unique<Graph>(std::move(graph))) {
  int cores = int(std::max(1u, std::thread::hardware_concurrency()));
  EK_CHECK(options_.threads >= 1 && options_.threads <= cores, "threads must be between 1 and ", cores,
           " (the cores of this machine), got ", options_.threads);
  pool_ = std::make_unique<ThreadPool>(options_.threads);
  prepare();
}

Session::~Session() = default;

void Session::prepare() {
  Graph& g = *graph_;
  g.topo_sort();
  verify(g);
  std::unordered_map<std::string, int> slot_of;
  auto slot = [&](const std::string& name) {
    auto [it, added] = slot_of.emplace(name, int(slot_names_.size()));
    if (added) slot_names_.push_back(name);
    return it->second;
  };
  for (const auto& in : g.inputs) feed_slots_.push_back(slot(in.name));
  for (const auto& [name, t] : g.initializers) slot(name);
  kernels_.reserve(g.nodes.size());
  for (const auto& n : g.nodes) {
    kernels_.push_back(create_op(n));
    std::vector<int> ins, outs;
    for (const auto& v : n.inputs) ins.push_back(v.empty() ? -1 : slot(v));
    for (const auto& v : n.outputs) outs.push_back(v.empty() ? -1 : slot(v));
    input_slots_.push_back(std::move(ins));
    output_slots_.push_back(std::move(outs));
  }
  for (const auto& out : g.outputs) result_slots_.push_back(slot(out.name));
  num_slots_ = slot_names_.size();
  constants_.resize(num_slots_);
  for (const auto& [name, t] : g.initializers) constants_[size_t(slot_of[name])] = t;

  // Last use of each computed slot; graph outputs and constants are never released.
  std::vector<int> last_use(num_slots_, -1);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    for (int s : input_slots_[i])
      if (s >= 0) last_use[size_t(s)] = int(i);
    for (int s : output_slots_[i])  // an output nobody reads dies right after its node
      if (s >= 0 && last_use[size_t(s)] < int(i)) last_use[size_t(s)] = int(i);
  }
  for (int s : result_slots_) last_use[size_t(s)] = -1;
  release_after_.resize(g.nodes.size());
  for (size_t s = 0; s < num_slots_; ++s)
    if (last_use[s] >= 0 && !constants_[s].defined()) release_after_[size_t(last_use[s])].push_back(int(s));
}

void Session::check_feed(const ValueInfo& info, const Tensor& t) const {
  EK_CHECK(t.dtype() == info.dtype, "input '", info.name, "': expected dtype ", dtype_name(info.dtype), ", got ",
           dtype_name(t.dtype()));
  if (!info.shape_known) return;
  bool ok = t.rank() == info.dims.size();
  for (size_t i = 0; ok && i < info.dims.size(); ++i) ok = info.dims[i] < 0 || info.dims[i] == t.shape()[i];
  EK_CHECK(ok, "input '", info.name, "': expected shape ", info.shape_string(), ", got ", shape_str(t.shape()));
}

std::vector<Tensor> Session::run(const std::map<std::string, Tensor>& feeds) {
  const Graph& g = *graph_;
  std::vector<Tensor> slots = constants_;
  for (const auto& [name, t] : feeds) {
    bool known = false;
    for (size_t i = 0; i < g.inputs.size() && !known; ++i) known = g.inputs[i].name == name;
    if (!known) {
      std::string names;
      for (const auto& in : g.inputs) names += (names.empty() ? "'" : ", '") + in.name + "'";
      fail("unknown input '", name, "' (model inputs: ", names, ")");
    }
  }
  for (size_t i = 0; i < g.inputs.size(); ++i) {
    auto it = feeds.find(g.inputs[i].name);
    EK_CHECK(it != feeds.end(), "missing input '", g.inputs[i].name, "'");
    check_feed(g.inputs[i], it->second);
    slots[size_t(feed_slots_[i])] = it->second;
  }

  std::vector<TensorType> types;
  std::vector<const TensorType*> type_ptrs;
  std::vector<const Tensor*> in_ptrs;
  std::vector<Tensor*> out_ptrs;
  for (size_t k = 0; k < g.nodes.size(); ++k) {
    const Node& node = g.nodes[k];
    const auto& ins = input_slots_[k];
    types.assign(ins.size(), TensorType{});
    type_ptrs.assign(ins.size(), nullptr);
    in_ptrs.assign(ins.size(), nullptr);
    for (size_t i = 0; i < ins.size(); ++i) {
      if (ins[i] < 0) continue;
      const Tensor& t = slots[size_t(ins[i])];
      EK_CHECK(t.defined(), node.where(), ": input '", node.inputs[i], "' has no value");
      types[i] = TensorType{t.dtype(), t.shape(), true};
      type_ptrs[i] = &types[i];
      in_ptrs[i] = &t;
    }
    InferContext ictx(node, type_ptrs, in_ptrs);
    kernels_[k]->infer(ictx);
    const auto& outs = output_slots_[k];
    out_ptrs.assign(outs.size(), nullptr);
    for (size_t i = 0; i < outs.size(); ++i) {
      if (outs[i] < 0) continue;
      const TensorType& t = ictx.outputs()[i];
      EK_CHECK(t.dtype != DType::undefined && t.shape_known, node.where(), ": output ", i,
               " has no inferred type");
      slots[size_t(outs[i])] = Tensor(t.dtype, t.shape);
      out_ptrs[i] = &slots[size_t(outs[i])];
    }
    RunContext rctx(node, in_ptrs, out_ptrs, pool_.get());
    kernels_[k]->run(rctx);
    for (int s : release_after_[k]) slots[size_t(s)] = Tensor();
  }

  std::vector<Tensor> results;
  for (int s : result_slots_) results.push_back(slots[size_t(s)]);
  return results;
}

}  // namespace edgekit
