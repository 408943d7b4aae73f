// TFLite float import: walks the main subgraph's operators in order and emits, for each, the
// ONNX-style nodes (opset 14) that compute the same thing. The reading of the flatbuffer and
// every bounds check live in tflite_reader.cpp; this file only maps ops.
//
// Layout: TFLite activations are NHWC, edgekit's Conv/MaxPool/AveragePool are NCHW as in ONNX.
// Each such op reads its input through a Transpose to NCHW and writes its output through a
// Transpose back to NHWC, so every TFLite tensor keeps its layout and shape. The importer
// remembers, for each NHWC value, an NCHW twin when one exists; a following conv reads the twin
// directly, and Transposes left without a reader are dropped at the end.
#include "formats/tflite/tflite_import.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <unordered_set>

#include "formats/tflite/tflite_reader.h"
#include "formats/tflite/tflite_schema.h"

namespace edgekit {
namespace {

using namespace tflite;

constexpr int kOpset = 14;  // of the default ONNX domain; HardSwish and Reshape's allowzero need 14
constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();
constexpr int64_t kInt64Min = std::numeric_limits<int64_t>::min();

// ONNX TensorProto.DataType codes, for Cast's "to".
int64_t onnx_dtype_code(DType t) {
  switch (t) {
    case DType::f32: return 1;
    case DType::u8: return 2;
    case DType::i8: return 3;
    case DType::u16: return 4;
    case DType::i16: return 5;
    case DType::i32: return 6;
    case DType::i64: return 7;
    case DType::boolean: return 9;
    case DType::f16: return 10;
    case DType::f64: return 11;
    case DType::u32: return 12;
    case DType::u64: return 13;
    default: return 0;
  }
}

// out[i0..] = in[perm-ed index]: out dim i is in dim perm[i]. Used to convert constant weights.
Tensor permute(const Tensor& in, const std::vector<int64_t>& perm) {
  const size_t r = in.rank(), es = dtype_size(in.dtype());
  Shape out_shape(r);
  std::vector<int64_t> in_strides(r, 1);
  for (size_t i = r; i-- > 1;) in_strides[i - 1] = in_strides[i] * in.shape()[i];
  std::vector<int64_t> src_stride(r);
  for (size_t i = 0; i < r; ++i) {
    out_shape[i] = in.shape()[size_t(perm[i])];
    src_stride[i] = in_strides[size_t(perm[i])];
  }
  Tensor out(in.dtype(), out_shape);
  if (out.numel() == 0) return out;
  const auto* src = static_cast<const uint8_t*>(in.raw());
  auto* dst = static_cast<uint8_t*>(out.raw());
  std::vector<int64_t> idx(r, 0);
  for (int64_t n = 0, total = out.numel(); n < total; ++n) {
    int64_t off = 0;
    for (size_t i = 0; i < r; ++i) off += idx[i] * src_stride[i];
    std::memcpy(dst + size_t(n) * es, src + size_t(off) * es, es);
    for (size_t i = r; i-- > 0;) {  // odometer over the output index
      if (++idx[i] < out_shape[i]) break;
      idx[i] = 0;
    }
  }
  return out;
}

// a + b clamped to int64's range (slice bounds from hostile int64 constants must not overflow).
int64_t saturating_add(int64_t a, int64_t b) {
  int64_t r;
  if (!__builtin_add_overflow(a, b, &r)) return r;
  return b > 0 ? kInt64Max : kInt64Min;
}

std::string file_stem(const std::string& path) {
  std::string base = path.substr(path.find_last_of('/') + 1);
  size_t dot = base.rfind('.');
  return dot == std::string::npos || dot == 0 ? base : base.substr(0, dot);
}

// Explicit (begin, end) padding of one spatial dim as TFLite computes it for SAME: the output
// is ceil(in / stride) and the odd pixel goes at the end. VALID pads nothing.
std::pair<int64_t, int64_t> same_pads(int64_t in, int64_t k, int64_t stride, int64_t dilation) {
  int64_t effective = (k - 1) * dilation + 1, out = (in + stride - 1) / stride;
  int64_t total = std::max<int64_t>((out - 1) * stride + effective - in, 0);
  return {total / 2, total - total / 2};
}

class Importer {
 public:
  explicit Importer(const ModelInfo& m) : m_(m) {}

  Graph run() {
    refuse_quantized();
    name_tensors();
    g_.name = file_stem(m_.display_name);
    g_.source_format = "tflite";
    g_.producer = m_.description;
    g_.opsets[""] = kOpset;
    g_.metadata["tflite.description"] = m_.description;
    g_.metadata["tflite.schema_version"] = std::to_string(m_.schema_version);
    g_.metadata["tflite.subgraph"] = m_.subgraph_name;
    g_.metadata["tflite.subgraph_count"] = std::to_string(m_.subgraph_count);
    for (const auto& [k, v] : m_.metadata) g_.metadata["tflite.metadata." + k] = v;

    for (int idx : m_.inputs) {
      const TensorInfo& t = m_.tensors[size_t(idx)];
      EK_CHECK(!m_.constant_data(t).first, m_.display_name, ": graph input '", t.name, "' is a constant tensor");
      g_.inputs.push_back(value_info(t));
    }
    for (const OperatorInfo& op : m_.operators) {
      op_ = &op;
      convert();
      for (int o : op.outputs)
        if (o >= 0) g_.value_info[names_[size_t(o)]] = value_info(m_.tensors[size_t(o)]);
    }
    op_ = nullptr;
    for (int idx : m_.outputs) {
      const TensorInfo& t = m_.tensors[size_t(idx)];
      if (m_.constant_data(t).first) materialize(t);
      g_.outputs.push_back(value_info(t));
      g_.value_info.erase(names_[size_t(idx)]);
    }
    drop_unread_layout_nodes();
    if (dequantized_) g_.metadata["tflite.dequantized_weights"] = std::to_string(dequantized_);
    try {
      verify(g_);
    } catch (const Error& e) {
      fail(m_.display_name, ": ", e.what());
    }
    return std::move(g_);
  }

 private:
  // ---- checks before anything is built

  // Quantized activations of 8 bits (int8, uint8) become edgekit's int8 ops (see "int8
  // operators" below); other quantized activations (int16) are refused. Quantized constants
  // feeding an op with float outputs are weights of a dynamic-range ("hybrid") model: they are
  // dequantized once at import and the op runs in float.
  void refuse_quantized() const {
    for (const OperatorInfo& op : m_.operators) {
      bool float_outputs = std::all_of(op.outputs.begin(), op.outputs.end(), [&](int o) {
        return o < 0 || is_float(m_.tensors[size_t(o)].dtype);
      });
      std::vector<int> tensors = op.inputs;
      tensors.insert(tensors.end(), op.outputs.begin(), op.outputs.end());
      for (int idx : tensors) {
        if (idx < 0) continue;
        const TensorInfo& t = m_.tensors[size_t(idx)];
        const TfliteQuantization& q = t.quantization;
        if (!q.quantized() || is_float(t.dtype)) continue;
        const bool constant = m_.constant_data(t).first != nullptr;
        if (float_outputs && constant) continue;
        if ((t.dtype == DType::i8 || t.dtype == DType::u8) && (constant || !q.per_channel())) continue;
        if (t.dtype == DType::i32 && constant) continue;  // int32 biases of int8 ops
        fail(m_.display_name, ": quantized tensor ", idx, " '", t.name, "' (", tensor_type_name(t.type), ", ",
             q.per_channel() ? cat(q.scale.size(), " per-channel scales along dim ", q.quantized_dimension)
                             : cat("scale ", q.scale[0], ", zero point ", q.zero_point.empty() ? 0 : q.zero_point[0]),
             ") of operator ", op.index, " (", op.op_name(),
             ") is not supported: edgekit imports 8-bit quantized activations (int8, uint8), per tensor");
      }
    }
  }

