// .ekm round trips and hostile files. Linked against edgekit_runtime_core only (what
// libedgekit_rt holds), so these tests also show that the device runtime needs no importer.
#include <gtest/gtest.h>

#include "error_of.h"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>

#include "ekm/ekm.h"
#include "core/thread_pool.h"
#include "ekm/ekm_header.h"
#include "ekm/sha256.h"
#include "runtime/compile.h"
#include "runtime/model_file.h"
#include "runtime/session.h"

namespace edgekit {

namespace {

std::string temp_path(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / ("edgekit_test_ekm_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return (dir / name).string();
}

using test::error_of;

// y = Relu(x @ w + b) then Reshape by a constant shape; every attribute kind appears somewhere.
Graph small_graph() {
  Graph g;
  g.name = "small";
  g.source_format = "test";
  g.opsets[""] = 17;
  g.metadata["origin"] = "unit test";
  g.inputs.push_back({"x", DType::f32, {2, 3}, {"", ""}});
  Tensor w(DType::f32, {3, 4}), b(DType::f32, {4});
  for (int i = 0; i < 12; ++i) w.data<float>()[i] = float(i % 5) - 2.0f;
  for (int i = 0; i < 4; ++i) b.data<float>()[i] = 0.25f * float(i);
  g.initializers["w"] = w;
  g.initializers["b"] = b;
  g.add_node("MatMul", {"x", "w"}, {"xw"}, "mm");
  Node& add = g.add_node("Add", {"xw", "b"}, {"s"}, "add");
  add.attrs["note"] = std::string("kept");  // unknown attributes travel untouched
  add.attrs["f"] = 1.5f;
  add.attrs["fs"] = std::vector<float>{1, 2};
  add.attrs["is"] = std::vector<int64_t>{3, 4};
  add.attrs["ss"] = std::vector<std::string>{"a", ""};
  g.add_node("Relu", {"s"}, {"r"}, "relu");
  Node& c = g.add_node("Constant", {}, {"shape"}, "shape_const");
  c.attrs["value"] = Tensor::from<int64_t>({4, 2}, {2});
  g.add_node("Reshape", {"r", "shape"}, {"y"}, "reshape");
  g.outputs.push_back({"y", DType::f32, {4, 2}, {"", ""}});
  return g;
}

Tensor input() {
  Tensor x(DType::f32, {2, 3});
  for (int i = 0; i < 6; ++i) x.data<float>()[i] = float(i) - 2.5f;
  return x;
}

std::string write_small(const std::string& name, int opt_level = 0) {
  EkmModel m;
  m.graph = small_graph();
  m.opt_level = opt_level;
  m.metadata.name = "small";
  m.metadata.labels = {"cat", "dog"};
  m.metadata.preprocessing.mean = {0.5f};
  m.metadata.preprocessing.std = {0.25f};
  m.metadata.preprocessing.layout = "NCHW";
  m.memory_plan.present = true;
  m.memory_plan.arena_bytes = 128;
  m.memory_plan.tensors = {{"xw", 0, 32}};
  std::string path = temp_path(name);
  write_ekm(m, path);
  return path;
}

std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), {}};
}

void write_file(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

// Recomputes the hash after a deliberate change, so a test reaches the checks behind it.
void rehash(std::vector<uint8_t>& bytes) {
  uint8_t digest[32];
  ekm::content_hash(bytes.data(), bytes.size(), nullptr, digest);
  std::memcpy(bytes.data() + offsetof(ekm::Header, sha256), digest, 32);
}

ekm::Header header_of(const std::vector<uint8_t>& bytes) {
  ekm::Header h;
  std::memcpy(&h, bytes.data(), sizeof h);
  return h;
}

}  // namespace

