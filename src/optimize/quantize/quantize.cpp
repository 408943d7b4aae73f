#include "optimize/quantize/quantize.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <optional>
#include <set>

#include "formats/image/image.h"
#include "formats/npy/npy.h"
#include "kernels/requantize.h"
#include "optimize/quantize/calibration.h"
#include "passes/pass.h"
#include "passes/pass_manager.h"
#include "runtime/session.h"

namespace edgekit {

QuantizeMode quantize_mode_from_name(const std::string& n) {
  if (n == "dynamic") return QuantizeMode::dynamic_int8;
  if (n == "static") return QuantizeMode::static_int8;
  if (n == "fp16") return QuantizeMode::fp16;
  fail("unknown quantization mode '", n, "' (expected dynamic, static or fp16)");
}

CalibrationMethod calibration_method_from_name(const std::string& n) {
  if (n == "minmax") return CalibrationMethod::minmax;
  if (n == "percentile") return CalibrationMethod::percentile;
  if (n == "entropy") return CalibrationMethod::entropy;
  if (n == "mse") return CalibrationMethod::mse;
  fail("unknown calibration method '", n, "' (expected minmax, percentile, entropy or mse)");
}

// ---- calibration data

namespace {

void check_sample(const ValueInfo& in, const Tensor& t, const std::string& file, const std::string& role) {
  EK_CHECK(t.dtype() == in.dtype, file, ": ", role, " for input '", in.name, "' has dtype ", dtype_name(t.dtype()),
           ", the model expects ", dtype_name(in.dtype));
  EK_CHECK(t.rank() == in.dims.size(), file, ": ", role, " for input '", in.name, "' has shape ",
           shape_str(t.shape()), ", the model expects ", in.shape_string());
  for (size_t d = 1; d < in.dims.size(); ++d)
    EK_CHECK(in.dims[d] < 0 || in.dims[d] == t.shape()[d], file, ": ", role, " for input '", in.name,
             "' has shape ", shape_str(t.shape()), ", the model expects ", in.shape_string());
  EK_CHECK(t.shape().empty() || t.shape()[0] > 0, file, ": ", role, " for input '", in.name, "' holds no samples");
  if (t.dtype() == DType::f32)
    for (int64_t i = 0; i < t.numel(); ++i)
      EK_CHECK(std::isfinite(t.data<float>()[i]), file, ": ", role, " for input '", in.name,
               "' has a non-finite value (", t.data<float>()[i], ") at element ", i);
}

Tensor rows(const Tensor& t, int64_t begin, int64_t end) {
  Shape s = t.shape();
  const int64_t per = s[0] ? t.numel() / s[0] : 0;
  s[0] = end - begin;
  Tensor out(t.dtype(), s);
  std::memcpy(out.raw(), static_cast<const uint8_t*>(t.raw()) + size_t(begin * per) * dtype_size(t.dtype()),
              out.nbytes());
  return out;
}

}  // namespace

CalibrationSet load_calibration_data(const std::string& path, const Graph& model, int64_t batch,
                                     const std::string& role, std::vector<std::string>* sources,
                                     const EkmPreprocessing& images) {
  namespace fs = std::filesystem;
  EK_CHECK(fs::exists(path), path, ": ", role, " not found");
  EK_CHECK(batch >= 1, "batch size must be at least 1, got ", batch);
  if (sources) sources->clear();
  EK_CHECK(!model.inputs.empty(), path, ": the model has no inputs to feed ", role, " to");
  if (fs::is_directory(path)) {
    EK_CHECK(model.inputs.size() == 1, path, ": a folder of .npy files or images serves one-input models; this model has ",
             model.inputs.size(), " inputs (use a .npz with one array per input)");
    std::vector<fs::path> files;
    std::vector<std::string> image_files;
    for (const auto& e : fs::directory_iterator(path)) {
      if (!e.is_regular_file()) continue;
      if (e.path().extension() == ".npy") files.push_back(e.path());
      else if (is_image_file(e.path().string())) image_files.push_back(e.path().string());
    }
    std::sort(files.begin(), files.end());
    EK_CHECK(files.empty() || image_files.empty(), path, ": the ", role, " folder holds both .npy files (",
             files.size(), ") and images (", image_files.size(), "); keep one kind");
    if (!image_files.empty()) {
      std::sort(image_files.begin(), image_files.end());
      return calibration_from_images(image_files, model, images, batch, role, sources);
    }
    EK_CHECK(!files.empty(), path, ": the ", role, " folder holds no .npy files or images (PNG, JPEG, BMP, ...)");
    CalibrationSet out;
    for (const auto& f : files) {
      Tensor t = read_npy(f.string());
      if (t.rank() + 1 == model.inputs[0].dims.size()) {  // one sample without its batch dim
        Shape s = t.shape();
        s.insert(s.begin(), 1);
        t = t.reshaped(s);
      }
      check_sample(model.inputs[0], t, f.string(), role);
      out.push_back({{model.inputs[0].name, t}});
      if (sources) sources->push_back(f.string());
    }
    return out;
  }
  return calibration_from_arrays(read_npz(path), model, batch, path, role, sources);
}

CalibrationSet calibration_from_arrays(const std::map<std::string, Tensor>& arrays, const Graph& model, int64_t batch,
                                       const std::string& source, const std::string& role,
                                       std::vector<std::string>* sources) {
  EK_CHECK(batch >= 1, "batch size must be at least 1, got ", batch);
  EK_CHECK(!model.inputs.empty(), source, ": the model has no inputs to feed ", role, " to");
  if (sources) sources->clear();
  EK_CHECK(!arrays.empty(), source, ": the ", role, " holds no arrays");
  std::map<std::string, Tensor> by_input;
  for (const ValueInfo& in : model.inputs) {
    auto it = arrays.find(in.name);
    if (it == arrays.end() && model.inputs.size() == 1 && arrays.size() == 1) it = arrays.begin();
    EK_CHECK(it != arrays.end(), source, ": no array named '", in.name, "' (the model's input) in the ", role);
    check_sample(in, it->second, cat(source, "['", it->first, "']"), role);
    EK_CHECK(it->second.rank() > 0, source, "['", it->first, "']: ", role, " needs a leading sample dim");
    by_input[in.name] = it->second;
  }
  const int64_t n = by_input.begin()->second.shape().at(0);
  for (const auto& [name, t] : by_input)
    EK_CHECK(t.shape()[0] == n, source, ": inputs hold different sample counts (", n, " and ", t.shape()[0], ")");
  CalibrationSet out;
  for (int64_t b = 0; b < n; b += batch) {
    std::map<std::string, Tensor> feed;
    for (const auto& [name, t] : by_input) feed[name] = rows(t, b, std::min(n, b + batch));
    out.push_back(std::move(feed));
    if (sources) sources->push_back(cat(source, " samples ", b, "..", std::min(n, b + batch) - 1));
  }
  return out;
}

// ---- static quantization

namespace {

struct QNodeInfo {
  std::vector<size_t> activations;  // input indices read as activations
  int weight = -1, bias = -1;       // input indices of constant weight / bias
  int64_t weight_axis = 0;          // output-channel axis of the weight
  bool pass_through = false;        // output keeps the input's parameters
};

bool excluded(const Node& n, const std::vector<std::string>& ex) {
  return std::find(ex.begin(), ex.end(), n.name) != ex.end() || std::find(ex.begin(), ex.end(), n.op_type) != ex.end();
}

std::optional<QNodeInfo> quantizable(const Graph& g, const Node& n) {
  if (!n.domain.empty()) return std::nullopt;
  auto is_const = [&](size_t i) { return n.has_input(i) && g.initializers.count(n.inputs[i]); };
  auto act = [&](size_t i) { return n.has_input(i) && !g.initializers.count(n.inputs[i]); };
  auto f32_const = [&](size_t i, size_t rank) {
    return is_const(i) && g.initializers.at(n.inputs[i]).dtype() == DType::f32 &&
           g.initializers.at(n.inputs[i]).rank() == rank;
  };
  QNodeInfo q;
  const std::string& op = n.op_type;
  if (op == "Conv") {
    if (!act(0) || !f32_const(1, 4) || (n.has_input(2) && !f32_const(2, 1))) return std::nullopt;
    q.activations = {0}, q.weight = 1, q.bias = n.has_input(2) ? 2 : -1, q.weight_axis = 0;
    return q;
  }
  if (op == "Gemm") {
    if (!act(0) || !f32_const(1, 2) || n.attr_int("transA", 0) || n.attr_float("alpha", 1.f) != 1.f ||
        n.attr_float("beta", 1.f) != 1.f || (n.has_input(2) && !f32_const(2, 1)))
      return std::nullopt;
    q.activations = {0}, q.weight = 1, q.bias = n.has_input(2) ? 2 : -1;
    q.weight_axis = n.attr_int("transB", 0) ? 0 : 1;
    return q;
  }
  if (op == "MatMul") {
    if (!act(0) || !f32_const(1, 2)) return std::nullopt;
    q.activations = {0}, q.weight = 1, q.weight_axis = 1;
    return q;
  }
  // Every input an activation (a Mul by a constant, e.g. a scale folded from preprocessing, stays
  // float: only activation products have an int8 kernel, QMul).
  static const std::set<std::string> all_inputs = {"Add", "Mul", "AveragePool", "GlobalAveragePool", "Concat",
                                                   "Sigmoid", "Tanh", "HardSwish", "HardSigmoid", "LeakyRelu", "Relu"};
  static const std::set<std::string> moves = {"MaxPool", "Flatten", "Reshape"};
  if (all_inputs.count(op)) {
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      if (!act(i)) return std::nullopt;
      q.activations.push_back(i);
    }
    return q;
  }
  if (op == "Clip") {  // constant bounds: quantized like Relu (from 0, the producer absorbs it)
    if (!act(0) || n.outputs.size() != 1) return std::nullopt;
    for (size_t i = 1; i < n.inputs.size(); ++i)
      if (n.has_input(i) && !is_const(i)) return std::nullopt;
    q.activations = {0};
    return q;
  }
  if (moves.count(op)) {
    if (!act(0) || n.outputs.size() != 1) return std::nullopt;
    for (size_t i = 1; i < n.inputs.size(); ++i)
      if (n.has_input(i) && !is_const(i)) return std::nullopt;
    q.activations = {0}, q.pass_through = true;
    return q;
  }
  return std::nullopt;
}

struct Params {
  float scale;
  int32_t zero_point;
};

// Drops the initializers no node reads (the float weights a quantized copy replaced).
void eliminate_unused_initializers(Graph& g) {
  std::set<std::string> used;
  for (const auto& n : g.nodes) used.insert(n.inputs.begin(), n.inputs.end());
  for (const auto& o : g.outputs) used.insert(o.name);
  for (auto it = g.initializers.begin(); it != g.initializers.end();)
    it = used.count(it->first) ? std::next(it) : g.initializers.erase(it);
}

Tensor scalar_i8(int32_t v) {
  Tensor t(DType::i8, {});
  t.data<int8_t>()[0] = int8_t(v);
  return t;
}

struct QuantizedWeight {
  Tensor values;             // int8, the weight's shape
  std::vector<float> scale;  // per channel along the axis, or one
};

// int8 symmetric [-127, 127] per output channel (along `axis`) or per tensor. Scale max|w| / 127,
// or with `mse` the clipped range r * max|w| (r in 0.50..1.00) of least squared error.
QuantizedWeight quantize_weight_values(const Tensor& w, int64_t axis, bool per_channel, bool mse = false) {
  const int64_t channels = per_channel ? w.shape()[size_t(axis)] : 1;
  int64_t inner = 1;
  for (size_t d = size_t(axis) + 1; d < w.rank(); ++d) inner *= w.shape()[d];
  QuantizedWeight q{Tensor(DType::i8, w.shape()), std::vector<float>(size_t(channels), 0.f)};
  const float* src = w.data<float>();
  auto channel = [&](int64_t e) { return size_t(per_channel ? (e / inner) % channels : 0); };
  auto level = [](float v, float s) { return std::clamp(std::nearbyint(v / s), -127.f, 127.f); };
  for (int64_t e = 0; e < w.numel(); ++e) q.scale[channel(e)] = std::max(q.scale[channel(e)], std::fabs(src[e]));
  for (float& s : q.scale) s = s > 0 ? s / 127.f : 1.f;
  if (mse) {
    const std::vector<float> full = q.scale;
    std::vector<double> best(size_t(channels), -1.0);
    for (int step = 50; step <= 100; ++step) {
      std::vector<double> err(size_t(channels), 0.0);
      for (int64_t e = 0; e < w.numel(); ++e) {
        const float s = full[channel(e)] * float(step) / 100.f;
        const double d = double(level(src[e], s) * s - src[e]);
        err[channel(e)] += d * d;
      }
      for (size_t c = 0; c < size_t(channels); ++c)
        if (best[c] < 0 || err[c] < best[c]) best[c] = err[c], q.scale[c] = full[c] * float(step) / 100.f;
    }
  }
  for (int64_t e = 0; e < w.numel(); ++e) q.values.data<int8_t>()[e] = int8_t(level(src[e], q.scale[channel(e)]));
  return q;
}

// The weight's quantization error, dequantized int8 minus float (what bias correction measures).
Tensor weight_quantization_error(const Tensor& w, int64_t axis, bool per_channel, bool mse) {
  const QuantizedWeight q = quantize_weight_values(w, axis, per_channel, mse);
  const int64_t channels = int64_t(q.scale.size());
  int64_t inner = 1;
  for (size_t d = size_t(axis) + 1; d < w.rank(); ++d) inner *= w.shape()[d];
  Tensor err(DType::f32, w.shape());
  for (int64_t e = 0; e < w.numel(); ++e)
    err.data<float>()[e] = float(q.values.data<int8_t>()[e]) * q.scale[size_t(per_channel ? (e / inner) % channels : 0)] -
                           w.data<float>()[e];
  return err;
}

// Sums per channel (axis 1: NCHW, and Gemm's [M, N]) over every other axis, for a mean.
struct ChannelSums {
  std::vector<double> sum;
  int64_t count = 0;  // values summed per channel
  void add(const Tensor& t) {
    EK_CHECK(t.dtype() == DType::f32 && t.rank() >= 2 && t.numel() > 0, "bias correction: unexpected probe output ",
             shape_str(t.shape()));
    const int64_t c = t.shape()[1], inner = t.numel() / (t.shape()[0] * c);
    if (sum.empty()) sum.assign(size_t(c), 0.0);
    const float* p = t.data<float>();
    for (int64_t e = 0; e < t.numel(); ++e) sum[size_t((e / inner) % c)] += p[e];
    count += t.numel() / c;
  }
};

class StaticQuantizer {
 public:
  StaticQuantizer(const Graph& model, const QuantizeOptions& o, const CalibrationSet& data, QuantizeReport& r)
      : o_(o), data_(data), report_(r), g_(model) {}

