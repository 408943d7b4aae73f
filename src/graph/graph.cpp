#include "graph/graph.h"

#include <set>
#include <unordered_map>
#include <unordered_set>

namespace edgekit {

std::string ValueInfo::shape_string() const {
  if (!shape_known) return "?";
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i) s += ",";
    if (i < dim_names.size() && !dim_names[i].empty())
      s += dim_names[i];
    else
      s += dims[i] < 0 ? "?" : std::to_string(dims[i]);
  }
  return s + "]";
}

std::string Node::where() const { return cat("node '", name, "' (", op_type, ")"); }

const AttributeValue& Node::attr(const std::string& key) const {
  auto it = attrs.find(key);
  if (it == attrs.end()) fail(where(), ": missing required attribute '", key, "'");
  return it->second;
}

namespace {
const char* attr_type_name(const AttributeValue& v) {
  static const char* names[] = {"float", "int", "string", "tensor", "floats", "ints", "strings"};
  return names[v.index()];
}

template <class T>
const T& get_attr(const Node& n, const std::string& key, const AttributeValue& v, const char* want) {
  if (auto p = std::get_if<T>(&v)) return *p;
  fail(n.where(), ": attribute '", key, "' should be ", want, ", got ", attr_type_name(v));
}
}  // namespace

int64_t Node::attr_int(const std::string& key) const { return get_attr<int64_t>(*this, key, attr(key), "int"); }
int64_t Node::attr_int(const std::string& key, int64_t fallback) const {
  return has_attr(key) ? attr_int(key) : fallback;
}
float Node::attr_float(const std::string& key) const {
  const AttributeValue& v = attr(key);
  if (auto p = std::get_if<int64_t>(&v)) return float(*p);  // some exporters write integral floats as ints
  return get_attr<float>(*this, key, v, "float");
}
float Node::attr_float(const std::string& key, float fallback) const {
  return has_attr(key) ? attr_float(key) : fallback;
}
std::string Node::attr_string(const std::string& key) const {
  return get_attr<std::string>(*this, key, attr(key), "string");
}
std::string Node::attr_string(const std::string& key, const std::string& fallback) const {
  return has_attr(key) ? attr_string(key) : fallback;
}
std::vector<int64_t> Node::attr_ints(const std::string& key) const {
  return get_attr<std::vector<int64_t>>(*this, key, attr(key), "ints");
}
std::vector<int64_t> Node::attr_ints(const std::string& key, const std::vector<int64_t>& fallback) const {
  return has_attr(key) ? attr_ints(key) : fallback;
}
std::vector<float> Node::attr_floats(const std::string& key) const {
  return get_attr<std::vector<float>>(*this, key, attr(key), "floats");
}
std::vector<float> Node::attr_floats(const std::string& key, const std::vector<float>& fallback) const {
  return has_attr(key) ? attr_floats(key) : fallback;
}
std::vector<std::string> Node::attr_strings(const std::string& key) const {
  return get_attr<std::vector<std::string>>(*this, key, attr(key), "strings");
}
const Tensor& Node::attr_tensor(const std::string& key) const {
  return get_attr<Tensor>(*this, key, attr(key), "tensor");
}

Node& Graph::add_node(std::string op_type, std::vector<std::string> ins, std::vector<std::string> outs,
                      std::string node_name) {
  Node n;
  n.op_type = std::move(op_type);
  n.inputs = std::move(ins);
  n.outputs = std::move(outs);
  n.name = node_name.empty() ? cat(n.op_type, "_", nodes.size()) : std::move(node_name);
  auto it = opsets.find("");
  n.opset = it == opsets.end() ? 0 : it->second;
  nodes.push_back(std::move(n));
  return nodes.back();
}

const ValueInfo* Graph::find_value(const std::string& value) const {
  for (const auto& v : inputs)
    if (v.name == value) return &v;
  for (const auto& v : outputs)
    if (v.name == value) return &v;
  auto it = value_info.find(value);
  return it == value_info.end() ? nullptr : &it->second;
}

void Graph::topo_sort() {
  std::unordered_map<std::string, size_t> producer;
  for (size_t i = 0; i < nodes.size(); ++i)
    for (const auto& o : nodes[i].outputs)
      if (!o.empty()) producer[o] = i;
  // Kahn's algorithm, always taking the lowest-index ready node so sorted graphs keep their order.
  std::vector<int> pending(nodes.size(), 0);
  std::vector<std::vector<size_t>> users(nodes.size());
  for (size_t i = 0; i < nodes.size(); ++i) {
    std::set<size_t> deps;
    for (const auto& in : nodes[i].inputs) {
      auto it = producer.find(in);
      if (!in.empty() && it != producer.end() && it->second != i) deps.insert(it->second);
    }
    pending[i] = int(deps.size());
    for (size_t d : deps) users[d].push_back(i);
  }
  std::set<size_t> ready;
  for (size_t i = 0; i < nodes.size(); ++i)
    if (pending[i] == 0) ready.insert(i);
  std::vector<Node> sorted;
  sorted.reserve(nodes.size());
  while (!ready.empty()) {
    size_t i = *ready.begin();
    ready.erase(ready.begin());
    sorted.push_back(std::move(nodes[i]));
    for (size_t u : users[i])
      if (--pending[u] == 0) ready.insert(u);
  }
  if (sorted.size() != nodes.size()) {
    for (size_t i = 0; i < nodes.size(); ++i)
      if (pending[i] > 0) fail("graph '", name, "' has a cycle through ", nodes[i].where());
  }
  nodes = std::move(sorted);
}

int64_t Graph::parameter_count() const {
  int64_t n = 0;
  for (const auto& [k, t] : initializers) n += t.numel();
  return n;
}

void verify(const Graph& graph) {
  std::unordered_set<std::string> defined;
  auto define = [&](const std::string& v, const std::string& by) {
    EK_CHECK(!v.empty(), by, " defines a value with an empty name");
    EK_CHECK(defined.insert(v).second, "value '", v, "' is defined twice (again by ", by, ")");
  };
  for (const auto& in : graph.inputs) define(in.name, "graph input");
  for (const auto& [k, t] : graph.initializers)
    if (!defined.count(k)) define(k, "initializer");
  for (const auto& n : graph.nodes) {
    for (const auto& in : n.inputs)
      EK_CHECK(in.empty() || defined.count(in), n.where(), ": input '", in,
               "' is not a graph input, an initializer or the output of an earlier node");
    for (const auto& out : n.outputs)
      if (!out.empty()) define(out, n.where());
  }
  for (const auto& out : graph.outputs)
    EK_CHECK(defined.count(out.name), "graph output '", out.name, "' is not produced by any node");
}

}  // namespace edgekit
