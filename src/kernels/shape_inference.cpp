// Static shape inference. Besides plain inference it runs two "probes" per node: the same
// infer() with every symbolic dim replaced by a sentinel size, once per sentinel set (A, B).
//   - An output dim that equals symbol s's sentinel in both probes passes s through.
//   - Shape/Size of symbolic inputs, and exact integer ops on them (Gather, Concat, Add,
//     Mul, Div, ...), are evaluated under both sets: "probe values". Reshape, Expand, Tile,
//     ConstantOfShape and Range take probe values as their shape inputs, and an output dim
//     on which both probes agree is concrete (N * 48 / N), one equal to a sentinel is symbolic.
// The sets differ in parity and in residue modulo small numbers, so values that depend on a
// symbol (N / 2, N % 4) come out different and stay unknown. Ops that clamp or compare
// (Slice bounds, Min, Where, ...) never receive probe values: a large sentinel would wrongly
// decide them.
#include "kernels/shape_inference.h"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "kernels/op.h"

namespace edgekit {
namespace {

constexpr int64_t kSentinelBase = 1000003;   // set A: base + 2k (odd)
constexpr int64_t kSentinelOffsetB = 1000001;  // set B: A + offset (even; other residues mod 3..16)
constexpr int kMaxSymbols = 100000;

int64_t sentinel(int set, int k) { return kSentinelBase + 2 * int64_t(k) + (set ? kSentinelOffsetB : 0); }
// Index of the symbol whose set-A sentinel is v, else -1.
int symbol_of_sentinel(int64_t v) {
  int64_t k2 = v - kSentinelBase;
  return (k2 >= 0 && k2 % 2 == 0 && k2 / 2 < kMaxSymbols) ? int(k2 / 2) : -1;
}

// Inputs that may carry probe values, per op: where the op's arithmetic on them is exact.
// -1 stands for every input.
const std::unordered_map<std::string, std::vector<int>>& probe_inputs() {
  static const std::unordered_map<std::string, std::vector<int>> m = {
      {"Gather", {0}},   {"Unsqueeze", {0}}, {"Squeeze", {0}},   {"Concat", {-1}},         {"Identity", {0}},
      {"Cast", {0}},     {"Neg", {0}},       {"Add", {-1}},      {"Sub", {-1}},            {"Mul", {-1}},
      {"Div", {-1}},     {"Reshape", {0, 1}}, {"Flatten", {0}},  {"Slice", {0}},           {"Expand", {1}},
      {"Tile", {1}},     {"ConstantOfShape", {0}}, {"Range", {-1}},
  };
  return m;
}
bool probe_ok(const Node& n, size_t i) {
  if (!n.domain.empty()) return false;
  auto it = probe_inputs().find(n.op_type);
  if (it == probe_inputs().end()) return false;
  return std::find(it->second.begin(), it->second.end(), -1) != it->second.end() ||
         std::find(it->second.begin(), it->second.end(), int(i)) != it->second.end();
}
// Ops evaluated on probe values: their output size follows from their inputs' sizes, never
// from a probe value (ConstantOfShape or Expand of a sentinel would allocate millions).
bool probe_evaluated(const std::string& op) {
  static const std::unordered_set<std::string> ops = {"Gather", "Unsqueeze", "Squeeze", "Concat", "Identity", "Cast",
                                                      "Neg", "Add", "Sub", "Mul", "Div", "Reshape", "Flatten", "Slice"};
  return ops.count(op) != 0;
}
bool is_shape_op(const std::string& op) { return op == "Shape" || op == "Size"; }
bool is_random_op(const std::string& op) {
  return op.rfind("Random", 0) == 0 || op == "Bernoulli" || op == "Multinomial";
}

// What is known about one value.
struct Known {
  TensorType type;
  std::vector<std::string> dim_names;  // empty or one per dim
  Tensor value;                        // the value, when it is a known constant
  Tensor probe[2];                     // else maybe its value under sentinel sets A and B
};

bool fully_known(const TensorType& t) {
  if (!t.shape_known) return false;
  for (int64_t d : t.shape)
    if (d < 0) return false;
  return true;
}

bool same_values(const Tensor& a, const Tensor& b) {
  if (a.dtype() != b.dtype() || a.shape() != b.shape()) return false;
  for (int64_t i = 0; i < a.numel(); ++i)
    if (a.as_double(i) != b.as_double(i)) return false;
  return true;
}

Known from_value_info(const ValueInfo& v) {
  Known k;
  k.type = TensorType{v.dtype, v.dims, v.shape_known};
  if (v.dim_names.size() == v.dims.size()) k.dim_names = v.dim_names;
  return k;
}

// Combines what inference found with what the model declared: inferred facts win, declared
// ones fill the gaps (an unknown rank, a -1 dim, a missing symbol).
Known merge(const Known* declared, Known inferred, const Node& node, std::vector<std::string>& warnings) {
  if (!declared || declared->type.dtype == DType::undefined) return inferred;
  const Known& d = *declared;
  if (inferred.type.dtype == DType::undefined) inferred.type.dtype = d.type.dtype;
  if (!inferred.type.shape_known) {
    inferred.type = TensorType{inferred.type.dtype, d.type.shape, d.type.shape_known};
    inferred.dim_names = d.dim_names;
    return inferred;
  }
  if (!d.type.shape_known || d.type.shape.size() != inferred.type.shape.size()) return inferred;
  Shape& s = inferred.type.shape;
  std::vector<std::string> names = inferred.dim_names;
  names.resize(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    const int64_t dd = d.type.shape[i];
    if (s[i] < 0 && dd >= 0) s[i] = dd;
    else if (s[i] >= 0 && dd >= 0 && s[i] != dd)
      warnings.push_back(cat(node.where(), ": inferred shape ", shape_str(s), " differs from the declared ",
                             shape_str(d.type.shape), "; keeping the inferred one"));
    if (s[i] < 0 && names[i].empty() && i < d.dim_names.size()) names[i] = d.dim_names[i];
  }
  bool any = false;
  for (const auto& n : names) any |= !n.empty();
  inferred.dim_names = any ? names : std::vector<std::string>{};
  return inferred;
}

class ShapeInference {
 public:
  ShapeInference(Graph& g, const ShapeInferenceOptions& o) : g_(g), opts_(o) {}

