#include "flops.h"

#include <algorithm>
#include <optional>
#include <set>

#include "kernels/shape_inference.h"

namespace edgekit::cli {

std::map<std::string, Shape> static_shapes(const Graph& graph, std::vector<std::string>* warnings) {
  Graph sized = graph;  // tensors share their buffers: the copy is cheap
  for (auto& in : sized.inputs) {
    for (auto& d : in.dims) d = d < 0 ? 1 : d;
    in.dim_names.clear();
  }
  std::vector<std::string> w = infer_shapes(sized);
  if (warnings) *warnings = std::move(w);

  std::map<std::string, Shape> shapes;
  auto add = [&](const ValueInfo& v) {
    if (v.shape_known && v.dtype != DType::undefined &&
        std::all_of(v.dims.begin(), v.dims.end(), [](int64_t d) { return d >= 0; }))
      shapes[v.name] = v.dims;
  };
  for (const auto& [name, v] : sized.value_info) add(v);
  for (const auto& v : sized.inputs) add(v);
  for (const auto& v : sized.outputs) add(v);
  for (const auto& [name, t] : sized.initializers) shapes[name] = t.shape();
  return shapes;
}

namespace {

using ShapeMap = std::map<std::string, Shape>;

std::optional<Shape> shape_of(const ShapeMap& shapes, const std::string& name) {
  auto it = shapes.find(name);
  if (it == shapes.end()) return std::nullopt;
  return it->second;
}

double numel(const Shape& s) {
  double n = 1;
  for (int64_t d : s) n *= double(d);
  return n;
}

double tail_numel(const Shape& s, size_t from) {
  double n = 1;
  for (size_t i = from; i < s.size(); ++i) n *= double(s[i]);
  return n;
}

// FLOPs per output element of elementwise-like ops; ops absent here and from the special
// cases below are data movement and count 0.
const std::map<std::string, double>& per_element_cost() {
  static const std::map<std::string, double> table = {
      {"Add", 1}, {"Sub", 1}, {"Mul", 1}, {"Div", 1}, {"Pow", 1}, {"Max", 1}, {"Min", 1}, {"Mean", 1},
      {"Sum", 1}, {"Relu", 1}, {"LeakyRelu", 1}, {"PRelu", 1}, {"Clip", 1}, {"Abs", 1}, {"Neg", 1},
      {"Sqrt", 1}, {"Reciprocal", 1}, {"Exp", 1}, {"Log", 1}, {"Sigmoid", 4}, {"HardSigmoid", 3},
      {"HardSwish", 4}, {"Tanh", 4}, {"Erf", 4}, {"Gelu", 8}, {"Elu", 3}, {"Selu", 3}, {"Softplus", 3},
      {"Sin", 1}, {"Cos", 1}, {"Floor", 1}, {"Ceil", 1}, {"Round", 1}, {"Sign", 1}, {"Mish", 6},
      {"Where", 1}, {"Equal", 1}, {"Greater", 1}, {"Less", 1}, {"GreaterOrEqual", 1}, {"LessOrEqual", 1},
      {"BatchNormalization", 2}, {"InstanceNormalization", 5}, {"LayerNormalization", 5},
      {"GroupNormalization", 5}, {"LpNormalization", 3}, {"Softmax", 5}, {"LogSoftmax", 5},
      {"QuantizeLinear", 2}, {"DequantizeLinear", 2}, {"Dropout", 0}, {"Cast", 0},
  };
  return table;
}

// Reductions read every input element once.
const std::set<std::string>& reductions() {
  static const std::set<std::string> s = {"ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd",
                                          "ReduceL1", "ReduceL2", "ReduceSumSquare", "ReduceLogSumExp",
                                          "GlobalAveragePool", "GlobalMaxPool", "ArgMax", "ArgMin"};
  return s;
}

// Returns FLOPs of one node, or nothing when its shapes are unknown.
std::optional<double> node_flops(const ShapeMap& g, const Node& n) {
  auto in = [&](size_t i) { return i < n.inputs.size() ? shape_of(g, n.inputs[i]) : std::nullopt; };
  auto out = [&](size_t i) { return i < n.outputs.size() ? shape_of(g, n.outputs[i]) : std::nullopt; };
  // edgekit's NHWC ops count as the ONNX op they stand for.
  const bool nhwc = n.domain == kEdgekitDomain && n.op_type.size() > 4 && n.op_type.ends_with("Nhwc");
  const std::string op = nhwc ? n.op_type.substr(0, n.op_type.size() - 4) : n.op_type;

  if (op == "Conv" || op == "ConvInteger" || op == "QLinearConv") {
    size_t w_at = op == "QLinearConv" ? 3 : 1;
    auto y = out(0), w = in(w_at);
    if (!y || !w || w->empty()) return std::nullopt;
    double outputs = numel(*y);
    // A Concat's part (passes/concat_in_place.cpp) computes its M of the Y's channels.
    if (n.has_attr("_concat_channels") && !y->empty() && y->back() > 0) outputs = outputs / double(y->back()) * double((*w)[0]);
    const double macs = outputs * tail_numel(*w, 1);  // each output: C/group x kernel window
    return 2 * macs + (n.has_input(2) && op == "Conv" ? outputs : 0);
  }
  if (op == "ConvTranspose") {
    auto x = in(0), w = in(1);
    if (!x || !w || w->empty()) return std::nullopt;
    return 2 * numel(*x) * tail_numel(*w, 1);  // each input element scatters M/group x window
  }
  if (op == "Gemm" || op == "MatMul" || op == "MatMulInteger" || op == "QLinearMatMul" || op == "FusedMatMul") {
    auto a = in(0), y = out(0);
    if (!a || !y || a->empty()) return std::nullopt;
    int64_t k = op == "Gemm" && n.attr_int("transA", 0) ? (*a)[0] : a->back();
    return 2 * numel(*y) * double(k) + (op == "Gemm" && n.has_input(2) ? numel(*y) : 0);
  }
  if (op == "LSTM" || op == "GRU" || op == "RNN" || op == "DynamicQLSTM" || op == "DynamicQGRU") {
    auto x = in(0), w = in(1), r = in(2);
    if (!x || !w || !r || x->size() != 3) return std::nullopt;
    bool batch_first = n.attr_int("layout", 0) == 1;
    double steps = double(batch_first ? (*x)[1] : (*x)[0]) * double(batch_first ? (*x)[0] : (*x)[1]);
    return 2 * steps * (numel(*w) + numel(*r));  // W x_t and R h_{t-1} for every gate and direction
  }
  if (op == "AveragePool" || op == "MaxPool" || op == "LpPool") {
    auto y = out(0);
    if (!y) return std::nullopt;
    return numel(*y) * numel(n.attr_ints("kernel_shape", {}));
  }
  if (reductions().count(op)) {
    auto x = in(0);
    if (!x) return std::nullopt;
    return numel(*x);
  }
  auto it = per_element_cost().find(op);
  if (it != per_element_cost().end()) {
    if (it->second == 0) return 0.0;
    auto y = out(0);
    if (!y) return std::nullopt;
    return it->second * numel(*y);
  }
  return 0.0;
}

}  // namespace

std::string op_key(const Node& n) { return n.domain.empty() ? n.op_type : n.domain + ":" + n.op_type; }

FlopsEstimate estimate_flops(const Graph& graph) {
  FlopsEstimate est;
  ShapeMap shapes = static_shapes(graph, nullptr);
  for (const Node& n : graph.nodes) {
    std::optional<double> f;
    try {
      f = node_flops(shapes, n);
    } catch (const Error&) {  // a malformed attribute: inspect reports, it does not validate
      f = std::nullopt;
    }
    if (!f) {
      ++est.nodes_without_shapes;
      continue;
    }
    est.total += *f;
    est.by_op[op_key(n)] += *f;
  }
  return est;
}

}  // namespace edgekit::cli
