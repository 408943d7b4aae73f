// TFLite import: the float MLPerf Tiny models (structure, shapes, converted weights), the int8
// refusal, small models written here with flatbuffers' builder for ops the MLPerf models lack,
// and hostile files (truncated, bytes flipped) that must throw edgekit::Error, never crash.
#include <flatbuffers/flatbuffers.h>
#include <gtest/gtest.h>

#include "error_of.h"

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>

#include "formats/model_loader.h"
#include "formats/tflite/tflite_import.h"
#include "formats/tflite/tflite_reader.h"
#include "kernels/op.h"

// The small-model tables below are written as aggregates with trailing members left default.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace edgekit {
namespace {

std::string mlperf_dir() {
  const char* env = std::getenv("EDGEKIT_MLPERF_DIR");
  return env && *env ? env : "/work/shared/models/mlperf-tiny";
}

std::string read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

#define MLPERF_MODEL(var, file)                                                                   \
  const std::string var = mlperf_dir() + "/" + (file);                                            \
  if (!std::filesystem::exists(var)) GTEST_SKIP() << var << " not found (set EDGEKIT_MLPERF_DIR)"

std::map<std::string, int> op_counts(const Graph& g) {
  std::map<std::string, int> c;
  for (const Node& n : g.nodes) ++c[n.op_type];
  return c;
}

const Node* find_node(const Graph& g, const std::string& name) {
  for (const Node& n : g.nodes)
    if (n.name == name) return &n;
  return nullptr;
}

using test::error_of;

// ---- the float MLPerf Tiny models

struct ModelCase {
  const char* file;
  Shape input, output;
  int convs, gemms, pools;
};

class MlperfFloat : public ::testing::TestWithParam<ModelCase> {};

TEST_P(MlperfFloat, ImportsWithTfliteShapesAndOps) {
  const ModelCase& c = GetParam();
  MLPERF_MODEL(path, c.file);
  Graph g = import_tflite(path);
  EXPECT_EQ(g.source_format, "tflite");
  EXPECT_EQ(g.name, std::filesystem::path(c.file).stem().string());
  EXPECT_EQ(g.metadata.at("tflite.schema_version"), "3");
  EXPECT_TRUE(g.metadata.count("tflite.description"));
  ASSERT_EQ(g.inputs.size(), 1u);
  ASSERT_EQ(g.outputs.size(), 1u);
  EXPECT_EQ(g.inputs[0].dims, c.input);
  EXPECT_EQ(g.inputs[0].dtype, DType::f32);
  EXPECT_EQ(g.outputs[0].dims, c.output);
  auto counts = op_counts(g);
  EXPECT_EQ(counts["Conv"], c.convs);
  EXPECT_EQ(counts["Gemm"], c.gemms);
  EXPECT_EQ(counts["AveragePool"], c.pools);
  EXPECT_NO_THROW(verify(g));
  // Every NCHW op reads from a Transpose or another NCHW op; no Transpose pair undoes itself.
  std::map<std::string, const Node*> producer;
  for (const Node& n : g.nodes)
    for (const auto& o : n.outputs) producer[o] = &n;
  for (const Node& n : g.nodes) {
    if (n.op_type != "Transpose") continue;
    auto it = producer.find(n.inputs[0]);
    if (it == producer.end() || it->second->op_type != "Transpose") continue;
    EXPECT_NE(it->second->attr_ints("perm"), (std::vector<int64_t>{0, 2, 3, 1})) << n.name << " undoes its input";
  }
  // The same file through the format-sniffing loader.
  EXPECT_EQ(load_model(path).nodes.size(), g.nodes.size());
}

INSTANTIATE_TEST_SUITE_P(
    Tflite, MlperfFloat,
    ::testing::Values(ModelCase{"ad01_fp32.tflite", {1, 640}, {1, 640}, 0, 10, 0},
                      ModelCase{"kws_ref_model_float32.tflite", {1, 49, 10, 1}, {1, 12}, 9, 1, 1},
                      ModelCase{"pretrainedResnet.tflite", {1, 32, 32, 3}, {1, 10}, 9, 1, 1},
                      ModelCase{"vww_96_float.tflite", {1, 96, 96, 3}, {1, 2}, 27, 1, 1}),
    [](const auto& info) {
      std::string s = std::filesystem::path(info.param.file).stem().string();
      for (char& ch : s)
        if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
      return s;
    });

TEST(TfliteImport, ConvWeightsBecomeOihwAndPadsFollowTflite) {
  MLPERF_MODEL(path, "vww_96_float.tflite");
  std::string bytes = read_bytes(path);
  tflite::ModelInfo m = tflite::read_tflite_model(bytes, path);
  Graph g = import_tflite_bytes(bytes, path);
  int checked_conv = 0, checked_dw = 0;
  for (const tflite::OperatorInfo& op : m.operators) {
    if (op.code != 3 && op.code != 4) continue;  // CONV_2D, DEPTHWISE_CONV_2D
    const tflite::TensorInfo& x = m.tensors[size_t(op.inputs[0])];
    const tflite::TensorInfo& f = m.tensors[size_t(op.inputs[1])];
    const tflite::TensorInfo& y = m.tensors[size_t(op.outputs[0])];
    const Node* n = find_node(g, y.name);
    ASSERT_NE(n, nullptr) << y.name;
    ASSERT_EQ(n->op_type, "Conv");
    Tensor raw = m.constant(f);
    const Tensor& w = g.initializers.at(n->inputs[1]);
    const Shape& s = raw.shape();
    const float* r = raw.data<float>();
    const float* p = w.data<float>();
    if (op.code == 3) {  // OHWI -> OIHW
      ASSERT_EQ(w.shape(), (Shape{s[0], s[3], s[1], s[2]}));
      EXPECT_EQ(n->attr_int("group"), 1);
      for (int64_t o = 0; o < s[0]; ++o)
        for (int64_t h = 0; h < s[1]; ++h)
          for (int64_t ww = 0; ww < s[2]; ++ww)
            for (int64_t i = 0; i < s[3]; ++i)
              ASSERT_EQ(p[((o * s[3] + i) * s[1] + h) * s[2] + ww], r[((o * s[1] + h) * s[2] + ww) * s[3] + i]);
      ++checked_conv;
    } else {  // 1HW(C*M) -> (C*M)1HW, group = C
      ASSERT_EQ(w.shape(), (Shape{s[3], 1, s[1], s[2]}));
      EXPECT_EQ(n->attr_int("group"), x.shape[3]);
      for (int64_t h = 0; h < s[1]; ++h)
        for (int64_t ww = 0; ww < s[2]; ++ww)
          for (int64_t o = 0; o < s[3]; ++o)
            ASSERT_EQ(p[(o * s[1] + h) * s[2] + ww], r[(h * s[2] + ww) * s[3] + o]);
      ++checked_dw;
    }
    // SAME: total = max((out-1)*stride + k - in, 0), the odd pixel at the end.
    auto strides = n->attr_ints("strides");
    auto pads = n->attr_ints("pads");
    for (int d = 0; d < 2; ++d) {
      int64_t in = x.shape[size_t(1 + d)], out = y.shape[size_t(1 + d)], k = s[size_t(1 + d)];
      int64_t total = std::max<int64_t>((out - 1) * strides[size_t(d)] + k - in, 0);
      EXPECT_EQ(pads[size_t(d)] + pads[size_t(d + 2)], total) << y.name;
      EXPECT_EQ(pads[size_t(d)], total / 2) << y.name;
    }
  }
  EXPECT_EQ(checked_conv, 14);
  EXPECT_EQ(checked_dw, 13);
  // The first conv: 3x3 stride 2 SAME on 96x96 -> 48x48, one pixel of padding at the end.
  const Node* first = nullptr;
  for (const Node& n : g.nodes)
    if (n.op_type == "Conv") {
      first = &n;
      break;
    }
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->attr_ints("pads"), (std::vector<int64_t>{0, 0, 1, 1}));
}