  // A constant's value as the graph uses it: quantized weights (hybrid models) as float,
  // real = scale[c] * (q - zero_point[c]) with c the index along quantized_dimension.
  Tensor constant_value(const TensorInfo& t) {
    Tensor raw = m_.constant(t);
    const TfliteQuantization& q = t.quantization;
    if (!q.quantized() || is_float(t.dtype)) return raw;
    Tensor out(DType::f32, raw.shape());
    float* dst = out.data<float>();
    const size_t channels = q.scale.size();
    int64_t inner = 1;  // elements per channel step
    if (channels > 1)
      for (size_t d = size_t(q.quantized_dimension) + 1; d < raw.rank(); ++d) inner *= raw.shape()[d];
    visit_numeric(raw.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* src = raw.data<T>();
      for (int64_t i = 0, n = raw.numel(); i < n; ++i) {
        size_t c = channels > 1 ? size_t(i / inner) % channels : 0;
        int64_t zp = q.zero_point.empty() ? 0 : q.zero_point[c];
        dst[i] = float(double(q.scale[c]) * (double(src[i]) - double(zp)));  // no int overflow on hostile zero points
      }
    });
    ++dequantized_;
    return out;
  }

  // Value names: the tensor's name, made unique (TFLite allows empty and repeated names).
  void name_tensors() {
    names_.resize(m_.tensors.size());
    raw_name_.resize(m_.tensors.size());
    for (const TensorInfo& t : m_.tensors) names_[size_t(t.index)] = fresh(t.name.empty() ? cat("tensor_", t.index) : t.name);
  }

  std::string fresh(const std::string& base) {
    std::string name = base;
    for (int i = 1; !used_names_.insert(name).second; ++i) name = cat(base, "_", i);
    return name;
  }

  ValueInfo value_info(const TensorInfo& t) const {
    EK_CHECK(t.dtype != DType::undefined, m_.display_name, ": tensor ", t.index, " '", t.name, "' has type ",
             tensor_type_name(t.type), ", which edgekit does not support");
    ValueInfo v;
    v.name = names_[size_t(t.index)];
    v.dtype = t.dtype;
    v.dims = t.shape;
    return v;
  }

  // ---- per-operator context

  template <class... Args>
  [[noreturn]] void op_fail(const Args&... args) const {
    if (!op_) fail(m_.display_name, ": ", args...);  // graph outputs are handled outside any operator
    std::string out = !op_->outputs.empty() && op_->outputs[0] >= 0 ? names_[size_t(op_->outputs[0])] : "";
    fail(m_.display_name, ": operator ", op_->index, " (", op_->op_name(), ", output '", out, "'): ", args...);
  }

  bool has_in(size_t i) const { return i < op_->inputs.size() && op_->inputs[i] >= 0; }
  const TensorInfo& tin(size_t i) const {
    if (!has_in(i)) op_fail("input ", i, " is missing (", op_->inputs.size(), " inputs given)");
    return m_.tensors[size_t(op_->inputs[i])];
  }
  const TensorInfo& tout(size_t i) const {
    if (i >= op_->outputs.size() || op_->outputs[i] < 0) op_fail("output ", i, " is missing");
    return m_.tensors[size_t(op_->outputs[i])];
  }
  bool is_const(size_t i) const { return has_in(i) && m_.constant_data(tin(i)).first; }
  Tensor const_in(size_t i, const char* what) const {
    if (!is_const(i)) op_fail("the ", what, " (input ", i, ") must be a constant tensor");
    return m_.constant(tin(i));
  }
  std::vector<int64_t> const_ints(size_t i, const char* what) const {
    Tensor t = const_in(i, what);
    if (t.dtype() != DType::i32 && t.dtype() != DType::i64)
      op_fail("the ", what, " (input ", i, ") must be int32 or int64, got ", dtype_name(t.dtype()));
    return t.to_int_vector();
  }
  int rank_of(size_t i) const { return int(tin(i).shape.size()); }

  // Value name of input i ("" when absent); constants become initializers on first use.
  std::string in(size_t i) {
    if (!has_in(i)) return "";
    const TensorInfo& t = tin(i);
    if (m_.constant_data(t).first) return materialize(t);
    return names_[size_t(t.index)];
  }
  std::string out(size_t i) const {
    tout(i);
    return names_[size_t(op_->outputs[i])];
  }

  const std::string& materialize(const TensorInfo& t) {
    std::string& name = raw_name_[size_t(t.index)];
    if (name.empty()) {
      if (t.is_sparse) op_fail("sparse tensor '", t.name, "' is not supported");
      name = converted_names_.count(names_[size_t(t.index)]) ? fresh(names_[size_t(t.index)] + "/raw")
                                                             : names_[size_t(t.index)];
      converted_names_.insert(name);
      g_.initializers[name] = constant_value(t);
    }
    return name;
  }

  // A constant input converted by `perm`, made once and named after the tensor when free.
  std::string permuted_const(size_t i, const std::vector<int64_t>& perm) {
    const TensorInfo& t = tin(i);
    auto key = std::make_pair(t.index, perm);
    auto it = permuted_.find(key);
    if (it != permuted_.end()) return it->second;
    const std::string& base = names_[size_t(t.index)];
    std::string name = raw_name_[size_t(t.index)].empty() && !converted_names_.count(base) ? base : fresh(base + "/t");
    converted_names_.insert(name);
    g_.initializers[name] = permute(constant_value(t), perm);
    return permuted_[key] = name;
  }

  std::string add_const(Tensor t, const std::string& base) {
    std::string name = fresh(base);
    g_.initializers[name] = std::move(t);
    return name;
  }
  std::string ints_const(const std::vector<int64_t>& v, const std::string& base) {
    return add_const(Tensor::from<int64_t>(v, {int64_t(v.size())}), base);
  }
  std::string float_scalar(float v) {
    uint32_t bits;  // keyed by bits: a hostile NaN must not break the map's ordering
    std::memcpy(&bits, &v, 4);
    auto it = float_scalars_.find(bits);
    if (it != float_scalars_.end()) return it->second;
    return float_scalars_[bits] = add_const(Tensor::scalar<float>(v), cat("tflite/const_", v));
  }

  Node& emit(const std::string& op_type, std::vector<std::string> inputs, std::vector<std::string> outputs,
             const std::string& name) {
    while (!inputs.empty() && inputs.back().empty()) inputs.pop_back();  // trailing absent inputs
    std::string unique = name;
    for (int i = 1; !node_names_.insert(unique).second; ++i) unique = cat(name, "_", i);
    Node& n = g_.add_node(op_type, std::move(inputs), std::move(outputs), unique);
    n.opset = kOpset;
    return n;
  }

  // The builtin options table, checked to be of the type the op expects (absent is allowed:
  // every field then takes its schema default).
  FlatTable options(OptionsType expected) const {
    if (op_->options_type == 0) return {};
    if (op_->options_type != uint8_t(expected))
      op_fail("builtin options of union type ", int(op_->options_type), ", expected ", int(expected));
    return op_->options;
  }

  // ---- fused activations

  // Where an op's result goes so that its fused activation can follow and write `y`.
  std::string before_activation(int act, const std::string& y) { return act == 0 ? y : fresh(y + "/pre_act"); }

