#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sys/resource.h>
#include <unistd.h>

#include "../test_paths.h"
#include "formats/model_loader.h"
#include "formats/onnx/onnx_import.h"

namespace edgekit {

namespace {
std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}
std::string zoo_bytes(const std::string& name) {
  std::string path = test::zoo_model(name);
  if (!std::filesystem::exists(path)) return "";
  return slurp(path);
}
}  // namespace

TEST(OnnxImport, ReadsAZooModel) {
  std::string path = test::zoo_model("kws_dscnn");
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " absent: run make fixtures";
  Graph g = import_onnx(path);
  EXPECT_EQ(g.source_format, "onnx");
  ASSERT_EQ(g.inputs.size(), 1u);
  EXPECT_EQ(g.inputs[0].name, "input");
  EXPECT_EQ(g.inputs[0].shape_string(), "[N,1,49,10]");
  EXPECT_EQ(g.opsets.at(""), 13);
  EXPECT_GT(g.parameter_count(), 20000);
  EXPECT_EQ(detect_model_format(path), ModelFormat::onnx);
}

TEST(OnnxImport, TruncatedFilesFailCleanly) {
  std::string bytes = zoo_bytes("kws_dscnn");
  if (bytes.empty()) GTEST_SKIP() << "zoo absent: run make fixtures";
  for (size_t keep : {size_t(1), size_t(10), bytes.size() / 3, bytes.size() / 2, bytes.size() - 1}) {
    try {
      import_onnx_bytes(bytes.substr(0, keep), ".", "cut.onnx");
      ADD_FAILURE() << "truncated to " << keep << " bytes was accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("cut.onnx"), std::string::npos) << e.what();
    }
  }
}

TEST(OnnxImport, CorruptedBytesNeverCrash) {
  std::string bytes = zoo_bytes("ic_resnet8");
  if (bytes.empty()) GTEST_SKIP() << "zoo absent: run make fixtures";
  std::mt19937 rng(1234);
  for (int trial = 0; trial < 200; ++trial) {
    std::string b = bytes;
    for (int k = 0; k < 8; ++k) b[rng() % b.size()] = char(rng());
    try {
      Graph g = import_onnx_bytes(b, ".", "corrupt.onnx");
      (void)g;  // some flips land in weights and give a valid model: fine
    } catch (const Error&) {
    }
  }
}

TEST(OnnxImport, GarbageAndMissingFiles) {
  EXPECT_THROW(import_onnx_bytes("this is not a protobuf at all", ".", "junk.onnx"), Error);
  EXPECT_THROW(import_onnx("/nonexistent.onnx"), Error);
  auto tmp = std::filesystem::temp_directory_path() / "edgekit_empty.onnx";
  std::ofstream(tmp).close();
  EXPECT_THROW(load_model(tmp.string()), Error);
  std::filesystem::remove(tmp);
}

namespace {
// Protobuf wire format, enough to write small hostile models by hand.
std::string varint(uint64_t v) {
  std::string s;
  for (; v >= 0x80; v >>= 7) s += char(v | 0x80);
  return s + char(v);
}
std::string field_varint(int field, uint64_t v) { return varint(uint64_t(field) << 3) + varint(v); }
std::string field_bytes(int field, const std::string& b) { return varint(uint64_t(field) << 3 | 2) + varint(b.size()) + b; }

// A model whose only initializer, float[2] 'w', lives in external data with these key/values.
std::string external_data_model(const std::vector<std::pair<std::string, std::string>>& kv) {
  std::string tensor = field_varint(1, 2) + field_varint(2, 1) + field_bytes(8, "w") + field_varint(14, 1);
  for (const auto& [k, v] : kv) tensor += field_bytes(13, field_bytes(1, k) + field_bytes(2, v));
  std::string graph = field_bytes(5, tensor) + field_bytes(2, "g");
  return field_varint(1, 8) + field_bytes(8, field_varint(2, 13)) + field_bytes(7, graph);
}
}  // namespace

// External data offsets and lengths are text in the file: a non-number threw
// std::invalid_argument out of std::stoll, and offset + length could overflow.
TEST(OnnxImport, MalformedExternalDataFieldsAreErrors) {
  auto dir = std::filesystem::temp_directory_path() / ("edgekit_ext_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "w.bin", std::ios::binary) << std::string(8, '\0');
  auto error_of = [&](const std::vector<std::pair<std::string, std::string>>& kv) -> std::string {
    try {
      import_onnx_bytes(external_data_model(kv), dir.string(), "ext.onnx");
    } catch (const Error& e) {
      return e.what();
    }
    return "(no error)";
  };
  EXPECT_EQ(error_of({{"location", "w.bin"}}), "(no error)");
  EXPECT_NE(error_of({{"location", "w.bin"}, {"offset", "x"}}).find("ext.onnx: tensor 'w': external data offset 'x'"),
            std::string::npos);
  EXPECT_NE(error_of({{"location", "w.bin"}, {"length", "99999999999999999999"}}).find("external data length"),
            std::string::npos);
  EXPECT_NE(error_of({{"location", "w.bin"}, {"offset", "9223372036854775807"}, {"length", "8"}}).find("lies outside"),
            std::string::npos);
  std::filesystem::remove_all(dir);
}

// A 20-byte initializer claiming float[2^29] made the importer allocate and zero 2 GB before
// finding that raw_data holds 4 bytes; the payload is now checked first.
TEST(OnnxImport, PayloadIsCheckedBeforeAllocatingTheShape) {
  auto model = [](const std::string& payload) {
    std::string tensor = field_varint(1, uint64_t(1) << 29) + field_varint(2, 1) + field_bytes(8, "w") + payload;
    return field_varint(1, 8) + field_bytes(8, field_varint(2, 13)) + field_bytes(7, field_bytes(5, tensor));
  };
  rusage before{}, after{};
  getrusage(RUSAGE_SELF, &before);
  for (const auto& [payload, message] : {std::pair{field_bytes(9, std::string(4, '\0')), "raw_data holds 4 bytes"},
                                         std::pair{field_bytes(4, std::string(4, '\0')), "float_data holds 1 values"}}) {
    try {
      import_onnx_bytes(model(payload), "", "huge.onnx");
      ADD_FAILURE() << "accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(std::string("huge.onnx: tensor 'w': ") + message), std::string::npos)
          << e.what();
    }
  }
  getrusage(RUSAGE_SELF, &after);
  EXPECT_LT(after.ru_maxrss - before.ru_maxrss, 256 << 10) << "kB of peak RSS grown";
}

}  // namespace edgekit
