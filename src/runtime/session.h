// Session: load a model and run it.
//
//   edgekit::Session s("model.onnx", {.threads = 2});
//   for (auto& in : s.inputs()) std::cout << in.name << " " << in.shape_string() << "\n";
//   std::vector<Tensor> y = s.run({{"input", x}});   // outputs in s.outputs() order
//
// The model file's format is told by its content (ONNX, TFLite). Inputs are checked against
// the model's declared dtypes and shapes before anything runs; a mismatch throws Error
// naming the input, the expected and the given type. Dynamic dims (e.g. batch) take any size.
// A Session runs one inference at a time (its arena is shared); use one Session per thread.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/api.h"
#include "graph/graph.h"
#include "core/thread_pool.h"
#include "kernels/op.h"
#include "runtime/memory_plan.h"

namespace edgekit {

struct ModelFile;
struct EkmMemoryPlan;

struct SessionOptions {
  // Threads used inside ops, the calling thread included; 1 runs everything on the calling
  // thread. Must be between 1 and the number of cores (std::thread::hardware_concurrency).
  int threads = 1;
  // Graph optimisation level, 0..3 (passes/pass_manager.h): 0 runs the graph as imported.
  int opt_level = 3;
  // Record the time of every node of every run (see Session::profile()). Costs two clock reads a node.
  bool profile = false;
  // Check an .ekm file's SHA-256 on load (a bad hash is an Error naming the file). Off only for
  // files checked before, e.g. once when installed: the hash is most of a large model's load.
  bool verify_hash = true;
};

// One node's execution in one run, for the profiler. Times are steady-clock nanoseconds
// relative to the Session's creation.
struct ProfileEvent {
  int node = 0;  // index into graph().nodes
  int run = 0;   // 0-based run counter
  int64_t start_ns = 0;
  int64_t duration_ns = 0;
};

class EDGEKIT_API Session {
 public:
  explicit Session(const std::string& model_path, SessionOptions options = {});
  explicit Session(Graph graph, SessionOptions options = {});
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  const std::vector<ValueInfo>& inputs() const { return graph_->inputs; }
  const std::vector<ValueInfo>& outputs() const { return graph_->outputs; }
  const Graph& graph() const { return *graph_; }  // after optimisation
  const SessionOptions& options() const { return options_; }

  // Runs with named inputs; returns the graph outputs in outputs() order.
  std::vector<Tensor> run(const std::map<std::string, Tensor>& feeds);

  // The arena plan made for the input shapes of the latest run (empty before the first run).
  // Intermediate tensors live at fixed offsets in one arena; outputs are allocated apart
  // because the caller keeps them.
  const MemoryPlan& memory_plan() const { return arena_.plan; }
  // The tensors that plan placed: name, arena offset and size in bytes (edgekit compile stores them).
  struct PlannedTensor {
    std::string name;
    int64_t offset = 0, bytes = 0;
  };
  std::vector<PlannedTensor> planned_tensors() const;
  // The initializers the kernels packed that an .ekm can store packed instead of plain: each
  // read by one node input only, and packed at most 1/8 (or 4 KB) larger than plain (edgekit
  // compile stores them).
  std::map<std::string, PackedWeights> packed_initializers() const;

  // Events recorded since the last clear, when options().profile is set. Recording stops at
  // kMaxProfileEvents so a long benchmark cannot grow without bound.
  static constexpr size_t kMaxProfileEvents = 1 << 20;
  const std::vector<ProfileEvent>& profile() const { return profile_; }
  void clear_profile() { profile_.clear(); }

 private:
  // The pool comes first so that opening the file can verify its hash on the pool's threads.
  Session(std::unique_ptr<ThreadPool> pool, const std::string& model_path, SessionOptions options);
  Session(ModelFile file, SessionOptions options, std::unique_ptr<ThreadPool>&& pool);
  static std::unique_ptr<ThreadPool> make_pool(const SessionOptions& options);
  void prepare(const std::map<std::string, PackedWeights>* packed);
  void unpack_constant(size_t slot, const PackedWeights& packed);
  std::vector<int> reads_per_slot() const;
  void use_stored_plan(const EkmMemoryPlan& plan);
  bool infer_node(size_t k, std::vector<TensorType>* record, std::vector<char>& static_value);
  void check_feed(const ValueInfo& info, const Tensor& t) const;
  void make_arena_plan(const std::vector<Shape>& feed_shapes, const std::vector<TensorType>& record);
  Tensor output_tensor(int slot, const TensorType& type, std::vector<TensorType>* record);

  // The first run with new input shapes allocates each tensor and records its type; the plan
  // made from that record serves every later run with the same input shapes. A tensor whose
  // shape differs from the record (data-dependent shapes) is allocated apart instead.
  struct Arena {
    bool valid = false;
    std::vector<Shape> feed_shapes;
    std::vector<DType> dtypes;      // per slot
    std::vector<Shape> shapes;      // per slot
    std::vector<int64_t> offsets;   // per slot; -1: not in the arena
    MemoryPlan plan;
    std::shared_ptr<void> memory;
  };
  Arena arena_;
  // The .ekm's own plan (use_stored_plan), for the first record run with its input shapes.
  struct StoredPlan {
    std::vector<Shape> feed_shapes;
    std::vector<int64_t> offsets, bytes;  // per slot; -1: not in the plan
    size_t arena_bytes = 0;
    std::shared_ptr<void> memory;  // null: no usable plan
  };
  StoredPlan stored_plan_;
  bool stored_plan_in_use_ = false;  // this run records into stored_plan_.memory
  bool poison_arena_ = false;
  std::vector<ProfileEvent> profile_;
  int runs_ = 0;
  int64_t created_ns_ = 0;  // EDGEKIT_POISON_ARENA=1 fills the arena with NaN bytes before each run

  SessionOptions options_;
  std::unique_ptr<ThreadPool> pool_;
  std::unique_ptr<Graph> graph_;  // heap-held: kernels keep references to its nodes
  std::vector<std::unique_ptr<OpKernel>> kernels_;
  std::vector<std::vector<int>> input_slots_;   // per node: slot of each input (-1 absent)
  std::vector<std::vector<int>> output_slots_;  // per node: slot of each output (-1 unused)
  std::vector<std::vector<int>> release_after_; // per node: slots whose last use is this node
  std::vector<int> produced_at_, last_use_;        // per slot: producing node, last reading node (-1 none)
  std::vector<int> feed_slots_, result_slots_;
  std::vector<Tensor> constants_;  // slot -> initializer (undefined for computed values)
  // Per run: the value in each slot. Fixed in size at construction, so each node's RunContext
  // points at its slots once and for all.
  std::vector<Tensor> slots_;
  std::vector<RunContext> run_contexts_;
  // From the latest record run: per node, whether its output types follow from the input
  // shapes alone (then later runs skip infer()), and those types; per slot, the arena tensor.
  std::vector<char> static_node_;
  std::vector<char> view_;  // per node: a shape-only op whose output is a view of its input
  std::vector<int> in_place_;  // per node: the input its output 0 updates in place, or -1
  std::vector<std::vector<TensorType>> recorded_;
  std::vector<Tensor> planned_;
  std::vector<TensorType> infer_types_;  // infer_node's scratch
  std::vector<const TensorType*> infer_type_ptrs_;
  std::vector<const Tensor*> infer_values_;
  size_t num_slots_ = 0;
  std::vector<std::string> slot_names_;
};

}  // namespace edgekit