TEST(TfliteImport, FusedActivationsBecomeNodesAfterTheOp) {
  MLPERF_MODEL(path, "kws_ref_model_float32.tflite");
  Graph g = import_tflite(path);
  auto counts = op_counts(g);
  // The KWS convolutions all carry a fused RELU.
  EXPECT_EQ(counts["Relu"], 9);
  EXPECT_EQ(counts["Softmax"], 1);
  EXPECT_EQ(counts["Reshape"], 1);
  for (size_t i = 0; i < g.nodes.size(); ++i)
    if (g.nodes[i].op_type == "Conv") {
      ASSERT_LT(i + 1, g.nodes.size());
      EXPECT_EQ(g.nodes[i + 1].op_type, "Relu");
      EXPECT_EQ(g.nodes[i + 1].inputs[0], g.nodes[i].outputs[0]);
    }
}

TEST(TfliteImport, HybridWeightsAreDequantizedAtImport) {
  // kws_ref_model_float32 is a dynamic-range model: float activations, int8 conv weights.
  MLPERF_MODEL(path, "kws_ref_model_float32.tflite");
  std::string bytes = read_bytes(path);
  tflite::ModelInfo m = tflite::read_tflite_model(bytes, path);
  Graph g = import_tflite_bytes(bytes, path);
  EXPECT_EQ(g.metadata.at("tflite.dequantized_weights"), "5");
  const tflite::OperatorInfo& op = m.operators[0];
  ASSERT_EQ(op.code, 3);
  const tflite::TensorInfo& f = m.tensors[size_t(op.inputs[1])];
  ASSERT_EQ(f.dtype, DType::i8);
  ASSERT_EQ(f.quantization.scale.size(), 1u);
  Tensor q = m.constant(f);  // [64,10,4,1] OHWI
  const Node* conv = find_node(g, m.tensors[size_t(op.outputs[0])].name);
  ASSERT_NE(conv, nullptr);
  const Tensor& w = g.initializers.at(conv->inputs[1]);
  ASSERT_EQ(w.dtype(), DType::f32);
  ASSERT_EQ(w.shape(), (Shape{64, 1, 10, 4}));
  const float scale = f.quantization.scale[0];
  for (int64_t i = 0; i < q.numel(); ++i)  // I == 1: OHWI and OIHW hold the same order
    ASSERT_FLOAT_EQ(w.data<float>()[i], scale * float(q.data<int8_t>()[i] - f.quantization.zero_point[0]));
}

