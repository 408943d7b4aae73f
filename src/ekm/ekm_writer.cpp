// write_ekm: graph + metadata -> flatbuffer program, tensors -> the aligned weight section,
// then the header with the content hash.
#include <cstring>
#include <fstream>
#include <type_traits>

#include "ekm/ekm.h"
#include "ekm/ekm_generated.h"
#include "ekm/ekm_header.h"

namespace edgekit {

namespace {

namespace fb = ekm::fb;
using flatbuffers::FlatBufferBuilder;
using flatbuffers::Offset;

size_t align_up(size_t n, size_t a) { return (n + a - 1) / a * a; }

class ProgramWriter {
 public:
  FlatBufferBuilder fbb{1 << 16};
  std::vector<uint8_t> weights;  // the weight section, every tensor at a multiple of 64

  Offset<fb::TensorRef> tensor(const Tensor& t) {
    EK_CHECK(t.defined(), "a tensor without a dtype cannot be stored");
    EK_CHECK(onnx_code_of(t.dtype()) != 0, "dtype ", dtype_name(t.dtype()), " has no .ekm code");
    size_t offset = align_up(weights.size(), kEkmAlignment);
    weights.resize(offset + t.nbytes());
    if (t.nbytes()) std::memcpy(weights.data() + offset, t.raw(), t.nbytes());
    auto dims = fbb.CreateVector(t.shape());
    return fb::CreateTensorRef(fbb, onnx_code_of(t.dtype()), dims, offset, t.nbytes());
  }

  // Stored as f16 when that loses nothing (every float a binary16 number, bit for bit: the
  // weights of an fp16-quantized model), else as the f32 the kernels read in place.
  Offset<fb::PackedWeights> packed(const PackedWeights& p) {
    Tensor halves(DType::f16, {p.floats});
    bool exact = true;
    for (int64_t i = 0; i < p.floats && exact; ++i) {
      f16_t h = float_to_half(p.data[i]);
      float back = half_to_float(h);
      exact = std::memcmp(&back, &p.data[i], sizeof back) == 0;
      halves.data<f16_t>()[i] = h;
    }
    auto data = exact ? tensor(halves) : tensor(Tensor::wrap(DType::f32, {p.floats}, const_cast<float*>(p.data), nullptr));
    auto layout = fbb.CreateString(p.layout);
    return fb::CreatePackedWeights(fbb, layout, int32_t(p.width), int32_t(p.geometry.group), p.k_major, data);
  }

  Offset<fb::ValueInfo> value(const ValueInfo& v) {
    auto name = fbb.CreateString(v.name);
    auto dims = fbb.CreateVector(v.dims);
    auto dim_names = fbb.CreateVectorOfStrings(v.dim_names);
    return fb::CreateValueInfo(fbb, name, onnx_code_of(v.dtype), dims, dim_names, v.shape_known);
  }

  Offset<flatbuffers::Vector<Offset<fb::ValueInfo>>> values(const std::vector<ValueInfo>& vs) {
    std::vector<Offset<fb::ValueInfo>> out;
    for (const auto& v : vs) out.push_back(value(v));
    return fbb.CreateVector(out);
  }

  Offset<fb::Attribute> attribute(const std::string& key, const AttributeValue& value) {
    auto name = fbb.CreateString(key);
    // The variant's alternatives are in AttributeKind order.
    auto kind = fb::AttributeKind(value.index());
    float f = 0;
    int64_t i = 0;
    Offset<flatbuffers::String> s;
    Offset<fb::TensorRef> t;
    Offset<flatbuffers::Vector<float>> floats;
    Offset<flatbuffers::Vector<int64_t>> ints;
    Offset<flatbuffers::Vector<Offset<flatbuffers::String>>> strings;
    std::visit(
        [&](const auto& v) {
          using V = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<V, float>) f = v;
          else if constexpr (std::is_same_v<V, int64_t>) i = v;
          else if constexpr (std::is_same_v<V, std::string>) s = fbb.CreateString(v);
          else if constexpr (std::is_same_v<V, Tensor>) t = tensor(v);
          else if constexpr (std::is_same_v<V, std::vector<float>>) floats = fbb.CreateVector(v);
          else if constexpr (std::is_same_v<V, std::vector<int64_t>>) ints = fbb.CreateVector(v);
          else strings = fbb.CreateVectorOfStrings(v);
        },
        value);
    return fb::CreateAttribute(fbb, name, kind, f, i, s, t, floats, ints, strings);
  }

  Offset<fb::Node> node(const Node& n) {
    std::vector<Offset<fb::Attribute>> attrs;
    for (const auto& [key, value] : n.attrs) attrs.push_back(attribute(key, value));
    auto name = fbb.CreateString(n.name);
    auto op = fbb.CreateString(n.op_type);
    auto domain = fbb.CreateString(n.domain);
    auto inputs = fbb.CreateVectorOfStrings(n.inputs);
    auto outputs = fbb.CreateVectorOfStrings(n.outputs);
    return fb::CreateNode(fbb, name, op, domain, n.opset, inputs, outputs, fbb.CreateVector(attrs));
  }

  Offset<fb::Metadata> metadata(const EkmMetadata& m, const std::map<std::string, std::string>& props) {
    const EkmPreprocessing& p = m.preprocessing;
    auto pre = fb::CreatePreprocessing(fbb, fbb.CreateString(p.layout), fbb.CreateVector(p.mean),
                                       fbb.CreateVector(p.std), p.image_width, p.image_height, p.sample_rate);
    std::vector<Offset<fb::KeyValue>> kv;
    for (const auto& [k, v] : props) kv.push_back(fb::CreateKeyValue(fbb, fbb.CreateString(k), fbb.CreateString(v)));
    return fb::CreateMetadata(fbb, fbb.CreateString(m.name), fbb.CreateString(m.version), fbb.CreateString(m.author),
                              fbb.CreateString(m.description), fbb.CreateVectorOfStrings(m.labels), pre,
                              fbb.CreateVector(kv));
  }

