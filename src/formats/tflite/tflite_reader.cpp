#include "formats/tflite/tflite_reader.h"

#include <flatbuffers/flatbuffers.h>

#include <algorithm>
#include <cstring>
#include <limits>

#include "formats/tflite/tflite_schema.h"

namespace edgekit::tflite {

namespace {

const char* const kBuiltinOpNames[] = {
    "ADD", "AVERAGE_POOL_2D", "CONCATENATION", "CONV_2D", "DEPTHWISE_CONV_2D", "DEPTH_TO_SPACE", "DEQUANTIZE",
    "EMBEDDING_LOOKUP", "FLOOR", "FULLY_CONNECTED", "HASHTABLE_LOOKUP", "L2_NORMALIZATION", "L2_POOL_2D",
    "LOCAL_RESPONSE_NORMALIZATION", "LOGISTIC", "LSH_PROJECTION", "LSTM", "MAX_POOL_2D", "MUL", "RELU",
    "RELU_N1_TO_1", "RELU6", "RESHAPE", "RESIZE_BILINEAR", "RNN", "SOFTMAX", "SPACE_TO_DEPTH", "SVDF", "TANH",
    "CONCAT_EMBEDDINGS", "SKIP_GRAM", "CALL", "CUSTOM", "EMBEDDING_LOOKUP_SPARSE", "PAD",
    "UNIDIRECTIONAL_SEQUENCE_RNN", "GATHER", "BATCH_TO_SPACE_ND", "SPACE_TO_BATCH_ND", "TRANSPOSE", "MEAN", "SUB",
    "DIV", "SQUEEZE", "UNIDIRECTIONAL_SEQUENCE_LSTM", "STRIDED_SLICE", "BIDIRECTIONAL_SEQUENCE_RNN", "EXP",
    "TOPK_V2", "SPLIT", "LOG_SOFTMAX", "DELEGATE", "BIDIRECTIONAL_SEQUENCE_LSTM", "CAST", "PRELU", "MAXIMUM",
    "ARG_MAX", "MINIMUM", "LESS", "NEG", "PADV2", "GREATER", "GREATER_EQUAL", "LESS_EQUAL", "SELECT", "SLICE",
    "SIN", "TRANSPOSE_CONV", "SPARSE_TO_DENSE", "TILE", "EXPAND_DIMS", "EQUAL", "NOT_EQUAL", "LOG", "SUM", "SQRT",
    "RSQRT", "SHAPE", "POW", "ARG_MIN", "FAKE_QUANT", "REDUCE_PROD", "REDUCE_MAX", "PACK", "LOGICAL_OR",
    "ONE_HOT", "LOGICAL_AND", "LOGICAL_NOT", "UNPACK", "REDUCE_MIN", "FLOOR_DIV", "REDUCE_ANY", "SQUARE",
    "ZEROS_LIKE", "FILL", "FLOOR_MOD", "RANGE", "RESIZE_NEAREST_NEIGHBOR", "LEAKY_RELU", "SQUARED_DIFFERENCE",
    "MIRROR_PAD", "ABS", "SPLIT_V", "UNIQUE", "CEIL", "REVERSE_V2", "ADD_N", "GATHER_ND", "COS", "WHERE", "RANK",
    "ELU", "REVERSE_SEQUENCE", "MATRIX_DIAG", "QUANTIZE", "MATRIX_SET_DIAG", "ROUND", "HARD_SWISH", "IF", "WHILE",
    "NON_MAX_SUPPRESSION_V4", "NON_MAX_SUPPRESSION_V5", "SCATTER_ND", "SELECT_V2", "DENSIFY", "SEGMENT_SUM",
    "BATCH_MATMUL", "PLACEHOLDER_FOR_GREATER_OP_CODES", "CUMSUM", "CALL_ONCE", "BROADCAST_TO", "RFFT2D",
    "CONV_3D", "IMAG", "REAL", "COMPLEX_ABS", "HASHTABLE", "HASHTABLE_FIND", "HASHTABLE_IMPORT", "HASHTABLE_SIZE",
    "REDUCE_ALL", "CONV_3D_TRANSPOSE", "VAR_HANDLE", "READ_VARIABLE", "ASSIGN_VARIABLE", "BROADCAST_ARGS",
    "RANDOM_STANDARD_NORMAL", "BUCKETIZE", "RANDOM_UNIFORM", "MULTINOMIAL", "GELU", "DYNAMIC_UPDATE_SLICE",
    "RELU_0_TO_1", "UNSORTED_SEGMENT_PROD", "UNSORTED_SEGMENT_MAX", "UNSORTED_SEGMENT_SUM", "ATAN2",
    "UNSORTED_SEGMENT_MIN", "SIGN", "BITCAST", "BITWISE_XOR", "RIGHT_SHIFT"};
// The table must end at RIGHT_SHIFT (161) and agree with the codes the importer names.
static_assert(std::size(kBuiltinOpNames) == 162);
static_assert(int(Op::RELU_0_TO_1) == 152 && int(Op::BATCH_MATMUL) == 126 && int(Op::HARD_SWISH) == 117);

const char* const kTensorTypeNames[] = {"FLOAT32", "FLOAT16", "INT32",   "UINT8",  "INT64",      "STRING",
                                        "BOOL",    "INT16",   "COMPLEX64", "INT8", "FLOAT64",    "COMPLEX128",
                                        "UINT64",  "RESOURCE", "VARIANT", "UINT32", "UINT16",    "INT4"};
static_assert(std::size(kTensorTypeNames) == size_t(TensorType::INT4) + 1);

DType dtype_of_tensor_type(int type) {
  switch (TensorType(type)) {
    case TensorType::FLOAT32: return DType::f32;
    case TensorType::FLOAT16: return DType::f16;
    case TensorType::FLOAT64: return DType::f64;
    case TensorType::INT8: return DType::i8;
    case TensorType::UINT8: return DType::u8;
    case TensorType::INT16: return DType::i16;
    case TensorType::UINT16: return DType::u16;
    case TensorType::INT32: return DType::i32;
    case TensorType::UINT32: return DType::u32;
    case TensorType::INT64: return DType::i64;
    case TensorType::UINT64: return DType::u64;
    case TensorType::BOOL: return DType::boolean;
    default: return DType::undefined;
  }
}

constexpr flatbuffers::voffset_t slot(int field) { return flatbuffers::voffset_t(4 + 2 * field); }

}  // namespace

const char* builtin_op_name(int32_t code) {
  if (code >= 0 && size_t(code) < std::size(kBuiltinOpNames)) return kBuiltinOpNames[code];
  static thread_local std::string unknown;
  unknown = cat("BUILTIN_", code);
  return unknown.c_str();
}

const char* tensor_type_name(int type) {
  if (type >= 0 && size_t(type) < std::size(kTensorTypeNames)) return kTensorTypeNames[type];
  static thread_local std::string unknown;
  unknown = cat("TYPE_", type);
  return unknown.c_str();
}

// The file's bytes and the verifier every read goes through. The verifier's table counter
// only limits work; reads never recurse, so its depth is balanced after every table.
class FlatFile {
 public:
  FlatFile(const uint8_t* data, size_t size, std::string display_name)
      : data_(data),
        size_(size),
        // The flatbuffer part is at most 2 GB; buffers past it are reached by absolute offset.
        verifier_(data, std::min<size_t>(size, FLATBUFFERS_MAX_BUFFER_SIZE - 1), options()),
        display_name_(std::move(display_name)) {}

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  flatbuffers::Verifier& verifier() const { return verifier_; }
  const std::string& display_name() const { return display_name_; }
  [[noreturn]] void corrupt(const std::string& what) const {
    fail(display_name_, ": malformed TFLite file: ", what, " is out of bounds or corrupt");
  }