  Graph run() {
    optimize_graph(g_, 2);
    defuse_dynamic_recurrent(g_);  // quantized from float, as everything else
    select_nodes();
    calibrate();
    rewrite();
    return std::move(g_);
  }

 private:
  void select_nodes() {
    GraphUses uses(g_);
    for (size_t i = 0; i < g_.nodes.size(); ++i) {
      const Node& n = g_.nodes[i];
      if (excluded(n, o_.exclude)) continue;
      auto q = quantizable(g_, n);
      if (!q) continue;
      info_[i] = *q;
    }
    EK_CHECK(!info_.empty(), "the model has no op static quantization handles (Conv, Gemm, MatMul with constant weights, Add, pooling, ...)",
             o_.exclude.empty() ? "" : " outside --exclude");
    // A Relu (or Clip from 0) reading a quantized Conv/Gemm/MatMul/Add alone folds into its range.
    if (!o_.symmetric_activations)
      for (auto& [i, q] : info_) {
        const Node& n = g_.nodes[i];
        const bool clip0 = n.op_type == "Clip" && n.has_input(1) && scalar_constant(g_, n.inputs[1]) == 0.0;
        if (n.op_type != "Relu" && !clip0) continue;
        auto p = uses.producer.find(n.inputs[0]);
        if (p == uses.producer.end() || !info_.count(p->second)) continue;
        if (info_[p->second].weight < 0 && g_.nodes[p->second].op_type != "Add") continue;
        if (uses.use_count(n.inputs[0]) != 1) continue;
        absorbed_[p->second] = i;
      }
    for (const auto& [index, q] : info_) {
      const auto i = index;  // a plain variable: clang 14 cannot capture a structured binding
      const Node& n = g_.nodes[i];
      if (!absorbed_.count(i) && std::none_of(absorbed_.begin(), absorbed_.end(), [&](auto& a) { return a.second == i; }))
        for (size_t a : q.activations) observed_.insert(n.inputs[a]);
      for (const auto& out : n.outputs) observed_.insert(out);
    }
    // Inputs of absorbed activations vanish; the producer's own input stays observed.
    for (const auto& [conv, relu] : absorbed_) {
      observed_.erase(g_.nodes[conv].outputs[0]);
      for (size_t a : info_[conv].activations) observed_.insert(g_.nodes[conv].inputs[a]);
    }
    // Logits: a graph output that a Conv/Gemm/MatMul writes (no Relu absorbed, nothing else reads
    // it) stays float, its int8 product dequantized directly; an int8 output would add a
    // rounding step that, on a classifier's logits, makes top-2 ties. Still observed: its range
    // is calibrated, only not applied.
    if (o_.float_outputs && !o_.int8_io)
      for (const auto& [i, q] : info_) {
        const std::string& y = g_.nodes[i].outputs[0];
        const bool graph_output =
            std::any_of(g_.outputs.begin(), g_.outputs.end(), [&](const ValueInfo& o) { return o.name == y; });
        if (q.weight >= 0 && !absorbed_.count(i) && graph_output && uses.use_count(y) == 1) float_outputs_.insert(y);
      }
    for (const auto& [i, q] : info_) ++report_.by_op[g_.nodes[i].op_type];
    report_.quantized_nodes = int(info_.size());
  }