  void activation(int act, const std::string& x, const std::string& y) {
    switch (Activation(act)) {
      case Activation::NONE: return;
      case Activation::RELU: emit("Relu", {x}, {y}, y + "/Relu"); return;
      case Activation::RELU6: emit("Clip", {x, float_scalar(0), float_scalar(6)}, {y}, y + "/Relu6"); return;
      case Activation::RELU_N1_TO_1: emit("Clip", {x, float_scalar(-1), float_scalar(1)}, {y}, y + "/Relu1"); return;
      case Activation::TANH: emit("Tanh", {x}, {y}, y + "/Tanh"); return;
      default: op_fail("fused activation ", act, " (SIGN_BIT or unknown) is not supported");
    }
  }

  // ---- layout

  std::string to_nchw(const std::string& v) {
    auto it = nchw_of_.find(v);
    if (it != nchw_of_.end()) return it->second;
    std::string y = fresh(v + "/nchw");
    Node& n = emit("Transpose", {v}, {y}, v + "/to_nchw");
    n.attrs["perm"] = std::vector<int64_t>{0, 3, 1, 2};
    layout_nodes_.insert(n.name);
    return nchw_of_[v] = y;
  }
  void to_nhwc(const std::string& x_nchw, const std::string& y) {
    Node& n = emit("Transpose", {x_nchw}, {y}, y + "/to_nhwc");
    n.attrs["perm"] = std::vector<int64_t>{0, 2, 3, 1};
    layout_nodes_.insert(n.name);
    nchw_of_[y] = x_nchw;
  }

  // Layout Transposes whose result nobody reads (an NCHW op read the twin instead).
  void drop_unread_layout_nodes() {
    std::map<std::string, int> readers;
    for (const Node& n : g_.nodes)
      for (const auto& i : n.inputs) ++readers[i];
    for (const auto& o : g_.outputs) ++readers[o.name];
    std::vector<bool> keep(g_.nodes.size(), true);
    for (size_t i = g_.nodes.size(); i-- > 0;) {
      const Node& n = g_.nodes[i];
      if (!layout_nodes_.count(n.name) || readers[n.outputs[0]] > 0) continue;
      keep[i] = false;
      for (const auto& in : n.inputs) --readers[in];
      g_.value_info.erase(n.outputs[0]);
    }
    std::vector<Node> kept;
    for (size_t i = 0; i < g_.nodes.size(); ++i)
      if (keep[i]) kept.push_back(std::move(g_.nodes[i]));
    g_.nodes = std::move(kept);
  }

  // ---- NHWC windowed ops (Conv, DepthwiseConv, pools)

  struct Window {
    int padding = 0;
    int64_t kh = 0, kw = 0, sh = 0, sw = 0, dh = 1, dw = 1;
  };

  void set_window(Node& n, const Window& w) {
    if (w.sh <= 0 || w.sw <= 0 || w.dh <= 0 || w.dw <= 0 || w.kh <= 0 || w.kw <= 0)
      op_fail("invalid window: kernel ", w.kh, "x", w.kw, ", strides ", w.sh, "x", w.sw, ", dilations ", w.dh, "x",
              w.dw);
    if (w.padding != int(Padding::SAME) && w.padding != int(Padding::VALID)) op_fail("unknown padding ", w.padding);
    n.attrs["kernel_shape"] = std::vector<int64_t>{w.kh, w.kw};
    n.attrs["strides"] = std::vector<int64_t>{w.sh, w.sw};
    const Shape& x = tin(0).shape;
    if (x.size() != 4) {
      // Spatial size unknown here: ONNX's SAME_UPPER is exactly TFLite's SAME.
      if (w.padding == int(Padding::SAME)) n.attrs["auto_pad"] = std::string("SAME_UPPER");
      return;
    }
    auto [top, bottom] = w.padding == int(Padding::SAME) ? same_pads(x[1], w.kh, w.sh, w.dh) : std::pair<int64_t, int64_t>{0, 0};
    auto [left, right] = w.padding == int(Padding::SAME) ? same_pads(x[2], w.kw, w.sw, w.dw) : std::pair<int64_t, int64_t>{0, 0};
    n.attrs["pads"] = std::vector<int64_t>{top, left, bottom, right};
    // The output TFLite recorded must be what these pads give, or the weights/options disagree.
    const Shape& y = tout(0).shape;
    int64_t oh = (x[1] + top + bottom - ((w.kh - 1) * w.dh + 1)) / w.sh + 1;
    int64_t ow = (x[2] + left + right - ((w.kw - 1) * w.dw + 1)) / w.sw + 1;
    if (y.size() == 4 && (y[1] != oh || y[2] != ow))
      op_fail("output shape ", shape_str(y), " disagrees with input ", shape_str(x), ", kernel ", w.kh, "x", w.kw,
              ", strides ", w.sh, "x", w.sw, " (expected spatial ", oh, "x", ow, ")");
  }

  // Emits op_type in NCHW between layout Transposes; `inputs` after the first are given as is.
  Node& emit_nchw(const std::string& op_type, std::vector<std::string> inputs, int act, const Window& w) {
    if (has_in(0) && !tin(0).shape.empty() && rank_of(0) != 4) op_fail("expected a 4-D NHWC input, got ", shape_str(tin(0).shape));
    std::string y = out(0);
    inputs[0] = to_nchw(inputs[0]);
    std::string y_nchw = fresh(y + "/nchw");
    emit(op_type, inputs, {y_nchw}, y);
    set_window(g_.nodes.back(), w);
    std::string z = y_nchw;
    if (act != 0) activation(act, y_nchw, z = fresh(y + "/nchw_act"));
    size_t main = g_.nodes.size() - (act != 0 ? 2 : 1);
    to_nhwc(z, y);
    return g_.nodes[main];
  }

  void conv2d() {
    namespace O = fields::Conv2DOptions;
    FlatTable o = options(OptionsType::conv2d);
    Window w{o.scalar<int8_t>(O::padding, 0), 0, 0, o.scalar<int32_t>(O::stride_h, 0), o.scalar<int32_t>(O::stride_w, 0),
             o.scalar<int32_t>(O::dilation_h_factor, 1), o.scalar<int32_t>(O::dilation_w_factor, 1)};
    const Shape& f = tin(1).shape;  // OHWI
    if (f.size() != 4) op_fail("filter must be 4-D OHWI, got ", shape_str(f));
    w.kh = f[1], w.kw = f[2];
    int64_t group = 1;
    if (rank_of(0) == 4) {
      int64_t c = tin(0).shape[3];
      if (f[3] <= 0 || c % f[3] != 0) op_fail("input channels ", c, " are not a multiple of filter channels ", f[3]);
      group = c / f[3];
    }
    std::string weights = convert_filter({0, 3, 1, 2});
    Node& n = emit_nchw("Conv", {in(0), weights, in(2)}, o.scalar<int8_t>(O::fused_activation_function, 0), w);
    n.attrs["dilations"] = std::vector<int64_t>{w.dh, w.dw};
    n.attrs["group"] = group;
  }

  void depthwise_conv2d() {
    namespace O = fields::DepthwiseConv2DOptions;
    FlatTable o = options(OptionsType::depthwise_conv2d);
    Window w{o.scalar<int8_t>(O::padding, 0), 0, 0, o.scalar<int32_t>(O::stride_h, 0), o.scalar<int32_t>(O::stride_w, 0),
             o.scalar<int32_t>(O::dilation_h_factor, 1), o.scalar<int32_t>(O::dilation_w_factor, 1)};
    const Shape& f = tin(1).shape;  // 1, H, W, C * multiplier
    if (f.size() != 4 || f[0] != 1) op_fail("filter must be 4-D [1,H,W,C*M], got ", shape_str(f));
    w.kh = f[1], w.kw = f[2];
    if (rank_of(0) != 4) op_fail("input must be 4-D NHWC with known channels, got ", shape_str(tin(0).shape));
    int64_t c = tin(0).shape[3];
    if (c <= 0 || f[3] % c != 0) op_fail("filter channels ", f[3], " are not a multiple of input channels ", c);
    // Output channel o = c * M + m reads input channel c, which is ONNX's grouping with group = C.
    std::string weights = convert_filter({3, 0, 1, 2});
    Node& n = emit_nchw("Conv", {in(0), weights, in(2)}, o.scalar<int8_t>(O::fused_activation_function, 0), w);
    n.attrs["dilations"] = std::vector<int64_t>{w.dh, w.dw};
    n.attrs["group"] = c;
  }