TEST(Ekm, RoundTripKeepsGraphMetadataAndOutputs) {
  std::string path = write_small("round.ekm");
  EkmModel m = read_ekm(path);
  EXPECT_EQ(m.format_version, kEkmFormatVersion);
  EXPECT_EQ(m.sha256.size(), 64u);
  EXPECT_EQ(m.graph.name, "small");
  EXPECT_EQ(m.graph.source_format, "test");
  EXPECT_EQ(m.graph.opsets.at(""), 17);
  EXPECT_EQ(m.graph.metadata.at("origin"), "unit test");
  EXPECT_EQ(m.graph.compiled_opt_level, 0);
  EXPECT_EQ(m.metadata.labels, (std::vector<std::string>{"cat", "dog"}));
  EXPECT_EQ(m.metadata.preprocessing.layout, "NCHW");
  EXPECT_EQ(m.metadata.preprocessing.std, std::vector<float>{0.25f});
  ASSERT_TRUE(m.memory_plan.present);
  EXPECT_EQ(m.memory_plan.arena_bytes, 128);
  ASSERT_EQ(m.memory_plan.tensors.size(), 1u);
  EXPECT_EQ(m.memory_plan.tensors[0].name, "xw");

  Graph g = small_graph();
  ASSERT_EQ(m.graph.nodes.size(), g.nodes.size());
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    EXPECT_EQ(m.graph.nodes[i].name, g.nodes[i].name);
    EXPECT_EQ(m.graph.nodes[i].op_type, g.nodes[i].op_type);
    EXPECT_EQ(m.graph.nodes[i].inputs, g.nodes[i].inputs);
    EXPECT_EQ(m.graph.nodes[i].outputs, g.nodes[i].outputs);
    EXPECT_EQ(m.graph.nodes[i].attrs.size(), g.nodes[i].attrs.size());
  }
  const Node& add = m.graph.nodes[1];
  EXPECT_EQ(add.attr_string("note"), "kept");
  EXPECT_EQ(add.attr_float("f"), 1.5f);
  EXPECT_EQ(add.attr_floats("fs"), (std::vector<float>{1, 2}));
  EXPECT_EQ(add.attr_ints("is"), (std::vector<int64_t>{3, 4}));
  EXPECT_EQ(add.attr_strings("ss"), (std::vector<std::string>{"a", ""}));
  EXPECT_EQ(m.graph.nodes[3].attr_tensor("value").to_int_vector(), (std::vector<int64_t>{4, 2}));
  const Tensor& w = m.graph.initializers.at("w");
  EXPECT_EQ(std::memcmp(w.raw(), g.initializers.at("w").raw(), w.nbytes()), 0);

  Session from_ekm(std::move(m.graph)), from_graph(small_graph(), {.opt_level = 0});
  Tensor a = from_ekm.run({{"x", input()}})[0], b = from_graph.run({{"x", input()}})[0];
  ASSERT_EQ(a.shape(), (Shape{4, 2}));
  EXPECT_EQ(std::memcmp(a.raw(), b.raw(), a.nbytes()), 0);
}

TEST(Ekm, WeightsAreAlignedAndUsedInPlace) {
  std::string path = write_small("aligned.ekm");
  auto bytes = read_file(path);
  ekm::Header h = header_of(bytes);
  EXPECT_EQ(h.weights_offset % kEkmAlignment, 0u);
  EkmModel m = read_ekm(path);
  const Tensor& w = m.graph.initializers.at("w");
  const Tensor& b = m.graph.initializers.at("b");
  EXPECT_EQ(reinterpret_cast<uintptr_t>(w.raw()) % kEkmAlignment, 0u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(b.raw()) % kEkmAlignment, 0u);
  // Both live in the one mapping of the file, in order: no copies were made.
  auto distance = reinterpret_cast<const char*>(b.raw()) - reinterpret_cast<const char*>(w.raw());
  EXPECT_LT(std::abs(distance), 256);
}

TEST(Ekm, SessionOpensEkmPathAndRunsItAsCompiled) {
  std::string path = write_small("session.ekm");
  Session s(path, {.opt_level = 3});  // a compiled graph is not optimised again
  EXPECT_EQ(s.graph().nodes.size(), small_graph().nodes.size());
  Tensor y = s.run({{"x", input()}})[0];
  EXPECT_EQ(y.shape(), (Shape{4, 2}));
}

TEST(Ekm, RuntimeWithoutImporterRejectsOtherFormatsClearly) {
  std::string path = temp_path("model.onnx");
  write_file(path, {0x08, 0x07, 0x12, 0x00});
  std::string e = error_of([&] { load_model_file(path); });
  EXPECT_NE(e.find("reads only compiled models"), std::string::npos) << e;
  EXPECT_NE(e.find("edgekit compile"), std::string::npos) << e;
}

TEST(Ekm, WrongMagicIsNamed) {
  std::string path = temp_path("magic.ekm");
  auto bytes = read_file(write_small("magic_src.ekm"));
  bytes[0] = 'X';
  write_file(path, bytes);
  std::string e = error_of([&] { read_ekm(path); });
  EXPECT_NE(e.find("wrong magic \"XKMODEL.\""), std::string::npos) << e;
  EXPECT_NE(e.find(path), std::string::npos) << e;
}

TEST(Ekm, NewerFormatVersionIsNamed) {
  std::string path = temp_path("version.ekm");
  auto bytes = read_file(write_small("version_src.ekm"));
  uint32_t v = kEkmFormatVersion + 1;
  std::memcpy(bytes.data() + offsetof(ekm::Header, format_version), &v, 4);
  rehash(bytes);
  write_file(path, bytes);
  std::string e = error_of([&] { read_ekm(path); });
  EXPECT_NE(e.find(cat("format version ", v, " is newer than this edgekit reads (up to ", kEkmFormatVersion, ")")),
            std::string::npos)
      << e;
}

