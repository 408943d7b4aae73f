// Graph -> onnx::ModelProto. The Graph already speaks ONNX's language (named values, ONNX op
// types and attributes), so export is a field-by-field copy:
//   - graph inputs, outputs and value_info with dtype and shape; an unknown dim becomes
//     dim_param when ValueInfo::dim_names holds its symbol, else an empty dim;
//   - initializers (and tensor attributes) as little-endian raw_data;
//   - every AttributeValue alternative as the matching AttributeProto type;
//   - opset imports from graph.opsets, completed from the nodes' domains (default domain:
//     the nodes' declared opset, else 13); ir_version is the lowest that carries that opset.
// Protobuf cannot serialize a message of 2 GB or more and external data is not written, so a
// larger model is refused with an error before anything big is built.
#include "formats/onnx/onnx_export.h"

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <set>
#include <type_traits>

#include "formats/onnx/onnx_tensor.h"

namespace edgekit {
namespace {

static_assert(std::endian::native == std::endian::little, "ONNX raw_data is little-endian; add a byte swap");

constexpr size_t kProtobufLimit = size_t(std::numeric_limits<int32_t>::max());  // bytes in one message

int32_t onnx_dtype(DType t, const std::string& what) {
  EK_CHECK(t != DType::undefined, what, ": has no dtype, which ONNX requires");
  return onnx_type_from_dtype(t);
}

// The lowest IR version whose readers know `opset` of the default domain (ONNX's version table).
int64_t ir_version_for(int opset) {
  if (opset <= 8) return 3;
  if (opset <= 11) return opset - 5;  // 9 -> 4, 10 -> 5, 11 -> 6
  if (opset <= 14) return 7;
  if (opset <= 18) return 8;
  if (opset <= 20) return 9;
  if (opset <= 22) return 10;
  if (opset <= 24) return opset - 12;  // 23 -> 11, 24 -> 12
  return opset <= 27 ? 13 : 14;
}

std::string normal_domain(const std::string& d) { return d == "ai.onnx" ? "" : d; }

void fill_tensor(const Tensor& t, const std::string& name, const std::string& what, onnx::TensorProto* p) {
  p->set_name(name);
  p->set_data_type(onnx_dtype(t.dtype(), cat(what, ": tensor '", name, "'")));
  for (int64_t d : t.shape()) p->add_dims(d);
  p->set_raw_data(t.raw(), t.nbytes());  // bool is one byte 0/1, f16 its bits: both as ONNX stores them
}

// `what` says where the value is declared ("graph 'g': input 'x'") for errors.
void fill_value_info(const ValueInfo& v, const std::string& what, onnx::ValueInfoProto* p) {
  p->set_name(v.name);
  auto* tensor_type = p->mutable_type()->mutable_tensor_type();
  tensor_type->set_elem_type(onnx_dtype(v.dtype, what));
  if (!v.shape_known) return;  // no shape field: rank unknown
  auto* shape = tensor_type->mutable_shape();
  for (size_t i = 0; i < v.dims.size(); ++i) {
    auto* dim = shape->add_dim();
    if (v.dims[i] >= 0)
      dim->set_dim_value(v.dims[i]);
    else if (i < v.dim_names.size() && !v.dim_names[i].empty())
      dim->set_dim_param(v.dim_names[i]);
  }
}

void fill_attribute(const std::string& key, const AttributeValue& value, const Node& node,
                    onnx::AttributeProto* a) {
  using AP = onnx::AttributeProto;
  a->set_name(key);
  std::visit(
      [&](const auto& v) {
        using V = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<V, float>) {
          a->set_type(AP::FLOAT), a->set_f(v);
        } else if constexpr (std::is_same_v<V, int64_t>) {
          a->set_type(AP::INT), a->set_i(v);
        } else if constexpr (std::is_same_v<V, std::string>) {
          a->set_type(AP::STRING), a->set_s(v);
        } else if constexpr (std::is_same_v<V, Tensor>) {
          a->set_type(AP::TENSOR);
          fill_tensor(v, "", cat(node.where(), " attribute '", key, "'"), a->mutable_t());
        } else if constexpr (std::is_same_v<V, std::vector<float>>) {
          a->set_type(AP::FLOATS);
          for (float f : v) a->add_floats(f);
        } else if constexpr (std::is_same_v<V, std::vector<int64_t>>) {
          a->set_type(AP::INTS);
          for (int64_t i : v) a->add_ints(i);
        } else {
          static_assert(std::is_same_v<V, std::vector<std::string>>, "new AttributeValue alternative");
          a->set_type(AP::STRINGS);
          for (const std::string& s : v) a->add_strings(s);
        }
      },
      value);
}

// Declared opsets, plus one for every domain a node uses without a declaration.
std::map<std::string, int> opset_imports(const Graph& g) {
  std::map<std::string, int> opsets;
  for (const auto& [domain, version] : g.opsets) opsets[normal_domain(domain)] = version;
  std::map<std::string, int> used;  // domain -> highest opset its nodes say they were made for
  for (const Node& n : g.nodes) {
    int& v = used[normal_domain(n.domain)];
    v = std::max(v, n.opset);
  }
  used.emplace("", 0);  // the default domain is always imported
  for (const auto& [domain, version] : used)
    if (!opsets.count(domain)) opsets[domain] = version > 0 ? version : (domain.empty() ? 13 : 1);
  for (const Node& n : g.nodes)  // a fused Gelu is written back as com.microsoft:Gelu before opset 20
    if (opsets.at("") < 20 && n.attr_string("_activation", "") == "Gelu") opsets.emplace("com.microsoft", 1);
  return opsets;
}

// edgekit's NHWC ops (com.edgekit:ConvNhwc and the *PoolNhwc pools, passes/layout_nhwc.cpp)
// are written as the standard op between Transposes, so the file is plain ONNX.
Graph with_standard_layout(const Graph& g) {
  auto is_nhwc = [](const Node& n) {
    return n.domain == kEdgekitDomain && n.op_type.size() > 4 && n.op_type.ends_with("Nhwc");
  };
  if (std::none_of(g.nodes.begin(), g.nodes.end(), is_nhwc)) return g;
  std::set<std::string> names;
  for (const auto& v : g.inputs) names.insert(v.name);
  for (const auto& [name, t] : g.initializers) names.insert(name);
  for (const Node& n : g.nodes) names.insert(n.outputs.begin(), n.outputs.end());
  auto fresh = [&](const std::string& base) {
    std::string name = base;
    for (int i = 1; names.count(name); ++i) name = cat(base, "_", i);
    names.insert(name);
    return name;
  };
  auto transpose = [&](const std::string& in, const std::string& out, std::vector<int64_t> perm, const Node& n) {
    Node t;
    t.name = fresh(n.name + "_transpose");
    t.op_type = "Transpose";
    t.inputs = {in};
    t.outputs = {out};
    t.attrs["perm"] = std::move(perm);
    return t;
  };
  // The parts of an in-place Concat (passes/concat_in_place.cpp) become convolutions of their
  // own again, followed by the Concat (on the last axis) where the last part was.
  std::set<std::string> filled;  // part outputs a later part fills in
  for (const Node& n : g.nodes)
    if (n.attr_int("_concat_into", 0) != 0 && n.inputs.size() == 5) filled.insert(n.inputs[4]);
  std::map<std::string, std::vector<std::string>> chains;  // a part's output -> the parts so far
  std::vector<Node> nodes;
  for (const Node& n : g.nodes) {
    if (!n.has_attr("_concat_channels")) {
      nodes.push_back(n);
      continue;
    }
    Node part = n;
    std::vector<std::string> chain;
    if (n.attr_int("_concat_into", 0) != 0 && n.inputs.size() == 5) {
      chain = std::move(chains[n.inputs[4]]);
      part.inputs.resize(4);
    }
    for (const char* key : {"_concat_channels", "_concat_offset", "_concat_into"}) part.attrs.erase(key);
    if (part.attr_int("_residual", 0) == 0)  // no residual: drop the empty places kept for it
      while (part.inputs.size() > 2 && part.inputs.back().empty()) part.inputs.pop_back();
    part.outputs[0] = fresh(n.outputs[0] + "_part");
    chain.push_back(part.outputs[0]);
    nodes.push_back(part);
    if (filled.count(n.outputs[0])) {
      chains[n.outputs[0]] = std::move(chain);
      continue;
    }
    Node concat;
    concat.name = fresh(n.name + "_concat");
    concat.op_type = "Concat";
    concat.inputs = chain;
    concat.outputs = {n.outputs[0]};
    concat.attrs["axis"] = int64_t(3);
    nodes.push_back(concat);
  }
  Graph out = g;
  out.nodes.clear();
  for (const Node& n : nodes) {
    if (!is_nhwc(n) || n.inputs.empty() || n.outputs.size() != 1) {
      out.nodes.push_back(n);
      continue;
    }
    Node op = n;
    op.domain.clear();
    op.op_type = n.op_type.substr(0, n.op_type.size() - 4);
    op.opset = 0;
    op.attrs.erase("_winograd");  // a kernel choice (passes/choose_winograd.cpp), not ONNX's
    const bool residual = n.attr_int("_residual", 0) != 0;
    for (size_t k = 0; k < n.inputs.size(); ++k) {
      if (k != 0 && !(residual && k + 1 == n.inputs.size())) continue;  // weights stay as they are
      op.inputs[k] = fresh(n.inputs[k] + "_nchw");
      out.nodes.push_back(transpose(n.inputs[k], op.inputs[k], {0, 3, 1, 2}, n));
    }
    op.outputs[0] = fresh(n.outputs[0] + "_nchw");
    out.nodes.push_back(op);
    out.nodes.push_back(transpose(op.outputs[0], n.outputs[0], {0, 2, 3, 1}, n));
  }
  return out;
}

std::string graph_label(const Graph& g) { return cat("graph '", g.name, "'"); }

void check_size(const Graph& g) {
  size_t bytes = 0;
  for (const auto& [name, t] : g.initializers) bytes += t.nbytes();
  for (const Node& n : g.nodes)
    for (const auto& [key, v] : n.attrs)
      if (const Tensor* t = std::get_if<Tensor>(&v)) bytes += t->nbytes();
  EK_CHECK(bytes <= kProtobufLimit, graph_label(g), ": its tensors hold ", bytes,
           " bytes, over the 2 GB limit of one protobuf message; exporting ONNX external data is not supported");
}

// A fused activation (edgekit-private "_activation" attributes, kernels/epilogue.h) is written
// back as the standard ONNX node it came from, so exported models stay plain ONNX.
void add_unfused_activation(const Node& n, const Graph& g, int default_opset, onnx::GraphProto* gp) {
  const std::string act = n.attr_string("_activation");
  const float alpha = n.attr_float("_activation_alpha", 0.f), beta = n.attr_float("_activation_beta", 0.f);
  const std::string before = n.outputs[0] + "_before_activation";
  // x * Sigmoid(x); HardSwish before opset 14 as x * HardSigmoid(x, 1/6, 1/2), its old form.
  if (act == "SiLU" || (act == "HardSwish" && default_opset < 14)) {
    const bool hard = act == "HardSwish";
    onnx::NodeProto* sp = gp->add_node();
    sp->set_name(n.name + (hard ? "_HardSigmoid" : "_Sigmoid"));
    sp->set_op_type(hard ? "HardSigmoid" : "Sigmoid");
    sp->add_input(before);
    sp->add_output(n.outputs[0] + "_sigmoid");
    for (auto [key, v] : {std::pair<const char*, float>{"alpha", 1.f / 6.f}, {"beta", 0.5f}}) {
      if (!hard) break;
      auto* a = sp->add_attribute();
      a->set_name(key);
      a->set_type(onnx::AttributeProto::FLOAT);
      a->set_f(v);
    }
    onnx::NodeProto* mp = gp->add_node();
    mp->set_name(n.name + "_Mul");
    mp->set_op_type("Mul");
    mp->add_input(before);
    mp->add_input(n.outputs[0] + "_sigmoid");
    mp->add_output(n.outputs[0]);
    return;
  }
  onnx::NodeProto* ap = gp->add_node();
  ap->set_name(n.name + "_" + act);
  ap->set_op_type(act);
  if (act == "Gelu" && default_opset < 20) ap->set_domain("com.microsoft");  // the same exact GELU
  ap->add_input(before);
  if (act == "Clip") {  // opset >= 11: bounds are inputs
    for (auto [suffix, bound] : {std::pair<const char*, float>{"_clip_min", alpha}, {"_clip_max", beta}}) {
      std::string name = n.name + suffix;
      fill_tensor(Tensor::scalar<float>(bound), name, graph_label(g), gp->add_initializer());
      ap->add_input(name);
    }
  }
  ap->add_output(n.outputs[0]);
  auto set_float = [&](const char* key, float v) {
    auto* a = ap->add_attribute();
    a->set_name(key);
    a->set_type(onnx::AttributeProto::FLOAT);
    a->set_f(v);
  };
  if (act == "LeakyRelu") set_float("alpha", alpha);
  if (act == "HardSigmoid") {
    set_float("alpha", alpha);
    set_float("beta", beta);
  }
}

onnx::ModelProto to_model_proto(const Graph& graph) {
  const Graph g = with_standard_layout(graph);
  check_size(g);
  onnx::ModelProto m;
  const std::map<std::string, int> opsets = opset_imports(g);
  m.set_ir_version(ir_version_for(opsets.at("")));
  m.set_producer_name("edgekit");
  for (const auto& [domain, version] : opsets) {
    auto* o = m.add_opset_import();
    o->set_domain(domain);
    o->set_version(version);
  }
  for (const auto& [key, value] : g.metadata) {
    auto* kv = m.add_metadata_props();
    kv->set_key(key);
    kv->set_value(value);
  }

  onnx::GraphProto* gp = m.mutable_graph();
  gp->set_name(g.name.empty() ? "edgekit" : g.name);
  for (const ValueInfo& v : g.inputs) fill_value_info(v, cat(graph_label(g), ": input '", v.name, "'"), gp->add_input());
  for (const ValueInfo& v : g.outputs)
    fill_value_info(v, cat(graph_label(g), ": output '", v.name, "'"), gp->add_output());
  std::set<std::string> declared;
  for (const ValueInfo& v : g.inputs) declared.insert(v.name);
  for (const ValueInfo& v : g.outputs) declared.insert(v.name);
  for (const auto& [name, v] : g.value_info)
    if (!declared.count(name) && !g.initializers.count(name) && v.dtype != DType::undefined)
      fill_value_info(v, "", gp->add_value_info());
  for (const auto& [name, t] : g.initializers) fill_tensor(t, name, graph_label(g), gp->add_initializer());

  for (const Node& n : g.nodes) {
    onnx::NodeProto* np = gp->add_node();
    if (!n.name.empty()) np->set_name(n.name);
    np->set_op_type(n.op_type);
    if (!normal_domain(n.domain).empty()) np->set_domain(n.domain);
    // A fused residual (last input, "_residual") is written back as Add(node output, residual).
    const bool residual = n.attr_int("_residual", 0) != 0 && !n.inputs.empty() && !n.outputs.empty();
    for (size_t k = 0; k + (residual ? 1 : 0) < n.inputs.size(); ++k) np->add_input(n.inputs[k]);
    const bool fused = n.has_attr("_activation");
    const std::string suffix = residual ? "_before_residual" : fused ? "_before_activation" : "";
    for (const std::string& out : n.outputs) np->add_output(out + suffix);
    for (const auto& [key, value] : n.attrs)
      if (key.empty() || key[0] != '_') fill_attribute(key, value, n, np->add_attribute());
    if (residual) {
      onnx::NodeProto* add = gp->add_node();
      add->set_name(n.name + "_residual_Add");
      add->set_op_type("Add");
      add->add_input(n.outputs[0] + suffix);
      add->add_input(n.inputs.back());
      add->add_output(fused ? n.outputs[0] + "_before_activation" : n.outputs[0]);
    }
    if (fused) add_unfused_activation(n, g, opsets.at(""), gp);
  }
  return m;
}

// ONNX's messages span lines ("==> Context: ..."); errors here are one line.
std::string one_line(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  for (char& ch : s)
    if (ch == '\n') ch = ' ';
  return s;
}

}  // namespace