 private:
  static flatbuffers::Verifier::Options options() {
    flatbuffers::Verifier::Options o;
    o.max_tables = std::numeric_limits<flatbuffers::uoffset_t>::max();
    return o;
  }
  const uint8_t* data_;
  size_t size_;
  mutable flatbuffers::Verifier verifier_;
  std::string display_name_;
};

FlatTable::FlatTable(const FlatFile* file, const flatbuffers::Table* table, std::string where)
    : file_(file), table_(table), where_(std::move(where)) {
  if (!table_) return;
  auto& v = file_->verifier();
  if (!table_->VerifyTableStart(v)) corrupt("table");
  v.EndTable();
}

void FlatTable::corrupt(const std::string& what) const { file_->corrupt(cat(where_, " ", what)); }

template <class T>
T FlatTable::scalar(int field, T fallback) const {
  if (!table_) return fallback;
  if (!table_->VerifyField<T>(file_->verifier(), slot(field), sizeof(T))) corrupt(cat("field ", field));
  return table_->GetField<T>(slot(field), fallback);
}
template int8_t FlatTable::scalar<int8_t>(int, int8_t) const;
template uint8_t FlatTable::scalar<uint8_t>(int, uint8_t) const;
template int32_t FlatTable::scalar<int32_t>(int, int32_t) const;
template uint32_t FlatTable::scalar<uint32_t>(int, uint32_t) const;
template uint64_t FlatTable::scalar<uint64_t>(int, uint64_t) const;
template float FlatTable::scalar<float>(int, float) const;

bool FlatTable::has(int field) const { return table_ && table_->CheckField(slot(field)); }

std::string FlatTable::string(int field) const {
  if (!table_) return "";
  auto& v = file_->verifier();
  if (!table_->VerifyOffset(v, slot(field))) corrupt(cat("string field ", field));
  auto* s = table_->GetPointer<const flatbuffers::String*>(slot(field));
  if (!s) return "";
  if (!v.VerifyString(s)) corrupt(cat("string field ", field));
  return std::string(reinterpret_cast<const char*>(s) + sizeof(flatbuffers::uoffset_t), s->size());
}

FlatTable FlatTable::table(int field, const std::string& what) const {
  if (!table_) return {};
  if (!table_->VerifyOffset(file_->verifier(), slot(field))) corrupt(what);
  auto* t = table_->GetPointer<const flatbuffers::Table*>(slot(field));
  return FlatTable(file_, t, cat(where_, " ", what));
}

const uint8_t* FlatTable::vector_start(int field, size_t elem_size, const std::string& what, uint32_t* length) const {
  *length = 0;
  if (!table_) return nullptr;
  auto& v = file_->verifier();
  if (!table_->VerifyOffset(v, slot(field))) corrupt(what);
  auto* p = table_->GetPointer<const uint8_t*>(slot(field));
  if (!p) return nullptr;
  if (!v.VerifyVectorOrString(p, elem_size)) corrupt(what);
  *length = flatbuffers::ReadScalar<flatbuffers::uoffset_t>(p);
  return p + sizeof(flatbuffers::uoffset_t);  // elements are read with memcpy: alignment is no concern
}

template <class T>
std::vector<T> FlatTable::scalars(int field, const std::string& what) const {
  uint32_t n = 0;
  const uint8_t* p = vector_start(field, sizeof(T), what, &n);
  std::vector<T> out(n);
  if (n) std::memcpy(out.data(), p, size_t(n) * sizeof(T));  // little-endian files on little-endian hosts
  return out;
}
template std::vector<int32_t> FlatTable::scalars<int32_t>(int, const std::string&) const;
template std::vector<int64_t> FlatTable::scalars<int64_t>(int, const std::string&) const;
template std::vector<float> FlatTable::scalars<float>(int, const std::string&) const;

std::pair<const uint8_t*, size_t> FlatTable::bytes(int field, const std::string& what) const {
  uint32_t n = 0;
  const uint8_t* p = vector_start(field, 1, what, &n);
  return {p, n};
}

size_t FlatTable::table_count(int field, const std::string& what) const {
  uint32_t n = 0;
  vector_start(field, sizeof(flatbuffers::uoffset_t), what, &n);
  return n;
}

FlatTable FlatTable::table_at(int field, size_t i, const std::string& what) const {
  uint32_t n = 0;
  const uint8_t* p = vector_start(field, sizeof(flatbuffers::uoffset_t), what, &n);
  std::string where = cat(what, " ", i);
  if (i >= n) corrupt(where);
  size_t elem = size_t(p - file_->data()) + i * sizeof(flatbuffers::uoffset_t);
  flatbuffers::uoffset_t off = file_->verifier().VerifyOffset(elem);
  if (!off) corrupt(where);
  auto* t = reinterpret_cast<const flatbuffers::Table*>(file_->data() + elem + off);
  return FlatTable(file_, t, cat(where_.empty() ? "" : where_ + " ", where));
}

std::string OperatorInfo::op_name() const {
  if (code == int32_t(Op::CUSTOM)) return cat("CUSTOM(", custom_code, ")");
  return builtin_op_name(code);
}

std::pair<const uint8_t*, size_t> ModelInfo::constant_data(const TensorInfo& t) const {
  if (t.buffer == 0 || t.buffer >= buffers.size()) return {nullptr, 0};
  return buffers[t.buffer];
}

Tensor ModelInfo::constant(const TensorInfo& t) const {
  auto [p, n] = constant_data(t);
  if (!p) return {};
  EK_CHECK(t.dtype != DType::undefined, display_name, ": tensor '", t.name, "' has type ", tensor_type_name(t.type),
           ", which edgekit cannot hold");
  // shape_numel can overflow on hostile dims; check against the byte count step by step.
  uint64_t numel = 1;
  for (int64_t d : t.shape) {
    EK_CHECK(d >= 0 && (d == 0 || numel <= n / uint64_t(d)), display_name, ": tensor '", t.name, "' shape ",
             shape_str(t.shape), " does not match its ", n, "-byte buffer");
    numel *= uint64_t(d);
  }
  EK_CHECK(numel * dtype_size(t.dtype) == n, display_name, ": tensor '", t.name, "' shape ", shape_str(t.shape),
           " (", tensor_type_name(t.type), ") needs ", numel * dtype_size(t.dtype), " bytes, its buffer has ", n);
  Tensor out(t.dtype, t.shape);
  if (n) std::memcpy(out.raw(), p, n);
  return out;
}

namespace {

TfliteQuantization read_quantization(const FlatTable& q) {
  namespace Q = fields::QuantizationParameters;
  TfliteQuantization out;
  if (!q) return out;
  out.min = q.scalars<float>(Q::min, "min");
  out.max = q.scalars<float>(Q::max, "max");
  out.scale = q.scalars<float>(Q::scale, "scale");
  out.zero_point = q.scalars<int64_t>(Q::zero_point, "zero_point");
  out.quantized_dimension = q.scalar<int32_t>(Q::quantized_dimension, 0);
  return out;
}

TensorInfo read_tensor(const ModelInfo& m, const FlatTable& t, int index) {
  TensorInfo info;
  info.index = index;
  info.name = t.string(fields::Tensor::name);
  info.type = t.scalar<int8_t>(fields::Tensor::type, 0);
  info.dtype = dtype_of_tensor_type(info.type);
  for (int32_t d : t.scalars<int32_t>(fields::Tensor::shape, "shape")) info.shape.push_back(d);
  for (int32_t d : t.scalars<int32_t>(fields::Tensor::shape_signature, "shape_signature")) info.shape_signature.push_back(d);
  for (int64_t d : info.shape)
    EK_CHECK(d >= 0, m.display_name, ": tensor ", index, " '", info.name, "' has a negative dim in shape ",
             shape_str(info.shape));
  info.buffer = t.scalar<uint32_t>(fields::Tensor::buffer, 0);
  EK_CHECK(info.buffer < m.buffers.size() || m.buffers.empty(), m.display_name, ": tensor ", index, " '", info.name,
           "' refers to buffer ", info.buffer, " of ", m.buffers.size());
  info.is_variable = t.scalar<uint8_t>(fields::Tensor::is_variable, 0) != 0;
  info.is_sparse = t.has(fields::Tensor::sparsity);
  info.quantization = read_quantization(t.table(fields::Tensor::quantization, "quantization"));
  const auto& q = info.quantization;
  EK_CHECK(q.zero_point.empty() || q.zero_point.size() == q.scale.size(), m.display_name, ": tensor '", info.name,
           "' has ", q.scale.size(), " quantization scales but ", q.zero_point.size(), " zero points");
  EK_CHECK(q.scale.size() <= 1 || (q.quantized_dimension >= 0 && size_t(q.quantized_dimension) < info.shape.size() &&
                                   info.shape[size_t(q.quantized_dimension)] == int64_t(q.scale.size())),
           m.display_name, ": tensor '", info.name, "' has ", q.scale.size(), " per-channel scales along dimension ",
           q.quantized_dimension, " of shape ", shape_str(info.shape));
  return info;
}

std::vector<int> read_indices(const FlatTable& t, int field, const std::string& what, size_t tensor_count,
                              const std::string& display_name, bool allow_absent) {
  std::vector<int> out;
  for (int32_t i : t.scalars<int32_t>(field, what)) {
    EK_CHECK((allow_absent && i == -1) || (i >= 0 && size_t(i) < tensor_count), display_name, ": ", t.where(), " ",
             what, " refers to tensor ", i, " of ", tensor_count);
    out.push_back(i);
  }
  return out;
}

}  // namespace

ModelInfo read_tflite_model(const std::string& bytes, const std::string& display_name) {
  ModelInfo m;
  m.display_name = display_name;
  auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
  EK_CHECK(bytes.size() >= 8, display_name, ": not a TFLite file (", bytes.size(), " bytes, too short)");
  EK_CHECK(std::memcmp(data + 4, "TFL3", 4) == 0, display_name,
           ": not a TFLite file (no \"TFL3\" identifier at byte 4)");
  m.file = std::make_shared<FlatFile>(data, bytes.size(), display_name);
  const FlatFile* file = m.file.get();
  flatbuffers::uoffset_t root = file->verifier().VerifyOffset(size_t(0));
  if (!root) file->corrupt("root table offset");
  FlatTable model(file, reinterpret_cast<const flatbuffers::Table*>(data + root), "");

  m.schema_version = model.scalar<uint32_t>(fields::Model::version, 0);
  EK_CHECK(m.schema_version == 3 || m.schema_version == 0, display_name, ": TFLite schema version ",
           m.schema_version, " is not supported (expected 3)");
  m.description = model.string(fields::Model::description);

  // Buffers first: tensors refer to them. Each is either inline data or an absolute offset
  // and size past the flatbuffer (only meaningful when offset > 1).
  size_t nbuf = model.table_count(fields::Model::buffers, "buffers");
  m.buffers.resize(nbuf, {nullptr, 0});
  for (size_t i = 0; i < nbuf; ++i) {
    FlatTable b = model.table_at(fields::Model::buffers, i, "buffer");
    auto inline_data = b.bytes(fields::Buffer::data, "data");
    uint64_t offset = b.scalar<uint64_t>(fields::Buffer::offset, 0), size = b.scalar<uint64_t>(fields::Buffer::size, 0);
    if (offset > 1) {
      EK_CHECK(offset <= bytes.size() && size <= bytes.size() - offset, display_name, ": buffer ", i,
               " lies outside the file (offset ", offset, ", size ", size, ", file ", bytes.size(), " bytes)");
      m.buffers[i] = {size ? data + offset : nullptr, size_t(size)};
    } else if (inline_data.second) {
      m.buffers[i] = inline_data;
    }
  }

  for (size_t i = 0, n = model.table_count(fields::Model::metadata, "metadata"); i < n; ++i) {
    FlatTable md = model.table_at(fields::Model::metadata, i, "metadata");
    std::string name = md.string(fields::Metadata::name);
    uint32_t buf = md.scalar<uint32_t>(fields::Metadata::buffer, 0);
    if (buf >= m.buffers.size() || !m.buffers[buf].first) continue;
    std::string text(reinterpret_cast<const char*>(m.buffers[buf].first), m.buffers[buf].second);
    while (!text.empty() && text.back() == '\0') text.pop_back();
    bool printable = text.size() <= 256 && std::all_of(text.begin(), text.end(), [](char c) {
                       return c >= 0x20 && c < 0x7f;
                     });
    if (printable) m.metadata.emplace_back(name, text);
  }

  m.subgraph_count = model.table_count(fields::Model::subgraphs, "subgraphs");
  EK_CHECK(m.subgraph_count >= 1, display_name, ": TFLite model has no subgraph");
  FlatTable sg = model.table_at(fields::Model::subgraphs, 0, "subgraph");
  m.subgraph_name = sg.string(fields::SubGraph::name);

  size_t ntensors = sg.table_count(fields::SubGraph::tensors, "tensors");
  m.tensors.reserve(ntensors);
  for (size_t i = 0; i < ntensors; ++i)
    m.tensors.push_back(read_tensor(m, sg.table_at(fields::SubGraph::tensors, i, "tensor"), int(i)));
  m.inputs = read_indices(sg, fields::SubGraph::inputs, "inputs", ntensors, display_name, false);
  m.outputs = read_indices(sg, fields::SubGraph::outputs, "outputs", ntensors, display_name, false);

  // Operator codes: builtin_code supersedes the byte-sized deprecated field, which stays at
  // PLACEHOLDER_FOR_GREATER_OP_CODES (127) for codes that do not fit a byte.
  struct Code { int32_t code; std::string custom; int version; };
  std::vector<Code> codes;
  for (size_t i = 0, n = model.table_count(fields::Model::operator_codes, "operator_codes"); i < n; ++i) {
    FlatTable c = model.table_at(fields::Model::operator_codes, i, "operator_code");
    int32_t code = std::max<int32_t>(c.scalar<int8_t>(fields::OperatorCode::deprecated_builtin_code, 0),
                                     c.scalar<int32_t>(fields::OperatorCode::builtin_code, 0));
    codes.push_back({code, c.string(fields::OperatorCode::custom_code), c.scalar<int32_t>(fields::OperatorCode::version, 1)});
  }

  size_t nops = sg.table_count(fields::SubGraph::operators, "operators");
  m.operators.reserve(nops);
  for (size_t i = 0; i < nops; ++i) {
    FlatTable o = sg.table_at(fields::SubGraph::operators, i, "operator");
    OperatorInfo op;
    op.index = int(i);
    uint32_t ci = o.scalar<uint32_t>(fields::Operator::opcode_index, 0);
    EK_CHECK(ci < codes.size(), display_name, ": operator ", i, " refers to operator code ", ci, " of ", codes.size());
    op.code = codes[ci].code;
    op.custom_code = codes[ci].custom;
    op.version = codes[ci].version;
    op.inputs = read_indices(o, fields::Operator::inputs, "inputs", ntensors, display_name, true);
    op.outputs = read_indices(o, fields::Operator::outputs, "outputs", ntensors, display_name, true);
    op.options_type = o.scalar<uint8_t>(fields::Operator::builtin_options_type, 0);
    if (op.options_type) op.options = o.table(fields::Operator::builtin_options, "builtin_options");
    m.operators.push_back(std::move(op));
  }
  return m;
}

}  // namespace edgekit::tflite