TEST(TfliteImport, ResnetAddsKeepNhwcAndFullyConnectedIsGemm) {
  MLPERF_MODEL(path, "pretrainedResnet.tflite");
  Graph g = import_tflite(path);
  EXPECT_EQ(op_counts(g)["Add"], 3);
  for (const Node& n : g.nodes)
    if (n.op_type == "Gemm") {
      EXPECT_EQ(n.attr_int("transB"), 1);
      EXPECT_EQ(n.inputs.size(), 3u);
      EXPECT_EQ(g.initializers.at(n.inputs[1]).shape(), (Shape{10, 64}));
    }
  for (const auto& [name, info] : g.value_info) EXPECT_EQ(name.find("/nchw"), std::string::npos) << name;
}

TEST(TfliteImport, Int8ModelImportsOntoInt8OpsInNhwc) {
  MLPERF_MODEL(path, "vww_96_int8.tflite");
  Graph g = import_tflite(path);
  ASSERT_EQ(g.inputs.size(), 1u);
  EXPECT_EQ(g.inputs[0].dtype, DType::i8);
  EXPECT_EQ(g.inputs[0].dims, (Shape{1, 96, 96, 3}));
  EXPECT_EQ(g.outputs[0].dtype, DType::i8);
  std::map<std::string, int> ops;
  for (const auto& n : g.nodes) ++ops[n.op_type];
  EXPECT_EQ(ops["QLinearConvNhwc"], 27);  // 14 convs + 13 depthwise, no layout Transposes
  EXPECT_EQ(ops["Transpose"], 0);
  EXPECT_EQ(ops["QAveragePoolNhwc"], 1);
  EXPECT_EQ(ops["QFullyConnected"], 1);
  EXPECT_EQ(ops["Softmax"], 1);  // in float, between DequantizeLinear and QuantizeLinear
  for (const auto& n : g.nodes)
    if (n.op_type == "QLinearConvNhwc") {
      EXPECT_EQ(n.domain, kEdgekitDomain);
      const Tensor& w = g.initializers.at(n.inputs[3]);
      EXPECT_EQ(w.dtype(), DType::i8);  // weights stay int8 (OIHW)
      EXPECT_EQ(g.initializers.at(n.inputs[4]).numel(), w.dim(0));  // per-channel scales
      EXPECT_EQ(g.initializers.at(n.inputs[8]).dtype(), DType::i32);
    }

  // The parameters stay readable: per-tensor activations, per-channel conv weights.
  std::vector<TfliteTensorQuantization> q = tflite_quantization(read_bytes(path), path);
  int per_channel = 0;
  for (const auto& t : q) {
    ASSERT_TRUE(t.params.quantized()) << t.tensor_name;
    EXPECT_EQ(t.params.zero_point.size(), t.params.scale.size()) << t.tensor_name;
    if (t.params.per_channel()) ++per_channel;
  }
  EXPECT_GE(per_channel, 27);  // every conv and depthwise filter
}

TEST(TfliteImport, AllInt8MlperfModelsImport) {
  for (const char* file : {"ad01_int8.tflite", "kws_ref_model.tflite", "pretrainedResnet_quant.tflite"}) {
    const std::string path = mlperf_dir() + "/" + file;
    if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " not found";
    Graph g = import_tflite(path);
    EXPECT_EQ(g.inputs.at(0).dtype, DType::i8) << file;
    verify(g);
  }
}

// ---- small models written with flatbuffers' builder (field slots 4 + 2 * index)

constexpr flatbuffers::voffset_t slot(int field) { return flatbuffers::voffset_t(4 + 2 * field); }

struct TTensor {
  std::string name;
  std::vector<int32_t> shape;
  int8_t type = 0;              // FLOAT32
  std::vector<uint8_t> data;    // constant data, empty for activations
  std::vector<float> scale;     // quantization
  std::vector<int64_t> zero_point;
  int32_t quantized_dimension = 0;
};

using OptionsWriter = std::function<flatbuffers::uoffset_t(flatbuffers::FlatBufferBuilder&)>;

struct TOp {
  int32_t code;
  std::vector<int32_t> inputs, outputs;
  uint8_t options_type = 0;
  OptionsWriter options;  // writes the options table, returns its offset
};

template <class T>
std::vector<uint8_t> as_bytes(const std::vector<T>& v) {
  std::vector<uint8_t> b(v.size() * sizeof(T));
  std::memcpy(b.data(), v.data(), b.size());
  return b;
}

constexpr uint64_t kPlaceholder = 0x0123456789abcdefULL;