std::string export_onnx_bytes(const Graph& graph) {
  onnx::ModelProto m = to_model_proto(graph);
  const size_t size = m.ByteSizeLong();
  EK_CHECK(size <= kProtobufLimit, graph_label(graph), ": the ONNX model would be ", size,
           " bytes, over the 2 GB limit of one protobuf message; exporting ONNX external data is not supported");
  std::string bytes;
  EK_CHECK(m.SerializeToString(&bytes), graph_label(graph), ": protobuf could not serialize the ONNX model");
  return bytes;
}

void export_onnx(const Graph& graph, const std::string& path) {
  const std::string bytes = export_onnx_bytes(graph);
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  EK_CHECK(f.good(), path, ": cannot open for writing: ", std::strerror(errno));
  f.write(bytes.data(), std::streamsize(bytes.size()));
  f.close();
  EK_CHECK(!f.fail(), path, ": writing the ONNX model failed: ", std::strerror(errno));
}

void check_onnx_model(const std::string& bytes, const std::string& display_name) {
  onnx::ModelProto m;
  EK_CHECK(m.ParseFromString(bytes), display_name, ": not a parseable ONNX ModelProto");
  try {
    onnx::checker::check_model(m);
    // What onnx.checker.check_model(full_check=True) adds: strict shape and type inference.
    onnx::ShapeInferenceOptions options(/*check_type=*/true, /*strict_mode=*/1, /*data_prop=*/false);
    onnx::shape_inference::InferShapes(m, onnx::OpSchemaRegistry::Instance(), options);
  } catch (const std::exception& e) {
    fail(display_name, ": ONNX checker: ", one_line(e.what()));
  }
}

}  // namespace edgekit