  // The filter (input 1) in ONNX's OIHW layout: converted once when constant, else a Transpose.
  std::string convert_filter(const std::vector<int64_t>& perm) {
    if (is_const(1)) return permuted_const(1, perm);
    std::string w = in(1), y = fresh(w + "/oihw");
    emit("Transpose", {w}, {y}, y).attrs["perm"] = perm;
    return y;
  }

  void pool(const char* op_type) {
    namespace O = fields::Pool2DOptions;
    FlatTable o = options(OptionsType::pool2d);
    Window w{o.scalar<int8_t>(O::padding, 0), o.scalar<int32_t>(O::filter_height, 0), o.scalar<int32_t>(O::filter_width, 0),
             o.scalar<int32_t>(O::stride_h, 0), o.scalar<int32_t>(O::stride_w, 0), 1, 1};
    Node& n = emit_nchw(op_type, {in(0)}, o.scalar<int8_t>(O::fused_activation_function, 0), w);
    // TFLite averages over the pixels inside the image only.
    if (std::string(op_type) == "AveragePool") n.attrs["count_include_pad"] = int64_t(0);
  }

  // ---- other ops

  void fully_connected() {
    namespace O = fields::FullyConnectedOptions;
    FlatTable o = options(OptionsType::fully_connected);
    int act = o.scalar<int8_t>(O::fused_activation_function, 0);
    if (o.scalar<int8_t>(O::weights_format, 0) != 0) op_fail("shuffled weights formats are not supported");
    const Shape& wshape = tin(1).shape;
    if (wshape.size() != 2) op_fail("weights must be 2-D [out, in], got ", shape_str(wshape));
    const int64_t in_dim = wshape[1];
    const std::string y = out(0);
    // TFLite flattens any input to [numel / in, in]; keep_num_dims (or a higher-rank output)
    // restores the leading dims afterwards.
    std::string a = in(0);
    if (rank_of(0) != 2 || tin(0).shape[1] != in_dim) {
      std::string flat = fresh(y + "/flat");
      emit("Reshape", {a, ints_const({-1, in_dim}, y + "/flat_shape")}, {flat}, y + "/flatten");
      a = flat;
    }
    const Shape& yshape = tout(0).shape;
    const bool restore = yshape.size() != 2;
    std::string gemm_out = restore ? fresh(y + "/2d") : before_activation(act, y);
    emit("Gemm", {a, in(1), in(2)}, {gemm_out}, y).attrs["transB"] = int64_t(1);
    if (restore) {
      std::string r = before_activation(act, y);
      emit("Reshape", {gemm_out, ints_const(yshape, y + "/shape")}, {r}, y + "/restore");
      gemm_out = r;
    }
    activation(act, gemm_out, y);
  }

  void binary(const char* op_type, OptionsType type) {
    int act = options(type).scalar<int8_t>(fields::ArithmeticOptions::fused_activation_function, 0);
    std::string y = out(0), z = before_activation(act, y);
    emit(op_type, {in(0), in(1)}, {z}, y);
    activation(act, z, y);
  }

  void elementwise(const char* op_type) {
    std::vector<std::string> inputs;
    for (size_t i = 0; i < op_->inputs.size(); ++i) inputs.push_back(in(i));
    emit(op_type, inputs, {out(0)}, out(0));
  }

  void clip(float lo, float hi) { emit("Clip", {in(0), float_scalar(lo), float_scalar(hi)}, {out(0)}, out(0)); }

  void reshape() {
    std::string y = out(0), shape;
    std::vector<int64_t> dims;
    if (has_in(1) && !is_const(1)) {
      shape = fresh(y + "/shape");  // computed at run time: Reshape wants int64
      emit("Cast", {in(1)}, {shape}, y + "/shape_cast").attrs["to"] = int64_t(7);
    } else {
      if (has_in(1)) dims = const_ints(1, "shape");
      else if (op_->options_type) {
        for (int32_t d : options(OptionsType::reshape).scalars<int32_t>(fields::ReshapeOptions::new_shape, "new_shape"))
          dims.push_back(d);
      } else {
        dims = tout(0).shape;
      }
      shape = ints_const(dims, y + "/shape");
    }
    Node& n = emit("Reshape", {in(0), shape}, {y}, y);
    // TFLite's 0 is a zero-sized dim, never ONNX's "copy the input dim".
    if (std::count(dims.begin(), dims.end(), 0)) n.attrs["allowzero"] = int64_t(1);
  }

  void softmax(const char* op_type) {
    std::string x = in(0), y = out(0);
    if (op_->code == int32_t(Op::SOFTMAX) && op_->options_type) {
      float beta = options(OptionsType::softmax).scalar<float>(fields::SoftmaxOptions::beta, 0.0f);
      if (beta != 1.0f) {
        std::string scaled = fresh(y + "/scaled");
        emit("Mul", {x, float_scalar(beta)}, {scaled}, y + "/beta");
        x = scaled;
      }
    }
    emit(op_type, {x}, {y}, y).attrs["axis"] = int64_t(-1);
  }

  void concatenation() {
    namespace O = fields::ConcatenationOptions;
    FlatTable o = options(OptionsType::concatenation);
    int act = o.scalar<int8_t>(O::fused_activation_function, 0);
    std::vector<std::string> inputs;
    for (size_t i = 0; i < op_->inputs.size(); ++i) inputs.push_back(in(i));
    std::string y = out(0), z = before_activation(act, y);
    emit("Concat", inputs, {z}, y).attrs["axis"] = int64_t(o.scalar<int32_t>(O::axis, 0));
    activation(act, z, y);
  }

  std::vector<int64_t> normalized_axes(std::vector<int64_t> axes, int rank) const {
    for (auto& a : axes) {
      if (a < -rank || a >= rank) op_fail("axis ", a, " is out of range for rank ", rank);
      if (a < 0) a += rank;
    }
    std::sort(axes.begin(), axes.end());
    axes.erase(std::unique(axes.begin(), axes.end()), axes.end());
    return axes;
  }

  void reduce(const char* op_type) {
    bool keep = options(OptionsType::reducer).scalar<uint8_t>(fields::ReducerOptions::keep_dims, 0) != 0;
    std::vector<int64_t> axes = normalized_axes(const_ints(1, "axes"), rank_of(0));
    std::string y = out(0);
    if (axes.empty()) {  // TFLite reduces nothing; ONNX would reduce everything
      emit("Identity", {in(0)}, {y}, y);
      return;
    }
    // ReduceSum takes its axes as an input from opset 13; the others from opset 18.
    bool axes_input = std::string(op_type) == "ReduceSum";
    Node& n = axes_input ? emit(op_type, {in(0), ints_const(axes, y + "/axes")}, {y}, y) : emit(op_type, {in(0)}, {y}, y);
    if (!axes_input) n.attrs["axes"] = axes;
    n.attrs["keepdims"] = int64_t(keep);
  }