// external: constant data goes after the flatbuffer (Buffer.offset/size), as >2 GB models do.
std::string build_tflite(const std::vector<TTensor>& tensors, const std::vector<TOp>& ops, std::vector<int32_t> inputs,
                         std::vector<int32_t> outputs, bool external = false) {
  flatbuffers::FlatBufferBuilder b;
  using Off = flatbuffers::Offset<void>;
  // Buffers: 0 is the empty sentinel, then one per constant tensor.
  std::vector<Off> buffers;
  std::vector<uint32_t> buffer_of(tensors.size(), 0);
  std::vector<const std::vector<uint8_t>*> external_data;
  auto empty = [&] { return Off(b.EndTable(b.StartTable())); };
  buffers.push_back(empty());
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (tensors[i].data.empty()) continue;
    flatbuffers::uoffset_t data = 0;
    if (!external) {
      b.ForceVectorAlignment(tensors[i].data.size(), 1, 16);
      data = b.CreateVector(tensors[i].data).o;
    }
    auto start = b.StartTable();
    if (external) {
      b.AddElement<uint64_t>(slot(1), kPlaceholder + external_data.size(), 0);
      b.AddElement<uint64_t>(slot(2), tensors[i].data.size(), 0);
      external_data.push_back(&tensors[i].data);
    } else {
      b.AddOffset(slot(0), flatbuffers::Offset<void>(data));
    }
    buffer_of[i] = uint32_t(buffers.size());
    buffers.push_back(Off(b.EndTable(start)));
  }
  std::vector<Off> tensor_offs;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const TTensor& t = tensors[i];
    auto shape = b.CreateVector(t.shape);
    auto name = b.CreateString(t.name);
    flatbuffers::uoffset_t quant = 0;
    if (!t.scale.empty()) {
      auto scale = b.CreateVector(t.scale);
      auto zp = b.CreateVector(t.zero_point);
      auto qs = b.StartTable();
      b.AddOffset(slot(2), scale);
      b.AddOffset(slot(3), zp);
      b.AddElement<int32_t>(slot(6), t.quantized_dimension, 0);
      quant = b.EndTable(qs);
    }
    auto start = b.StartTable();
    b.AddOffset(slot(0), shape);
    b.AddElement<int8_t>(slot(1), t.type, 0);
    b.AddElement<uint32_t>(slot(2), buffer_of[i], 0);
    b.AddOffset(slot(3), name);
    if (quant) b.AddOffset(slot(4), Off(quant));
    tensor_offs.push_back(Off(b.EndTable(start)));
  }
  std::map<int32_t, uint32_t> code_index;
  std::vector<Off> codes;
  std::vector<Off> op_offs;
  for (const TOp& op : ops) {
    if (!code_index.count(op.code)) {
      auto start = b.StartTable();
      b.AddElement<int8_t>(slot(0), int8_t(std::min(op.code, 127)), 0);
      b.AddElement<int32_t>(slot(2), 1, 1);
      b.AddElement<int32_t>(slot(3), op.code, 0);
      code_index[op.code] = uint32_t(codes.size());
      codes.push_back(Off(b.EndTable(start)));
    }
    auto ins = b.CreateVector(op.inputs);
    auto outs = b.CreateVector(op.outputs);
    flatbuffers::uoffset_t opts = op.options ? op.options(b) : 0;
    auto start = b.StartTable();
    b.AddElement<uint32_t>(slot(0), code_index[op.code], 0);
    b.AddOffset(slot(1), ins);
    b.AddOffset(slot(2), outs);
    if (opts) {
      b.AddElement<uint8_t>(slot(3), op.options_type, 0);
      b.AddOffset(slot(4), Off(opts));
    }
    op_offs.push_back(Off(b.EndTable(start)));
  }
  auto tv = b.CreateVector(tensor_offs);
  auto iv = b.CreateVector(inputs);
  auto ov = b.CreateVector(outputs);
  auto opv = b.CreateVector(op_offs);
  auto sgname = b.CreateString("main");
  auto sg_start = b.StartTable();
  b.AddOffset(slot(0), tv);
  b.AddOffset(slot(1), iv);
  b.AddOffset(slot(2), ov);
  b.AddOffset(slot(3), opv);
  b.AddOffset(slot(4), sgname);
  std::vector<Off> subgraphs{Off(b.EndTable(sg_start))};
  auto sgv = b.CreateVector(subgraphs);
  auto cv = b.CreateVector(codes);
  auto bv = b.CreateVector(buffers);
  auto desc = b.CreateString("edgekit test");
  auto m = b.StartTable();
  b.AddElement<uint32_t>(slot(0), 3, 0);
  b.AddOffset(slot(1), cv);
  b.AddOffset(slot(2), sgv);
  b.AddOffset(slot(3), desc);
  b.AddOffset(slot(4), bv);
  b.Finish(flatbuffers::Offset<void>(b.EndTable(m)), "TFL3");
  std::string bytes(reinterpret_cast<const char*>(b.GetBufferPointer()), b.GetSize());
  // Append external data (16-byte aligned) and patch the placeholder offsets to point at it.
  for (size_t k = 0; k < external_data.size(); ++k) {
    bytes.resize((bytes.size() + 15) / 16 * 16, '\0');
    uint64_t at = bytes.size(), marker = kPlaceholder + k;
    size_t pos = bytes.find(std::string(reinterpret_cast<const char*>(&marker), 8));
    EXPECT_NE(pos, std::string::npos);
    std::memcpy(bytes.data() + pos, &at, 8);
    bytes.append(reinterpret_cast<const char*>(external_data[k]->data()), external_data[k]->size());
  }
  return bytes;
}