  void calibrate() {
    EK_CHECK(!data_.empty(), "static quantization needs calibration data (--calibration), got an empty set");
    Graph probe = g_;
    std::set<std::string> outs;
    for (const auto& o : probe.outputs) outs.insert(o.name);
    std::set<std::string> inputs;
    for (const auto& in : probe.inputs) inputs.insert(in.name);
    for (const auto& v : observed_)
      if (!outs.count(v) && !inputs.count(v)) {
        ValueInfo vi;
        vi.name = v, vi.dtype = DType::f32, vi.shape_known = false;
        probe.outputs.push_back(vi);
      }
    // Bias correction: per Conv/Gemm a copy that applies the weight's quantization error to the
    // same float input; the mean of its output per channel is the shift int8 weights cause.
    std::map<std::string, size_t> error_probes;  // probe output -> node index
    if (o_.bias_correction)
      for (const auto& [i, q] : info_) {
        const Node& n = g_.nodes[i];
        if (q.weight < 0 || (n.op_type != "Conv" && n.op_type != "Gemm")) continue;
        Node e = n;
        e.name = fresh_name(probe, n.name + "/weight_error");
        e.inputs = {n.inputs[0], add_initializer(probe, n.inputs[size_t(q.weight)] + "/error",
                                                 weight_quantization_error(g_.initializers.at(n.inputs[size_t(q.weight)]),
                                                                           q.weight_axis, o_.per_channel, o_.mse_weights))};
        e.outputs = {fresh_name(probe, n.outputs[0] + "/weight_error")};
        probe.nodes.push_back(e);
        ValueInfo vi;
        vi.name = e.outputs[0], vi.dtype = DType::f32, vi.shape_known = false;
        probe.outputs.push_back(vi);
        error_probes[e.outputs[0]] = i;
      }
    SessionOptions so;
    so.opt_level = 0, so.threads = o_.threads;
    Session s(std::move(probe), so);
    std::map<size_t, ChannelSums> error_sums;  // node index -> its probe's output
    const bool histogram = o_.method != CalibrationMethod::minmax;
    const size_t total = data_.size() * (histogram ? 2 : 1);
    size_t done = 0;
    for (int pass = 0; pass < (histogram ? 2 : 1); ++pass)
      for (const auto& feed : data_) {
        std::vector<Tensor> ys = s.run(feed);
        auto see = [&](const std::string& name, const Tensor& t) {
          if (!observed_.count(name) || t.dtype() != DType::f32) return;
          CalibrationObserver& ob = observers_[name];
          if (pass == 0) ob.observe_range(t.data<float>(), t.numel());
          else ob.observe_histogram(t.data<float>(), t.numel());
        };
        for (size_t k = 0; k < ys.size(); ++k) see(s.outputs()[k].name, ys[k]);
        for (const auto& [name, t] : feed) see(name, t);
        if (pass == 0)
          for (size_t k = 0; k < ys.size(); ++k) {
            auto e = error_probes.find(s.outputs()[k].name);
            if (e != error_probes.end()) error_sums[e->second].add(ys[k]);
          }
        if (o_.progress) o_.progress(++done, total);
      }
    for (const auto& [i, sums] : error_sums)
      for (double v : sums.sum) bias_shift_[i].push_back(float(v / double(sums.count)));
  }

