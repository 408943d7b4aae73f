// ONNX ModelProto -> Graph.
//
// Only the protobuf message classes of libonnx are used here (onnx_proto). ONNX's own shape
// inference is not run on imported files: it is not hardened against malformed models, and
// edgekit's static shape inference (kernels/shape_inference.h) covers the ops edgekit runs.
// Every size read from the file is checked before memory is touched.
#include "formats/onnx/onnx_import.h"

#include <onnx/defs/schema.h>
#include <onnx/onnx_pb.h>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <unordered_set>

#include "formats/onnx/onnx_tensor.h"

namespace edgekit {

namespace {

namespace fs = std::filesystem;

// Kernels follow default-domain semantics from opset 7 (numpy broadcasting, no consumed_inputs).
// An older model loads when none of its ops changed between its opset and 7 (ONNX's schema
// registry tells), which covers ops such as Softplus or GlobalAveragePool that never changed.
constexpr int kMinOpset = 7;
constexpr int kNewestAccepted = 21;  // kernels implement op semantics through opset 18; 19-21 changed few ops

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  EK_CHECK(f.good(), path, ": cannot open file (missing or unreadable)");
  std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  EK_CHECK(!f.bad(), path, ": read error");
  return bytes;
}

template <class Message>
bool parse_message(Message& msg, const std::string& bytes) {
  google::protobuf::io::ArrayInputStream raw(bytes.data(), int(bytes.size()));
  google::protobuf::io::CodedInputStream in(&raw);
  in.SetTotalBytesLimit(INT32_MAX);
  in.SetRecursionLimit(64);
  return msg.ParseFromCodedStream(&in) && in.ConsumedEntireMessage();
}

struct TensorSource {
  std::string base_dir;  // for external data; empty: external data not allowed
  std::string file;      // for messages
};

// Copies `count` little-endian elements from a repeated proto field into `dst`.
template <class Dst, class Field>
void copy_field(Dst* dst, const Field& field, int64_t count) {
  for (int64_t i = 0; i < count; ++i) dst[i] = static_cast<Dst>(field.Get(int(i)));
}

// An external data "offset" or "length": a decimal int64 >= 0, as text in the file.
int64_t external_int(const onnx::TensorProto& t, const TensorSource& src, const std::string& key,
                     const std::string& text) {
  int64_t v = -1;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  EK_CHECK(ec == std::errc() && end == text.data() + text.size() && v >= 0, src.file, ": tensor '", t.name(),
           "': external data ", key, " '", text, "' is not a non-negative 64-bit integer");
  return v;
}

std::string read_external(const onnx::TensorProto& t, const TensorSource& src, size_t want) {
  std::string location;
  int64_t offset = 0, length = -1;
  for (const auto& kv : t.external_data()) {
    if (kv.key() == "location") location = kv.value();
    else if (kv.key() == "offset") offset = external_int(t, src, kv.key(), kv.value());
    else if (kv.key() == "length") length = external_int(t, src, kv.key(), kv.value());
  }
  EK_CHECK(!location.empty(), src.file, ": tensor '", t.name(), "' uses external data without a location");
  EK_CHECK(!src.base_dir.empty(), src.file, ": tensor '", t.name(), "' uses external data, which needs a model path");
  fs::path p = fs::path(location);
  EK_CHECK(p.is_relative() && location.find("..") == std::string::npos, src.file, ": tensor '", t.name(),
           "': external data location '", location, "' must be a relative path inside the model's folder");
  fs::path full = fs::path(src.base_dir) / p;
  std::ifstream f(full, std::ios::binary);
  EK_CHECK(f.good(), src.file, ": tensor '", t.name(), "': cannot open external data file ", full.string());
  f.seekg(0, std::ios::end);
  int64_t size = f.tellg();
  if (length < 0) length = size - offset;
  EK_CHECK(offset <= size && length >= 0 && length <= size - offset, src.file, ": tensor '", t.name(),
           "': external data at offset ", offset, ", length ", length, " lies outside ", full.string(), " (", size,
           " bytes)");
  EK_CHECK(size_t(length) == want, src.file, ": tensor '", t.name(), "': external data holds ", length,
           " bytes, expected ", want);
  std::string bytes(size_t(length), '\0');
  f.seekg(offset);
  f.read(bytes.data(), length);
  return bytes;
}

Tensor tensor_from_proto(const onnx::TensorProto& t, const TensorSource& src) {
  std::string where = cat(src.file, ": tensor '", t.name(), "'");
  DType dtype = dtype_from_onnx(t.data_type(), where);
  Shape shape;
  for (int64_t d : t.dims()) {
    EK_CHECK(d >= 0, where, ": negative dimension ", d);
    shape.push_back(d);
  }
  EK_CHECK(!t.has_segment(), where, ": segmented tensors are not supported");
  // The payload is checked against the shape before the tensor is allocated, so that a few
  // bytes claiming a huge shape cannot make the importer allocate (and zero) gigabytes.
  int64_t n = 1;
  const int64_t elem = int64_t(dtype_size(dtype));
  for (int64_t d : shape) {
    EK_CHECK(d == 0 || n <= std::numeric_limits<int64_t>::max() / elem / d, where, ": shape ", shape_str(shape),
             " has too many elements");
    n *= d;
  }
  const size_t want = size_t(n * elem);
  auto expect_count = [&](int64_t got, const char* field) {
    EK_CHECK(got == n, where, ": ", field, " holds ", got, " values, shape ", shape_str(shape), " needs ", n);
  };
  std::string external;
  if (t.data_location() == onnx::TensorProto::EXTERNAL) external = read_external(t, src, want);
  else if (t.has_raw_data())
    EK_CHECK(t.raw_data().size() == want, where, ": raw_data holds ", t.raw_data().size(), " bytes, expected ", want);
  else if (dtype == DType::f32) expect_count(t.float_data_size(), "float_data");
  else if (dtype == DType::f64) expect_count(t.double_data_size(), "double_data");
  else if (dtype == DType::i64) expect_count(t.int64_data_size(), "int64_data");
  else if (dtype == DType::u32 || dtype == DType::u64) expect_count(t.uint64_data_size(), "uint64_data");
  else expect_count(t.int32_data_size(), "int32_data");
  Tensor out(dtype, shape);
  if (t.data_location() == onnx::TensorProto::EXTERNAL) {
    if (want) std::memcpy(out.raw(), external.data(), want);
  } else if (t.has_raw_data()) {
    if (want) std::memcpy(out.raw(), t.raw_data().data(), want);
  } else {
    switch (dtype) {
      case DType::f32: copy_field(out.data<float>(), t.float_data(), n); break;
      case DType::f64: copy_field(out.data<double>(), t.double_data(), n); break;
      case DType::i64: copy_field(out.data<int64_t>(), t.int64_data(), n); break;
      case DType::u32: copy_field(out.data<uint32_t>(), t.uint64_data(), n); break;
      case DType::u64: copy_field(out.data<uint64_t>(), t.uint64_data(), n); break;
      case DType::i32: copy_field(out.data<int32_t>(), t.int32_data(), n); break;
      case DType::i16: copy_field(out.data<int16_t>(), t.int32_data(), n); break;
      case DType::u16: copy_field(out.data<uint16_t>(), t.int32_data(), n); break;
      case DType::i8: copy_field(out.data<int8_t>(), t.int32_data(), n); break;
      case DType::u8: copy_field(out.data<uint8_t>(), t.int32_data(), n); break;
      case DType::boolean: copy_field(out.data<bool>(), t.int32_data(), n); break;
      case DType::f16: {  // f16 bits are stored in int32_data
        f16_t* p = out.data<f16_t>();
        for (int64_t i = 0; i < n; ++i) p[i].bits = uint16_t(t.int32_data(int(i)));
        break;
      }
      default: fail(where, ": unsupported dtype");
    }
  }
  return out;
}

void read_value_type(const onnx::ValueInfoProto& v, ValueInfo& info, const std::string& file) {
  info.name = v.name();
  if (!v.has_type() || !v.type().has_tensor_type()) {
    EK_CHECK(!v.has_type() || v.type().value_case() == onnx::TypeProto::VALUE_NOT_SET, file, ": value '", v.name(),
             "' is not a tensor (sequence, map and optional values are not supported)");
    info.shape_known = false;
    return;
  }
  const auto& tt = v.type().tensor_type();
  if (tt.elem_type() != 0) info.dtype = dtype_from_onnx(tt.elem_type(), cat(file, ": value '", v.name(), "'"));
  info.shape_known = tt.has_shape();
  if (!tt.has_shape()) return;
  for (const auto& d : tt.shape().dim()) {
    if (d.has_dim_value()) {
      EK_CHECK(d.dim_value() >= 0, file, ": value '", v.name(), "' has negative dimension ", d.dim_value());
      info.dims.push_back(d.dim_value());
      info.dim_names.emplace_back();
    } else {
      info.dims.push_back(-1);
      info.dim_names.push_back(d.dim_param());
    }
  }
}

AttributeValue read_attribute(const onnx::AttributeProto& a, const Node& node, const TensorSource& src) {
  using A = onnx::AttributeProto;
  A::AttributeType type = a.type();
  if (type == A::UNDEFINED) {  // very old exporters leave the type out: take the field that is set
    if (a.has_f()) type = A::FLOAT;
    else if (a.has_i()) type = A::INT;
    else if (a.has_s()) type = A::STRING;
    else if (a.has_t()) type = A::TENSOR;
    else if (a.floats_size()) type = A::FLOATS;
    else if (a.ints_size()) type = A::INTS;
    else if (a.strings_size()) type = A::STRINGS;
  }
  switch (type) {
    case A::FLOAT: return a.f();
    case A::INT: return int64_t(a.i());
    case A::STRING: return a.s();
    case A::TENSOR: return tensor_from_proto(a.t(), src);
    case A::FLOATS: return std::vector<float>(a.floats().begin(), a.floats().end());
    case A::INTS: return std::vector<int64_t>(a.ints().begin(), a.ints().end());
    case A::STRINGS: return std::vector<std::string>(a.strings().begin(), a.strings().end());
    case A::GRAPH:
    case A::GRAPHS:
      fail(src.file, ": ", node.where(), ": attribute '", a.name(),
           "' holds a subgraph; control flow (If, Loop, Scan) is not supported");
    default:
      fail(src.file, ": ", node.where(), ": attribute '", a.name(), "' has unsupported type ", int(type));
  }
}

void check_old_opset(const Graph& g, const std::string& file) {
  auto it = g.opsets.find("");
  if (it == g.opsets.end() || it->second >= kMinOpset) return;
  int v = it->second;
  for (const auto& n : g.nodes) {
    if (!n.domain.empty()) continue;
    const auto* then = onnx::OpSchemaRegistry::Schema(n.op_type, v, "");
    const auto* now = onnx::OpSchemaRegistry::Schema(n.op_type, kMinOpset, "");
    EK_CHECK(then != nullptr, file, ": ", n.where(), ": op '", n.op_type, "' does not exist in opset ", v);
    EK_CHECK(now != nullptr && then->SinceVersion() == now->SinceVersion(), file, ": opset ", v,
             " is older than ", kMinOpset, " and ", n.where(), " changed since then; re-export the model with opset >= ",
             kMinOpset);
  }
}

Graph graph_from_model(const onnx::ModelProto& model, const TensorSource& src) {
  EK_CHECK(model.has_graph(), src.file, ": the model has no graph");
  Graph g;
  g.source_format = "onnx";
  g.producer = model.producer_name() + (model.producer_version().empty() ? "" : " " + model.producer_version());
  for (const auto& op : model.opset_import()) {
    std::string domain = op.domain() == "ai.onnx" ? "" : op.domain();
    g.opsets[domain] = int(op.version());
  }
  if (g.opsets.empty()) g.opsets[""] = 1;  // IR v2 models had no opset_import: opset 1
  if (g.opsets.count("")) {
    int v = g.opsets[""];
    EK_CHECK(v <= kNewestAccepted, src.file, ": opset ", v, " is newer than edgekit supports (up to ", kNewestAccepted, ")");
  }
  for (const auto& p : model.metadata_props()) g.metadata[p.key()] = p.value();
  g.metadata["ir_version"] = std::to_string(model.ir_version());

  const onnx::GraphProto& gp = model.graph();
  g.name = gp.name();
  for (const auto& t : gp.initializer()) {
    EK_CHECK(!t.name().empty(), src.file, ": an initializer has no name");
    EK_CHECK(!g.initializers.count(t.name()), src.file, ": initializer '", t.name(), "' is defined twice");
    g.initializers[t.name()] = tensor_from_proto(t, src);
  }
  EK_CHECK(gp.sparse_initializer_size() == 0, src.file, ": sparse initializers are not supported");
  for (const auto& v : gp.input()) {
    if (g.initializers.count(v.name())) continue;  // IR < 4 listed initializers as inputs too
    ValueInfo info;
    read_value_type(v, info, src.file);
    EK_CHECK(info.dtype != DType::undefined, src.file, ": graph input '", v.name(), "' has no element type");
    g.inputs.push_back(std::move(info));
  }
  for (const auto& v : gp.output()) {
    ValueInfo info;
    read_value_type(v, info, src.file);
    g.outputs.push_back(std::move(info));
  }
  for (const auto& v : gp.value_info()) {
    ValueInfo info;
    read_value_type(v, info, src.file);
    g.value_info[info.name] = std::move(info);
  }
  std::unordered_set<std::string> names;
  for (int i = 0; i < gp.node_size(); ++i) {
    const auto& np = gp.node(i);
    Node n;
    n.op_type = np.op_type();
    n.domain = np.domain() == "ai.onnx" ? "" : np.domain();
    n.name = np.name().empty() ? cat(np.op_type(), "_", i) : np.name();
    if (!names.insert(n.name).second) n.name = cat(n.name, "_", i);  // names must be unique for messages
    auto op = g.opsets.find(n.domain);
    n.opset = op == g.opsets.end() ? 0 : op->second;
    n.inputs.assign(np.input().begin(), np.input().end());
    n.outputs.assign(np.output().begin(), np.output().end());
    for (const auto& a : np.attribute()) {
      if (!a.ref_attr_name().empty()) fail(src.file, ": ", n.where(), ": attribute references are only valid in functions");
      n.attrs[a.name()] = read_attribute(a, n, src);
    }
    g.nodes.push_back(std::move(n));
  }
  check_old_opset(g, src.file);
  g.topo_sort();
  verify(g);
  return g;
}

}  // namespace