OptionsWriter table_of(std::function<void(flatbuffers::FlatBufferBuilder&)> fields) {
  return [fields](flatbuffers::FlatBufferBuilder& b) {
    auto start = b.StartTable();
    fields(b);
    return b.EndTable(start);
  };
}

std::vector<float> iota_floats(size_t n) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = float(i) * 0.5f - 3.0f;
  return v;
}

TEST(TfliteImport, SmallConvWithMaxPoolAndConstantsOutsideTheFlatbuffer) {
  // x[1,5,5,2] -> CONV_2D (3 filters 3x3, stride 2, SAME, RELU6) -> MAX_POOL_2D 2x2 VALID
  for (bool external : {false, true}) {
    std::vector<TTensor> t = {
        {"x", {1, 5, 5, 2}},
        {"w", {3, 3, 3, 2}, 0, as_bytes(iota_floats(54))},
        {"b", {3}, 0, as_bytes(std::vector<float>{1, 2, 3})},
        {"c", {1, 3, 3, 3}},
        {"p", {1, 1, 1, 3}},
    };
    TOp conv{3, {0, 1, 2}, {3}, 1, table_of([](flatbuffers::FlatBufferBuilder& b) {
               b.AddElement<int8_t>(slot(0), 0, 0);   // SAME
               b.AddElement<int32_t>(slot(1), 2, 0);  // stride_w
               b.AddElement<int32_t>(slot(2), 2, 0);  // stride_h
               b.AddElement<int8_t>(slot(3), 3, 0);   // RELU6
             })};
    TOp pool{17, {3}, {4}, 5, table_of([](flatbuffers::FlatBufferBuilder& b) {
               b.AddElement<int8_t>(slot(0), 1, 0);  // VALID
               b.AddElement<int32_t>(slot(1), 2, 0);
               b.AddElement<int32_t>(slot(2), 2, 0);
               b.AddElement<int32_t>(slot(3), 2, 0);
               b.AddElement<int32_t>(slot(4), 2, 0);
             })};
    Graph g = import_tflite_bytes(build_tflite(t, {conv, pool}, {0}, {4}, external), "small.tflite");
    std::vector<std::string> ops;
    for (const Node& n : g.nodes) ops.push_back(n.op_type);
    // Conv's NCHW result feeds the pool directly: no Transpose pair between them.
    EXPECT_EQ(ops, (std::vector<std::string>{"Transpose", "Conv", "Clip", "MaxPool", "Transpose"}));
    const Node& c = g.nodes[1];
    EXPECT_EQ(c.name, "c");
    EXPECT_EQ(c.attr_ints("pads"), (std::vector<int64_t>{1, 1, 1, 1}));  // (3-1)*2+3-5 = 2
    EXPECT_EQ(c.attr_ints("strides"), (std::vector<int64_t>{2, 2}));
    EXPECT_EQ(c.attr_ints("kernel_shape"), (std::vector<int64_t>{3, 3}));
    const Tensor& w = g.initializers.at(c.inputs[1]);
    EXPECT_EQ(w.shape(), (Shape{3, 2, 3, 3}));
    // w_oihw[1][1][2][0] == w_ohwi[1][2][0][1]
    EXPECT_EQ(w.data<float>()[((1 * 2 + 1) * 3 + 2) * 3 + 0], iota_floats(54)[((1 * 3 + 2) * 3 + 0) * 2 + 1]);
    EXPECT_EQ(g.initializers.at(c.inputs[2]).data<float>()[2], 3.0f);
    EXPECT_EQ(g.nodes[3].name, "p");
    EXPECT_EQ(g.nodes[3].attr_ints("pads"), (std::vector<int64_t>{0, 0, 0, 0}));
    EXPECT_EQ(g.nodes.back().outputs[0], "p");
    EXPECT_EQ(g.outputs[0].dims, (Shape{1, 1, 1, 3}));  // TFLite tensors stay NHWC
  }
}

