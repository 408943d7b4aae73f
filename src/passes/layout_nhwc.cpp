// Runs convolutional networks in NHWC: the layout where channels are contiguous, so
// convolutions become indirect GEMMs without im2col and depthwise convolutions and pooling
// vectorise over channels (kernels/nhwc_conv.h).
//
// Layout-sensitive ops with an NHWC kernel are anchors: 2-D f32 Conv with constant weights ->
// com.edgekit:ConvNhwc (W stays OIHW; the kernel packs it), MaxPool without Indices,
// AveragePool and GlobalAveragePool -> com.edgekit:*PoolNhwc. Ops that do not care about the
// layout join the NHWC region when every activation they read is in it: elementwise ops
// (constant operands are permuted to match), Concat and Slice (axes remapped), and the channel
// shuffle Reshape -> Transpose -> Reshape of ShuffleNet (rewritten for NHWC). At the
// region's edges one Transpose per value converts in (NCHW -> NHWC) or out (NHWC -> NCHW, for
// readers outside and for graph outputs, which keep their names and layout). Edges between two
// Transposes then cancel in merge_transposes (TFLite models, NHWC at heart, lose all of theirs),
// and a Transpose that moves only unit dims becomes a Reshape (transpose_to_reshape).
// A Transpose NHWC -> NCHW already in the graph (after fuse_qdq's int8 NHWC ops, or in an
// imported NHWC model) seeds the region too: its output's NHWC value is its input, so the
// int8 Concat, Slice, channel shuffle and QLookup (requantization) between int8 convolutions
// run in NHWC as the float ones do.
#include <algorithm>
#include <cstring>
#include <map>
#include <optional>
#include <set>

#include "passes/pass_manager.h"

namespace edgekit {
namespace {

// NHWC dim i holds NCHW dim kToNhwc[i]; NCHW axis a sits at NHWC axis kNhwcAxis[a].
constexpr int64_t kToNhwc[4] = {0, 2, 3, 1};
constexpr int64_t kToNchw[4] = {0, 3, 1, 2};
constexpr int64_t kNhwcAxis[4] = {0, 3, 1, 2};

const std::set<std::string>& agnostic_elementwise() {
  static const std::set<std::string> ops = {
      "Add", "Sub", "Mul", "Div", "Max", "Min", "Relu", "Sigmoid", "Tanh", "LeakyRelu", "HardSigmoid", "HardSwish",
      "Clip", "Abs", "Neg", "Exp", "Sqrt", "Erf", "Elu", "Selu", "Softplus", "Gelu", "PRelu"};
  return ops;
}

// A constant broadcast against a 4-D NCHW operand, as the NHWC operand: right-aligned to rank
// 4 with leading 1s, then permuted. Scalars stay as they are.
Tensor permute_constant(const Tensor& c) {
  if (c.numel() == 1 || c.rank() == 0) return c;
  Shape s4(4 - c.rank(), 1);
  s4.insert(s4.end(), c.shape().begin(), c.shape().end());
  Shape out(4);
  for (int i = 0; i < 4; ++i) out[size_t(i)] = s4[size_t(kToNhwc[i])];
  Tensor t(c.dtype(), out);
  const size_t elem = dtype_size(c.dtype());
  const char* src = static_cast<const char*>(c.raw());
  char* dst = static_cast<char*>(t.raw());
  int64_t idx[4];
  for (idx[0] = 0; idx[0] < out[0]; ++idx[0])
    for (idx[1] = 0; idx[1] < out[1]; ++idx[1])
      for (idx[2] = 0; idx[2] < out[2]; ++idx[2])
        for (idx[3] = 0; idx[3] < out[3]; ++idx[3]) {
          int64_t nchw[4];
          for (int i = 0; i < 4; ++i) nchw[kToNhwc[i]] = idx[i];
          const int64_t s = ((nchw[0] * s4[1] + nchw[1]) * s4[2] + nchw[2]) * s4[3] + nchw[3];
          const int64_t d = ((idx[0] * out[1] + idx[1]) * out[2] + idx[2]) * out[3] + idx[3];
          std::memcpy(dst + size_t(d) * elem, src + size_t(s) * elem, elem);
        }
  return t;
}

class LayoutNhwc final : public GraphPass {
 public:
  const char* name() const override { return "layout_nhwc"; }
  std::vector<std::string> op_types() const override {
    return {"Conv", "MaxPool", "AveragePool", "GlobalAveragePool", "Transpose"};
  }