DType dtype_from_onnx(int onnx_type, const std::string& where) {
  DType t = dtype_from_onnx_code(onnx_type);
  EK_CHECK(t != DType::undefined, where, ": ", onnx_type_name(onnx_type), " tensors are not supported");
  return t;
}

int onnx_type_from_dtype(DType t) {
  int code = onnx_code_of(t);
  EK_CHECK(code != 0, "dtype ", dtype_name(t), " has no ONNX equivalent");
  return code;
}

Graph import_onnx_bytes(const std::string& bytes, const std::string& base_dir, const std::string& display_name) {
  onnx::ModelProto model;
  EK_CHECK(parse_message(model, bytes), display_name,
           ": not a valid ONNX model (the protobuf could not be parsed: truncated or corrupted file?)");
  return graph_from_model(model, TensorSource{base_dir, display_name});
}

Graph import_onnx(const std::string& path) {
  std::string bytes = read_file(path);
  EK_CHECK(!bytes.empty(), path, ": the file is empty");
  fs::path dir = fs::path(path).parent_path();
  return import_onnx_bytes(bytes, dir.empty() ? std::string(".") : dir.string(), path);
}

Tensor read_onnx_tensor(const std::string& path, std::string* name_out) {
  std::string bytes = read_file(path);
  onnx::TensorProto t;
  EK_CHECK(parse_message(t, bytes), path, ": not a valid ONNX TensorProto");
  if (name_out) *name_out = t.name();
  fs::path dir = fs::path(path).parent_path();
  return tensor_from_proto(t, TensorSource{dir.empty() ? "." : dir.string(), path});
}

}  // namespace edgekit
