// read_ekm: header checks (magic, version, sizes, hash) before anything else is looked at,
// then the flatbuffer verifier, then every reference into the weight section bounds-checked
// while the Graph is built. Tensors point into the file's bytes; nothing is copied.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <limits>
#include <set>

#include "ekm/ekm.h"
#include "ekm/ekm_generated.h"
#include "ekm/ekm_header.h"

namespace edgekit {

bool has_ekm_magic(const void* data, size_t size) {
  return size >= sizeof kEkmMagic && std::memcmp(data, kEkmMagic, sizeof kEkmMagic) == 0;
}

namespace {

namespace fb = ekm::fb;

std::string str(const flatbuffers::String* s) { return s ? s->str() : std::string(); }

std::vector<std::string> strings(const flatbuffers::Vector<flatbuffers::Offset<flatbuffers::String>>* v) {
  std::vector<std::string> out;
  if (v)
    for (const auto* s : *v) out.push_back(str(s));
  return out;
}

// Copied as bytes: the verifier checks a vector's length field for 4-byte alignment but not
// its 8-byte elements, which a hostile file can misalign (found by fuzz_ekm_load).
template <class T>
std::vector<T> scalars(const flatbuffers::Vector<T>* v) {
  std::vector<T> out(v ? v->size() : 0);
  if (!out.empty()) std::memcpy(out.data(), v->Data(), out.size() * sizeof(T));
  return out;
}

// binary16 -> float. Normal numbers (the common case) by shifting bits, with no branch the
// compiler cannot turn into a select, so the loop vectorises; zeros, subnormals, Inf and NaN
// through half_to_float.
void widen_halves(const f16_t* in, int64_t n, float* out) {
  for (int64_t i = 0; i < n; ++i) {
    const uint32_t h = in[i].bits, exp = (h >> 10) & 0x1f;
    const uint32_t normal = ((h & 0x8000u) << 16) | (((h & 0x7fffu) << 13) + ((127u - 15u) << 23));
    float f;
    std::memcpy(&f, &normal, 4);
    out[i] = f;
    if (exp == 0 || exp == 31) out[i] = half_to_float(in[i]);
  }
}

// Builds a Graph from a verified program, checking what the flatbuffer verifier cannot:
// dtypes, dims, tensor extents, attribute kinds.
class ProgramReader {
 public:
  ProgramReader(const uint8_t* weights, uint64_t weights_bytes, std::shared_ptr<void> owner, uint32_t version,
                bool keep_packed)
      : weights_(weights), weights_bytes_(weights_bytes), owner_(std::move(owner)), version_(version),
        keep_packed_(keep_packed) {}

  // `what()` names the tensor in errors; it is called only when a check fails, so loading
  // builds no message strings (type-erased: one copy of each reader function, not one a caller).
  using Describe = std::function<std::string()>;

  Tensor tensor(const fb::TensorRef* t, const Describe& what) {
    EK_CHECK(t, what(), ": tensor reference is missing");
    DType dtype = dtype_from_onnx_code(t->dtype());
    EK_CHECK(dtype != DType::undefined, what(), ": unknown tensor dtype code ", t->dtype());
    Shape dims = scalars(t->dims());
    // numel is bounded by the weight section's size (elements are at least a byte), so a
    // hostile shape cannot overflow the product below.
    uint64_t numel = 1;
    for (int64_t d : dims) {
      EK_CHECK(d >= 0, what(), ": negative dim ", d, " in ", shape_str(dims));
      if (d == 0) numel = 0;
      else if (numel) {
        EK_CHECK(uint64_t(d) <= weights_bytes_ / numel, what(), ": shape ", shape_str(dims), " is larger than the ",
                 weights_bytes_, "-byte weight section");
        numel *= uint64_t(d);
      }
    }
    uint64_t bytes = numel * dtype_size(dtype);
    EK_CHECK(t->bytes() == bytes, what(), ": ", t->bytes(), " bytes stored for ", dtype_name(dtype), shape_str(dims),
             " (expected ", bytes, ")");
    EK_CHECK(t->offset() % kEkmAlignment == 0, what(), ": offset ", t->offset(), " is not a multiple of ",
             kEkmAlignment);
    EK_CHECK(t->offset() <= weights_bytes_ && bytes <= weights_bytes_ - t->offset(), what(), ": bytes [",
             t->offset(), ", ", t->offset() + bytes, ") lie outside the ", weights_bytes_, "-byte weight section");
    void* data = const_cast<uint8_t*>(weights_ + t->offset());
    return Tensor::wrap(dtype, std::move(dims), data, owner_);
  }