  Params activation_params(const std::string& v) {
    auto it = params_.find(v);
    if (it != params_.end()) return it->second;
    auto ob = observers_.find(v);
    EK_CHECK(ob != observers_.end() && !ob->second.empty(), "no calibration statistics for value '", v, "'");
    auto [lo, hi] = ob->second.range(o_.method, o_.percentile);
    auto [scale, zp] = int8_params_for_range(lo, hi, o_.symmetric_activations);
    return params_[v] = {scale, zp};
  }

  // A name free in the graph and among the nodes made but not inserted yet: a weight or bias
  // shared by several nodes (exporters dedupe equal constants) gets one DequantizeLinear each.
  std::string pending_name(const std::string& base) {
    std::string name = fresh_name(g_, base);
    for (int i = 1; pending_.count(name); ++i) name = fresh_name(g_, cat(base, "_", i));
    pending_.insert(name);
    return name;
  }

  // Q then DQ of value `v` (written as v/float by its producer, or a graph input).
  void qdq(const std::string& v, bool graph_input, std::vector<Node>& out_nodes) {
    Params p = activation_params(v);
    const std::string s = add_initializer(g_, v + "/scale", Tensor::scalar<float>(p.scale));
    const std::string z = add_initializer(g_, v + "/zero_point", scalar_i8(p.zero_point));
    const std::string src = graph_input ? v : v + "/float", q = v + "/quantized", dq = graph_input ? v + "/dq" : v;
    Node nq, ndq;
    nq.op_type = "QuantizeLinear", nq.name = v + "/QuantizeLinear", nq.inputs = {src, s, z}, nq.outputs = {q};
    ndq.op_type = "DequantizeLinear", ndq.name = v + "/DequantizeLinear", ndq.inputs = {q, s, z}, ndq.outputs = {dq};
    nq.opset = ndq.opset = 13;
    out_nodes.push_back(nq);
    out_nodes.push_back(ndq);
  }

