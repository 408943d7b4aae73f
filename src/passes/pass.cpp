#include "passes/pass.h"

#include <algorithm>
#include <set>

#include "kernels/shape_inference.h"

namespace edgekit {

GraphUses::GraphUses(const Graph& g) {
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    for (const auto& in : g.nodes[i].inputs)
      if (!in.empty()) consumers[in].push_back(i);
    for (const auto& out : g.nodes[i].outputs)
      if (!out.empty()) producer[out] = i;
  }
  for (const auto& o : g.outputs) graph_outputs.push_back(o.name);
}

bool GraphUses::is_graph_output(const std::string& v) const {
  return std::find(graph_outputs.begin(), graph_outputs.end(), v) != graph_outputs.end();
}

size_t GraphUses::use_count(const std::string& v) const {
  auto it = consumers.find(v);
  return (it == consumers.end() ? 0 : it->second.size()) + (is_graph_output(v) ? 1 : 0);
}

std::optional<size_t> GraphUses::producer_is(const Graph& g, const std::string& v, const std::string& op_type) const {
  auto p = producer.find(v);
  if (p == producer.end() || g.nodes[p->second].op_type != op_type || !g.nodes[p->second].domain.empty())
    return std::nullopt;
  return p->second;
}

std::optional<size_t> GraphUses::sole_reader_is(const Graph& g, const std::string& v, const std::string& op_type) const {
  auto c = consumers.find(v);
  if (c == consumers.end() || use_count(v) != 1) return std::nullopt;
  const Node& n = g.nodes[c->second[0]];
  if (n.op_type != op_type || !n.domain.empty()) return std::nullopt;
  return c->second[0];
}

void GraphUses::add_node(const Graph& g, size_t i) {
  for (const auto& in : g.nodes[i].inputs)
    if (!in.empty()) consumers[in].push_back(i);
  for (const auto& out : g.nodes[i].outputs)
    if (!out.empty()) producer[out] = i;
}

void GraphUses::rewire(Graph& g, size_t node, size_t k, const std::string& to) {
  std::string& from = g.nodes[node].inputs[k];
  if (from == to) return;
  auto c = consumers.find(from);
  if (c != consumers.end()) {
    auto at = std::find(c->second.begin(), c->second.end(), node);
    if (at != c->second.end()) c->second.erase(at);
    if (c->second.empty()) consumers.erase(c);
  }
  from = to;
  if (!to.empty()) consumers[to].push_back(node);
}

void GraphUses::remove_node(const Graph& g, size_t i) {
  for (const auto& in : g.nodes[i].inputs) {
    auto c = consumers.find(in);
    if (c == consumers.end()) continue;
    c->second.erase(std::remove(c->second.begin(), c->second.end(), i), c->second.end());
    if (c->second.empty()) consumers.erase(c);
  }
  for (const auto& out : g.nodes[i].outputs) {
    auto p = producer.find(out);
    if (p != producer.end() && p->second == i) producer.erase(p);
  }
}

void replace_uses(Graph& g, const std::string& from, const std::string& to) {
  for (auto& n : g.nodes)
    for (auto& in : n.inputs)
      if (in == from) in = to;
}

void erase_nodes(Graph& g, const std::vector<bool>& dead) {
  std::vector<Node> kept;
  kept.reserve(g.nodes.size());
  for (size_t i = 0; i < g.nodes.size(); ++i)
    if (!dead[i]) kept.push_back(std::move(g.nodes[i]));
  g.nodes = std::move(kept);
}

const Tensor* constant_value(const Graph& g, const std::string& v) {
  auto it = g.initializers.find(v);
  return it == g.initializers.end() ? nullptr : &it->second;
}

std::vector<Tensor> constant_inputs(const Graph& g, const Node& n) {
  std::vector<Tensor> in;
  for (const std::string& v : n.inputs) {
    const Tensor* c = v.empty() ? nullptr : constant_value(g, v);
    in.push_back(c ? *c : Tensor());
  }
  return in;
}

std::optional<double> scalar_constant(const Graph& g, const std::string& v) {
  const Tensor* t = constant_value(g, v);
  if (!t || t->numel() != 1 || t->dtype() == DType::undefined) return std::nullopt;
  return t->as_double(0);
}

