// The executor. At construction every node gets its kernel and every value a slot; the
// schedule (node order, which slots die after which node) is fixed then. run() walks the
// schedule: infer output shapes from the actual inputs, allocate, compute, release dead slots.
#include "runtime/session.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <unordered_map>

#include "formats/model_loader.h"
#include "passes/pass_manager.h"

namespace edgekit {

namespace {
int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

Session::Session(const std::string& model_path, SessionOptions options)
    : Session(load_model(model_path), options) {}

Session::Session(Graph graph, SessionOptions options)
    : options_(options), graph_(std::make_unique<Graph>(std::move(graph))) {
  int cores = int(std::max(1u, std::thread::hardware_concurrency()));
  EK_CHECK(options_.threads >= 1 && options_.threads <= cores, "threads must be between 1 and ", cores,
           " (the cores of this machine), got ", options_.threads);
  pool_ = std::make_unique<ThreadPool>(options_.threads);
  const char* poison = std::getenv("EDGEKIT_POISON_ARENA");
  poison_arena_ = poison && std::string(poison) == "1";
  created_ns_ = now_ns();
  graph_->topo_sort();
  verify(*graph_);  // passes rely on a well-formed graph
  optimize_graph(*graph_, options_.opt_level);
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
  for (size_t k = 0; k < g.nodes.size(); ++k) {  // kernels pack their weights once
    std::vector<const Tensor*> consts;
    for (int s : input_slots_[k]) consts.push_back(s >= 0 && constants_[size_t(s)].defined() ? &constants_[size_t(s)] : nullptr);
    kernels_[k]->prepare(PrepareContext(g.nodes[k], std::move(consts)));
  }

  // Last use of each computed slot; graph outputs and constants are never released.
  std::vector<int> last_use(num_slots_, -1);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    for (int s : input_slots_[i])
      if (s >= 0) last_use[size_t(s)] = int(i);
    for (int s : output_slots_[i])  // an output nobody reads dies right after its node
      if (s >= 0 && last_use[size_t(s)] < int(i)) last_use[size_t(s)] = int(i);
  }
  for (int s : result_slots_) last_use[size_t(s)] = -1;
  last_use_ = last_use;
  produced_at_.assign(num_slots_, -1);
  for (size_t i = 0; i < g.nodes.size(); ++i)
    for (int s : output_slots_[i])
      if (s >= 0) produced_at_[size_t(s)] = int(i);
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

void Session::make_arena_plan(const std::vector<Shape>& feed_shapes, const std::vector<TensorType>& record) {
  std::vector<BufferRequest> requests;
  std::vector<int> request_slot;
  for (size_t s = 0; s < num_slots_; ++s) {
    if (record[s].dtype == DType::undefined || produced_at_[s] < 0 || last_use_[s] < 0) continue;  // outputs, feeds, constants
    requests.push_back({size_t(shape_numel(record[s].shape)) * dtype_size(record[s].dtype), produced_at_[s], last_use_[s]});
    request_slot.push_back(int(s));
  }
  Arena a;
  a.plan = plan_memory(requests);
  a.feed_shapes = feed_shapes;
  a.dtypes.assign(num_slots_, DType::undefined);
  a.shapes.assign(num_slots_, {});
  a.offsets.assign(num_slots_, -1);
  for (size_t r = 0; r < requests.size(); ++r) {
    size_t s = size_t(request_slot[r]);
    a.offsets[s] = int64_t(a.plan.offsets[r]);
    a.dtypes[s] = record[s].dtype;
    a.shapes[s] = record[s].shape;
  }
  a.memory = allocate_aligned(a.plan.arena_bytes, false);
  a.valid = true;
  arena_ = std::move(a);
}

Tensor Session::output_tensor(int slot, const TensorType& t, std::vector<TensorType>* record) {
  size_t s = size_t(slot);
  if (!record && arena_.offsets[s] >= 0 && arena_.dtypes[s] == t.dtype && arena_.shapes[s] == t.shape)
    return Tensor::wrap(t.dtype, t.shape, static_cast<char*>(arena_.memory.get()) + arena_.offsets[s], arena_.memory);
  if (record) (*record)[s] = t;
  return Tensor(t.dtype, t.shape);
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
  std::vector<Shape> feed_shapes;
  for (int s : feed_slots_) feed_shapes.push_back(slots[size_t(s)].shape());
  std::vector<TensorType> record;  // types of this run's tensors, when a new plan is needed
  if (!arena_.valid || arena_.feed_shapes != feed_shapes) record.resize(num_slots_);
  if (record.empty() && poison_arena_) std::memset(arena_.memory.get(), 0xff, arena_.plan.arena_bytes);

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
      slots[size_t(outs[i])] = output_tensor(outs[i], t, record.empty() ? nullptr : &record);
      out_ptrs[i] = &slots[size_t(outs[i])];
    }
    RunContext rctx(node, in_ptrs, out_ptrs, pool_.get());
    int64_t start = options_.profile ? now_ns() : 0;
    kernels_[k]->run(rctx);
    if (options_.profile && profile_.size() < kMaxProfileEvents)
      profile_.push_back({int(k), runs_, start - created_ns_, now_ns() - start});
    for (int s : release_after_[k]) slots[size_t(s)] = Tensor();
  }

  std::vector<Tensor> results;
  for (int s : result_slots_) results.push_back(slots[size_t(s)]);
  if (!record.empty()) make_arena_plan(feed_shapes, record);
  ++runs_;
  return results;
}

}  // namespace edgekit