  // Weight input `i` of node n: int8 symmetric (per channel along axis, or per tensor) behind DQ.
  std::vector<float> quantize_weight(Node& n, int i, int64_t axis, std::vector<Node>& pre) {
    const QuantizedWeight qw = quantize_weight_values(g_.initializers.at(n.inputs[size_t(i)]), axis, o_.per_channel, o_.mse_weights);
    const int64_t channels = int64_t(qw.scale.size());
    const std::string base = n.inputs[size_t(i)];
    Tensor st = o_.per_channel ? Tensor::from<float>(qw.scale, {channels}) : Tensor::scalar<float>(qw.scale[0]);
    Tensor zt(DType::i8, o_.per_channel ? Shape{channels} : Shape{});
    Node dq;
    dq.op_type = "DequantizeLinear", dq.name = pending_name(base + "/DequantizeLinear"), dq.opset = 13;
    dq.inputs = {add_initializer(g_, base + "/quantized", qw.values), add_initializer(g_, base + "/scale", st),
                 add_initializer(g_, base + "/zero_point", zt)};
    dq.outputs = {pending_name(base + "/dq")};
    if (o_.per_channel) dq.attrs["axis"] = axis;
    n.inputs[size_t(i)] = dq.outputs[0];
    pre.push_back(dq);
    return qw.scale;
  }

  // Bias input `i`: int32 at x_scale * w_scale, less `shift` (bias correction) where given.
  void quantize_bias(Node& n, int i, float x_scale, const std::vector<float>& w_scale, const std::vector<float>* shift,
                     std::vector<Node>& pre) {
    const Tensor& b = g_.initializers.at(n.inputs[size_t(i)]);
    const int64_t m = b.numel();
    std::vector<float> scale(static_cast<size_t>(m));
    Tensor q(DType::i32, {m});
    for (int64_t c = 0; c < m; ++c) {
      scale[size_t(c)] = x_scale * w_scale[w_scale.size() == 1 ? 0 : size_t(c)];
      const double want = double(b.data<float>()[c]) - (shift ? double((*shift)[size_t(c)]) : 0.0);
      const double v = std::nearbyint(want / double(scale[size_t(c)]));
      q.data<int32_t>()[c] = int32_t(std::clamp(v, -2147483647.0, 2147483647.0));
    }
    const std::string base = n.inputs[size_t(i)];
    Node dq;
    dq.op_type = "DequantizeLinear", dq.name = pending_name(base + "/DequantizeLinear"), dq.opset = 13;
    const bool per = w_scale.size() > 1;
    dq.inputs = {add_initializer(g_, base + "/quantized", q),
                 add_initializer(g_, base + "/scale", per ? Tensor::from<float>(scale, {m}) : Tensor::scalar<float>(scale[0])),
                 add_initializer(g_, base + "/zero_point", per ? Tensor(DType::i32, {m}) : Tensor(DType::i32, {}))};
    dq.outputs = {pending_name(base + "/dq")};
    if (per) dq.attrs["axis"] = int64_t(0);
    n.inputs[size_t(i)] = dq.outputs[0];
    pre.push_back(dq);
  }