std::string fresh_name(const Graph& g, const std::string& base) {
  std::set<std::string> used;
  for (const auto& v : g.inputs) used.insert(v.name);
  for (const auto& n : g.nodes) {
    used.insert(n.name);
    used.insert(n.outputs.begin(), n.outputs.end());
  }
  std::string name = base;
  for (int i = 1; used.count(name) || g.initializers.count(name); ++i) name = cat(base, "_", i);
  return name;
}

FreshNames::FreshNames(const Graph& g) {
  for (const auto& v : g.inputs) used_.insert(v.name);
  for (const auto& n : g.nodes) {
    used_.insert(n.name);
    used_.insert(n.outputs.begin(), n.outputs.end());
  }
  for (const auto& [name, t] : g.initializers) used_.insert(name);
}

std::string FreshNames::fresh(const std::string& base) {
  std::string name = base;
  for (int i = 1; used_.count(name); ++i) name = cat(base, "_", i);
  used_.insert(name);
  return name;
}

std::string add_initializer(Graph& g, const std::string& base, Tensor t) {
  std::string name = fresh_name(g, base);
  g.initializers[name] = std::move(t);
  return name;
}

bool bypass_node(Graph& g, GraphUses& uses, size_t i) {
  const Node& n = g.nodes[i];
  if (!n.has_input(0) || n.outputs.empty()) return false;
  const std::string in = n.inputs[0], out = n.outputs[0];
  if (!uses.is_graph_output(out)) {
    auto readers = uses.consumers.find(out);
    if (readers == uses.consumers.end()) return true;
    const std::vector<size_t> nodes = readers->second;
    for (size_t r : nodes)
      for (size_t k = 0; k < g.nodes[r].inputs.size(); ++k)
        if (g.nodes[r].inputs[k] == out) uses.rewire(g, r, k, in);
    return true;
  }
  // Rename the producer's output instead, when the input is a node output read only here.
  if (uses.is_graph_output(in)) return false;
  auto p = uses.producer.find(in);
  if (p == uses.producer.end() || uses.use_count(in) != 1) return false;
  const size_t producer = p->second;
  for (auto& o : g.nodes[producer].outputs)
    if (o == in) o = out;
  uses.producer.erase(p);
  uses.producer[out] = producer;
  return true;
}

StaticTypes::StaticTypes(const Graph& g) : typed_(g) {
  infer_shapes(typed_);  // warnings mean unknown types, which every user of this class handles
  for (const auto& [name, t] : g.initializers) constants_[name] = ValueInfo{name, t.dtype(), t.shape(), {}, true};
}

const ValueInfo* StaticTypes::find(const std::string& v) const {
  auto c = constants_.find(v);
  if (c != constants_.end()) return &c->second;
  const ValueInfo* info = typed_.find_value(v);
  return info && info->dtype != DType::undefined ? info : nullptr;
}

std::optional<Shape> StaticTypes::shape(const std::string& v) const {
  const ValueInfo* info = find(v);
  if (!info || !info->shape_known) return std::nullopt;
  return info->dims;
}

std::optional<int64_t> StaticTypes::rank(const std::string& v) const {
  auto s = shape(v);
  return s ? std::optional<int64_t>(int64_t(s->size())) : std::nullopt;
}

bool StaticTypes::same_dim(const std::string& a, size_t d, const std::string& b, size_t e) const {
  const ValueInfo* x = find(a);
  const ValueInfo* y = find(b);
  if (!x || !y || !x->shape_known || !y->shape_known || d >= x->dims.size() || e >= y->dims.size()) return false;
  if (x->dims[d] >= 0 || y->dims[e] >= 0) return x->dims[d] == y->dims[e];
  if (a == b && d == e) return true;
  const std::string sx = d < x->dim_names.size() ? x->dim_names[d] : "";
  const std::string sy = e < y->dim_names.size() ? y->dim_names[e] : "";
  return !sx.empty() && sx == sy;
}

bool StaticTypes::same_shape(const std::string& a, const std::string& b) const {
  auto ra = rank(a), rb = rank(b);
  if (!ra || !rb || *ra != *rb) return false;
  for (size_t d = 0; d < size_t(*ra); ++d)
    if (!same_dim(a, d, b, d)) return false;
  return true;
}

}  // namespace edgekit