  Offset<fb::MemoryPlan> memory_plan(const EkmMemoryPlan& plan) {
    if (!plan.present) return 0;
    std::vector<Offset<fb::PlannedTensor>> tensors;
    for (const auto& t : plan.tensors)
      tensors.push_back(fb::CreatePlannedTensor(fbb, fbb.CreateString(t.name), t.offset, t.bytes));
    auto inputs = values(plan.inputs);
    return fb::CreateMemoryPlan(fbb, inputs, plan.arena_bytes, plan.naive_bytes, fbb.CreateVector(tensors));
  }

  void program(const EkmModel& m) {
    const Graph& g = m.graph;
    std::vector<Offset<fb::OpsetImport>> opsets;
    for (const auto& [domain, version] : g.opsets)
      opsets.push_back(fb::CreateOpsetImport(fbb, fbb.CreateString(domain), version));
    std::vector<Offset<fb::Initializer>> inits;
    for (const auto& [name, t] : g.initializers) {
      auto n = fbb.CreateString(name);
      auto p = m.packed.find(name);
      if (p == m.packed.end()) {
        inits.push_back(fb::CreateInitializer(fbb, n, tensor(t)));
        continue;
      }
      // Only the packed copy is stored: the plain tensor's dtype and dims, no bytes.
      EK_CHECK(t.dtype() == DType::f32 && t.shape() == p->second.dims, "initializer '", name, "': packed as ",
               shape_str(p->second.dims), " but the tensor is ", dtype_name(t.dtype()), shape_str(t.shape()));
      auto plain = fb::CreateTensorRef(fbb, onnx_code_of(DType::f32), fbb.CreateVector(t.shape()), 0, 0);
      inits.push_back(fb::CreateInitializer(fbb, n, plain, packed(p->second)));
    }
    std::vector<Offset<fb::Node>> nodes;
    for (const auto& n : g.nodes) nodes.push_back(node(n));
    std::vector<ValueInfo> value_info;
    for (const auto& [name, v] : g.value_info) value_info.push_back(v);
    auto producer = fbb.CreateString(m.producer);
    auto source = fbb.CreateString(g.source_format);
    auto graph_name = fbb.CreateString(g.name);
    auto opsets_v = fbb.CreateVector(opsets);
    auto meta = metadata(m.metadata, g.metadata);
    auto inputs = values(g.inputs);
    auto outputs = values(g.outputs);
    auto infos = values(value_info);
    auto inits_v = fbb.CreateVector(inits);
    auto nodes_v = fbb.CreateVector(nodes);
    auto plan = memory_plan(m.memory_plan);
    fb::ProgramBuilder b(fbb);
    b.add_producer(producer);
    b.add_source_format(source);
    b.add_graph_name(graph_name);
    b.add_opt_level(m.opt_level);
    b.add_threads_hint(m.threads_hint);
    b.add_opsets(opsets_v);
    b.add_metadata(meta);
    b.add_inputs(inputs);
    b.add_outputs(outputs);
    b.add_value_info(infos);
    b.add_initializers(inits_v);
    b.add_nodes(nodes_v);
    if (!plan.IsNull()) b.add_memory_plan(plan);
    fb::FinishProgramBuffer(fbb, b.Finish());
  }
};

}  // namespace

void write_ekm(EkmModel& model, const std::string& path) {
  EK_CHECK(model.opt_level >= 0 && model.opt_level <= 3, path, ": opt level ", model.opt_level, " is not 0..3");
  ProgramWriter w;
  try {
    w.program(model);
  } catch (const Error& e) {
    fail(path, ": ", e.what());
  }
  ekm::Header h{};
  std::memcpy(h.magic, kEkmMagic, sizeof h.magic);
  h.format_version = kEkmFormatVersion;
  h.header_bytes = sizeof(ekm::Header);
  h.program_offset = sizeof(ekm::Header);
  h.program_bytes = w.fbb.GetSize();
  h.weights_offset = align_up(h.program_offset + h.program_bytes, kEkmAlignment);
  h.weights_bytes = w.weights.size();
  h.file_bytes = h.weights_offset + h.weights_bytes;
  h.hash_chunk_bytes = ekm::kHashChunkBytes;

  std::vector<uint8_t> file(h.file_bytes, 0);
  std::memcpy(file.data() + h.program_offset, w.fbb.GetBufferPointer(), h.program_bytes);
  if (h.weights_bytes) std::memcpy(file.data() + h.weights_offset, w.weights.data(), h.weights_bytes);
  std::memcpy(file.data(), &h, sizeof h);
  uint8_t digest[32];
  ekm::content_hash(file.data(), file.size(), nullptr, digest);
  std::memcpy(file.data() + offsetof(ekm::Header, sha256), digest, sizeof digest);

  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  EK_CHECK(out.good(), path, ": cannot create the output file");
  out.write(reinterpret_cast<const char*>(file.data()), std::streamsize(file.size()));
  out.close();
  EK_CHECK(out.good(), path, ": write failed (disk full?)");
  model.format_version = kEkmFormatVersion;
  model.sha256 = ekm::hex(digest, sizeof digest);
  model.file_bytes = h.file_bytes;
  model.weight_bytes = h.weights_bytes;
}

}  // namespace edgekit