TEST(Ekm, ChangedByteFailsTheHash) {
  std::string path = temp_path("hash.ekm");
  auto bytes = read_file(write_small("hash_src.ekm"));
  bytes.back() ^= 1;  // last weight byte
  write_file(path, bytes);
  std::string e = error_of([&] { read_ekm(path); });
  EXPECT_NE(e.find("content hash mismatch"), std::string::npos) << e;
  // A header field is covered too.
  bytes.back() ^= 1;
  const uint64_t other_chunk = ekm::kHashChunkBytes * 2;  // still a valid chunk size: only the hash can tell
  std::memcpy(bytes.data() + offsetof(ekm::Header, hash_chunk_bytes), &other_chunk, 8);
  write_file(path, bytes);
  e = error_of([&] { read_ekm(path); });
  EXPECT_NE(e.find("content hash mismatch"), std::string::npos) << e;
}

namespace {

// y = x + c with a constant of `n` floats: a file of about 4n bytes, many hash chunks when the
// chunk size is small.
std::string write_wide(const std::string& name, int64_t n) {
  EkmModel m;
  Graph& g = m.graph;
  g.name = "wide";
  g.opsets[""] = 17;
  g.inputs.push_back({"x", DType::f32, {1, n}, {"", ""}});
  Tensor c(DType::f32, {1, n});
  for (int64_t i = 0; i < n; ++i) c.data<float>()[i] = float(i % 101) * 0.5f;
  g.initializers["c"] = c;
  g.add_node("Add", {"x", "c"}, {"y"}, "add");
  g.outputs.push_back({"y", DType::f32, {1, n}, {"", ""}});
  std::string path = temp_path(name);
  write_ekm(m, path);
  return path;
}

void set_chunk_bytes(std::vector<uint8_t>& bytes, uint64_t chunk) {
  std::memcpy(bytes.data() + offsetof(ekm::Header, hash_chunk_bytes), &chunk, 8);
  rehash(bytes);
}

// The version 3 content hash written out from docs/ekm-format.md with the one-stream Sha256.
std::string chunked_hash_by_the_spec(const std::vector<uint8_t>& bytes, size_t chunk) {
  Sha256 top;
  top.update(bytes.data(), 64);
  for (size_t at = 128; at < bytes.size(); at += chunk) {
    Sha256 h;
    h.update(bytes.data() + at, std::min(chunk, bytes.size() - at));
    uint8_t d[32];
    h.final(d);
    top.update(d, 32);
  }
  uint8_t d[32];
  top.final(d);
  return ekm::hex(d, 32);
}

}  // namespace

TEST(Ekm, SessionMaySkipTheHashButNotTheOtherChecks) {
  std::string path = temp_path("skip_hash.ekm");
  auto bytes = read_file(write_wide("skip_hash_src.ekm", 64));
  bytes.back() ^= 0x40;  // the high byte of the constant's last float
  write_file(path, bytes);
  std::string e = error_of([&] { Session s(path); });
  EXPECT_NE(e.find("content hash mismatch"), std::string::npos) << e;
  Tensor x(DType::f32, {1, 64});
  std::fill_n(x.data<float>(), 64, 0.0f);
  Tensor y = Session(path, {.verify_hash = false}).run({{"x", x}})[0];
  EXPECT_EQ(y.data<float>()[0], 0.0f);
  EXPECT_NE(y.data<float>()[63], float(63 % 101) * 0.5f);  // the changed weight, unseen
  bytes.resize(bytes.size() - 1);  // truncated: found by the size checks, hash or not
  write_file(path, bytes);
  e = error_of([&] { Session s(path, {.verify_hash = false}); });
  EXPECT_NE(e.find("skip_hash.ekm"), std::string::npos) << e;
  EXPECT_EQ(e.find("content hash mismatch"), std::string::npos) << e;
}

TEST(Ekm, ChunkedHashIsWhatTheSpecSaysOnEveryPath) {
  auto bytes = read_file(write_wide("chunks_src.ekm", 20000));
  ekm::Header h = header_of(bytes);
  EXPECT_EQ(h.format_version, kEkmFormatVersion);  // chunked from version 3 on
  EXPECT_EQ(h.hash_chunk_bytes, ekm::kHashChunkBytes);
  EXPECT_EQ(ekm::hex(h.sha256, 32), chunked_hash_by_the_spec(bytes, ekm::kHashChunkBytes));  // as written
  for (size_t chunk : {size_t(4096), size_t(8192), size_t(1) << 16}) {
    set_chunk_bytes(bytes, chunk);
    const std::string want = chunked_hash_by_the_spec(bytes, chunk);
    ThreadPool two(2);
    for (bool portable : {false, true})
      for (ThreadPool* pool : {static_cast<ThreadPool*>(nullptr), &two}) {
        Sha256::force_portable(portable);
        uint8_t d[32];
        ekm::content_hash(bytes.data(), bytes.size(), pool, d);
        Sha256::force_portable(false);
        EXPECT_EQ(ekm::hex(d, 32), want) << chunk << "-byte chunks, portable " << portable << ", pool " << !!pool;
      }
  }
}