  // An initializer stored packed (format version 2): the plain tensor's dtype and dims, and
  // the packed floats, whose count must be what the layout takes for that geometry.
  std::pair<Tensor, PackedWeights> packed(const fb::Initializer* init, const Describe& what) {
    EK_CHECK(version_ >= 2, what(), ": packed weights in a format version ", version_, " file (they came in 2)");
    const fb::TensorRef* plain = init->tensor();
    EK_CHECK(plain, what(), ": tensor reference is missing");
    EK_CHECK(dtype_from_onnx_code(plain->dtype()) == DType::f32, what(), ": packed weights must be float, got dtype code ",
             plain->dtype());
    EK_CHECK(plain->offset() == 0 && plain->bytes() == 0, what(), ": stored packed, so its plain tensor holds no bytes (got ",
             plain->bytes(), " at offset ", plain->offset(), ")");
    const fb::PackedWeights* fp = init->packed();
    PackedWeights p;
    p.layout = str(fp->layout());
    p.width = fp->width();
    p.k_major = fp->k_major();
    p.dims = scalars(plain->dims());
    const Shape& d = p.dims;
    bool dims_ok = p.k_major ? d.size() == 2 : d.size() == 2 || d.size() == 4;
    for (int64_t v : d) dims_ok = dims_ok && v >= 1 && v <= (int64_t(1) << 31);
    EK_CHECK(dims_ok, what(), ": packed weights of shape ", shape_str(d), " (expected ",
             p.k_major ? "[K, M]" : "[M, K] or [M, C/group, KH, KW]", ", every dim 1..2^31)");
    p.geometry = p.k_major ? WeightGeometry{d[1], d[0], 1, fp->group()}
                           : WeightGeometry{d[0], d[1], d.size() == 4 ? d[2] * d[3] : 1, fp->group()};
    const int64_t want = packed_floats(p.layout, p.width, p.geometry);
    EK_CHECK(want >= 0 && (!p.k_major || p.geometry.group == 1), what(), ": packed layout '", p.layout, "' of width ",
             p.width, " in ", p.geometry.group, " groups does not fit weights of shape ", shape_str(d));
    Tensor data = tensor(fp->data(), [&] { return cat(what(), " packed data"); });
    EK_CHECK((data.dtype() == DType::f32 || data.dtype() == DType::f16) && data.rank() == 1 && data.numel() == want,
             what(), ": packed data is ", dtype_name(data.dtype()), shape_str(data.shape()), ", expected f32[", want,
             "] or f16[", want, "] for layout '", p.layout, "' of width ", p.width);
    p.floats = want;
    if (data.dtype() == DType::f16) {  // widened once, into memory of its own (not in place)
      EK_CHECK(version_ >= 4, what(), ": f16 packed data in a format version ", version_, " file (it came in 4)");
      auto wide = allocate_aligned(size_t(want) * sizeof(float), false);
      widen_halves(data.data<f16_t>(), want, static_cast<float*>(wide.get()));
      p.data = static_cast<const float*>(wide.get());
      p.owner = std::move(wide);
    } else {
      p.data = data.data<float>();
      p.owner = owner_;
    }
    if (keep_packed_)  // the plain shape over the packed bytes (at least as many): a Session resolves it
      return {Tensor::wrap(DType::f32, d, const_cast<float*>(p.data), std::const_pointer_cast<void>(p.owner)),
              std::move(p)};
    Tensor t(DType::f32, d);
    unpack_weights(p, t.data<float>(), what());
    return {t, PackedWeights{}};
  }

