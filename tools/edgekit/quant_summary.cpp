#include "quant_summary.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace edgekit::cli {

namespace {

// Input indices (value, scale, zero point) of the quantized tensors an op describes; the value
// index -1 stands for the op's output 0.
struct ParamLayout {
  int value, scale, zero_point;
};

const std::vector<ParamLayout>* layout_of(const Node& n) {
  static const std::vector<ParamLayout> q = {{-1, 1, 2}}, dq = {{0, 1, 2}};
  static const std::vector<ParamLayout> binary = {{0, 1, 2}, {3, 4, 5}, {-1, 6, 7}}, unary = {{0, 1, 2}, {-1, 3, 4}};
  // W and R, then their scales after the standard op's inputs; symmetric (no zero point input).
  constexpr int kNone = 99;
  static const std::vector<ParamLayout> gru = {{1, 6, kNone}, {2, 7, kNone}}, lstm = {{1, 8, kNone}, {2, 9, kNone}};
  static const std::map<std::pair<std::string, std::string>, const std::vector<ParamLayout>*> table = {
      {{"", "QuantizeLinear"}, &q},
      {{"", "DequantizeLinear"}, &dq},
      {{"", "QLinearConv"}, &binary},
      {{"", "QLinearMatMul"}, &binary},
      {{kEdgekitDomain, "QLinearConvNhwc"}, &binary},
      {{kEdgekitDomain, "QFullyConnected"}, &binary},
      {{kEdgekitDomain, "QAdd"}, &binary},
      {{kEdgekitDomain, "QMul"}, &binary},
      {{kEdgekitDomain, "QLookup"}, &unary},
      {{kEdgekitDomain, "QAveragePoolNhwc"}, &unary},
      {{kEdgekitDomain, "QGlobalAveragePoolNhwc"}, &unary},
      {{kEdgekitDomain, "DynamicQGRU"}, &gru},
      {{kEdgekitDomain, "DynamicQLSTM"}, &lstm},
  };
  auto it = table.find({n.domain, n.op_type});
  return it == table.end() ? nullptr : it->second;
}

void add(QuantParamStats& s, const Tensor& scale, const Tensor* zero_point, DType value_dtype) {
  double lo = INFINITY, hi = -INFINITY;
  for (int64_t i = 0; i < scale.numel(); ++i) lo = std::min(lo, scale.as_double(i)), hi = std::max(hi, scale.as_double(i));
  int64_t zlo = 0, zhi = 0;  // an absent zero point is 0
  if (zero_point && zero_point->numel()) {
    zlo = zhi = zero_point->as_int(0);
    for (int64_t i = 0; i < zero_point->numel(); ++i)
      zlo = std::min(zlo, zero_point->as_int(i)), zhi = std::max(zhi, zero_point->as_int(i));
  }
  const bool first = s.tensors == 0;
  ++s.tensors;
  if (scale.numel() > 1) ++s.per_channel, s.channels += scale.numel();
  else ++s.per_tensor;
  s.scale_min = first ? lo : std::min(s.scale_min, lo);
  s.scale_max = first ? hi : std::max(s.scale_max, hi);
  s.zero_point_min = first ? zlo : std::min(s.zero_point_min, zlo);
  s.zero_point_max = first ? zhi : std::max(s.zero_point_max, zhi);
  s.dtypes.insert(dtype_name(value_dtype));
}

}  // namespace

QuantSummary summarize_quantization(const Graph& g) {
  QuantSummary s;
  std::set<std::string> seen;
  auto constant = [&](const Node& n, int i) -> const Tensor* {
    if (!n.has_input(size_t(i))) return nullptr;
    auto it = g.initializers.find(n.inputs[size_t(i)]);
    return it == g.initializers.end() ? nullptr : &it->second;
  };
  for (const Node& n : g.nodes) {
    if (n.op_type == "DynamicQuantizeLinear" && n.domain.empty()) {
      s.runtime_quantized += !n.outputs.empty() && seen.insert(n.outputs[0]).second;
      continue;
    }
    const std::vector<ParamLayout>* layout = layout_of(n);
    if (!layout) continue;
    for (const ParamLayout& p : *layout) {
      const bool output = p.value < 0;
      if (output ? n.outputs.empty() : !n.has_input(size_t(p.value))) continue;
      const std::string& value = output ? n.outputs[0] : n.inputs[size_t(p.value)];
      if (!seen.insert(value).second) continue;
      const Tensor* scale = constant(n, p.scale);
      const Tensor* zp = constant(n, p.zero_point);
      if (!scale || (n.has_input(size_t(p.zero_point)) && !zp)) {
        ++s.runtime_quantized;
        continue;
      }
      auto init = g.initializers.find(value);
      // The value's dtype: the stored tensor's, else the zero point's (uint8 when absent, as ONNX).
      const DType dtype = init != g.initializers.end() ? init->second.dtype() : zp ? zp->dtype() : DType::u8;
      QuantParamStats& kind = init == g.initializers.end() ? s.activations
                              : dtype == DType::i32        ? s.biases
                                                           : s.weights;
      add(kind, *scale, zp, dtype);
    }
  }
  return s;
}

std::map<DType, DTypeShare> initializers_by_dtype(const Graph& g) {
  std::map<DType, DTypeShare> out;
  for (const auto& [name, t] : g.initializers) {
    DTypeShare& d = out[t.dtype()];
    ++d.tensors;
    d.elements += t.numel();
    d.bytes += t.nbytes();
  }
  return out;
}

}  // namespace edgekit::cli