  void pad() {
    std::vector<int64_t> p = const_ints(1, "paddings");
    const size_t r = p.size() / 2;
    if (p.size() % 2 || (rank_of(0) && size_t(rank_of(0)) != r))
      op_fail("paddings must be [rank, 2] for an input of rank ", rank_of(0), ", got ", p.size(), " values");
    std::vector<int64_t> pads(2 * r);
    for (size_t i = 0; i < r; ++i) pads[i] = p[2 * i], pads[r + i] = p[2 * i + 1];
    std::string y = out(0), value;
    std::string mode = "constant";
    if (op_->code == int32_t(Op::PADV2) && has_in(2)) {
      // ONNX wants a scalar constant_value; TFLite allows shape [1].
      value = is_const(2) ? add_const(const_in(2, "constant value").reshaped({}), y + "/value") : in(2);
    }
    if (op_->code == int32_t(Op::MIRROR_PAD)) {
      int mirror = options(OptionsType::mirror_pad).scalar<int8_t>(fields::MirrorPadOptions::mode, 0);
      if (mirror != 0) op_fail("SYMMETRIC mirror padding has no ONNX Pad mode");
      mode = "reflect";
    }
    emit("Pad", {in(0), ints_const(pads, y + "/pads"), value}, {y}, y).attrs["mode"] = mode;
  }

  void transpose() {
    std::vector<int64_t> perm = const_ints(1, "perm");
    emit("Transpose", {in(0)}, {out(0)}, out(0)).attrs["perm"] = perm;
  }

  void squeeze() {
    std::vector<int64_t> axes;
    for (int32_t a : options(OptionsType::squeeze).scalars<int32_t>(fields::SqueezeOptions::squeeze_dims, "squeeze_dims"))
      axes.push_back(a);
    std::string y = out(0);
    emit("Squeeze", {in(0), axes.empty() ? "" : ints_const(axes, y + "/axes")}, {y}, y);
  }

  void expand_dims() {
    std::vector<int64_t> axis = const_ints(1, "axis");
    if (axis.size() != 1) op_fail("axis must hold one value, got ", axis.size());
    std::string y = out(0);
    emit("Unsqueeze", {in(0), ints_const(axis, y + "/axes")}, {y}, y);
  }

  // STRIDED_SLICE as ONNX Slice (+ Squeeze for shrink_axis_mask). Masked begin/end become the
  // extreme values ONNX clamps to the start or end of the dim in the step's direction.
  void strided_slice() {
    namespace O = fields::StridedSliceOptions;
    FlatTable o = options(OptionsType::strided_slice);
    int32_t begin_mask = o.scalar<int32_t>(O::begin_mask, 0), end_mask = o.scalar<int32_t>(O::end_mask, 0);
    int32_t shrink = o.scalar<int32_t>(O::shrink_axis_mask, 0);
    bool offset = o.scalar<uint8_t>(O::offset, 0) != 0;
    if (o.scalar<int32_t>(O::ellipsis_mask, 0) || o.scalar<int32_t>(O::new_axis_mask, 0))
      op_fail("ellipsis_mask and new_axis_mask are not supported");
    std::vector<int64_t> begin = const_ints(1, "begin"), end = const_ints(2, "end"), steps = const_ints(3, "strides");
    const size_t n = begin.size();
    if (end.size() != n || steps.size() != n || n > 31) op_fail("begin, end and strides must have the same length");
    std::vector<int64_t> axes, squeeze_axes;
    for (size_t i = 0; i < n; ++i) {
      int64_t& b = begin[i];
      int64_t& e = end[i];
      int64_t& s = steps[i];
      if (s == 0) op_fail("stride ", i, " is 0");
      if (offset) e = saturating_add(e, b);
      if (shrink >> i & 1) {
        e = b == -1 ? kInt64Max : saturating_add(b, 1);
        s = 1;
        squeeze_axes.push_back(int64_t(i));
      } else {
        if (begin_mask >> i & 1) b = s > 0 ? 0 : kInt64Max;
        if (end_mask >> i & 1) e = s > 0 ? kInt64Max : kInt64Min;
      }
      axes.push_back(int64_t(i));
    }
    std::string y = out(0), sliced = squeeze_axes.empty() ? y : fresh(y + "/slice");
    emit("Slice",
         {in(0), ints_const(begin, y + "/starts"), ints_const(end, y + "/ends"), ints_const(axes, y + "/axes"),
          ints_const(steps, y + "/steps")},
         {sliced}, y);
    if (!squeeze_axes.empty()) emit("Squeeze", {sliced, ints_const(squeeze_axes, y + "/squeeze_axes")}, {y}, y + "/shrink");
  }

  void slice() {
    std::vector<int64_t> begin = const_ints(1, "begin"), size = const_ints(2, "size");
    if (begin.size() != size.size()) op_fail("begin and size must have the same length");
    std::vector<int64_t> end(begin.size()), axes(begin.size());
    for (size_t i = 0; i < begin.size(); ++i) {
      end[i] = size[i] == -1 ? kInt64Max : saturating_add(begin[i], size[i]);
      axes[i] = int64_t(i);
    }
    std::string y = out(0);
    emit("Slice", {in(0), ints_const(begin, y + "/starts"), ints_const(end, y + "/ends"), ints_const(axes, y + "/axes")},
         {y}, y);
  }

  void gather() {
    FlatTable o = options(OptionsType::gather);
    if (o.scalar<int32_t>(fields::GatherOptions::batch_dims, 0) != 0) op_fail("batch_dims != 0 is not supported");
    emit("Gather", {in(0), in(1)}, {out(0)}, out(0)).attrs["axis"] = int64_t(o.scalar<int32_t>(fields::GatherOptions::axis, 0));
  }

  void batch_matmul() {
    FlatTable o = options(OptionsType::batch_matmul);
    std::string y = out(0), a = in(0), b = in(1);
    auto adjoint = [&](const std::string& v, size_t i) {
      int r = rank_of(i);
      if (r < 2) op_fail("adjoint input ", i, " must have rank >= 2");
      std::vector<int64_t> perm(static_cast<size_t>(r));
      for (int k = 0; k < r; ++k) perm[size_t(k)] = k;
      std::swap(perm[size_t(r - 1)], perm[size_t(r - 2)]);
      std::string t = fresh(v + "/adj");
      emit("Transpose", {v}, {t}, t).attrs["perm"] = perm;
      return t;
    };
    if (o.scalar<uint8_t>(fields::BatchMatMulOptions::adj_x, 0)) a = adjoint(a, 0);
    if (o.scalar<uint8_t>(fields::BatchMatMulOptions::adj_y, 0)) b = adjoint(b, 1);
    emit("MatMul", {a, b}, {y}, y);
  }

  void cast(DType to) {
    int64_t code = onnx_dtype_code(to);
    if (!code) op_fail("cannot cast to ", dtype_name(to));
    emit("Cast", {in(0)}, {out(0)}, out(0)).attrs["to"] = code;
  }

  void split() {
    int64_t axis = const_ints(0, "axis").at(0);
    std::vector<std::string> outs;
    for (size_t i = 0; i < op_->outputs.size(); ++i) outs.push_back(out(i));
    emit("Split", {in(1)}, outs, outs.at(0)).attrs["axis"] = axis;
  }

  void arg_reduce(const char* op_type) {
    std::vector<int64_t> axis = const_ints(1, "axis");
    if (axis.size() != 1) op_fail("axis must hold one value, got ", axis.size());
    std::string y = out(0), z = tout(0).dtype == DType::i64 ? y : fresh(y + "/i64");
    Node& n = emit(op_type, {in(0)}, {z}, y);
    n.attrs["axis"] = axis[0];
    n.attrs["keepdims"] = int64_t(0);
    if (z != y) emit("Cast", {z}, {y}, y + "/cast").attrs["to"] = onnx_dtype_code(tout(0).dtype);
  }


