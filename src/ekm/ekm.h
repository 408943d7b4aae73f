// The .ekm compiled model: one file holding an optimised graph, its weights (64-byte aligned,
// used in place from a memory map), the memory plan and the model's metadata.
//
//   EkmModel m;                       // edgekit compile does this
//   m.graph = optimised_graph;
//   m.metadata.name = "kws";
//   write_ekm(m, "kws.ekm");
//
//   EkmModel back = read_ekm("kws.ekm");   // checks magic, version, size and SHA-256
//   Session s(std::move(back.graph));       // runs as compiled: no passes again
//
// Layout (docs/ekm-format.md): a 128-byte header (magic, format version, section offsets,
// SHA-256 of the rest), a flatbuffer "program" (src/ekm/ekm.fbs), then the weight section.
// Every problem with a file is an Error "<path>: <what is wrong>"; nothing in a hostile file
// can make the reader read outside it or allocate more than the file's size in tensors.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/api.h"
#include "core/packed_weights.h"
#include "graph/graph.h"

namespace edgekit {

class ThreadPool;

inline constexpr char kEkmMagic[8] = {'E', 'K', 'M', 'O', 'D', 'E', 'L', '\0'};
// The newest version this build reads and writes. 2: initializers may be stored packed.
// 3: the content hash is over fixed-size chunks (verified several chunks at a time).
// 4: packed weights whose every value is a binary16 number (an fp16-quantized model's) may be
//    stored as f16, half the bytes; the reader widens them to f32.
inline constexpr uint32_t kEkmFormatVersion = 4;
inline constexpr size_t kEkmHeaderBytes = 128;
inline constexpr size_t kEkmAlignment = 64;        // of the weight section and every tensor in it

// How inputs should be prepared before they reach the model (informational: tools and
// applications read it; the runtime does not apply it).
struct EkmPreprocessing {
  std::string layout;  // "NCHW", "NHWC" or empty
  std::vector<float> mean, std;
  int64_t image_width = 0, image_height = 0;
  int64_t sample_rate = 0;
};

struct EkmMetadata {
  std::string name, version, author, description;
  std::vector<std::string> labels;
  EkmPreprocessing preprocessing;
};

struct EkmPlannedTensor {
  std::string name;
  int64_t offset = 0, bytes = 0;
};

struct EkmMemoryPlan {
  bool present = false;
  std::vector<ValueInfo> inputs;  // the input shapes it was planned for (dynamic dims as 1)
  int64_t arena_bytes = 0, naive_bytes = 0;
  std::vector<EkmPlannedTensor> tensors;
};

struct EkmModel {
  Graph graph;  // graph.compiled_opt_level >= 0 after read_ekm
  EkmMetadata metadata;
  EkmMemoryPlan memory_plan;
  // Initializers stored packed, by name (edgekit compile fills it from the kernels; the file
  // then holds no plain copy). read_ekm gives them back as plain initializers, unless asked to
  // keep them packed (EkmReadOptions::keep_packed).
  std::map<std::string, PackedWeights> packed;
  int opt_level = 3;
  int threads_hint = 0;
  std::string producer;
  // Filled by read_ekm and write_ekm.
  uint32_t format_version = kEkmFormatVersion;
  std::string sha256;  // hex
  uint64_t file_bytes = 0, weight_bytes = 0;
};

// Writes `model` to `path`. Throws Error naming the path on I/O failure or an unstorable value.
void write_ekm(EkmModel& model, const std::string& path);

struct EkmReadOptions {
  bool verify_hash = true;  // SHA-256 of the whole content; off only for trusted, already-checked files
  // Packed initializers stay packed, in EkmModel::packed, for a Session to use in place; the
  // graph's tensor for each then has the plain shape but the packed bytes (its values are not
  // the plain ones: only a Session that resolves `packed` may use such a graph).
  bool keep_packed = false;
  // Threads to verify the hash on (a Session's own; null: the calling thread alone).
  ThreadPool* pool = nullptr;
};

// Loads an .ekm file. Weights stay in a private, read-only-by-convention memory map that the
// returned tensors keep alive.
EDGEKIT_API EkmModel read_ekm(const std::string& path, EkmReadOptions options = {});
// The same from bytes in memory; `where` names them in errors, `owner` keeps them alive for the
// tensors that point into them (may be null when the caller outlives the model).
EDGEKIT_API EkmModel read_ekm_bytes(const void* data, size_t size, const std::string& where, std::shared_ptr<void> owner,
                        EkmReadOptions options = {});

// True when the first bytes are the .ekm magic.
EDGEKIT_API bool has_ekm_magic(const void* data, size_t size);

}  // namespace edgekit