// x[2,3,4] -> PAD -> MEAN(axis 1, keep) -> TRANSPOSE -> STRIDED_SLICE(shrink 0) -> SQUEEZE
std::string shape_ops_model() {
  std::vector<TTensor> t = {
      {"x", {2, 3, 4}},
      {"paddings", {3, 2}, 2, as_bytes(std::vector<int32_t>{0, 0, 1, 2, 0, 1})},
      {"padded", {2, 6, 5}},
      {"axes", {1}, 2, as_bytes(std::vector<int32_t>{-2})},
      {"mean", {2, 1, 5}},
      {"perm", {3}, 2, as_bytes(std::vector<int32_t>{2, 0, 1})},
      {"transposed", {5, 2, 1}},
      {"begin", {3}, 2, as_bytes(std::vector<int32_t>{-1, 0, 0})},
      {"end", {3}, 2, as_bytes(std::vector<int32_t>{0, 0, 0})},
      {"strides", {3}, 2, as_bytes(std::vector<int32_t>{1, 1, 1})},
      {"sliced", {2, 1}},
      {"squeezed", {2}},
  };
  std::vector<TOp> ops = {
      {34, {0, 1}, {2}},
      {40, {2, 3}, {4}, 27, table_of([](flatbuffers::FlatBufferBuilder& b) { b.AddElement<uint8_t>(slot(0), 1, 0); })},
      {39, {4, 5}, {6}},
      {45, {6, 7, 8, 9}, {10}, 32, table_of([](flatbuffers::FlatBufferBuilder& b) {
         b.AddElement<int32_t>(slot(1), 6, 0);  // end_mask: dims 1, 2
         b.AddElement<int32_t>(slot(4), 1, 0);  // shrink_axis_mask: dim 0
       })},
      {43, {10}, {11}, 30, [](flatbuffers::FlatBufferBuilder& b) {
         auto dims = b.CreateVector(std::vector<int32_t>{1});  // vectors before the table that holds them
         auto start = b.StartTable();
         b.AddOffset(slot(0), dims);
         return b.EndTable(start);
       }},
  };
  return build_tflite(t, ops, {0}, {11});
}

TEST(TfliteImport, ShapeOpsMapToOnnxInputsAndAttributes) {
  Graph g = import_tflite_bytes(shape_ops_model(), "shapes.tflite");
  std::vector<std::string> types;
  for (const Node& n : g.nodes) types.push_back(n.op_type);
  EXPECT_EQ(types, (std::vector<std::string>{"Pad", "ReduceMean", "Transpose", "Slice", "Squeeze", "Squeeze"}));
  const Node& pad = g.nodes[0];
  EXPECT_EQ(g.initializers.at(pad.inputs[1]).to_int_vector(), (std::vector<int64_t>{0, 1, 0, 0, 2, 1}));
  EXPECT_EQ(pad.attr_string("mode"), "constant");
  EXPECT_EQ(g.nodes[1].attr_ints("axes"), (std::vector<int64_t>{1}));
  EXPECT_EQ(g.nodes[1].attr_int("keepdims"), 1);
  EXPECT_EQ(g.nodes[2].attr_ints("perm"), (std::vector<int64_t>{2, 0, 1}));
  const Node& slice = g.nodes[3];
  const int64_t kMax = std::numeric_limits<int64_t>::max();
  EXPECT_EQ(g.initializers.at(slice.inputs[1]).to_int_vector(), (std::vector<int64_t>{-1, 0, 0}));
  EXPECT_EQ(g.initializers.at(slice.inputs[2]).to_int_vector(), (std::vector<int64_t>{kMax, kMax, kMax}));
  EXPECT_EQ(g.initializers.at(g.nodes[4].inputs[1]).to_int_vector(), (std::vector<int64_t>{0}));
  EXPECT_EQ(g.nodes[4].outputs[0], "sliced");
  EXPECT_EQ(g.initializers.at(g.nodes[5].inputs[1]).to_int_vector(), (std::vector<int64_t>{1}));
  EXPECT_EQ(g.outputs[0].name, "squeezed");
  EXPECT_EQ(g.outputs[0].dims, (Shape{2}));
}

TEST(TfliteImport, FullyConnectedFlattensAndKeepsDims) {
  // x[2,3,4] -> FULLY_CONNECTED(w[5,4], keep_num_dims) -> y[2,3,5], then SOFTMAX(beta 2)
  std::vector<TTensor> t = {
      {"x", {2, 3, 4}},
      {"w", {5, 4}, 0, as_bytes(iota_floats(20))},
      {"y", {2, 3, 5}},
      {"s", {2, 3, 5}},
  };
  std::vector<TOp> ops = {
      {9, {0, 1, -1}, {2}, 8, table_of([](flatbuffers::FlatBufferBuilder& b) {
         b.AddElement<int8_t>(slot(0), 1, 0);   // RELU
         b.AddElement<uint8_t>(slot(2), 1, 0);  // keep_num_dims
       })},
      {25, {2}, {3}, 9, table_of([](flatbuffers::FlatBufferBuilder& b) { b.AddElement<float>(slot(0), 2.0f, 0.0f); })},
  };
  Graph g = import_tflite_bytes(build_tflite(t, ops, {0}, {3}), "fc.tflite");
  std::vector<std::string> types;
  for (const Node& n : g.nodes) types.push_back(n.op_type);
  EXPECT_EQ(types, (std::vector<std::string>{"Reshape", "Gemm", "Reshape", "Relu", "Mul", "Softmax"}));
  EXPECT_EQ(g.initializers.at(g.nodes[0].inputs[1]).to_int_vector(), (std::vector<int64_t>{-1, 4}));
  EXPECT_EQ(g.nodes[1].inputs.size(), 2u);  // the absent bias is left out
  EXPECT_EQ(g.nodes[1].name, "y");
  EXPECT_EQ(g.initializers.at(g.nodes[2].inputs[1]).to_int_vector(), (std::vector<int64_t>{2, 3, 5}));
  EXPECT_EQ(g.nodes[3].outputs[0], "y");
  EXPECT_EQ(g.initializers.at(g.nodes[4].inputs[1]).data<float>()[0], 2.0f);
  EXPECT_EQ(g.nodes[5].attr_int("axis"), -1);
}