  void rewrite() {
    // Pass-through outputs share their input's parameters (int8 values move unchanged).
    for (const auto& [i, q] : info_)
      if (q.pass_through) params_[g_.nodes[i].outputs[0]] = activation_params(g_.nodes[i].inputs[q.activations[0]]);
    // Absorbed activations: the producer writes the activation's output directly.
    std::set<size_t> dead;
    for (const auto& [conv, relu] : absorbed_) {
      g_.nodes[conv].outputs[0] = g_.nodes[relu].outputs[0];
      dead.insert(relu);
    }
    std::set<std::string> graph_inputs;
    for (const auto& in : g_.inputs) graph_inputs.insert(in.name);
    std::vector<Node> nodes;
    std::vector<Node> front;
    for (const auto& v : observed_)
      if (graph_inputs.count(v)) qdq(v, true, front);
    std::map<std::string, std::string> input_dq;
    for (const auto& n : front)
      if (n.op_type == "DequantizeLinear") input_dq[n.inputs[0].substr(0, n.inputs[0].size() - 10)] = n.outputs[0];
    nodes = front;
    for (size_t i = 0; i < g_.nodes.size(); ++i) {
      if (dead.count(i)) continue;
      Node n = g_.nodes[i];
      for (auto& in : n.inputs)
        if (input_dq.count(in)) in = input_dq[in];
      auto it = info_.find(i);
      std::vector<Node> pre, post;
      if (it != info_.end() && it->second.weight >= 0) {
        const QNodeInfo& q = it->second;
        const float x_scale = activation_params(g_.nodes[i].inputs[q.activations[0]]).scale;
        std::vector<float> ws = quantize_weight(n, q.weight, q.weight_axis, pre);
        auto shift = bias_shift_.find(i);
        int bias = q.bias;
        if (bias < 0 && shift != bias_shift_.end()) {  // a zero bias to carry the correction
          bias = 2;
          n.inputs.resize(3);
          n.inputs[2] = add_initializer(g_, (n.name.empty() ? n.outputs[0] : n.name) + "/bias",
                                        Tensor(DType::f32, {int64_t(shift->second.size())}));
        }
        if (bias >= 0) quantize_bias(n, bias, x_scale, ws, shift == bias_shift_.end() ? nullptr : &shift->second, pre);
      }
      for (auto& out : n.outputs)
        if (observed_.count(out) && !float_outputs_.count(out)) {
          qdq(out, false, post);
          out += "/float";
        }
      for (auto& p : pre) nodes.push_back(p);
      nodes.push_back(n);
      for (auto& p : post) nodes.push_back(p);
    }
    g_.nodes = std::move(nodes);
    if (g_.opsets[""] < 13) g_.opsets[""] = 13;
    if (o_.int8_io) make_int8_io();
    g_.value_info.clear();  // types changed (v/float and the rest); shape inference recomputes
    eliminate_unused_initializers(g_);
    verify(g_);
  }

  void make_int8_io() {
    for (auto& in : g_.inputs) {
      auto it = std::find_if(g_.nodes.begin(), g_.nodes.end(),
                             [&](const Node& n) { return n.op_type == "QuantizeLinear" && n.inputs[0] == in.name; });
      if (it == g_.nodes.end() || in.dtype != DType::f32) continue;
      const std::string q = it->outputs[0];
      g_.metadata["quantization.input." + in.name] = cat(params_[in.name].scale, " ", params_[in.name].zero_point);
      g_.nodes.erase(it);
      replace_uses(g_, q, in.name);
      in.dtype = DType::i8;
    }
    for (auto& out : g_.outputs) {
      auto it = std::find_if(g_.nodes.begin(), g_.nodes.end(),
                             [&](const Node& n) { return n.op_type == "DequantizeLinear" && n.outputs[0] == out.name; });
      if (it == g_.nodes.end()) continue;
      const std::string q = it->inputs[0];
      g_.metadata["quantization.output." + out.name] = cat(params_[out.name].scale, " ", params_[out.name].zero_point);
      g_.nodes.erase(it);
      for (auto& n : g_.nodes)
        for (auto& o : n.outputs)
          if (o == q) o = out.name;
      replace_uses(g_, q, out.name);
      out.dtype = DType::i8;
    }
  }

