#include "passes/pass.h"

#include <algorithm>

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

}  // namespace edgekit