TEST(Ekm, ChangedByteInAnyChunkFailsTheHash) {
  std::string path = temp_path("chunk_flip.ekm");
  auto bytes = read_file(write_wide("chunk_flip_src.ekm", 20000));
  const size_t chunk = 4096;
  set_chunk_bytes(bytes, chunk);
  const size_t body = bytes.size() - 128;
  ASSERT_GT(body / chunk, 8u);
  ASSERT_NE(body % chunk, 0u) << "the test wants a short last chunk";
  const size_t full = body / chunk;  // full chunks; one short chunk after them
  write_file(path, bytes);
  Tensor x(DType::f32, {1, 20000});
  for (int threads : {1, 2}) EXPECT_NO_THROW(Session(path, {.threads = threads}).run({{"x", x}}));
  const size_t at[] = {128,                             // first chunk, first byte
                       128 + chunk - 1,                 // first chunk, last byte
                       128 + chunk * (full / 2) + 77,   // a middle chunk
                       128 + chunk * full - 1,          // last full chunk, last byte
                       128 + chunk * full,              // short last chunk, first byte
                       bytes.size() - 1};               // short last chunk, last byte
  for (size_t i : at) {
    bytes[i] ^= 0x10;
    write_file(path, bytes);
    bytes[i] ^= 0x10;
    std::string e = error_of([&] { read_ekm(path); });
    EXPECT_NE(e.find("content hash mismatch, the file is corrupt or was modified"), std::string::npos) << i << ": " << e;
    for (bool portable : {false, true}) {
      Sha256::force_portable(portable);
      e = error_of([&] { Session(path, {.threads = 2}); });
      Sha256::force_portable(false);
      EXPECT_NE(e.find("content hash mismatch"), std::string::npos) << i << ", portable " << portable << ": " << e;
    }
  }
}

TEST(Ekm, BadHashChunkSizeIsNamed) {
  std::string path = temp_path("chunk_size.ekm");
  auto bytes = read_file(write_small("chunk_size_src.ekm"));
  for (uint64_t chunk : {uint64_t(0), uint64_t(2048), uint64_t(4096 + 64), uint64_t(1) << 31}) {
    std::memcpy(bytes.data() + offsetof(ekm::Header, hash_chunk_bytes), &chunk, 8);  // checked before the hash
    write_file(path, bytes);
    std::string e = error_of([&] { read_ekm(path); });
    EXPECT_NE(e.find(cat(path, ": hash chunk size ", chunk, " (expected a power of two from 4096 to 1073741824)")),
              std::string::npos)
        << e;
  }
}

TEST(Ekm, Version2FilesWithTheWholeFileHashStillLoad) {
  // A version 2 file is a version 3 one less the chunked hash (the field at 56 was reserved,
  // 0): its hash is one SHA-256 of bytes [0, 64) then [128, end), written here from the spec.
  std::string path = temp_path("v2.ekm");
  auto bytes = read_file(write_small("v2_src.ekm"));
  ekm::Header h = header_of(bytes);
  h.format_version = 2;
  h.hash_chunk_bytes = 0;
  std::memcpy(bytes.data(), &h, sizeof h);
  Sha256 whole;
  whole.update(bytes.data(), 64);
  whole.update(bytes.data() + 128, bytes.size() - 128);
  whole.final(bytes.data() + offsetof(ekm::Header, sha256));
  write_file(path, bytes);
  EkmModel m = read_ekm(path);
  EXPECT_EQ(m.format_version, 2u);
  Tensor y = Session(path).run({{"x", input()}})[0];
  EXPECT_EQ(y.shape(), (Shape{4, 2}));
  bytes[bytes.size() - 1] ^= 1;
  write_file(path, bytes);
  std::string e = error_of([&] { read_ekm(path); });
  EXPECT_NE(e.find("content hash mismatch"), std::string::npos) << e;
}

TEST(Ekm, TruncatedAndTinyFilesAreNamed) {
  std::string path = temp_path("short.ekm");
  auto bytes = read_file(write_small("short_src.ekm"));
  auto cut = bytes;
  cut.resize(bytes.size() - 10);
  write_file(path, cut);
  std::string e = error_of([&] { read_ekm(path); });
  EXPECT_NE(e.find("(truncated)"), std::string::npos) << e;
  cut.resize(40);
  write_file(path, cut);
  e = error_of([&] { read_ekm(path); });
  EXPECT_NE(e.find("less than the 128-byte .ekm header"), std::string::npos) << e;
  write_file(path, {});
  e = error_of([&] { read_ekm(path); });
  EXPECT_NE(e.find("empty file"), std::string::npos) << e;
  e = error_of([&] { read_ekm(std::filesystem::temp_directory_path().string()); });
  EXPECT_NE(e.find("not a regular file"), std::string::npos) << e;
  e = error_of([&] { read_ekm(temp_path("missing.ekm")); });
  EXPECT_NE(e.find("cannot open"), std::string::npos) << e;
}

