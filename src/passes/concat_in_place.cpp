// A channel Concat of NHWC convolutions, Concat(ConvNhwc_0, ..., ConvNhwc_k) on the last
// axis, each convolution read only by the Concat, becomes the convolutions writing their
// channels of one tensor: the first makes it ([N, H, W, total], its channels from offset 0),
// each next one fills in its range of the previous one's (input 4, _concat_into = 1, which
// the Session runs in place), and the last one's output is the Concat's. The Concat's copy
// of every part (a pass over all of its output) disappears; SqueezeNet has eight.
// Not for depthwise or grouped convolutions (their kernel writes contiguous pixels), nor
// when the Concat's output is a graph output (the caller would get the arena's buffer).
#include "passes/pass_manager.h"

namespace edgekit {
namespace {

class ConcatInPlace final : public GraphPass {
 public:
  const char* name() const override { return "concat_in_place"; }
  std::vector<std::string> op_types() const override { return {"Concat"}; }

  bool apply(Graph& g) override {
    GraphUses uses(g);
    std::optional<StaticTypes> types;
    std::vector<bool> dead(g.nodes.size(), false);
    bool changed = false;
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      const Node& cat = g.nodes[i];
      if (cat.op_type != "Concat" || !cat.domain.empty() || cat.outputs.size() != 1 || cat.inputs.size() < 2 ||
          uses.is_graph_output(cat.outputs[0]))
        continue;
      std::vector<size_t> parts;
      for (const std::string& v : cat.inputs) {
        auto p = uses.producer.find(v);
        if (v.empty() || p == uses.producer.end() || dead[p->second] || uses.use_count(v) != 1 ||
            !writable_part(g.nodes[p->second]))
          break;
        parts.push_back(p->second);
      }
      if (parts.size() != cat.inputs.size()) continue;
      if (!types) types.emplace(g);
      std::optional<Shape> out = types->shape(cat.outputs[0]);
      if (!out || out->size() != 4) continue;
      int64_t axis = cat.attr_int("axis", 0);
      if (axis < 0) axis += 4;
      if (axis != 3) continue;
      // Every part [N, H, W, M_i] with known channels that add up to the output's.
      int64_t total = 0;
      bool ok = true;
      std::vector<int64_t> channels;
      for (const std::string& v : cat.inputs) {
        std::optional<Shape> s = types->shape(v);
        ok = ok && s && s->size() == 4 && (*s)[3] > 0;
        for (size_t d = 0; ok && d < 3; ++d) ok = types->same_dim(v, d, cat.outputs[0], d);
        if (!ok) break;
        channels.push_back((*s)[3]);
        total += (*s)[3];
      }
      if (!ok || (*out)[3] != total) continue;
      int64_t offset = 0;
      std::string previous;
      for (size_t k = 0; k < parts.size(); ++k) {
        Node& conv = g.nodes[parts[k]];
        conv.attrs["_concat_channels"] = total;
        conv.attrs["_concat_offset"] = offset;
        offset += channels[k];
        if (k > 0) {
          conv.inputs.resize(4);  // absent bias and residual stay as empty names
          conv.inputs.push_back(previous);
          conv.attrs["_concat_into"] = int64_t(1);
        }
        if (k + 1 == parts.size()) {
          conv.outputs[0] = cat.outputs[0];
        } else {
          std::string part = cat.outputs[0] + "/concat_part" + std::to_string(k);
          while (uses.producer.count(part) || uses.consumers.count(part)) part += "_";
          conv.outputs[0] = part;
        }
        previous = conv.outputs[0];
      }
      dead[i] = changed = true;
    }
    if (!changed) return false;
    erase_nodes(g, dead);
    g.topo_sort();  // each part now follows the one it fills in
    return true;
  }

 private:
  static bool writable_part(const Node& n) {
    return n.domain == kEdgekitDomain && n.op_type == "ConvNhwc" && n.outputs.size() == 1 && n.inputs.size() >= 2 &&
           n.inputs.size() <= 4 && n.attr_int("group", 1) == 1 && !n.has_attr("_concat_channels");
  }
};

}  // namespace

std::unique_ptr<GraphPass> make_concat_in_place() { return std::make_unique<ConcatInPlace>(); }

}  // namespace edgekit