  // ---- int8 operators
  //
  // An operator with 8-bit quantized activations maps to edgekit's int8 ops in NHWC (no layout
  // Transposes): CONV_2D and DEPTHWISE_CONV_2D to com.edgekit:QLinearConvNhwc (weights OIHW,
  // per-channel scales kept), FULLY_CONNECTED to QFullyConnected, ADD to QAdd,
  // AVERAGE_POOL_2D to QAveragePoolNhwc, LOGISTIC / TANH / HARD_SWISH / ELU / LEAKY_RELU to
  // QLookup. Ops that only move data (RESHAPE, TRANSPOSE, SLICE, MAX_POOL_2D, CONCATENATION
  // with one shared scale, ...) run on the int8 values as they are. Everything else runs in
  // float between DequantizeLinear and QuantizeLinear nodes (SOFTMAX, MEAN, ...), which is
  // within one quantization step of TFLite's integer kernels. QUANTIZE and DEQUANTIZE become
  // QuantizeLinear / DequantizeLinear.

  static bool is_quantized_8bit(const TensorInfo& t) {
    return (t.dtype == DType::i8 || t.dtype == DType::u8) && t.quantization.quantized();
  }

  bool quantized_op() const {
    for (const auto* list : {&op_->inputs, &op_->outputs})
      for (int idx : *list)
        if (idx >= 0 && is_quantized_8bit(m_.tensors[size_t(idx)]) && !m_.constant_data(m_.tensors[size_t(idx)]).first)
          return true;
    return false;
  }

  // Scale and zero-point initializers of a per-tensor quantized tensor, made once.
  std::pair<std::string, std::string> qparams(const TensorInfo& t) {
    auto it = qparams_.find(t.index);
    if (it != qparams_.end()) return it->second;
    const TfliteQuantization& q = t.quantization;
    if (!q.quantized() || q.per_channel()) op_fail("tensor '", t.name, "' needs one scale and zero point");
    const std::string base = names_[size_t(t.index)];
    const int64_t zp = q.zero_point.empty() ? 0 : q.zero_point[0];
    Tensor z(t.dtype, {});
    if (t.dtype == DType::i8) {
      if (zp < -128 || zp > 127) op_fail("zero point ", zp, " of '", t.name, "' does not fit int8");
      z.data<int8_t>()[0] = int8_t(zp);
    } else {
      if (zp < 0 || zp > 255) op_fail("zero point ", zp, " of '", t.name, "' does not fit uint8");
      z.data<uint8_t>()[0] = uint8_t(zp);
    }
    auto names = std::make_pair(add_const(Tensor::scalar<float>(q.scale[0]), base + "/scale"),
                                add_const(std::move(z), base + "/zero_point"));
    return qparams_[t.index] = names;
  }

  // An int8 constant as stored (not dequantized), optionally permuted.
  std::string raw_const(size_t i, const std::vector<int64_t>& perm = {}) {
    const TensorInfo& t = tin(i);
    if (!is_const(i)) op_fail("input ", i, " ('", t.name, "') must be a constant tensor");
    Tensor raw = m_.constant(t);
    return add_const(perm.empty() ? raw : permute(raw, perm), names_[size_t(t.index)] + "/q");
  }

  // Per-channel (or per-tensor) weight scales as a 1-D / scalar initializer, zero points of w's dtype.
  std::pair<std::string, std::string> weight_qparams(const TensorInfo& w, int64_t channels) {
    const TfliteQuantization& q = w.quantization;
    if (!q.quantized()) op_fail("weights '", w.name, "' are not quantized");
    const size_t n = q.scale.size();
    if (n != 1 && int64_t(n) != channels)
      op_fail("weights '", w.name, "' have ", n, " scales for ", channels, " output channels");
    Tensor s(DType::f32, n == 1 ? Shape{} : Shape{int64_t(n)});
    Tensor z(w.dtype, n == 1 ? Shape{} : Shape{int64_t(n)});
    for (size_t c = 0; c < n; ++c) {
      s.data<float>()[c] = q.scale[c];
      const int64_t zp = q.zero_point.size() > c ? q.zero_point[c] : 0;
      if (w.dtype == DType::i8) z.data<int8_t>()[c] = int8_t(zp);
      else z.data<uint8_t>()[c] = uint8_t(zp);
    }
    const std::string base = names_[size_t(w.index)];
    return {add_const(std::move(s), base + "/scale"), add_const(std::move(z), base + "/zero_point")};
  }

  static void set_activation_range(Node& n, int act) {
    switch (Activation(act)) {
      case Activation::NONE: return;
      case Activation::RELU: n.attrs["activation_min"] = 0.0f; return;
      case Activation::RELU6: n.attrs["activation_min"] = 0.0f, n.attrs["activation_max"] = 6.0f; return;
      case Activation::RELU_N1_TO_1: n.attrs["activation_min"] = -1.0f, n.attrs["activation_max"] = 1.0f; return;
      default: break;
    }
    fail("fused activation ", act, " is not supported on int8 operators");
  }

  Node& emit_edgekit(const std::string& op_type, std::vector<std::string> inputs, const std::string& y) {
    Node& n = emit(op_type, std::move(inputs), {y}, y);
    n.domain = kEdgekitDomain;
    n.opset = 1;
    g_.opsets[kEdgekitDomain] = 1;
    return n;
  }

  void qconv(bool depthwise) {
    const TensorInfo& x = tin(0);
    const TensorInfo& w = tin(1);
    const Shape& f = w.shape;
    if (f.size() != 4 || x.shape.size() != 4) op_fail("expected 4-D NHWC input and 4-D filter");
    Window win;
    int act = 0;
    int64_t group = 1, out_c = 0;
    std::vector<int64_t> perm;
    if (depthwise) {
      namespace O = fields::DepthwiseConv2DOptions;
      FlatTable o = options(OptionsType::depthwise_conv2d);
      win = {o.scalar<int8_t>(O::padding, 0), f[1], f[2], o.scalar<int32_t>(O::stride_h, 0),
             o.scalar<int32_t>(O::stride_w, 0), o.scalar<int32_t>(O::dilation_h_factor, 1),
             o.scalar<int32_t>(O::dilation_w_factor, 1)};
      act = o.scalar<int8_t>(O::fused_activation_function, 0);
      group = x.shape[3];
      if (group <= 0 || f[0] != 1 || f[3] % group != 0) op_fail("filter ", shape_str(f), " does not fit input ", shape_str(x.shape));
      perm = {3, 0, 1, 2};
      out_c = f[3];
    } else {
      namespace O = fields::Conv2DOptions;
      FlatTable o = options(OptionsType::conv2d);
      win = {o.scalar<int8_t>(O::padding, 0), f[1], f[2], o.scalar<int32_t>(O::stride_h, 0),
             o.scalar<int32_t>(O::stride_w, 0), o.scalar<int32_t>(O::dilation_h_factor, 1),
             o.scalar<int32_t>(O::dilation_w_factor, 1)};
      act = o.scalar<int8_t>(O::fused_activation_function, 0);
      if (f[3] <= 0 || x.shape[3] % f[3] != 0) op_fail("input channels ", x.shape[3], " are not a multiple of ", f[3]);
      group = x.shape[3] / f[3];
      perm = {0, 3, 1, 2};
      out_c = f[0];
    }
    auto [xs, xz] = qparams(x);
    auto [ws, wz] = weight_qparams(w, out_c);
    auto [ys, yz] = qparams(tout(0));
    std::string y = out(0);
    Node& n = emit_edgekit("QLinearConvNhwc", {in(0), xs, xz, raw_const(1, perm), ws, wz, ys, yz,
                                               has_in(2) ? raw_const(2) : ""}, y);
    set_window(n, win);
    n.attrs["dilations"] = std::vector<int64_t>{win.dh, win.dw};
    n.attrs["group"] = group;
    set_activation_range(n, act);
  }