TEST(Ekm, GarbageProgramFailsVerification) {
  std::string path = temp_path("garbage.ekm");
  auto bytes = read_file(write_small("garbage_src.ekm"));
  ekm::Header h = header_of(bytes);
  for (size_t i = h.program_offset; i < h.program_offset + h.program_bytes; ++i) bytes[i] = uint8_t(i * 37 + 11);
  rehash(bytes);
  write_file(path, bytes);
  std::string e = error_of([&] { read_ekm(path); });
  EXPECT_NE(e.find("fails flatbuffer verification"), std::string::npos) << e;
}

TEST(Ekm, TensorOutsideTheWeightSectionIsNamed) {
  // Shrink the weight section in the header: the last tensor no longer fits.
  std::string path = temp_path("extent.ekm");
  auto bytes = read_file(write_small("extent_src.ekm"));
  ekm::Header h = header_of(bytes);
  size_t drop = 8;
  h.weights_bytes -= drop;
  h.file_bytes -= drop;
  bytes.resize(bytes.size() - drop);
  std::memcpy(bytes.data(), &h, sizeof h);
  rehash(bytes);
  write_file(path, bytes);
  std::string e = error_of([&] { read_ekm(path); });
  EXPECT_NE(e.find("lie outside the"), std::string::npos) << e;
  EXPECT_NE(e.find("node 'shape_const' (Constant) attribute 'value'"), std::string::npos) << e;  // the last tensor written
}

namespace {
// x -> Relu -> r -> Transpose -> t -> Relu -> y: r and t are live together at the Transpose,
// which reads its input out of order, so a plan that put them on the same bytes would give
// wrong values.
std::string write_with_plan(const std::string& name, std::vector<EkmPlannedTensor> tensors, int64_t arena_bytes) {
  EkmModel m;
  Graph& g = m.graph;
  g.inputs.push_back({"x", DType::f32, {4, 6}, {"", ""}});
  g.add_node("Relu", {"x"}, {"r"}, "relu_in");
  g.add_node("Transpose", {"r"}, {"t"}, "transpose").attrs["perm"] = std::vector<int64_t>{1, 0};
  g.add_node("Relu", {"t"}, {"y"}, "relu_out");
  g.outputs.push_back({"y", DType::f32, {6, 4}, {"", ""}});
  m.opt_level = 0;
  m.memory_plan.present = true;
  m.memory_plan.inputs = g.inputs;
  m.memory_plan.arena_bytes = arena_bytes;
  m.memory_plan.tensors = std::move(tensors);
  std::string path = temp_path(name);
  write_ekm(m, path);
  return path;
}

Tensor ramp(const Shape& shape) {
  Tensor x(DType::f32, shape);
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = float(i) - 3.0f;
  return x;
}
}  // namespace

TEST(Ekm, StoredMemoryPlanServesTheFirstRunAndABadOneIsIgnored) {
  const Tensor x = ramp({4, 6});
  Session reference(write_with_plan("plan_none.ekm", {}, 0));
  const Tensor want = reference.run({{"x", x}})[0];
  struct Case {
    const char* name;
    std::vector<EkmPlannedTensor> tensors;
    int64_t arena;
  };
  const Case cases[] = {
      {"good", {{"r", 0, 96}, {"t", 128, 96}}, 256},            // what edgekit compile writes
      {"overlapping", {{"r", 0, 96}, {"t", 64, 96}}, 256},      // live together, sharing bytes
      {"outside", {{"r", 0, 96}, {"t", 192, 96}}, 256},         // past the arena's end
      {"misaligned", {{"r", 0, 96}, {"t", 100, 96}}, 256},
      {"unknown name", {{"r", 0, 96}, {"nope", 128, 96}}, 256},
      {"wrong size", {{"r", 0, 96}, {"t", 128, 64}}, 256},      // used only where sizes match
      {"huge arena", {{"r", 0, 96}, {"t", 128, 96}}, int64_t(1) << 62},
  };
  for (const auto& c : cases) {
    Session s(write_with_plan(cat("plan_", c.name, ".ekm"), c.tensors, c.arena));
    for (int run = 0; run < 2; ++run) {
      Tensor y = s.run({{"x", x}})[0];
      ASSERT_EQ(y.shape(), want.shape()) << c.name;
      EXPECT_EQ(std::memcmp(y.raw(), want.raw(), want.nbytes()), 0) << c.name << ", run " << run;
    }
    Tensor other = ramp({4, 6});  // new values, same shapes: the arena is reused
    other.data<float>()[5] = 100.f;
    Tensor y = s.run({{"x", other}})[0];
    EXPECT_EQ(y.data<float>()[5 * 4], 100.f) << c.name;
  }
}