TEST(TfliteImport, DequantizeOfInt8WeightsAndUnnamedTensors) {
  std::vector<TTensor> t = {
      {"", {1, 2}},  // unnamed input
      {"wq", {2, 2}, 9, as_bytes(std::vector<int8_t>{1, 3, -1, 5}), {0.5f}, {1}},
      {"w", {2, 2}},
      {"y", {1, 2}},
  };
  Graph g = import_tflite_bytes(build_tflite(t, {{6, {1}, {2}}, {9, {0, 2, -1}, {3}}}, {0}, {3}), "dq.tflite");
  EXPECT_EQ(g.inputs[0].name, "tensor_0");
  ASSERT_EQ(g.nodes.size(), 2u);
  EXPECT_EQ(g.nodes[0].op_type, "Identity");
  EXPECT_EQ(g.nodes[0].name, "w");
  EXPECT_EQ(g.nodes[1].op_type, "Gemm");
  const Tensor& w = g.initializers.at("wq");
  ASSERT_EQ(w.dtype(), DType::f32);
  EXPECT_EQ(std::vector<float>(w.data<float>(), w.data<float>() + 4), (std::vector<float>{0, 1, -1, 2}));
}

TEST(TfliteImport, PerChannelHybridWeightsDequantizeAlongTheirDimension) {
  // FULLY_CONNECTED with int8 weights [3,2]: quantized per row (dim 0), then per column (dim 1).
  for (int dim : {0, 1}) {
    std::vector<float> scale = dim == 0 ? std::vector<float>{0.5f, 1.0f, 2.0f} : std::vector<float>{0.25f, 4.0f};
    std::vector<int64_t> zp = dim == 0 ? std::vector<int64_t>{0, 1, -1} : std::vector<int64_t>{2, 0};
    std::vector<TTensor> t = {
        {"x", {1, 2}},
        {"w", {3, 2}, 9, as_bytes(std::vector<int8_t>{1, 2, 3, 4, 5, 6}), scale, zp, dim},
        {"y", {1, 3}},
    };
    Graph g = import_tflite_bytes(build_tflite(t, {{9, {0, 1, -1}, {2}}}, {0}, {2}), "pc.tflite");
    const Tensor& w = g.initializers.at("w");
    ASSERT_EQ(w.dtype(), DType::f32);
    std::vector<float> want(6);
    for (int i = 0; i < 6; ++i) {
      int c = dim == 0 ? i / 2 : i % 2;
      want[size_t(i)] = scale[size_t(c)] * float(i + 1 - zp[size_t(c)]);
    }
    EXPECT_EQ(std::vector<float>(w.data<float>(), w.data<float>() + 6), want) << "dim " << dim;
    auto q = tflite_quantization(build_tflite(t, {{9, {0, 1, -1}, {2}}}, {0}, {2}), "pc.tflite");
    ASSERT_EQ(q.size(), 1u);
    EXPECT_EQ(q[0].tensor_name, "w");
    EXPECT_EQ(q[0].params.quantized_dimension, dim);
    EXPECT_EQ(q[0].params.scale, scale);
    EXPECT_EQ(q[0].params.zero_point, zp);
  }
}

TEST(TfliteImport, UnsupportedOpNamesCodeAndIndex) {
  std::vector<TTensor> t = {{"x", {1, 4, 4, 1}}, {"size", {2}, 2, as_bytes(std::vector<int32_t>{8, 8})}, {"y", {1, 8, 8, 1}}};
  std::string msg = error_of([&] {
    import_tflite_bytes(build_tflite(t, {{23, {0, 1}, {2}}}, {0}, {2}), "resize.tflite");
  });
  EXPECT_NE(msg.find("resize.tflite: operator 0 (RESIZE_BILINEAR, output 'y')"), std::string::npos) << msg;
  EXPECT_NE(msg.find("not supported"), std::string::npos) << msg;
}

TEST(TfliteImport, QuantizeOpBecomesQuantizeLinear) {
  std::vector<TTensor> t = {{"x", {1, 4}}, {"q", {1, 4}, 9, {}, {0.5f}, {3}}};
  Graph g = import_tflite_bytes(build_tflite(t, {{114, {0}, {1}}}, {0}, {1}), "q.tflite");
  ASSERT_EQ(g.nodes.size(), 1u);
  EXPECT_EQ(g.nodes[0].op_type, "QuantizeLinear");
  EXPECT_EQ(g.outputs[0].dtype, DType::i8);
  const Node& n = g.nodes[0];
  Tensor y = run_node(n, {Tensor::from<float>({0.f, 1.f, -1.25f, 100.f}, {1, 4}), g.initializers.at(n.inputs[1]),
                          g.initializers.at(n.inputs[2])})
                 .at(0);
  EXPECT_EQ(std::vector<int>(y.data<int8_t>(), y.data<int8_t>() + 4), (std::vector<int>{3, 5, 1, 127}));
}

