// The executor. At construction every node gets its kernel and every value a slot; the
// schedule (node order, which slots die after which node) is fixed then. run() walks the
// schedule: output shapes (inferred, or recorded for static nodes), buffers (the planned
// arena), compute, release dead slots.
#include "runtime/session.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <unordered_map>

#include "ekm/ekm.h"
#include "runtime/model_file.h"
#include "passes/pass_manager.h"

namespace edgekit {

namespace {
ModelFile graph_only(Graph graph) {
  ModelFile file;
  file.model.graph = std::move(graph);
  return file;
}

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

std::unique_ptr<ThreadPool> Session::make_pool(const SessionOptions& options) {
  // Read once: hardware_concurrency() parses a sysfs file on every call (2% of a small model's load).
  static const int cores = int(std::max(1u, std::thread::hardware_concurrency()));
  EK_CHECK(options.threads >= 1 && options.threads <= cores, "threads must be between 1 and ", cores,
           " (the cores of this machine), got ", options.threads);
  return std::make_unique<ThreadPool>(options.threads);
}

Session::Session(const std::string& model_path, SessionOptions options)
    : Session(make_pool(options), model_path, options) {}

Session::Session(std::unique_ptr<ThreadPool> pool, const std::string& model_path, SessionOptions options)
    : Session(open_model_file(model_path, pool.get(), options.verify_hash), options, std::move(pool)) {}  // moved from only in the body

Session::Session(Graph graph, SessionOptions options)
    : Session(graph_only(std::move(graph)), options, make_pool(options)) {}

Session::Session(ModelFile file, SessionOptions options, std::unique_ptr<ThreadPool>&& pool)
    : options_(options), pool_(std::move(pool)), graph_(std::make_unique<Graph>(std::move(file.model.graph))) {
  const char* poison = std::getenv("EDGEKIT_POISON_ARENA");
  poison_arena_ = poison && std::string(poison) == "1";
  created_ns_ = now_ns();
  // The graph is checked once: verify() also proves the node order topological. A compiled
  // graph is stored sorted (and read_ekm verified it when the Session opened the file); passes
  // verify the graph after every change they make, so nothing needs sorting after them.
  if (graph_->compiled_opt_level < 0) {
    graph_->topo_sort();
    verify(*graph_);  // passes rely on a well-formed graph
    optimize_graph(*graph_, options_.opt_level);
  } else if (!file.compiled) {
    verify(*graph_);
  }
  prepare(file.compiled ? &file.model.packed : nullptr);
  if (file.compiled && file.model.memory_plan.present) use_stored_plan(file.model.memory_plan);
}

Session::~Session() = default;

void Session::prepare(const std::map<std::string, PackedWeights>* packed) {
  Graph& g = *graph_;
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
  slots_ = constants_;  // constants stay; feeds and computed values come and go per run
  for (size_t k = 0; k < g.nodes.size(); ++k) {  // each node reads and writes fixed slots
    std::vector<const Tensor*> in;
    std::vector<Tensor*> out;
    for (int s : input_slots_[k]) in.push_back(s >= 0 ? &slots_[size_t(s)] : nullptr);
    for (int s : output_slots_[k]) out.push_back(s >= 0 ? &slots_[size_t(s)] : nullptr);
    run_contexts_.emplace_back(g.nodes[k], std::move(in), std::move(out), pool_.get());
  }
  // Weights an .ekm stored packed go to the one node input that reads them, whose kernel uses
  // them in place when they are in the layout it wants; all others get their plain values back.
  std::vector<const PackedWeights*> packed_at(num_slots_, nullptr);
  if (packed) {
    const std::vector<int> reads = reads_per_slot();
    for (const auto& [name, p] : *packed) {
      const size_t s = size_t(slot_of.at(name));
      if (reads[s] == 1)
        packed_at[s] = &p;
      else
        unpack_constant(s, p);
    }
  }
  for (size_t k = 0; k < g.nodes.size(); ++k) {  // kernels pack their weights once
    std::vector<const Tensor*> consts;
    std::vector<const PackedWeights*> stored;
    for (int s : input_slots_[k]) {
      const PackedWeights* p = s >= 0 ? packed_at[size_t(s)] : nullptr;
      consts.push_back(s >= 0 && !p && constants_[size_t(s)].defined() ? &constants_[size_t(s)] : nullptr);
      stored.push_back(p);
    }
    PrepareContext ctx(g.nodes[k], consts, stored);
    kernels_[k]->prepare(ctx);
    bool declined = false;
    for (size_t i = 0; i < stored.size(); ++i)
      if (stored[i] && !ctx.adopted(i)) {  // not this CPU's layout (or not this kernel's): pack again
        const size_t s = size_t(input_slots_[k][i]);
        unpack_constant(s, *stored[i]);
        consts[i] = &constants_[s];
        declined = true;
      }
    if (declined) {
      kernels_[k] = create_op(g.nodes[k]);
      kernels_[k]->prepare(PrepareContext(g.nodes[k], std::move(consts)));
    }
  }

  // Shape-only ops (Reshape, Flatten, Squeeze, Unsqueeze, Identity) become views of their
  // input, sharing its buffer, unless their output is a graph output (the caller keeps those).
  view_.assign(g.nodes.size(), 0);
  for (size_t k = 0; k < g.nodes.size(); ++k) {
    const Node& n = g.nodes[k];
    const bool shape_only = n.domain.empty() && (n.op_type == "Reshape" || n.op_type == "Flatten" ||
                                                 n.op_type == "Squeeze" || n.op_type == "Unsqueeze" ||
                                                 n.op_type == "Identity");
    if (!shape_only || n.outputs.size() != 1 || output_slots_[k][0] < 0 || input_slots_[k].empty() ||
        input_slots_[k][0] < 0)
      continue;
    view_[k] = std::find(result_slots_.begin(), result_slots_.end(), output_slots_[k][0]) == result_slots_.end();
  }

  // Ops that update an input in place (OpKernel::in_place_input) get that input's buffer as
  // their output, when the input is a computed value and neither is a graph output; else
  // the kernel copies it.
  in_place_.assign(g.nodes.size(), -1);
  auto is_result = [&](int s) { return std::find(result_slots_.begin(), result_slots_.end(), s) != result_slots_.end(); };
  for (size_t k = 0; k < g.nodes.size(); ++k) {
    const int i = kernels_[k]->in_place_input();
    if (i < 0 || size_t(i) >= input_slots_[k].size() || output_slots_[k].empty()) continue;
    const int in = input_slots_[k][size_t(i)], out = output_slots_[k][0];
    const bool feed = std::find(feed_slots_.begin(), feed_slots_.end(), in) != feed_slots_.end();
    if (in >= 0 && out >= 0 && !feed && !constants_[size_t(in)].defined() && !is_result(in) && !is_result(out))
      in_place_[k] = i;
  }

  // Last use of each computed slot; graph outputs and constants are never released.
  std::vector<int> last_use(num_slots_, -1);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    for (int s : input_slots_[i])
      if (s >= 0) last_use[size_t(s)] = int(i);
    for (int s : output_slots_[i])  // an output nobody reads dies right after its node
      if (s >= 0 && last_use[size_t(s)] < int(i)) last_use[size_t(s)] = int(i);
  }
  // A view's buffer is its input's: the input lives as long as the view is read (backwards, so
  // chains of views reach the first buffer).
  // Likewise an in-place output's buffer is its input's.
  for (size_t k = g.nodes.size(); k-- > 0;)
    if (view_[k] || in_place_[k] >= 0) {
      int& base = last_use[size_t(input_slots_[k][size_t(view_[k] ? 0 : in_place_[k])])];
      base = std::max(base, last_use[size_t(output_slots_[k][0])]);
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

// An .ekm's memory plan was made at compile time by this planner for the declared input
// shapes. With it the first run with those shapes writes its tensors straight into one arena
// (each page touched once, kept for the later runs) instead of a zeroed allocation per tensor.
// It is used only when it fits this Session's own lifetimes: a plan that names unknown or
// constant values, leaves the arena or overlaps two tensors live together (another version's
// plan, a hostile file's) is ignored, and the first run allocates tensors apart as without it.
void Session::use_stored_plan(const EkmMemoryPlan& plan) {
  const Graph& g = *graph_;
  if (plan.inputs.size() != g.inputs.size() || plan.arena_bytes <= 0) return;
  StoredPlan stored;
  for (const auto& in : plan.inputs) {
    for (int64_t d : in.dims)
      if (d < 0) return;
    stored.feed_shapes.push_back(in.dims);
  }
  std::unordered_map<std::string_view, int> slot_of;
  for (size_t s = 0; s < num_slots_; ++s) slot_of.emplace(slot_names_[s], int(s));
  stored.offsets.assign(num_slots_, -1);
  stored.bytes.assign(num_slots_, -1);
  std::vector<BufferRequest> requests;
  MemoryPlan check;
  check.arena_bytes = size_t(plan.arena_bytes);
  for (const auto& t : plan.tensors) {
    auto it = slot_of.find(t.name);
    if (it == slot_of.end()) return;
    const size_t s = size_t(it->second);
    if (produced_at_[s] < 0 || last_use_[s] < 0 || constants_[s].defined() || stored.offsets[s] >= 0) return;
    if (t.offset < 0 || t.bytes < 0 || t.offset % int64_t(MemoryPlan::kAlignment) != 0 || t.offset > plan.arena_bytes ||
        t.bytes > plan.arena_bytes - t.offset)
      return;
    stored.offsets[s] = t.offset;
    stored.bytes[s] = t.bytes;
    requests.push_back({size_t(t.bytes), produced_at_[s], last_use_[s]});
    check.offsets.push_back(size_t(t.offset));
  }
  // A plan claiming more memory than the machine has fails to allocate and is ignored too (a
  // hostile file can ask for as much with a legitimately large tensor, so this opens nothing new).
  try {
    check_memory_plan(requests, check);
    stored.arena_bytes = size_t(plan.arena_bytes);
    stored.memory = allocate_aligned(stored.arena_bytes, false);
  } catch (const Error&) {
    return;
  }
  stored_plan_ = std::move(stored);
}

// The plain values of packed weights, in place of the packed bytes the slot held.
void Session::unpack_constant(size_t slot, const PackedWeights& p) {
  const std::string& name = slot_names_[slot];
  Tensor t(DType::f32, p.dims);
  unpack_weights(p, t.data<float>(), cat("initializer '", name, "'"));
  constants_[slot] = t;
  slots_[slot] = t;
  graph_->initializers[name] = t;
}

// How many node inputs read each slot; a graph output counts twice (the caller reads it too).
std::vector<int> Session::reads_per_slot() const {
  std::vector<int> reads(num_slots_, 0);
  for (const auto& ins : input_slots_)
    for (int s : ins)
      if (s >= 0) ++reads[size_t(s)];
  for (int s : result_slots_) reads[size_t(s)] += 2;
  return reads;
}

std::map<std::string, PackedWeights> Session::packed_initializers() const {
  const std::vector<int> reads = reads_per_slot();
  std::map<std::string, PackedWeights> out;
  for (size_t k = 0; k < kernels_.size(); ++k)
    for (auto& [i, p] : kernels_[k]->packed_inputs()) {
      const int s = i < input_slots_[k].size() ? input_slots_[k][i] : -1;
      if (s < 0 || reads[size_t(s)] != 1) continue;
      const Tensor& plain = constants_[size_t(s)];
      // Panels pad output channels to the panel width: a narrow layer's may be several times
      // its plain size; those stay plain (packed at load) so the file does not grow.
      const int64_t bytes = int64_t(plain.nbytes()), slack = std::max<int64_t>(bytes / 8, 4096);
      if (plain.defined() && plain.dtype() == DType::f32 && plain.shape() == p.dims && p.floats * 4 <= bytes + slack)
        out[slot_names_[size_t(s)]] = std::move(p);
    }
  return out;
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
  // The stored plan's arena, which the record run just wrote, serves when large enough: its
  // pages are already mapped.
  if (stored_plan_.memory && stored_plan_.arena_bytes >= a.plan.arena_bytes)
    a.memory = stored_plan_.memory;
  else
    a.memory = allocate_aligned(a.plan.arena_bytes, false);
  stored_plan_ = {};  // first record run only
  a.valid = true;
  arena_ = std::move(a);
  planned_.assign(num_slots_, Tensor());
  for (size_t s = 0; s < num_slots_; ++s)
    if (arena_.offsets[s] >= 0)
      planned_[s] = Tensor::wrap(arena_.dtypes[s], arena_.shapes[s],
                                 static_cast<char*>(arena_.memory.get()) + arena_.offsets[s], arena_.memory);
}

std::vector<Session::PlannedTensor> Session::planned_tensors() const {
  std::vector<PlannedTensor> out;
  if (!arena_.valid) return out;
  for (size_t s = 0; s < num_slots_; ++s)
    if (arena_.offsets[s] >= 0)
      out.push_back({slot_names_[s], arena_.offsets[s],
                     shape_numel(arena_.shapes[s]) * int64_t(dtype_size(arena_.dtypes[s]))});
  return out;
}

Tensor Session::output_tensor(int slot, const TensorType& t, std::vector<TensorType>* record) {
  size_t s = size_t(slot);
  if (!record && arena_.offsets[s] >= 0 && arena_.dtypes[s] == t.dtype && arena_.shapes[s] == t.shape)
    return Tensor::wrap(t.dtype, t.shape, static_cast<char*>(arena_.memory.get()) + arena_.offsets[s], arena_.memory);
  if (record) {
    (*record)[s] = t;
    if (stored_plan_in_use_ && stored_plan_.offsets[s] >= 0 &&
        stored_plan_.bytes[s] == shape_numel(t.shape) * int64_t(dtype_size(t.dtype)))
      return Tensor::wrap(t.dtype, t.shape, static_cast<char*>(stored_plan_.memory.get()) + stored_plan_.offsets[s],
                          stored_plan_.memory);
  }
  return Tensor(t.dtype, t.shape);
}

std::vector<Tensor> Session::run(const std::map<std::string, Tensor>& feeds) {
  const Graph& g = *graph_;
  ThreadPool::RunScope hot_workers(pool_.get());  // wakes them now, keeps them spinning until the end
  for (const auto& [name, t] : feeds) {
    bool known = false;
    for (size_t i = 0; i < g.inputs.size() && !known; ++i) known = g.inputs[i].name == name;
    if (!known) {
      std::string names;
      for (const auto& in : g.inputs) names += (names.empty() ? "'" : ", '") + in.name + "'";
      fail("unknown input '", name, "' (model inputs: ", names, ")");
    }
  }
  bool same_shapes = arena_.valid;
  for (size_t i = 0; i < g.inputs.size(); ++i) {
    auto it = feeds.find(g.inputs[i].name);
    EK_CHECK(it != feeds.end(), "missing input '", g.inputs[i].name, "'");
    check_feed(g.inputs[i], it->second);
    slots_[size_t(feed_slots_[i])] = it->second;
    same_shapes = same_shapes && arena_.feed_shapes[i] == it->second.shape();
  }
  // A run with new input shapes records every tensor's type; the plan made from the record
  // serves the later runs with these shapes, which skip infer() on static nodes.
  std::vector<TensorType> record;
  stored_plan_in_use_ = false;
  if (!same_shapes) {
    stored_plan_in_use_ = stored_plan_.memory != nullptr;
    for (size_t i = 0; i < g.inputs.size() && stored_plan_in_use_; ++i)
      stored_plan_in_use_ = stored_plan_.feed_shapes[i] == slots_[size_t(feed_slots_[i])].shape();
    record.resize(num_slots_);
    static_node_.assign(g.nodes.size(), 0);
    recorded_.assign(g.nodes.size(), {});
  }
  if (same_shapes && poison_arena_) std::memset(arena_.memory.get(), 0xff, arena_.plan.arena_bytes);

  std::vector<char> static_value(record.empty() ? 0 : num_slots_, 0);  // record run: slot from a static node
  if (!record.empty()) {
    for (int s : feed_slots_) static_value[size_t(s)] = 1;
    for (size_t s = 0; s < num_slots_; ++s)
      if (constants_[s].defined()) static_value[s] = 1;
  }
  for (size_t k = 0; k < g.nodes.size(); ++k) {
    const auto& outs = output_slots_[k];
    if (same_shapes && static_node_[k]) {
      // Output types are the recorded ones: the node's infer() reads no computed value.
      if (view_[k]) {
        slots_[size_t(outs[0])] = slots_[size_t(input_slots_[k][0])].reshaped(recorded_[k][0].shape);
        for (int s : release_after_[k]) slots_[size_t(s)] = Tensor();
        continue;
      }
      for (size_t i = 0; i < outs.size(); ++i) {
        if (outs[i] < 0) continue;
        const size_t s = size_t(outs[i]);
        if (i == 0 && in_place_[k] >= 0)
          slots_[s] = slots_[size_t(input_slots_[k][size_t(in_place_[k])])];
        else
          slots_[s] = planned_[s].defined() ? planned_[s] : Tensor(recorded_[k][i].dtype, recorded_[k][i].shape);
      }
    } else if (infer_node(k, record.empty() ? nullptr : &record, static_value)) {
      for (int s : release_after_[k]) slots_[size_t(s)] = Tensor();
      continue;  // a view: nothing to compute
    }
    int64_t start = options_.profile ? now_ns() : 0;
    kernels_[k]->run(run_contexts_[k]);
    if (options_.profile && profile_.size() < kMaxProfileEvents)
      profile_.push_back({int(k), runs_, start - created_ns_, now_ns() - start});
    for (int s : release_after_[k]) slots_[size_t(s)] = Tensor();
  }

  std::vector<Tensor> results;
  results.reserve(result_slots_.size());
  for (int s : result_slots_) results.push_back(slots_[size_t(s)]);
  // The caller owns the results and the feeds: drop the Session's references to them.
  for (int s : result_slots_) slots_[size_t(s)] = Tensor();
  for (int s : feed_slots_) slots_[size_t(s)] = Tensor();
  if (!record.empty()) {
    std::vector<Shape> feed_shapes;
    for (size_t i = 0; i < g.inputs.size(); ++i) feed_shapes.push_back(feeds.at(g.inputs[i].name).shape());
    make_arena_plan(feed_shapes, record);
  }
  ++runs_;
  return results;
}

// infer() and output buffers for node k. In a record run (`record` given) it also notes the
// node's output types and whether they are static: infer() read no computed value and every
// computed input comes from a static node or a feed. Returns true for a view (its output set
// to the reshaped input, nothing left to run).
bool Session::infer_node(size_t k, std::vector<TensorType>* record, std::vector<char>& static_value) {
  const Node& node = graph_->nodes[k];
  const auto& ins = input_slots_[k];
  infer_types_.assign(ins.size(), TensorType{});
  infer_type_ptrs_.assign(ins.size(), nullptr);
  infer_values_.assign(ins.size(), nullptr);
  for (size_t i = 0; i < ins.size(); ++i) {
    if (ins[i] < 0) continue;
    const Tensor& t = slots_[size_t(ins[i])];
    EK_CHECK(t.defined(), node.where(), ": input '", node.inputs[i], "' has no value");
    infer_types_[i] = TensorType{t.dtype(), t.shape(), true};
    infer_type_ptrs_[i] = &infer_types_[i];
    infer_values_[i] = &t;
  }
  InferContext ictx(node, infer_type_ptrs_, infer_values_);
  kernels_[k]->infer(ictx);
  const auto& outs = output_slots_[k];
  for (size_t i = 0; i < outs.size(); ++i) {
    if (outs[i] < 0) continue;
    const TensorType& t = ictx.outputs()[i];
    EK_CHECK(t.dtype != DType::undefined && t.shape_known, node.where(), ": output ", i, " has no inferred type");
    if (view_[k]) {
      slots_[size_t(outs[i])] = slots_[size_t(ins[0])].reshaped(t.shape);
    } else if (i == 0 && in_place_[k] >= 0) {
      const Tensor& base = slots_[size_t(ins[size_t(in_place_[k])])];
      EK_CHECK(base.dtype() == t.dtype && base.shape() == t.shape, node.where(), ": updates input ", in_place_[k],
               " in place, which has type ", dtype_name(base.dtype()), " ", shape_str(base.shape()), ", but its output is ",
               dtype_name(t.dtype), " ", shape_str(t.shape));
      slots_[size_t(outs[i])] = base;
    } else {
      slots_[size_t(outs[i])] = output_tensor(outs[i], t, record);
    }
  }
  if (!record) return view_[k];
  bool is_static = true;
  for (size_t i = 0; i < ins.size(); ++i) {
    if (ins[i] < 0) continue;
    const bool constant = constants_[size_t(ins[i])].defined();
    if (!static_value[size_t(ins[i])] || (!constant && ictx.value_read(i))) is_static = false;
  }
  static_node_[k] = is_static;
  recorded_[k] = ictx.outputs();
  for (int s : outs)
    if (s >= 0) static_value[size_t(s)] = is_static;
  return view_[k];
}

}  // namespace edgekit