  bool apply(Graph& g) override {
    StaticTypes types(g);
    GraphUses uses(g);
    std::set<std::string> nhwc_values;  // NCHW names of the values the region produces
    // 1 anchor, 2 agnostic member, 3 channel shuffle, 4 spatial reduction, 5 seed (a Transpose
    // NHWC -> NCHW, left as it is)
    std::vector<int> role(g.nodes.size(), 0);
    std::map<size_t, std::pair<int64_t, int64_t>> shuffle_groups;  // first Reshape of a shuffle -> groups, C
    std::map<std::string, std::string> seeded;  // a seed's output -> its input (the NHWC value)
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      const Node& n = g.nodes[i];
      if (role[i]) continue;  // the inner nodes of a shuffle, marked with its first
      if (is_to_nchw(n, types) && !nhwc_values.count(n.inputs[0])) {
        role[i] = 5;
        seeded[n.outputs[0]] = n.inputs[0];
      } else if (is_anchor(g, n, types)) {
        role[i] = 1;
      } else if (auto shuffle = channel_shuffle(g, uses, types, i, nhwc_values)) {
        role[i] = role[shuffle->transpose] = role[shuffle->reshape] = 3;
        shuffle_groups[i] = {shuffle->groups, shuffle->channels};
        nhwc_values.insert(g.nodes[shuffle->reshape].outputs[0]);
        continue;
      } else if (spatial_reduction(g, n, nhwc_values)) {
        role[i] = 4;  // reads the region, writes a value with no layout: not in the region
        continue;
      } else if (joins(g, n, types, nhwc_values)) {
        role[i] = 2;
      } else {
        continue;
      }
      nhwc_values.insert(n.outputs[0]);
    }
    if (std::none_of(role.begin(), role.end(), [](int r) { return r >= 1 && r <= 4; })) return false;

    std::map<std::string, std::string> to_nhwc;  // NCHW name -> its NHWC value
    std::vector<Node> added;
    auto nhwc_of = [&](const std::string& v, const Node& reader) -> std::string {
      auto it = to_nhwc.find(v);
      if (it != to_nhwc.end()) return it->second;
      const std::string name = fresh_name(g, v + "_nhwc");
      added.push_back(transpose(g, v, name, kToNhwc, reader.opset, reader.name + "_to_nhwc"));
      to_nhwc[v] = name;
      return name;
    };
    for (const auto& v : nhwc_values) to_nhwc[v] = seeded.count(v) ? seeded.at(v) : fresh_name(g, v + "_nhwc");