  ValueInfo value(const fb::ValueInfo* v, const char* what) {
    EK_CHECK(v, what, ": entry is missing");
    ValueInfo out;
    out.name = str(v->name());
    EK_CHECK(!out.name.empty(), what, ": value without a name");
    out.dtype = dtype_from_onnx_code(v->dtype());
    EK_CHECK(v->dtype() == 0 || out.dtype != DType::undefined, what, " '", out.name, "': unknown dtype code ",
             v->dtype());
    out.dims = scalars(v->dims());
    for (int64_t d : out.dims) EK_CHECK(d >= -1, what, " '", out.name, "': dim ", d, " (expected >= -1)");
    out.dim_names = strings(v->dim_names());
    EK_CHECK(out.dim_names.empty() || out.dim_names.size() == out.dims.size(), what, " '", out.name, "': ",
             out.dim_names.size(), " dim names for ", out.dims.size(), " dims");
    out.shape_known = v->shape_known();
    return out;
  }

  std::vector<ValueInfo> values(const flatbuffers::Vector<flatbuffers::Offset<fb::ValueInfo>>* vs, const char* what) {
    std::vector<ValueInfo> out;
    if (vs)
      for (const auto* v : *vs) out.push_back(value(v, what));
    return out;
  }

  AttributeValue attribute(const fb::Attribute* a, const Describe& where) {
    switch (a->kind()) {
      case fb::AttributeKind::Float: return a->f();
      case fb::AttributeKind::Int: return int64_t(a->i());
      case fb::AttributeKind::String: return str(a->s());
      case fb::AttributeKind::Tensor: return tensor(a->t(), where);
      case fb::AttributeKind::Floats: return scalars(a->floats());
      case fb::AttributeKind::Ints: return scalars(a->ints());
      case fb::AttributeKind::Strings: return strings(a->strings());
    }
    fail(where(), ": unknown attribute kind ", int(a->kind()));
  }

  Node node(const fb::Node* n, size_t index) {
    EK_CHECK(n, "node ", index, ": entry is missing");
    Node out;
    out.name = str(n->name());
    out.op_type = str(n->op_type());
    out.domain = str(n->domain());
    out.opset = n->opset();
    EK_CHECK(!out.op_type.empty(), "node ", index, " '", out.name, "': no op type");
    out.inputs = strings(n->inputs());
    out.outputs = strings(n->outputs());
    if (n->attributes())
      for (const auto* a : *n->attributes()) {
        EK_CHECK(a, out.where(), ": attribute entry is missing");
        std::string key = str(a->name());
        EK_CHECK(!key.empty(), out.where(), ": attribute without a name");
        EK_CHECK(!out.has_attr(key), out.where(), ": attribute '", key, "' given twice");
        out.attrs[key] = attribute(a, [&] { return cat(out.where(), " attribute '", key, "'"); });
      }
    return out;
  }