  std::vector<std::string> run() {
    for (const auto& [name, v] : g_.value_info) declared_[name] = from_value_info(v);
    for (const auto& v : g_.outputs) declared_[v.name] = from_value_info(v);
    for (const auto& v : g_.inputs) known_[v.name] = from_value_info(v);
    for (const auto& [name, t] : g_.initializers) {
      Known k;
      k.type = TensorType{t.dtype(), t.shape(), true};
      k.value = t;
      known_[name] = k;
    }
    for (const Node& n : g_.nodes) visit(n);
    write_back();
    return std::move(warnings_);
  }

 private:
  void visit(const Node& node) {
    // A present input whose type is unknown leaves the node's outputs unknown.
    std::vector<const Known*> ins(node.inputs.size(), nullptr);
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      if (node.inputs[i].empty()) continue;
      const Known* k = find(node.inputs[i]);
      if (!k || k->type.dtype == DType::undefined) {
        if (!failed_.count(node.inputs[i]))
          warnings_.push_back(
              cat(node.where(), ": input '", node.inputs[i], "' has no known type; outputs left unknown"));
        give_up(node);
        return;
      }
      ins[i] = k;
    }
    std::unique_ptr<OpKernel> op;
    std::vector<TensorType> outs;
    try {
      op = create_op(node);
      outs = infer(*op, node, ins, -1);
    } catch (const std::exception& e) {
      warnings_.push_back(cat(e.what(), "; outputs left unknown"));
      give_up(node);
      return;
    }
    std::vector<Known> results(outs.size());
    for (size_t i = 0; i < outs.size(); ++i) results[i].type = outs[i];
    refine_with_probes(*op, node, ins, results);
    std::vector<Tensor> values = fold(*op, node, ins, results, -1);
    for (size_t i = 0; i < values.size() && i < results.size(); ++i) results[i].value = values[i];
    if (values.empty()) evaluate_probes(*op, node, ins, results);
    for (size_t i = 0; i < node.outputs.size(); ++i) {
      const std::string& name = node.outputs[i];
      if (name.empty()) continue;
      Known& k = results[i];
      if (k.value.defined()) {
        k.type = TensorType{k.value.dtype(), k.value.shape(), true};
        k.dim_names.clear();
      }
      auto d = declared_.find(name);
      known_[name] = merge(d == declared_.end() ? nullptr : &d->second, std::move(k), node, warnings_);
      if (known_[name].type.dtype == DType::undefined) failed_.insert(name);
    }
  }