TEST(TfliteImport, Int16ActivationsAreRefused) {
  std::vector<TTensor> t = {{"x", {1, 4}}, {"q", {1, 4}, 7, {}, {0.5f}, {0}}};  // INT16
  std::string msg = error_of([&] { import_tflite_bytes(build_tflite(t, {{114, {0}, {1}}}, {0}, {1}), "q.tflite"); });
  EXPECT_NE(msg.find("tensor 1 'q' (INT16, scale 0.5, zero point 0) of operator 0 (QUANTIZE) is not supported"),
            std::string::npos)
      << msg;
}

TEST(TfliteImport, WrongSizedConstantIsAnError) {
  std::vector<TTensor> t = {{"x", {1, 4}}, {"w", {3, 4}, 0, as_bytes(iota_floats(11))}, {"y", {1, 3}}};
  std::string msg = error_of([&] { import_tflite_bytes(build_tflite(t, {{9, {0, 1, -1}, {2}}}, {0}, {2}), "fc.tflite"); });
  EXPECT_NE(msg.find("tensor 'w' shape [3,4] (FLOAT32) needs 48 bytes, its buffer has 44"), std::string::npos) << msg;
}

// ---- hostile files

void expect_error_or_graph(const std::string& bytes, const std::string& what) {
  try {
    Graph g = import_tflite_bytes(bytes, "hostile.tflite");
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << what;
  } catch (const std::exception& e) {
    ADD_FAILURE() << what << ": non-edgekit exception " << typeid(e).name() << ": " << e.what();
  }
}

TEST(TfliteImport, NotTfliteAndTooShort) {
  EXPECT_NE(error_of([] { import_tflite_bytes("", "e.tflite"); }).find("too short"), std::string::npos);
  EXPECT_NE(error_of([] { import_tflite_bytes(std::string(64, 'x'), "x.tflite"); }).find("TFL3"), std::string::npos);
  EXPECT_NE(error_of([] { import_tflite("/nonexistent/model.tflite"); }).find("cannot open"), std::string::npos);
}

TEST(TfliteImport, TruncatedFilesThrow) {
  MLPERF_MODEL(path, "kws_ref_model_float32.tflite");
  std::string bytes = read_bytes(path);
  ASSERT_FALSE(bytes.empty());
  for (size_t n = 0; n < bytes.size(); n += (n < 256 ? 1 : 97)) {
    std::string msg = error_of([&] { import_tflite_bytes(bytes.substr(0, n), "cut.tflite"); });
    EXPECT_FALSE(msg.empty()) << "truncated to " << n << " bytes imported without error";
  }
}

TEST(TfliteImport, FlippedBytesNeverCrash) {
  MLPERF_MODEL(path, "kws_ref_model_float32.tflite");
  const std::string bytes = read_bytes(path);
  // Every byte of the flatbuffer's structure region, every 7th byte elsewhere.
  for (size_t i = 0; i < bytes.size(); i += (i < 2048 || i + 4096 > bytes.size() ? 1 : 7)) {
    std::string b = bytes;
    b[i] = char(b[i] ^ 0xff);
    expect_error_or_graph(b, cat("byte ", i, " inverted"));
  }
  std::mt19937 rng(1234);
  for (int trial = 0; trial < 300; ++trial) {
    std::string b = bytes;
    for (int k = 0; k < 8; ++k) b[rng() % b.size()] = char(rng());
    expect_error_or_graph(b, cat("random trial ", trial));
  }
}

TEST(TfliteImport, EveryByteOfASmallModelFlipped) {
  const std::string bytes = shape_ops_model();
  ASSERT_NO_THROW(import_tflite_bytes(bytes, "shapes.tflite"));
  for (size_t i = 0; i < bytes.size(); ++i)
    for (int v : {0x00, 0x01, 0x80, 0xff}) {
      std::string b = bytes;
      b[i] = char(v);
      expect_error_or_graph(b, cat("byte ", i, " set to ", v));
    }
  for (size_t n = 0; n < bytes.size(); ++n)
    EXPECT_FALSE(error_of([&] { import_tflite_bytes(bytes.substr(0, n), "cut.tflite"); }).empty()) << n;
}

TEST(TfliteImport, FlippedBytesInEveryFloatModel) {
  for (const char* file : {"ad01_fp32.tflite", "pretrainedResnet.tflite", "vww_96_float.tflite"}) {
    const std::string path = mlperf_dir() + "/" + file;
    if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " not found";
    const std::string bytes = read_bytes(path);
    std::mt19937 rng(99);
    for (int trial = 0; trial < 150; ++trial) {
      std::string b = bytes;
      // Aim at the structure: the tables sit after the weight buffers in converter output,
      // so half the flips go to the last 16 KB.
      size_t tail = std::min<size_t>(b.size(), 16384);
      for (int k = 0; k < 4; ++k) {
        size_t at = trial % 2 ? b.size() - 1 - rng() % tail : rng() % b.size();
        b[at] = char(rng());
      }
      expect_error_or_graph(b, cat(file, " trial ", trial));
    }
  }
}

}  // namespace
}  // namespace edgekit