  EkmModel program(const fb::Program* p) {
    EkmModel m;
    Graph& g = m.graph;
    m.producer = str(p->producer());
    g.source_format = str(p->source_format());
    g.producer = m.producer;
    g.name = str(p->graph_name());
    m.opt_level = p->opt_level();
    EK_CHECK(m.opt_level >= 0 && m.opt_level <= 3, "opt level ", m.opt_level, " is not 0..3");
    g.compiled_opt_level = m.opt_level;
    m.threads_hint = p->threads_hint();
    if (p->opsets())
      for (const auto* o : *p->opsets()) {
        EK_CHECK(o, "opset entry is missing");
        g.opsets[str(o->domain())] = o->version();
      }
    if (const auto* meta = p->metadata()) {
      m.metadata.name = str(meta->name());
      m.metadata.version = str(meta->version());
      m.metadata.author = str(meta->author());
      m.metadata.description = str(meta->description());
      m.metadata.labels = strings(meta->labels());
      if (const auto* pre = meta->preprocessing()) {
        m.metadata.preprocessing = {str(pre->layout()), scalars(pre->mean()), scalars(pre->std()),
                                    pre->image_width(), pre->image_height(), pre->sample_rate()};
      }
      if (meta->properties())
        for (const auto* kv : *meta->properties())
          if (kv) g.metadata[str(kv->key())] = str(kv->value());
    }
    g.inputs = values(p->inputs(), "input");
    g.outputs = values(p->outputs(), "output");
    for (auto& v : values(p->value_info(), "value_info")) {
      std::string name = v.name;
      g.value_info[name] = std::move(v);
    }
    if (p->initializers())
      for (const auto* init : *p->initializers()) {
        EK_CHECK(init, "initializer entry is missing");
        std::string name = str(init->name());
        EK_CHECK(!name.empty(), "initializer without a name");
        EK_CHECK(!g.initializers.count(name), "initializer '", name, "' given twice");
        auto what = [&] { return cat("initializer '", name, "'"); };
        if (!init->packed()) {
          g.initializers[name] = tensor(init->tensor(), what);
          continue;
        }
        auto [t, p] = packed(init, what);
        g.initializers[name] = std::move(t);
        if (p.data) m.packed[name] = std::move(p);
      }
    if (p->nodes()) {
      g.nodes.reserve(p->nodes()->size());
      for (size_t i = 0; i < p->nodes()->size(); ++i) g.nodes.push_back(node(p->nodes()->Get(flatbuffers::uoffset_t(i)), i));
    }
    if (const auto* plan = p->memory_plan()) {
      m.memory_plan.present = true;
      m.memory_plan.inputs = values(plan->inputs(), "planned input");
      m.memory_plan.arena_bytes = plan->arena_bytes();
      m.memory_plan.naive_bytes = plan->naive_bytes();
      if (plan->tensors())
        for (const auto* t : *plan->tensors())
          if (t) m.memory_plan.tensors.push_back({str(t->name()), t->offset(), t->bytes()});
    }
    verify(g);
    return m;
  }

 private:
  const uint8_t* weights_;
  uint64_t weights_bytes_;
  std::shared_ptr<void> owner_;
  uint32_t version_;
  bool keep_packed_;
};

[[noreturn]] void hash_mismatch(const std::string& where, const uint8_t* stored, const uint8_t* digest) {
  fail(where, ": content hash mismatch, the file is corrupt or was modified (header SHA-256 ", ekm::hex(stored, 8),
       "..., content ", ekm::hex(digest, 8), "...)");
}

std::string printable_head(const uint8_t* p, size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) s += (p[i] >= 32 && p[i] < 127) ? char(p[i]) : '.';
  return s;
}

}  // namespace