  // Input i's type for `set` (-1: as known; 0/1: symbolic dims replaced by that set's sentinels).
  TensorType type_for(const Known& k, int set) {
    TensorType t = k.type;
    if (set < 0 || !t.shape_known) return t;
    for (size_t d = 0; d < t.shape.size() && d < k.dim_names.size(); ++d)
      if (t.shape[d] < 0 && !k.dim_names[d].empty()) t.shape[d] = sentinel(set, symbol(k.dim_names[d]));
    return t;
  }

  // Input i's value for `set`: the real value, else (where the op allows) its probe value.
  const Tensor* value_for(const Node& node, const Known& k, size_t i, int set) const {
    if (k.value.defined()) return &k.value;
    if (set >= 0 && k.probe[set].defined() && probe_ok(node, i)) return &k.probe[set];
    return nullptr;
  }

  std::vector<TensorType> infer(const OpKernel& op, const Node& node, const std::vector<const Known*>& ins, int set) {
    std::vector<TensorType> types(ins.size());
    std::vector<const TensorType*> tp(ins.size(), nullptr);
    std::vector<const Tensor*> vp(ins.size(), nullptr);
    for (size_t i = 0; i < ins.size(); ++i) {
      if (!ins[i]) continue;
      types[i] = type_for(*ins[i], set);
      tp[i] = &types[i];
      vp[i] = value_for(node, *ins[i], i, set);
    }
    InferContext ctx(node, tp, vp);
    op.infer(ctx);
    return ctx.outputs();
  }

  // Fills unknown output dims from the two probes: symbols always, concrete sizes only for
  // ops that took probe values (see the top of the file).
  void refine_with_probes(const OpKernel& op, const Node& node, const std::vector<const Known*>& ins,
                          std::vector<Known>& results) {
    bool symbolic = false, probed = false;
    for (size_t i = 0; i < ins.size(); ++i) {
      if (!ins[i]) continue;
      for (const auto& n : ins[i]->dim_names) symbolic |= !n.empty();
      probed |= !ins[i]->value.defined() && ins[i]->probe[0].defined() && probe_ok(node, i);
    }
    if (!symbolic && !probed) return;
    std::vector<TensorType> p[2];
    try {
      p[0] = infer(op, node, ins, 0);
      p[1] = infer(op, node, ins, 1);
    } catch (const std::exception&) {
      return;  // the sentinels broke some check (e.g. divisibility): nothing learned
    }
    for (size_t i = 0; i < results.size(); ++i) {
      TensorType& t = results[i].type;
      if (!p[0][i].shape_known || !p[1][i].shape_known || p[0][i].shape.size() != p[1][i].shape.size()) continue;
      if (!t.shape_known) {  // a probe value decided the rank (e.g. Reshape's shape length)
        if (!probed) continue;
        t = TensorType{t.dtype, Shape(p[0][i].shape.size(), -1), true};
      }
      if (t.shape.size() != p[0][i].shape.size()) continue;
      std::vector<std::string> names(t.shape.size());
      bool any = false;
      for (size_t d = 0; d < t.shape.size(); ++d) {
        if (t.shape[d] >= 0) continue;
        const int64_t a = p[0][i].shape[d], b = p[1][i].shape[d];
        const int k = symbol_of_sentinel(a);
        if (k >= 0 && k < int(symbols_.size()) && b == sentinel(1, k)) {
          names[d] = symbols_[size_t(k)];
          any = true;
        } else if (probed && a == b && a >= 0) {
          t.shape[d] = a;
        }
      }
      if (any) results[i].dim_names = std::move(names);
    }
  }