  const QuantizeOptions& o_;
  const CalibrationSet& data_;
  QuantizeReport& report_;
  Graph g_;
  std::set<std::string> pending_;  // names given to nodes not yet in g_ (pending_name)
  std::map<size_t, QNodeInfo> info_;
  std::map<size_t, size_t> absorbed_;  // producer node -> its absorbed Relu/Clip
  std::set<std::string> observed_;
  std::map<std::string, CalibrationObserver> observers_;
  std::map<std::string, Params> params_;
  std::map<size_t, std::vector<float>> bias_shift_;  // node -> E[(w_q - w) x] per output channel
  std::set<std::string> float_outputs_;  // graph outputs a Conv/Gemm/MatMul writes in float
};

// ---- dynamic quantization: DynamicQuantizeLinear -> MatMulInteger -> Cast -> Mul (-> Add)

// A GRU's or LSTM's W [D, G*H, I] and R [D, G*H, H] (constant f32) stored int8, symmetric, per
// tensor or per gate row (axis 1, the row's largest |w| over both directions), each behind a
// DequantizeLinear that feeds the node where the float tensor did: standard ONNX that ONNX
// Runtime runs. ONNX has no integer recurrent op, so the products stay float: edgekit folds
// the DequantizeLinear at load (ONNX Runtime runs it each inference), and the gain is the
// file's size. Returns whether anything was quantized; the new nodes go to `out`.
bool quantize_recurrent_weights(Graph& g, Node& n, bool per_channel, std::vector<Node>& out) {
  bool any = false;
  for (size_t input : {size_t(1), size_t(2)}) {
    if (input >= n.inputs.size() || n.inputs[input].empty()) continue;
    const Tensor* w = constant_value(g, n.inputs[input]);
    if (!w || w->dtype() != DType::f32 || w->rank() != 3 || w->numel() == 0) continue;
    const int64_t D = w->dim(0), rows = w->dim(1), cols = w->dim(2);
    const float* v = w->data<float>();
    std::vector<float> scale(per_channel ? size_t(rows) : 1, 0.f);
    for (int64_t d = 0; d < D; ++d)
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < cols; ++c) {
          float& s = scale[per_channel ? size_t(r) : 0];
          s = std::max(s, std::fabs(v[(d * rows + r) * cols + c]));
        }
    for (float& s : scale) s = s > 0 ? s / 127.f : 1.f;
    Tensor q(DType::i8, w->shape());
    for (int64_t d = 0; d < D; ++d)
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < cols; ++c) {
          const int64_t i = (d * rows + r) * cols + c;
          q.data<int8_t>()[i] = int8_t(std::clamp(std::nearbyint(v[i] / scale[per_channel ? size_t(r) : 0]), -127.f, 127.f));
        }
    const std::string base = (n.name.empty() ? n.outputs[0] : n.name) + (input == 1 ? "/W" : "/R");
    Node dq;
    dq.op_type = "DequantizeLinear", dq.name = fresh_name(g, base + "/DequantizeLinear"), dq.opset = 13;
    dq.inputs = {add_initializer(g, base + "_quantized", q),
                 add_initializer(g, base + "_scale", per_channel ? Tensor::from<float>(scale, {rows}) : Tensor::scalar<float>(scale[0])),
                 add_initializer(g, base + "_zero_point", per_channel ? Tensor(DType::i8, {rows}) : Tensor(DType::i8, {}))};
    dq.outputs = {fresh_name(g, base + "_dequantized")};
    if (per_channel) dq.attrs["axis"] = int64_t(1);
    out.push_back(dq);
    n.inputs[input] = dq.outputs[0];
    any = true;
  }
  return any;
}