// A file where a changed weight byte is noticed by the hash alone.
std::string write_large(const std::string& name) {
  EkmModel m;
  m.graph = small_graph();
  Tensor big(DType::f32, {300, 300});
  for (int64_t i = 0; i < big.numel(); ++i) big.data<float>()[i] = float(i % 7);
  m.graph.initializers["unused_big"] = big;
  m.opt_level = 0;
  std::string path = temp_path(name);
  write_ekm(m, path);
  return path;
}

TEST(Ekm, SessionAndLoadModelFileCheckTheHashFirst) {
  const std::string good = write_large("large.ekm");
  Session ok(good);
  EXPECT_EQ(ok.run({{"x", input()}})[0].shape(), (Shape{4, 2}));

  auto bytes = read_file(good);
  const std::string path = temp_path("large_bad.ekm");
  bytes.back() ^= 1;  // a weight byte: nothing else notices
  write_file(path, bytes);
  std::string e = error_of([&] { Session s(path); });
  EXPECT_NE(e.find("content hash mismatch"), std::string::npos) << e;
  EXPECT_NE(e.find(path), std::string::npos) << e;
  e = error_of([&] { load_model_file(path); });
  EXPECT_NE(e.find("content hash mismatch"), std::string::npos) << e;

  // A broken program would fail other checks: the hash, checked first, is what is named.
  bytes.back() ^= 1;
  ekm::Header h = header_of(bytes);
  for (size_t i = h.program_offset; i < h.program_offset + 64; ++i) bytes[i] ^= 0x5a;
  write_file(path, bytes);
  e = error_of([&] { Session s(path); });
  EXPECT_NE(e.find("content hash mismatch"), std::string::npos) << e;
}

namespace {
float wave(int64_t i) { return float((i * 37) % 23) / 11.0f - 1.0f; }

Tensor filled(const Shape& shape) {
  Tensor t(DType::f32, shape);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = wave(i);
  return t;
}

// A conv (panels), a depthwise conv (blocks) and a Gemm with B [K, M] (k-major panels): the
// weights edgekit compile stores packed.
Graph conv_graph() {
  Graph g;
  g.name = "convs";
  g.opsets[""] = 17;
  g.inputs.push_back({"x", DType::f32, {1, 3, 9, 7}, {}});
  g.initializers["w1"] = filled({12, 3, 3, 3});
  g.initializers["b1"] = filled({12});
  g.initializers["w2"] = filled({12, 1, 3, 3});
  g.initializers["B"] = filled({12 * 9 * 7, 32});
  Node& c1 = g.add_node("Conv", {"x", "w1", "b1"}, {"c1"}, "conv");
  c1.attrs["pads"] = std::vector<int64_t>{1, 1, 1, 1};
  g.add_node("Relu", {"c1"}, {"r1"}, "relu");
  Node& c2 = g.add_node("Conv", {"r1", "w2"}, {"c2"}, "depthwise");
  c2.attrs["pads"] = std::vector<int64_t>{1, 1, 1, 1};
  c2.attrs["group"] = int64_t(12);
  g.add_node("Flatten", {"c2"}, {"f"}, "flatten");
  g.add_node("Gemm", {"f", "B"}, {"y"}, "gemm");
  g.outputs.push_back({"y", DType::f32, {1, 32}, {}});
  return g;
}

Tensor conv_input() { return filled({1, 3, 9, 7}); }

EkmModel compiled_convs() { return compile_graph(conv_graph(), 3, "convs"); }

void expect_same(const Tensor& a, const Tensor& b, const std::string& what) {
  ASSERT_EQ(a.shape(), b.shape()) << what;
  EXPECT_EQ(std::memcmp(a.raw(), b.raw(), a.nbytes()), 0) << what;
}

// The same weights in another width than this CPU's kernels want (another machine's).
void repack(PackedWeights& p, int64_t width) {
  std::vector<float> plain(size_t(p.geometry.out_channels * p.geometry.in_per_group * p.geometry.taps));
  unpack_weights(p, plain.data(), "test");
  if (p.k_major) {  // pack_weights reads [M, K]
    std::vector<float> t(plain.size());
    const int64_t M = p.geometry.out_channels, K = p.geometry.in_per_group;
    for (int64_t k = 0; k < K; ++k)
      for (int64_t m = 0; m < M; ++m) t[size_t(m * K + k)] = plain[size_t(k * M + m)];
    plain.swap(t);
  }
  const int64_t floats = packed_floats(p.layout, width, p.geometry);
  auto data = std::shared_ptr<float>(new float[size_t(floats)], std::default_delete<float[]>());
  pack_weights(p.layout, width, p.geometry, plain.data(), nullptr, data.get());
  p.width = width;
  p.floats = floats;
  p.data = data.get();
  p.owner = data;
}
}  // namespace