  void qfully_connected() {
    namespace O = fields::FullyConnectedOptions;
    FlatTable o = options(OptionsType::fully_connected);
    int act = o.scalar<int8_t>(O::fused_activation_function, 0);
    if (o.scalar<int8_t>(O::weights_format, 0) != 0) op_fail("shuffled weights formats are not supported");
    const Shape& wshape = tin(1).shape;
    if (wshape.size() != 2) op_fail("weights must be 2-D [out, in], got ", shape_str(wshape));
    const std::string y = out(0);
    std::string a = in(0);
    if (rank_of(0) != 2 || tin(0).shape[1] != wshape[1]) {
      std::string flat = fresh(y + "/flat");
      emit("Reshape", {a, ints_const({-1, wshape[1]}, y + "/flat_shape")}, {flat}, y + "/flatten");
      a = flat;
    }
    const Shape& yshape = tout(0).shape;
    const bool restore = yshape.size() != 2;
    std::string fc_out = restore ? fresh(y + "/2d") : y;
    auto [xs, xz] = qparams(tin(0));
    auto [ws, wz] = weight_qparams(tin(1), wshape[0]);
    auto [ys, yz] = qparams(tout(0));
    Node& n = emit_edgekit("QFullyConnected", {a, xs, xz, raw_const(1), ws, wz, ys, yz, has_in(2) ? raw_const(2) : ""},
                           fc_out);
    n.name = y;  // emit_edgekit names the node after its output
    set_activation_range(n, act);
    if (restore) emit("Reshape", {fc_out, ints_const(yshape, y + "/shape")}, {y}, y + "/restore");
  }

  void qadd() {
    int act = options(OptionsType::add).scalar<int8_t>(fields::ArithmeticOptions::fused_activation_function, 0);
    auto operand = [&](size_t i) { return is_const(i) ? raw_const(i) : in(i); };
    auto [as, az] = qparams(tin(0));
    auto [bs, bz] = qparams(tin(1));
    auto [ys, yz] = qparams(tout(0));
    Node& n = emit_edgekit("QAdd", {operand(0), as, az, operand(1), bs, bz, ys, yz}, out(0));
    set_activation_range(n, act);
  }

  void qaverage_pool() {
    namespace O = fields::Pool2DOptions;
    FlatTable o = options(OptionsType::pool2d);
    Window w{o.scalar<int8_t>(O::padding, 0), o.scalar<int32_t>(O::filter_height, 0),
             o.scalar<int32_t>(O::filter_width, 0), o.scalar<int32_t>(O::stride_h, 0), o.scalar<int32_t>(O::stride_w, 0),
             1, 1};
    if (rank_of(0) != 4) op_fail("expected a 4-D NHWC input, got ", shape_str(tin(0).shape));
    auto [xs, xz] = qparams(tin(0));
    auto [ys, yz] = qparams(tout(0));
    Node& n = emit_edgekit("QAveragePoolNhwc", {in(0), xs, xz, ys, yz}, out(0));
    set_window(n, w);
    n.attrs["count_include_pad"] = int64_t(0);
    set_activation_range(n, o.scalar<int8_t>(O::fused_activation_function, 0));
  }

  void qlookup(const char* function) {
    auto [xs, xz] = qparams(tin(0));
    auto [ys, yz] = qparams(tout(0));
    Node& n = emit_edgekit("QLookup", {in(0), xs, xz, ys, yz}, out(0));
    n.attrs["function"] = std::string(function);
    if (op_->code == int32_t(Op::LEAKY_RELU))
      n.attrs["alpha"] = options(OptionsType::leaky_relu).scalar<float>(fields::LeakyReluOptions::alpha, 0.0f);
  }

  // Every non-constant 8-bit tensor of the op has one and the same scale and zero point, and no
  // input is a quantized constant: the op can move int8 values as they are.
  bool shares_one_quantization() const {
    const TfliteQuantization* first = nullptr;
    for (const auto* list : {&op_->inputs, &op_->outputs})
      for (int idx : *list) {
        if (idx < 0) continue;
        const TensorInfo& t = m_.tensors[size_t(idx)];
        if (!is_quantized_8bit(t)) continue;
        if (m_.constant_data(t).first) return false;
        if (first && (first->scale != t.quantization.scale || first->zero_point != t.quantization.zero_point))
          return false;
        first = &t.quantization;
      }
    return true;
  }

  // The op in float: quantized inputs dequantized, quantized outputs quantized back.
  void dequantized_fallback() {
    std::vector<std::pair<int, std::string>> saved;
    std::vector<std::pair<int, std::string>> requantize;  // tensor index, float value name
    for (int idx : op_->inputs) {
      if (idx < 0) continue;
      const TensorInfo& t = m_.tensors[size_t(idx)];
      if (!is_quantized_8bit(t) || m_.constant_data(t).first) continue;
      auto it = dq_of_.find(idx);
      if (it == dq_of_.end()) {
        auto [s, z] = qparams(t);
        std::string f = fresh(names_[size_t(idx)] + "/dequantized");
        emit("DequantizeLinear", {names_[size_t(idx)], s, z}, {f}, f);
        it = dq_of_.emplace(idx, f).first;
      }
      saved.push_back({idx, names_[size_t(idx)]});
      names_[size_t(idx)] = it->second;
    }
    for (int idx : op_->outputs) {
      if (idx < 0 || !is_quantized_8bit(m_.tensors[size_t(idx)])) continue;
      saved.push_back({idx, names_[size_t(idx)]});
      names_[size_t(idx)] = fresh(names_[size_t(idx)] + "/float");
      requantize.push_back({idx, names_[size_t(idx)]});
    }
    convert_float();
    for (auto it = saved.rbegin(); it != saved.rend(); ++it) names_[size_t(it->first)] = it->second;
    for (const auto& [idx, f] : requantize) {
      auto [s, z] = qparams(m_.tensors[size_t(idx)]);
      emit("QuantizeLinear", {f, s, z}, {names_[size_t(idx)]}, names_[size_t(idx)] + "/quantize");
    }
  }

  void convert_quantized() {
    const bool in_q = has_in(0) && is_quantized_8bit(tin(0)), out_q = is_quantized_8bit(tout(0));
    switch (Op(op_->code)) {
      case Op::CONV_2D: return qconv(false);
      case Op::DEPTHWISE_CONV_2D: return qconv(true);
      case Op::FULLY_CONNECTED:
        if (is_const(1) && in_q && out_q) return qfully_connected();
        break;
      case Op::ADD:
        if (in_q && out_q && is_quantized_8bit(tin(1))) return qadd();
        break;
      case Op::AVERAGE_POOL_2D:
        if (in_q && out_q) return qaverage_pool();
        break;
      case Op::LOGISTIC: if (in_q && out_q) return qlookup("Sigmoid"); break;
      case Op::TANH: if (in_q && out_q) return qlookup("Tanh"); break;
      case Op::HARD_SWISH: if (in_q && out_q) return qlookup("HardSwish"); break;
      case Op::ELU: if (in_q && out_q) return qlookup("Elu"); break;
      case Op::LEAKY_RELU: if (in_q && out_q) return qlookup("LeakyRelu"); break;
      case Op::QUANTIZE:
        if (!in_q) {  // float -> int8
          auto [s, z] = qparams(tout(0));
          emit("QuantizeLinear", {in(0), s, z}, {out(0)}, out(0));
          return;
        }
        break;  // int8 -> int8 requantization: through float below
      case Op::DEQUANTIZE: {
        auto [s, z] = qparams(tin(0));
        emit("DequantizeLinear", {in(0), s, z}, {out(0)}, out(0));
        return;
      }
      case Op::RESHAPE: case Op::SQUEEZE: case Op::EXPAND_DIMS: case Op::TRANSPOSE: case Op::STRIDED_SLICE:
      case Op::SLICE: case Op::GATHER: case Op::SPLIT:
        if (shares_one_quantization()) return convert_float();
        break;
      case Op::MAX_POOL_2D:
        if (shares_one_quantization() &&
            options(OptionsType::pool2d).scalar<int8_t>(fields::Pool2DOptions::fused_activation_function, 0) == 0)
          return convert_float();
        break;
      case Op::CONCATENATION:
        if (shares_one_quantization() && options(OptionsType::concatenation)
                                                 .scalar<int8_t>(fields::ConcatenationOptions::fused_activation_function, 0) == 0)
          return convert_float();
        break;
      default: break;
    }
    dequantized_fallback();
  }