Graph quantize_dynamic(const Graph& model, const QuantizeOptions& o, QuantizeReport& r) {
  Graph g = model;
  optimize_graph(g, 2);
  defuse_dynamic_recurrent(g);  // int8 GRU/LSTM of a dynamic model: re-quantized from float
  std::vector<Node> nodes;
  for (const Node& n0 : g.nodes) {
    Node n = n0;
    if ((n.op_type == "GRU" || n.op_type == "LSTM") && n.domain.empty() && !excluded(n, o.exclude)) {
      if (quantize_recurrent_weights(g, n, o.per_channel, nodes)) {
        ++r.quantized_nodes;
        ++r.by_op[n.op_type];
      }
      nodes.push_back(n);
      continue;
    }
    const bool gemm = n.op_type == "Gemm", matmul = n.op_type == "MatMul";
    const Tensor* w = (gemm || matmul) && n.domain.empty() && n.inputs.size() >= 2 ? constant_value(g, n.inputs[1]) : nullptr;
    const bool plain = gemm ? !n.attr_int("transA", 0) && n.attr_float("alpha", 1.f) == 1.f &&
                                  n.attr_float("beta", 1.f) == 1.f && (!n.has_input(2) || (constant_value(g, n.inputs[2]) &&
                                                                                            constant_value(g, n.inputs[2])->rank() == 1))
                            : true;
    if (!w || w->dtype() != DType::f32 || w->rank() != 2 || !plain || excluded(n, o.exclude)) {
      nodes.push_back(n);
      continue;
    }
    // B as [K, N].
    const bool trans = gemm && n.attr_int("transB", 0);
    const int64_t K = trans ? w->dim(1) : w->dim(0), N = trans ? w->dim(0) : w->dim(1);
    auto at = [&](int64_t k, int64_t c) { return w->data<float>()[trans ? c * K + k : k * N + c]; };
    std::vector<float> scale(o.per_channel ? size_t(N) : 1, 0.f);
    for (int64_t k = 0; k < K; ++k)
      for (int64_t c = 0; c < N; ++c) scale[o.per_channel ? size_t(c) : 0] = std::max(scale[o.per_channel ? size_t(c) : 0], std::fabs(at(k, c)));
    for (float& s : scale) s = s > 0 ? s / 127.f : 1.f;
    Tensor q(DType::i8, {K, N});
    for (int64_t k = 0; k < K; ++k)
      for (int64_t c = 0; c < N; ++c)
        q.data<int8_t>()[k * N + c] = int8_t(std::clamp(std::nearbyint(at(k, c) / scale[o.per_channel ? size_t(c) : 0]), -127.f, 127.f));
    const std::string base = n.name.empty() ? n.outputs[0] : n.name, y = n.outputs[0];
    const std::string wq = add_initializer(g, base + "/weight_quantized", q);
    const std::string wz = add_initializer(g, base + "/weight_zero_point",
                                           o.per_channel ? Tensor(DType::i8, {N}) : Tensor(DType::i8, {}));
    const std::string ws = add_initializer(g, base + "/weight_scale",
                                           o.per_channel ? Tensor::from<float>(scale, {N}) : Tensor::scalar<float>(scale[0]));
    auto node = [&](const std::string& op, std::vector<std::string> in, std::vector<std::string> out, const std::string& name) {
      Node m;
      m.op_type = op, m.name = fresh_name(g, name), m.inputs = std::move(in), m.outputs = std::move(out), m.opset = 13;
      nodes.push_back(m);
      return &nodes.back();
    };
    const std::string xq = base + "/x_quantized", xs = base + "/x_scale", xz = base + "/x_zero_point";
    node("DynamicQuantizeLinear", {n.inputs[0]}, {xq, xs, xz}, base + "/DynamicQuantizeLinear");
    node("MatMulInteger", {xq, wq, xz, wz}, {base + "/acc"}, base + "/MatMulInteger");
    node("Cast", {base + "/acc"}, {base + "/acc_f"}, base + "/Cast")->attrs["to"] = int64_t(1);
    node("Mul", {xs, ws}, {base + "/scale"}, base + "/scale_mul");
    const bool bias = gemm && n.has_input(2);
    node("Mul", {base + "/acc_f", base + "/scale"}, {bias ? base + "/unbiased" : y}, base + "/Mul");
    if (bias) node("Add", {base + "/unbiased", n.inputs[2]}, {y}, base + "/bias");
    ++r.quantized_nodes;
    ++r.by_op[n.op_type];
  }
  EK_CHECK(r.quantized_nodes > 0, "the model has no op dynamic quantization handles (Gemm or MatMul with constant 2-D weights, GRU or LSTM with constant weights)",
           o.exclude.empty() ? "" : " outside --exclude");
  g.nodes = std::move(nodes);
  if (g.opsets[""] < 11) g.opsets[""] = 11;
  g.value_info.clear();
  eliminate_unused_initializers(g);
  verify(g);
  return g;
}

// ---- fp16: weights stored half size, Cast back to f32 at load (constant folding)

Graph quantize_fp16(const Graph& model, const QuantizeOptions& o, QuantizeReport& r) {
  Graph g = model;
  std::vector<Node> casts;
  for (auto& [name, t] : std::map<std::string, Tensor>(g.initializers)) {
    if (t.dtype() != DType::f32 || t.numel() < 16) continue;
    Tensor h(DType::f16, t.shape());
    for (int64_t i = 0; i < t.numel(); ++i) h.data<f16_t>()[i] = float_to_half(t.data<float>()[i]);
    g.initializers.erase(name);
    const std::string f16 = add_initializer(g, name + "/f16", h);
    Node c;
    c.op_type = "Cast", c.name = fresh_name(g, name + "/Cast"), c.inputs = {f16}, c.outputs = {name}, c.opset = 13;
    c.attrs["to"] = int64_t(1);
    casts.push_back(c);
    ++r.quantized_nodes;
  }
  EK_CHECK(!casts.empty(), "the model has no float weights of 16 or more elements to store as fp16");
  r.by_op["Cast"] = int(casts.size());
  g.nodes.insert(g.nodes.begin(), casts.begin(), casts.end());
  (void)o;
  verify(g);
  return g;
}

}  // namespace

Graph quantize_model(const Graph& model, const QuantizeOptions& options, const CalibrationSet* data,
                     QuantizeReport* report) {
  QuantizeReport local;
  QuantizeReport& r = report ? *report : local;
  // Names in --exclude that match no node and no op type are reported, not ignored silently.
  for (const auto& e : options.exclude) {
    bool found = std::any_of(model.nodes.begin(), model.nodes.end(),
                             [&](const Node& n) { return n.name == e || n.op_type == e; });
    if (!found) r.warnings.push_back(cat("--exclude '", e, "' names no node and no op type of the model"));
  }
  for (const auto& in : model.inputs)
    EK_CHECK(in.dtype == DType::f32, "input '", in.name, "' has dtype ", dtype_name(in.dtype),
             ": quantization starts from a float model");
  switch (options.mode) {
    case QuantizeMode::static_int8:
      EK_CHECK(data != nullptr, "static quantization needs calibration data (--calibration)");
      return StaticQuantizer(model, options, *data, r).run();
    case QuantizeMode::dynamic_int8: return quantize_dynamic(model, options, r);
    case QuantizeMode::fp16: return quantize_fp16(model, options, r);
  }
  fail("unknown quantization mode");
}

}  // namespace edgekit