TEST(Ekm, PackedLayoutsUnpackToThePlainWeights) {
  for (int64_t M : {1, 5, 16, 33}) {
    for (int64_t width : {1, 4, 16, 32}) {
      for (bool depthwise : {false, true}) {
        const WeightGeometry g = depthwise ? WeightGeometry{M, 1, 9, M} : WeightGeometry{M, 3, 2, M % 2 ? 1 : 2};
        const std::string layout = depthwise ? kDepthwiseLayout : kPanelsLayout;
        const int64_t floats = packed_floats(layout, width, g);
        ASSERT_GT(floats, 0);
        const Tensor w = filled({g.out_channels, g.in_per_group, g.taps});
        std::vector<float> packed(size_t(floats), 7.f), back(size_t(w.numel()));
        pack_weights(layout, width, g, w.data<float>(), nullptr, packed.data());
        PackedWeights p{layout, width, g, false, {}, packed.data(), floats, nullptr};
        unpack_weights(p, back.data(), "test");
        EXPECT_EQ(std::memcmp(back.data(), w.raw(), w.nbytes()), 0) << layout << " M " << M << " width " << width;
      }
    }
  }
  EXPECT_EQ(packed_floats("f32_tiles", 16, {8, 3, 9, 1}), -1);
  EXPECT_EQ(packed_floats(kPanelsLayout, 0, {8, 3, 9, 1}), -1);
  EXPECT_EQ(packed_floats(kPanelsLayout, 16, {8, 3, 9, 3}), -1);  // 8 channels in 3 groups
  EXPECT_EQ(packed_floats(kDepthwiseLayout, 16, {8, 2, 9, 8}), -1);
}

TEST(Ekm, CompiledWeightsAreStoredPackedAndGiveTheSameOutputs) {
  Session reference(conv_graph());
  const Tensor want = reference.run({{"x", conv_input()}})[0];
  EkmModel m = compiled_convs();
  ASSERT_EQ(m.packed.size(), 3u);  // w1, w2, B; b1 stays plain
  EXPECT_TRUE(m.packed.count("w1") && m.packed.count("w2") && m.packed.count("B"));
  EXPECT_TRUE(m.packed.at("B").k_major);
  const std::string path = temp_path("packed.ekm");
  write_ekm(m, path);
  // No plain copy beside the packed one: the weight section holds the packed floats and the
  // other initializers (each 64-byte aligned), nothing more.
  int64_t expected = 0;
  for (const auto& [name, t] : m.graph.initializers) {
    const int64_t bytes = m.packed.count(name) ? m.packed.at(name).floats * 4 : int64_t(t.nbytes());
    expected += (bytes + 63) / 64 * 64;
  }
  EXPECT_LE(int64_t(m.weight_bytes), expected);

  Session from_file(path);  // packed weights used in place
  for (int run = 0; run < 2; ++run) expect_same(from_file.run({{"x", conv_input()}})[0], want, "in place");
  // read_ekm gives plain initializers back, equal to the originals.
  EkmModel back = read_ekm(path);
  EXPECT_TRUE(back.packed.empty());
  const Graph original = conv_graph();
  for (const char* name : {"w1", "w2", "B"}) {
    const Tensor& t = back.graph.initializers.at(name);
    const Tensor& o = original.initializers.at(name);
    ASSERT_EQ(t.shape(), o.shape()) << name;
    EXPECT_EQ(std::memcmp(t.raw(), o.raw(), o.nbytes()), 0) << name;
  }
  expect_same(Session(std::move(back.graph)).run({{"x", conv_input()}})[0], want, "unpacked by read_ekm");
}

TEST(Ekm, PackedWeightsOfAnotherWidthArePackedAgainAtLoad) {
  Session reference(conv_graph());
  const Tensor want = reference.run({{"x", conv_input()}})[0];
  EkmModel m = compiled_convs();
  for (auto& [name, p] : m.packed) repack(p, p.width == 8 ? 4 : 8);
  const std::string path = temp_path("packed_other.ekm");
  write_ekm(m, path);
  Session s(path);
  for (int run = 0; run < 2; ++run) expect_same(s.run({{"x", conv_input()}})[0], want, "repacked");
}

