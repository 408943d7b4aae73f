// Bounds-checked reading of a TFLite flatbuffer into plain structs.
//
// No generated code: tables are walked with flatbuffers' low-level Table API, and every
// table, field, vector and string is checked with a flatbuffers::Verifier at the moment it is
// read (lazily, so only what the importer touches costs anything). Any check that fails
// throws Error "<file>: malformed TFLite file: <what> is out of bounds or corrupt", so a
// truncated or hostile file can never make the reader touch memory outside the file.
//
// read_tflite_model() reads the main subgraph (subgraph 0): its tensors with their
// quantization parameters, its operators with their (still unparsed) builtin options table,
// and gives the bytes of constant buffers, including buffers stored after the flatbuffer
// (Buffer.offset/size, used by models over 2 GB). The importers (float now, int8 next) work
// from this model.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "formats/tflite/tflite_import.h"

namespace flatbuffers {
class Table;
class Verifier;
}  // namespace flatbuffers

namespace edgekit::tflite {

class FlatFile;

// A verified table: its fields are checked when read. A default-constructed FlatTable is the
// absent table, whose scalar reads return the fallback and whose vectors are empty.
class FlatTable {
 public:
  FlatTable() = default;
  FlatTable(const FlatFile* file, const flatbuffers::Table* table, std::string where);
  explicit operator bool() const { return table_ != nullptr; }
  const std::string& where() const { return where_; }

  template <class T>
  T scalar(int field, T fallback) const;
  bool has(int field) const;
  std::string string(int field) const;  // "" when absent
  FlatTable table(int field, const std::string& what) const;
  // Elements of a vector of scalars, copied (empty when absent).
  template <class T>
  std::vector<T> scalars(int field, const std::string& what) const;
  // A vector of bytes, by reference into the file: {nullptr, 0} when absent.
  std::pair<const uint8_t*, size_t> bytes(int field, const std::string& what) const;
  // Vectors of tables: their length, then element i (checked on access).
  size_t table_count(int field, const std::string& what) const;
  FlatTable table_at(int field, size_t i, const std::string& what) const;

 private:
  const uint8_t* vector_start(int field, size_t elem_size, const std::string& what, uint32_t* length) const;
  [[noreturn]] void corrupt(const std::string& what) const;

  const FlatFile* file_ = nullptr;
  const flatbuffers::Table* table_ = nullptr;
  std::string where_;
};

struct TensorInfo {
  int index = 0;
  std::string name;       // as in the file (may be empty or repeated)
  int type = 0;           // TensorType
  DType dtype = DType::undefined;  // undefined for types edgekit has no dtype for
  Shape shape;            // static shape, what the interpreter's get_input_details() reports
  Shape shape_signature;  // with -1 for dynamic dims; empty when the file has none
  uint32_t buffer = 0;
  bool is_variable = false;
  bool is_sparse = false;
  TfliteQuantization quantization;
};

struct OperatorInfo {
  int index = 0;
  int32_t code = 0;         // BuiltinOperator
  std::string custom_code;  // for CUSTOM
  int version = 1;
  std::vector<int> inputs;   // tensor indices; -1 = absent optional input
  std::vector<int> outputs;
  uint8_t options_type = 0;  // BuiltinOptions union type
  FlatTable options;         // the builtin options table (absent when the op has none)

  std::string op_name() const;  // "CONV_2D", or "CUSTOM(name)"
};

struct ModelInfo {
  std::string display_name;
  uint32_t schema_version = 0;
  std::string description;
  std::string subgraph_name;
  size_t subgraph_count = 0;
  std::vector<TensorInfo> tensors;
  std::vector<OperatorInfo> operators;
  std::vector<int> inputs, outputs;
  std::vector<std::pair<std::string, std::string>> metadata;  // name -> text (printable buffers only)

  // Bytes of tensor `t`'s constant data, or {nullptr, 0} when it has none.
  std::pair<const uint8_t*, size_t> constant_data(const TensorInfo& t) const;
  // The constant tensor's data as a Tensor of its dtype and shape; undefined when not constant.
  // Throws naming the tensor when the data size does not match the shape.
  Tensor constant(const TensorInfo& t) const;

  std::shared_ptr<FlatFile> file;
  std::vector<std::pair<const uint8_t*, size_t>> buffers;  // by buffer index
};

// Reads `bytes` (which must outlive the result). Throws Error "<display_name>: ..." on any problem.
ModelInfo read_tflite_model(const std::string& bytes, const std::string& display_name);

}  // namespace edgekit::tflite
