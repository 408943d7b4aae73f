#include "kernels/shape_inference.h"

#include <unordered_map>
#include <unordered_set>

#include "kernels/op.h"

namespace edgekit {
namespace {

// What is known about one value: its type, the symbols of its unknown dims, maybe its value.
struct Known {
  TensorType type;
  std::vector<std::string> dim_names;  // empty or one per dim
  Tensor value;                        // defined when the value is a known constant
};

// Sentinel sizes standing for symbolic dims in the naming probe. Far from any real dim and
// from each other's sums and products, so a match means the dim passed through.
constexpr int64_t kSentinelBase = 1000003;
constexpr int64_t kSentinelSpacing = 2;

bool is_random_op(const std::string& op) {
  return op.rfind("Random", 0) == 0 || op == "Bernoulli" || op == "Multinomial";
}

Known from_value_info(const ValueInfo& v) {
  Known k;
  k.type = TensorType{v.dtype, v.dims, v.shape_known};
  if (v.dim_names.size() == v.dims.size()) k.dim_names = v.dim_names;
  return k;
}

bool fully_known(const TensorType& t) {
  if (!t.shape_known) return false;
  for (int64_t d : t.shape)
    if (d < 0) return false;
  return true;
}

// Combines what infer() found with what the model declared: inferred facts win, declared
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
    for (const auto& [name, t] : g_.initializers) known_[name] = Known{TensorType{t.dtype(), t.shape(), true}, {}, t};
    for (const Node& n : g_.nodes) visit(n);
    write_back();
    return std::move(warnings_);
  }

 private:
  void visit(const Node& node) {
    // Inputs: a present input whose type is unknown leaves the node's outputs unknown.
    std::vector<const Known*> ins(node.inputs.size(), nullptr);
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      if (node.inputs[i].empty()) continue;
      const Known* k = find(node.inputs[i]);
      if (!k || k->type.dtype == DType::undefined) {
        if (!failed_.count(node.inputs[i]))
          warnings_.push_back(cat(node.where(), ": input '", node.inputs[i], "' has no known type; outputs left unknown"));
        give_up(node);
        return;
      }
      ins[i] = k;
    }
    std::unique_ptr<OpKernel> op;
    std::vector<TensorType> outs;
    try {
      op = create_op(node);
      outs = infer(*op, node, ins, nullptr);
    } catch (const std::exception& e) {
      warnings_.push_back(cat(e.what(), "; outputs left unknown"));
      give_up(node);
      return;
    }
    std::vector<std::vector<std::string>> names = probe_names(*op, node, ins, outs);
    std::vector<Tensor> values = fold(node, ins, outs);
    for (size_t i = 0; i < node.outputs.size(); ++i) {
      const std::string& name = node.outputs[i];
      if (name.empty()) continue;
      Known k{outs[i], names[i], i < values.size() ? values[i] : Tensor()};
      if (k.value.defined()) k.type = TensorType{k.value.dtype(), k.value.shape(), true};
      auto d = declared_.find(name);
      known_[name] = merge(d == declared_.end() ? nullptr : &d->second, std::move(k), node, warnings_);
      if (known_[name].type.dtype == DType::undefined) failed_.insert(name);
    }
  }

  // Runs the kernel's infer() on the given input types (sentinel-substituted when `subst` is set).
  std::vector<TensorType> infer(const OpKernel& op, const Node& node, const std::vector<const Known*>& ins,
                                const std::unordered_map<std::string, int64_t>* subst) {
    std::vector<TensorType> types(ins.size());
    std::vector<const TensorType*> tp(ins.size(), nullptr);
    std::vector<const Tensor*> vp(ins.size(), nullptr);
    for (size_t i = 0; i < ins.size(); ++i) {
      if (!ins[i]) continue;
      types[i] = ins[i]->type;
      if (subst && types[i].shape_known)
        for (size_t d = 0; d < types[i].shape.size() && d < ins[i]->dim_names.size(); ++d) {
          auto it = subst->find(ins[i]->dim_names[d]);
          if (types[i].shape[d] < 0 && it != subst->end()) types[i].shape[d] = it->second;
        }
      tp[i] = &types[i];
      if (ins[i]->value.defined()) vp[i] = &ins[i]->value;
    }
    InferContext ctx(node, tp, vp);
    op.infer(ctx);
    return ctx.outputs();
  }

  // Symbols for the unknown dims of each output (see the header).
  std::vector<std::vector<std::string>> probe_names(const OpKernel& op, const Node& node,
                                                    const std::vector<const Known*>& ins,
                                                    const std::vector<TensorType>& outs) {
    std::vector<std::vector<std::string>> names(outs.size());
    std::unordered_map<std::string, int64_t> subst;
    std::unordered_map<int64_t, std::string> symbol_of;
    for (const Known* k : ins) {
      if (!k) continue;
      for (size_t d = 0; d < k->dim_names.size() && d < k->type.shape.size(); ++d) {
        const std::string& s = k->dim_names[d];
        if (s.empty() || k->type.shape[d] >= 0 || subst.count(s)) continue;
        int64_t v = kSentinelBase + kSentinelSpacing * int64_t(subst.size());
        subst[s] = v;
        symbol_of[v] = s;
      }
    }
    if (subst.empty()) return names;
    std::vector<TensorType> probe;
    try {
      probe = infer(op, node, ins, &subst);
    } catch (const std::exception&) {
      return names;  // the sentinels broke some check (e.g. divisibility): no symbols
    }
    for (size_t i = 0; i < outs.size() && i < probe.size(); ++i) {
      if (!outs[i].shape_known || !probe[i].shape_known || probe[i].shape.size() != outs[i].shape.size()) continue;
      std::vector<std::string> n(outs[i].shape.size());
      bool any = false;
      for (size_t d = 0; d < n.size(); ++d) {
        auto it = symbol_of.find(probe[i].shape[d]);
        if (outs[i].shape[d] < 0 && it != symbol_of.end()) {
          n[d] = it->second;
          any = true;
        }
      }
      if (any) names[i] = std::move(n);
    }
    return names;
  }

  // Evaluates the node when every input value is known and the outputs are small; Shape and
  // Size need only their input's dims. Returns no tensors when it cannot.
  std::vector<Tensor> fold(const Node& node, const std::vector<const Known*>& ins, const std::vector<TensorType>& outs) {
    if (!node.domain.empty() || is_random_op(node.op_type)) return {};
    const bool shape_only = node.op_type == "Shape" || node.op_type == "Size";
    std::vector<Tensor> inputs(ins.size());
    for (size_t i = 0; i < ins.size(); ++i) {
      if (!ins[i]) continue;
      if (ins[i]->value.defined()) inputs[i] = ins[i]->value;
      else if (shape_only && fully_known(ins[i]->type))
        inputs[i] = Tensor::wrap(ins[i]->type.dtype, ins[i]->type.shape, nullptr, nullptr);  // dims only, no data
      else return {};
    }
    if (node.op_type != "Constant")
      for (const TensorType& t : outs) {
        if (t.dtype == DType::undefined) continue;
        if (!fully_known(t) || shape_numel(t.shape) > opts_.max_fold_elements) return {};
      }
    try {
      return run_node(node, inputs);
    } catch (const std::exception& e) {
      warnings_.push_back(cat(node.where(), ": could not evaluate a constant: ", e.what()));
      return {};
    }
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
  std::vector<std::string> warnings_;
};

}  // namespace

std::vector<std::string> infer_shapes(Graph& g, const ShapeInferenceOptions& options) {
  return ShapeInference(g, options).run();
}

}  // namespace edgekit