TEST(Ekm, MalformedPackedWeightsAreRefusedClearly) {
  auto write_changed = [](const std::string& name, const std::function<void(PackedWeights&)>& change) {
    EkmModel m = compiled_convs();
    change(m.packed.at("w1"));
    const std::string path = temp_path(name);
    write_ekm(m, path);
    return path;
  };
  std::string path = write_changed("packed_short.ekm", [](PackedWeights& p) { p.floats -= 16; });
  std::string e = error_of([&] { Session s(path); });
  EXPECT_NE(e.find(cat(path, ": initializer 'w1': packed data is f32[")), std::string::npos) << e;
  EXPECT_NE(e.find("for layout 'f32_panels'"), std::string::npos) << e;
  EXPECT_EQ(e.find('\n'), std::string::npos) << e;
  e = error_of([&] { read_ekm(path); });
  EXPECT_NE(e.find("initializer 'w1': packed data is f32["), std::string::npos) << e;

  path = write_changed("packed_layout.ekm", [](PackedWeights& p) { p.layout = "f32_tiles"; });
  e = error_of([&] { Session s(path); });
  EXPECT_NE(e.find("initializer 'w1': packed layout 'f32_tiles' of width"), std::string::npos) << e;

  path = write_changed("packed_groups.ekm", [](PackedWeights& p) { p.geometry.group = 5; });
  e = error_of([&] { Session s(path); });
  EXPECT_NE(e.find(cat("in 5 groups does not fit weights of shape ", shape_str({12, 3, 3, 3}))), std::string::npos) << e;

  // A version 1 file cannot hold packed weights.
  auto bytes = read_file(write_changed("packed_v1_src.ekm", [](PackedWeights&) {}));
  uint32_t v1 = 1;
  std::memcpy(bytes.data() + offsetof(ekm::Header, format_version), &v1, 4);
  rehash(bytes);
  path = temp_path("packed_v1.ekm");
  write_file(path, bytes);
  e = error_of([&] { Session s(path); });
  EXPECT_NE(e.find("packed weights in a format version 1 file"), std::string::npos) << e;
}

TEST(Ekm, UnalignedBytesInMemoryAreCopiedAndRead) {
  auto bytes = read_file(write_small("memory_src.ekm"));
  std::vector<uint8_t> shifted(bytes.size() + 1);
  std::memcpy(shifted.data() + 1, bytes.data(), bytes.size());
  EkmModel m = read_ekm_bytes(shifted.data() + 1, bytes.size(), "memory", nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(m.graph.initializers.at("w").raw()) % kEkmAlignment, 0u);
  shifted.clear();  // the model must not depend on the caller's bytes
  Session s(std::move(m.graph));
  EXPECT_EQ(s.run({{"x", input()}})[0].shape(), (Shape{4, 2}));
}

}  // namespace edgekit

namespace edgekit {
// Inputs found by fuzz_ekm_load (tests/formats/data/fuzz/*.ekm): each must load or fail with an
// Error, never trip a sanitizer (make test-asan runs this under ASan + UBSan).
TEST(Ekm, FuzzRegressionsFailCleanly) {
  const std::string dir = std::string(EDGEKIT_SOURCE_DIR) + "/tests/formats/data/fuzz";
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() != ".ekm") continue;
    ++files;
    std::ifstream f(e.path(), std::ios::binary);
    std::vector<uint8_t> bytes{std::istreambuf_iterator<char>(f), {}};
    try {
      EkmModel m = read_ekm_bytes(bytes.data(), bytes.size(), e.path().string(), nullptr, {.verify_hash = false});
      Session s(std::move(m.graph));
    } catch (const Error&) {
    }
  }
  EXPECT_GE(files, 1);
}
// Format version 4: packed weights that are all binary16 numbers are stored as f16 and widened
// at load, giving the same outputs; a version 3 file cannot hold them.
TEST(Ekm, PackedWeightsThatAreHalvesAreStoredAsF16) {
  Graph g = conv_graph();
  for (auto& [name, t] : g.initializers)
    for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = half_to_float(float_to_half(t.data<float>()[i]));
  Session reference{Graph(g)};
  const Tensor want = reference.run({{"x", conv_input()}})[0];
  EkmModel halves = compile_graph(Graph(g), 3, "halves"), floats = compiled_convs();
  const std::string path = temp_path("halves.ekm"), fpath = temp_path("floats.ekm");
  write_ekm(halves, path);
  write_ekm(floats, fpath);
  EXPECT_LT(double(halves.weight_bytes), 0.6 * double(floats.weight_bytes));
  Session from_file(path);
  for (int run = 0; run < 2; ++run) expect_same(from_file.run({{"x", conv_input()}})[0], want, "widened");
  EkmModel back = read_ekm(path);
  for (const char* name : {"w1", "w2", "B"}) expect_same(back.graph.initializers.at(name), g.initializers.at(name), name);
  auto bytes = read_file(path);
  uint32_t v = 3;
  std::memcpy(bytes.data() + offsetof(ekm::Header, format_version), &v, 4);
  rehash(bytes);
  write_file(path, bytes);
  std::string e = error_of([&] { read_ekm(path); });
  EXPECT_NE(e.find("f16 packed data in a format version 3 file (it came in 4)"), std::string::npos) << e;
}

}  // namespace edgekit