    for (size_t i = 0; i < g.nodes.size(); ++i) {
      if (!role[i] || role[i] == 5) continue;
      Node& n = g.nodes[i];
      const Node before = n;
      if (role[i] == 1) {
        n.domain = kEdgekitDomain;
        n.op_type += "Nhwc";
        n.inputs[0] = nhwc_of(before.inputs[0], before);
        n.outputs.resize(1);  // MaxPool's absent Indices
        if (before.op_type == "Conv" && before.has_input(3)) n.inputs[3] = nhwc_of(before.inputs[3], before);
      } else if (role[i] == 4) {
        // Reduced over H and W without keepdims: [N, C] either way, from NHWC's axes 1 and 2.
        n.inputs[0] = nhwc_of(before.inputs[0], before);
        const std::vector<int64_t> axes{1, 2};
        if (n.has_attr("axes"))
          n.attrs["axes"] = axes;
        else
          n.inputs[1] = add_initializer(g, n.name + "_nhwc_axes", Tensor::from<int64_t>(axes, {2}));
        continue;  // the output keeps its name and meaning
      } else if (role[i] == 3) {
        // Channel shuffle [N,C,H,W] -> [N,g,C/g,H,W] -> swap 1,2 -> [N,C,H,W] is, in NHWC,
        // [N,H,W,C] -> [N,H,W,g,C/g] -> swap 3,4 -> [N,H,W,C].
        n.attrs.erase("allowzero");  // the new shapes copy dims with 0
        auto it = shuffle_groups.find(i);
        if (it != shuffle_groups.end()) {  // the first Reshape
          n.inputs[0] = nhwc_of(before.inputs[0], before);
          const auto [groups, channels] = it->second;
          n.inputs[1] = add_initializer(g, n.name + "_nhwc_shape",
                                        Tensor::from<int64_t>({0, 0, 0, groups, channels / groups}, {5}));
          n.outputs[0] = fresh_name(g, before.outputs[0] + "_nhwc");
          renamed_[before.outputs[0]] = n.outputs[0];
          continue;  // its output is read only by the shuffle's Transpose
        }
        n.inputs[0] = renamed_.at(before.inputs[0]);
        if (n.op_type == "Transpose") {
          n.attrs["perm"] = std::vector<int64_t>{0, 1, 2, 4, 3};
          n.outputs[0] = fresh_name(g, before.outputs[0] + "_nhwc");
          renamed_[before.outputs[0]] = n.outputs[0];
          continue;
        }
        n.inputs[1] = add_initializer(g, n.name + "_nhwc_shape", Tensor::from<int64_t>({0, 0, 0, -1}, {4}));
      } else {
        for (size_t k = 0; k < n.inputs.size(); ++k) {
          if (n.inputs[k].empty()) continue;
          if (const Tensor* c = constant_value(g, n.inputs[k])) {
            if (is_data_operand(n, k) && c->numel() != 1)
              n.inputs[k] = add_initializer(g, n.inputs[k] + "_nhwc", permute_constant(*c));
          } else {
            n.inputs[k] = nhwc_of(before.inputs[k], before);
          }
        }
        if (n.op_type == "Concat") n.attrs["axis"] = kNhwcAxis[normalized_axis(n)];
        if (n.op_type == "Slice") n.inputs.resize(std::max<size_t>(n.inputs.size(), 4)), n.inputs[3] = nhwc_axes(g, before);
      }
      n.outputs[0] = to_nhwc.at(before.outputs[0]);
      // Readers outside the region and graph outputs keep the NCHW value under its name.
      bool outside = uses.is_graph_output(before.outputs[0]);
      auto readers = uses.consumers.find(before.outputs[0]);
      if (readers != uses.consumers.end())
        for (size_t r : readers->second) outside = outside || !role[r] || role[r] == 5;
      if (outside) added.push_back(transpose(g, n.outputs[0], before.outputs[0], kToNchw, n.opset, n.name + "_to_nchw"));
    }
    for (auto& t : added) g.nodes.push_back(std::move(t));
    g.topo_sort();
    renamed_.clear();
    return true;
  }

 private:
  static Node transpose(const Graph& g, const std::string& in, const std::string& out, const int64_t* perm, int opset,
                        const std::string& base) {
    Node t;
    t.name = fresh_name(g, base);
    t.op_type = "Transpose";
    t.opset = opset > 0 ? opset : 13;
    t.inputs = {in};
    t.outputs = {out};
    t.attrs["perm"] = std::vector<int64_t>(perm, perm + 4);
    return t;
  }

  // Transpose (0, 3, 1, 2) of a 4-D value.
  static bool is_to_nchw(const Node& n, const StaticTypes& types) {
    if (n.op_type != "Transpose" || !n.domain.empty() || n.inputs.size() != 1 || n.outputs.size() != 1) return false;
    auto rank = types.rank(n.inputs[0]);
    return rank && *rank == 4 && n.attr_ints("perm", {}) == std::vector<int64_t>(kToNchw, kToNchw + 4);
  }

  static bool is_f32_rank4(const StaticTypes& types, const std::string& v) {
    const ValueInfo* info = types.find(v);
    return info && info->dtype == DType::f32 && info->shape_known && info->dims.size() == 4;
  }

  static bool is_anchor(const Graph& g, const Node& n, const StaticTypes& types) {
    if (!n.domain.empty() || n.outputs.size() < 1 || !n.has_input(0) || !is_f32_rank4(types, n.inputs[0])) return false;
    if (n.op_type == "Conv") {
      const Tensor* w = n.inputs.size() > 1 ? constant_value(g, n.inputs[1]) : nullptr;
      if (!w || w->rank() != 4 || w->dtype() != DType::f32) return false;
      if (n.has_input(2) && !constant_value(g, n.inputs[2])) return false;
      return n.outputs.size() == 1;
    }
    if (n.op_type == "MaxPool") return n.outputs.size() == 1 || (n.outputs.size() == 2 && n.outputs[1].empty());
    return (n.op_type == "AveragePool" || n.op_type == "GlobalAveragePool") && n.outputs.size() == 1;
  }