  // Evaluates the node when its inputs are known values (set -1) or probe values (0/1) and
  // its outputs are small. Shape and Size need only their input's dims.
  std::vector<Tensor> fold(const OpKernel& op, const Node& node, const std::vector<const Known*>& ins,
                           const std::vector<Known>& results, int set) {
    if (!node.domain.empty() || is_random_op(node.op_type)) return {};
    if (set >= 0 && !is_shape_op(node.op_type) && !probe_evaluated(node.op_type)) return {};
    if (set < 0 && node.op_type == "Constant" && node.has_attr("value")) return {node.attr_tensor("value")};  // no copy
    std::vector<Tensor> inputs(ins.size());
    bool uses_probe = false;
    for (size_t i = 0; i < ins.size(); ++i) {
      if (!ins[i]) continue;
      const TensorType t = type_for(*ins[i], set);
      if (const Tensor* v = value_for(node, *ins[i], i, set)) {
        inputs[i] = *v;
        uses_probe |= v != &ins[i]->value;
      } else if (is_shape_op(node.op_type) && fully_known(t)) {
        inputs[i] = Tensor::wrap(t.dtype, t.shape, nullptr, nullptr);  // dims only, no data
        uses_probe |= !fully_known(ins[i]->type);
      } else {
        return {};
      }
    }
    if (set >= 0 && !uses_probe) return {};
    std::vector<TensorType> types;  // the outputs' types under this set
    for (const Known& r : results) types.push_back(r.type);
    if (set >= 0) {
      try {
        types = infer(op, node, ins, set);
      } catch (const std::exception&) {
        return {};
      }
    }
    if (node.op_type != "Constant")
      for (const TensorType& t : types) {
        if (t.dtype == DType::undefined) continue;
        if (!fully_known(t) || shape_numel(t.shape) > opts_.max_fold_elements) return {};
      }
    try {
      std::vector<Tensor> out = run_node(node, inputs);
      for (const Tensor& t : out)
        if (t.defined() && t.numel() > opts_.max_fold_elements) return {};
      return out;
    } catch (const std::exception& e) {
      if (set < 0) warnings_.push_back(cat(node.where(), ": could not evaluate a constant: ", e.what()));
      return {};
    }
  }

  // Probe values of the outputs; where both sets agree the value does not depend on any
  // symbol and becomes a real constant.
  void evaluate_probes(const OpKernel& op, const Node& node, const std::vector<const Known*>& ins,
                       std::vector<Known>& results) {
    std::vector<Tensor> p0 = fold(op, node, ins, results, 0);
    if (p0.empty()) return;
    std::vector<Tensor> p1 = fold(op, node, ins, results, 1);
    if (p1.size() != p0.size()) return;
    for (size_t i = 0; i < results.size() && i < p0.size(); ++i) {
      if (!p0[i].defined() || !p1[i].defined()) continue;
      if (same_values(p0[i], p1[i])) {
        results[i].value = p0[i];
      } else {
        results[i].probe[0] = p0[i];
        results[i].probe[1] = p1[i];
      }
    }
  }

  int symbol(const std::string& name) {
    auto [it, added] = symbol_index_.emplace(name, int(symbols_.size()));
    if (added) symbols_.push_back(name);
    return it->second;
  }

  void give_up(const Node& node) {
    for (const auto& name : node.outputs) {
      if (name.empty()) continue;
      auto d = declared_.find(name);
      if (d != declared_.end() && d->second.type.dtype != DType::undefined) known_[name] = d->second;
      else failed_.insert(name);
    }
  }

  const Known* find(const std::string& name) const {
    auto it = known_.find(name);
    if (it != known_.end()) return &it->second;
    auto d = declared_.find(name);
    return d == declared_.end() ? nullptr : &d->second;
  }

  void write_back() {
    std::unordered_set<std::string> inputs, outputs;
    for (const auto& v : g_.inputs) inputs.insert(v.name);
    for (auto& v : g_.outputs) {
      outputs.insert(v.name);
      auto it = known_.find(v.name);
      if (it != known_.end() && it->second.type.dtype != DType::undefined) v = to_value_info(v.name, it->second);
    }
    for (const Node& n : g_.nodes)
      for (const auto& name : n.outputs) {
        if (name.empty() || outputs.count(name) || inputs.count(name) || g_.initializers.count(name)) continue;
        auto it = known_.find(name);
        if (it != known_.end() && it->second.type.dtype != DType::undefined)
          g_.value_info[name] = to_value_info(name, it->second);
      }
  }

  static ValueInfo to_value_info(const std::string& name, const Known& k) {
    ValueInfo v;
    v.name = name;
    v.dtype = k.type.dtype;
    v.shape_known = k.type.shape_known;
    if (v.shape_known) {
      v.dims = k.type.shape;
      if (k.dim_names.size() == v.dims.size()) v.dim_names = k.dim_names;
    }
    return v;
  }

  Graph& g_;
  ShapeInferenceOptions opts_;
  std::unordered_map<std::string, Known> known_;     // results so far
  std::unordered_map<std::string, Known> declared_;  // what value_info / outputs said before
  std::unordered_set<std::string> failed_;           // values already warned about
  std::unordered_map<std::string, int> symbol_index_;
  std::vector<std::string> symbols_;
  std::vector<std::string> warnings_;
};

}  // namespace

std::vector<std::string> infer_shapes(Graph& g, const ShapeInferenceOptions& options) {
  return ShapeInference(g, options).run();
}

}  // namespace edgekit