EkmModel read_ekm_bytes(const void* data, size_t size, const std::string& where, std::shared_ptr<void> owner,
                        EkmReadOptions options) {
  // Tensors must be 64-byte aligned and the flatbuffer 8-byte aligned: bytes that are not (an
  // arbitrary buffer in memory) are copied once into an aligned one.
  if (reinterpret_cast<uintptr_t>(data) % kEkmAlignment != 0) {
    std::shared_ptr<void> copy = allocate_aligned(size, false);
    std::memcpy(copy.get(), data, size);
    return read_ekm_bytes(copy.get(), size, where, copy, options);
  }
  const auto* file = static_cast<const uint8_t*>(data);
  EK_CHECK(has_ekm_magic(file, size), where, ": not an .ekm file (wrong magic \"",
           printable_head(file, std::min<size_t>(size, 8)), "\", expected \"EKMODEL\")");
  EK_CHECK(size >= sizeof(ekm::Header), where, ": truncated: ", size, " bytes, less than the ",
           sizeof(ekm::Header), "-byte .ekm header");
  ekm::Header h;
  std::memcpy(&h, file, sizeof h);
  EK_CHECK(h.format_version != 0, where, ": invalid .ekm format version 0");
  EK_CHECK(h.format_version <= kEkmFormatVersion, where, ": .ekm format version ", h.format_version,
           " is newer than this edgekit reads (up to ", kEkmFormatVersion,
           "); load it with a newer edgekit or compile the model again with this one");
  EK_CHECK(h.header_bytes == sizeof(ekm::Header), where, ": header size ", h.header_bytes, " (expected ",
           sizeof(ekm::Header), ")");
  EK_CHECK(h.file_bytes == size, where, ": header says the file is ", h.file_bytes, " bytes but it is ", size,
           h.file_bytes > size ? " (truncated)" : " (trailing bytes)");
  EK_CHECK(h.program_offset == sizeof(ekm::Header) && h.program_bytes >= 8 && h.program_bytes <= size - h.program_offset,
           where, ": program section [", h.program_offset, ", +", h.program_bytes, ") does not fit the file");
  EK_CHECK(h.weights_offset % kEkmAlignment == 0 && h.weights_offset >= h.program_offset + h.program_bytes &&
               h.weights_offset <= size && h.weights_bytes == size - h.weights_offset,
           where, ": weight section [", h.weights_offset, ", +", h.weights_bytes,
           ") is misplaced (must be 64-byte aligned, after the program, up to the end of the file)");
  if (h.format_version >= 3)
    EK_CHECK(std::has_single_bit(h.hash_chunk_bytes) && h.hash_chunk_bytes >= ekm::kMinHashChunkBytes &&
                 h.hash_chunk_bytes <= ekm::kMaxHashChunkBytes,
             where, ": hash chunk size ", h.hash_chunk_bytes, " (expected a power of two from ",
             ekm::kMinHashChunkBytes, " to ", ekm::kMaxHashChunkBytes, ")");
  if (options.verify_hash) {
    uint8_t digest[32];
    ekm::content_hash(file, size, options.pool, digest);
    if (std::memcmp(digest, h.sha256, sizeof digest) != 0) hash_mismatch(where, h.sha256, digest);
  }
  const uint8_t* program = file + h.program_offset;
  flatbuffers::Verifier verifier(program, h.program_bytes, /*max_depth=*/64, /*max_tables=*/10'000'000);
  EK_CHECK(fb::VerifyProgramBuffer(verifier), where, ": program section fails flatbuffer verification");
  ProgramReader reader(file + h.weights_offset, h.weights_bytes, std::move(owner), h.format_version,
                       options.keep_packed);
  EkmModel m;
  try {
    m = reader.program(fb::GetProgram(program));
  } catch (const Error& e) {
    fail(where, ": ", e.what());
  }
  m.format_version = h.format_version;
  m.sha256 = ekm::hex(h.sha256, sizeof h.sha256);
  m.file_bytes = h.file_bytes;
  m.weight_bytes = h.weights_bytes;
  return m;
}

EkmModel read_ekm(const std::string& path, EkmReadOptions options) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  EK_CHECK(fd >= 0, path, ": cannot open (", std::strerror(errno), ")");
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    fail(path, ": not a regular file");
  }
  size_t size = size_t(st.st_size);
  if (size == 0) {
    ::close(fd);
    fail(path, ": empty file, not an .ekm model");
  }
  // Private and writable: pages stay shared with the page cache unless something writes, and
  // a stray write cannot change the file.
  void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  int map_errno = errno;
  ::close(fd);
  EK_CHECK(p != MAP_FAILED, path, ": cannot map the file (", std::strerror(map_errno), ")");
  std::shared_ptr<void> owner(p, [size](void* q) { ::munmap(q, size); });
  return read_ekm_bytes(p, size, path, std::move(owner), options);
}

}  // namespace edgekit