  // ReduceMean/Max/Sum of a 4-D region value over exactly H and W (axes 2 and 3) with
  // keepdims = 0: its [N, C] result is the same computed from NHWC (axes 1 and 2).
  static bool spatial_reduction(const Graph& g, const Node& n, const std::set<std::string>& region) {
    if (!n.domain.empty() || (n.op_type != "ReduceMean" && n.op_type != "ReduceMax" && n.op_type != "ReduceSum"))
      return false;
    if (n.inputs.empty() || !region.count(n.inputs[0]) || n.outputs.size() != 1 || n.attr_int("keepdims", 1) != 0)
      return false;
    std::vector<int64_t> axes;
    if (n.has_attr("axes")) {
      if (n.op_type == "ReduceSum" && n.opset >= 13) return false;
      axes = n.attr_ints("axes");
    } else if (n.has_input(1)) {
      const Tensor* t = constant_value(g, n.inputs[1]);
      if (!t) return false;
      axes = t->to_int_vector();
    } else {
      return false;  // all axes
    }
    if (n.inputs.size() > 1 && n.has_attr("axes")) return false;
    for (auto& a : axes) a = a < 0 ? a + 4 : a;
    std::sort(axes.begin(), axes.end());
    return axes == std::vector<int64_t>{2, 3} && n.attr_int("noop_with_empty_axes", 0) == 0;
  }

  // Slice (opset >= 10: starts, ends, axes, steps as inputs) of a region value, with constant
  // parameters: it runs in NHWC with its axes remapped.
  static bool slice_joins(const Graph& g, const Node& n, const StaticTypes& types, const std::set<std::string>& region) {
    if (n.inputs.size() < 3 || !region.count(n.inputs[0]) || n.outputs.size() != 1) return false;
    for (size_t k = 1; k < n.inputs.size(); ++k)
      if (!n.inputs[k].empty() && !constant_value(g, n.inputs[k])) return false;
    auto rank = types.rank(n.inputs[0]);
    if (!rank || *rank != 4 || n.attrs.count("axes") || n.attrs.count("starts")) return false;  // opset < 10 form
    const Tensor* starts = constant_value(g, n.inputs[1]);
    return starts && starts->rank() == 1;
  }

  // Slice's axes input for the NHWC data: given axes remapped, absent axes made explicit.
  static std::string nhwc_axes(Graph& g, const Node& n) {
    std::vector<int64_t> axes;
    if (n.has_input(3)) {
      axes = constant_value(g, n.inputs[3])->to_int_vector();
    } else {
      for (int64_t k = 0; k < constant_value(g, n.inputs[1])->numel(); ++k) axes.push_back(k);
    }
    for (auto& a : axes) a = kNhwcAxis[a < 0 ? a + 4 : a];
    return add_initializer(g, n.name + "_nhwc_axes", Tensor::from<int64_t>(axes, {int64_t(axes.size())}));
  }