  void convert() {
    if (op_->outputs.empty()) op_fail("operator has no outputs");
    if (quantized_op()) return convert_quantized();
    convert_float();
  }

  void convert_float() {
    switch (Op(op_->code)) {
      case Op::CONV_2D: return conv2d();
      case Op::DEPTHWISE_CONV_2D: return depthwise_conv2d();
      case Op::AVERAGE_POOL_2D: return pool("AveragePool");
      case Op::MAX_POOL_2D: return pool("MaxPool");
      case Op::FULLY_CONNECTED: return fully_connected();
      case Op::ADD: return binary("Add", OptionsType::add);
      case Op::SUB: return binary("Sub", OptionsType::sub);
      case Op::MUL: return binary("Mul", OptionsType::mul);
      case Op::DIV: return binary("Div", OptionsType::div);
      case Op::MAXIMUM: return elementwise("Max");
      case Op::MINIMUM: return elementwise("Min");
      case Op::POW: return elementwise("Pow");
      case Op::PRELU: return elementwise("PRelu");
      case Op::SQUARED_DIFFERENCE: {
        std::string y = out(0), d = fresh(y + "/diff");
        emit("Sub", {in(0), in(1)}, {d}, y + "/sub");
        emit("Mul", {d, d}, {y}, y);
        return;
      }
      case Op::RESHAPE: return reshape();
      case Op::SOFTMAX: return softmax("Softmax");
      case Op::LOG_SOFTMAX: return softmax("LogSoftmax");
      case Op::CONCATENATION: return concatenation();
      case Op::MEAN: return reduce("ReduceMean");
      case Op::SUM: return reduce("ReduceSum");
      case Op::REDUCE_MAX: return reduce("ReduceMax");
      case Op::REDUCE_MIN: return reduce("ReduceMin");
      case Op::REDUCE_PROD: return reduce("ReduceProd");
      case Op::PAD:
      case Op::PADV2:
      case Op::MIRROR_PAD: return pad();
      case Op::RELU: return elementwise("Relu");
      case Op::RELU6: return clip(0, 6);
      case Op::RELU_N1_TO_1: return clip(-1, 1);
      case Op::RELU_0_TO_1: return clip(0, 1);
      case Op::LOGISTIC: return elementwise("Sigmoid");
      case Op::TANH: return elementwise("Tanh");
      case Op::EXP: return elementwise("Exp");
      case Op::LOG: return elementwise("Log");
      case Op::SQRT: return elementwise("Sqrt");
      case Op::ABS: return elementwise("Abs");
      case Op::NEG: return elementwise("Neg");
      case Op::FLOOR: return elementwise("Floor");
      case Op::CEIL: return elementwise("Ceil");
      case Op::ROUND: return elementwise("Round");  // both round half to even
      case Op::SIN: return elementwise("Sin");
      case Op::COS: return elementwise("Cos");
      case Op::ELU: return elementwise("Elu");
      case Op::HARD_SWISH: return elementwise("HardSwish");
      case Op::RSQRT: {
        std::string y = out(0), s = fresh(y + "/sqrt");
        emit("Sqrt", {in(0)}, {s}, y + "/sqrt");
        emit("Reciprocal", {s}, {y}, y);
        return;
      }
      case Op::SQUARE: {
        std::string x = in(0);
        emit("Mul", {x, x}, {out(0)}, out(0));
        return;
      }
      case Op::LEAKY_RELU:
        emit("LeakyRelu", {in(0)}, {out(0)}, out(0)).attrs["alpha"] =
            options(OptionsType::leaky_relu).scalar<float>(fields::LeakyReluOptions::alpha, 0.0f);
        return;
      case Op::TRANSPOSE: return transpose();
      case Op::SQUEEZE: return squeeze();
      case Op::EXPAND_DIMS: return expand_dims();
      case Op::STRIDED_SLICE: return strided_slice();
      case Op::SLICE: return slice();
      case Op::GATHER: return gather();
      case Op::BATCH_MATMUL: return batch_matmul();
      case Op::CAST: return cast(tout(0).dtype);
      case Op::DEQUANTIZE:
        // Weights stored small: int8 constants are dequantized at import, float16 ones cast at
        // run time. Quantized activations were refused before anything was built.
        if (is_const(0) && tin(0).quantization.quantized()) return elementwise("Identity");
        if (tin(0).dtype != DType::f16) op_fail("dequantizing ", tensor_type_name(tin(0).type), " is not supported");
        return cast(tout(0).dtype);
      case Op::SPLIT: return split();
      case Op::ARG_MAX: return arg_reduce("ArgMax");
      case Op::ARG_MIN: return arg_reduce("ArgMin");
      default: op_fail("this TFLite op is not supported by the importer");
    }
  }

  const ModelInfo& m_;
  Graph g_;
  const OperatorInfo* op_ = nullptr;
  std::vector<std::string> names_;     // tensor index -> value name
  std::vector<std::string> raw_name_;  // tensor index -> initializer holding its data as stored
  std::set<std::string> converted_names_;  // initializer names taken by constants
  std::map<std::pair<int, std::vector<int64_t>>, std::string> permuted_;
  std::map<uint32_t, std::string> float_scalars_;
  std::unordered_set<std::string> used_names_, node_names_, layout_nodes_;
  std::map<std::string, std::string> nchw_of_;  // NHWC value -> the same data in NCHW
  int dequantized_ = 0;                          // hybrid-model weights turned into float
  std::map<int, std::pair<std::string, std::string>> qparams_;  // tensor index -> scale, zero point
  std::map<int, std::string> dq_of_;             // tensor index -> its DequantizeLinear output
};

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  EK_CHECK(f.good(), path, ": cannot open TFLite file (missing or unreadable)");
  std::ostringstream s;
  s << f.rdbuf();
  EK_CHECK(!f.bad(), path, ": error while reading the file");
  return s.str();
}

}  // namespace

Graph import_tflite_bytes(const std::string& bytes, const std::string& display_name) {
  ModelInfo m = read_tflite_model(bytes, display_name);
  return Importer(m).run();
}

Graph import_tflite(const std::string& path) { return import_tflite_bytes(read_file(path), path); }

std::vector<TfliteTensorQuantization> tflite_quantization(const std::string& bytes, const std::string& display_name) {
  ModelInfo m = read_tflite_model(bytes, display_name);
  std::vector<TfliteTensorQuantization> out;
  for (const TensorInfo& t : m.tensors)
    if (t.quantization.quantized() || !t.quantization.min.empty())
      out.push_back({t.index, t.name, t.dtype, t.quantization});
  return out;
}

}  // namespace edgekit