  // Reshape [N,C,H,W] -> [N,g,C/g,H,W], Transpose (0,2,1,3,4), Reshape back to [N,C,H,W] (the
  // channel shuffle of ShuffleNet), starting at node i on a region value, each link read only
  // by the next.
  struct Shuffle {
    size_t transpose, reshape;
    int64_t groups, channels;
  };
  static std::optional<Shuffle> channel_shuffle(const Graph& g, const GraphUses& uses, const StaticTypes& types,
                                               size_t i, const std::set<std::string>& region) {
    const Node& r1 = g.nodes[i];
    if (r1.op_type != "Reshape" || !r1.domain.empty() || r1.inputs.size() < 2 || !region.count(r1.inputs[0]))
      return std::nullopt;
    auto in = types.shape(r1.inputs[0]);
    auto mid = types.shape(r1.outputs[0]);
    if (!in || !mid || in->size() != 4 || mid->size() != 5) return std::nullopt;
    auto t = uses.sole_reader_is(g, r1.outputs[0], "Transpose");
    if (!t || g.nodes[*t].attr_ints("perm", {}) != std::vector<int64_t>{0, 2, 1, 3, 4}) return std::nullopt;
    auto r2 = uses.sole_reader_is(g, g.nodes[*t].outputs[0], "Reshape");
    if (!r2) return std::nullopt;
    auto out = types.shape(g.nodes[*r2].outputs[0]);
    // C may be unknown statically (after a Slice); the 5-D target then says it.
    const int64_t groups = (*mid)[1], C = (*in)[1] > 0 ? (*in)[1] : groups * (*mid)[2];
    const bool dims_ok = C > 0 && groups > 0 && (*mid)[2] > 0 && groups * (*mid)[2] == C &&
                         (*mid)[3] == (*in)[2] &&
                         (*mid)[4] == (*in)[3] && (*in)[2] > 0 && (*in)[3] > 0;
    // Back to [N,C,H,W]: H and W as the input's, and either N copied (a 0 in the constant
    // target) or C given, so the other follows from the element count.
    const Tensor* target = constant_value(g, g.nodes[*r2].inputs.size() > 1 ? g.nodes[*r2].inputs[1] : "");
    if (!dims_ok || !out || out->size() != 4 || !target || target->numel() != 4) return std::nullopt;
    const std::vector<int64_t> t2 = target->to_int_vector();
    if ((*out)[2] != (*in)[2] || (*out)[3] != (*in)[3] || ((*out)[1] != C && (*out)[1] != -1) ||
        !(t2[0] == 0 || t2[1] == C))
      return std::nullopt;
    return Shuffle{*t, *r2, groups, C};
  }

  std::map<std::string, std::string> renamed_;  // inner shuffle values: NCHW name -> NHWC value

  // Inputs of elementwise ops that are data (Clip's min/max are scalars; PRelu's slope is data).
  // (QLookup's quantization parameters and table are not.)
  static bool is_data_operand(const Node& n, size_t k) {
    return (n.op_type != "Clip" && n.op_type != "Slice" && n.op_type != "QLookup") || k == 0;
  }

  // com.edgekit:QLookup with constant parameters: a byte table, elementwise.
  static bool is_lookup(const Graph& g, const Node& n) {
    if (n.domain != kEdgekitDomain || n.op_type != "QLookup") return false;
    for (size_t k = 1; k < n.inputs.size(); ++k)
      if (!n.inputs[k].empty() && !constant_value(g, n.inputs[k])) return false;
    return true;
  }

  static int64_t normalized_axis(const Node& n) {
    const int64_t axis = n.attr_int("axis", 0);
    return axis < 0 ? axis + 4 : axis;
  }

  // An op that computes the same in either layout, all of whose activations are in the region.
  static bool joins(const Graph& g, const Node& n, const StaticTypes& types, const std::set<std::string>& region) {
    const bool lookup = is_lookup(g, n);
    if ((!n.domain.empty() && !lookup) || n.outputs.size() != 1 || n.inputs.empty()) return false;
    const bool concat = n.op_type == "Concat";
    if (n.op_type == "Slice") return slice_joins(g, n, types, region);
    if (!concat && !lookup && !agnostic_elementwise().count(n.op_type)) return false;
    const ValueInfo* out = types.find(n.outputs[0]);
    if (!out || !out->shape_known || out->dims.size() != 4) return false;
    if (concat) {
      const int64_t axis = normalized_axis(n);
      if (axis < 0 || axis > 3) return false;
    }
    bool any = false;
    for (size_t k = 0; k < n.inputs.size(); ++k) {
      if (n.inputs[k].empty()) continue;
      if (const Tensor* c = constant_value(g, n.inputs[k])) {
        if (concat || c->rank() > 4) return false;
        continue;
      }
      if (!region.count(n.inputs[k])) return false;
      auto rank = types.rank(n.inputs[k]);
      if (!rank || *rank != 4) return false;  // a lower-rank operand would broadcast differently
      any = true;
    }
    return any;
  }
};

}  // namespace

std::unique_ptr<GraphPass> make_layout_nhwc() { return std::make_unique<LayoutNhwc>(); }

}  // namespace edgekit
