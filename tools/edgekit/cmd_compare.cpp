// edgekit compare A B --data DATA [--per-layer]: how far model B is from model A (the reference)
// on a sample set, typically a quantized model against its float original.
//
// Both models run on every sample (a .npz or a folder of .npy files, read as `quantize
// --calibration` reads them). Per output: SQNR = 10 log10(sum ref^2 / sum (ref - test)^2) in dB
// over all samples (inf when identical), max and mean absolute error, and for class scores
// (rank >= 2, last dim > 1) the fraction of rows whose argmax over the last axis agrees.
// --per-layer: every activation B quantizes (QuantizeLinear -> DequantizeLinear, its float
// value named in A) becomes an extra graph output of copies of both graphs, run at opt-level 0
// so that every value keeps its name and the QDQ model runs as written; the same statistics,
// worst SQNR first, show where the error enters.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <iomanip>
#include <iostream>
#include <set>

#include "common.h"
#include "formats/model_loader.h"
#include "optimize/quantize/quantize.h"
#include "runtime/session.h"

namespace edgekit::cli {

namespace {

struct CompareOptions {
  std::string reference, test, data;
  bool per_layer = false, json = false;
  int threads = 1, opt_level = 3;
  int64_t limit = 0;  // 0: every sample
  bool limit_given = false;
};

// ---- statistics of B against A, accumulated over batches

struct ErrorStats {
  double ref_sq = 0, err_sq = 0, abs_sum = 0, max_abs = 0;
  int64_t elements = 0, nan_count = 0;
  int64_t top1_rows = 0, top1_agree = 0;
  bool class_scores = false;  // rank >= 2 and last dim > 1: top-1 agreement is counted

  double sqnr_db() const {
    if (elements == 0) return NAN;
    if (err_sq == 0) return INFINITY;
    return 10 * std::log10(ref_sq / err_sq);  // -inf when the reference is all zeros
  }
  double mean_abs() const { return elements ? abs_sum / double(elements) : NAN; }

  // Adds one batch; `top1` counts argmax agreement when the values look like class scores.
  void add(const Tensor& ref, const Tensor& test, const std::string& what, bool top1) {
    EK_CHECK(ref.shape() == test.shape(), what, ": shape ", shape_str(ref.shape()), " from the reference, ",
             shape_str(test.shape()), " from the test model");
    const std::vector<double> r = doubles(ref), t = doubles(test);
    for (size_t i = 0; i < r.size(); ++i) {
      if (std::isnan(r[i]) || std::isnan(t[i])) {
        ++nan_count;
        continue;
      }
      const double e = r[i] - t[i], a = std::fabs(e);
      ref_sq += r[i] * r[i];
      err_sq += e * e;
      abs_sum += a;
      max_abs = std::max(max_abs, a);
      ++elements;
    }
    class_scores = top1 && ref.rank() >= 2 && ref.shape().back() > 1;
    if (!class_scores) return;
    const size_t classes = size_t(ref.shape().back());
    for (size_t row = 0; row + classes <= r.size(); row += classes) {
      auto first = [&](const std::vector<double>& v) {
        return std::max_element(v.begin() + long(row), v.begin() + long(row + classes)) - v.begin();
      };
      top1_agree += first(r) == first(t);
      ++top1_rows;
    }
  }

  static std::vector<double> doubles(const Tensor& x) {
    std::vector<double> out(size_t(x.numel()));
    visit_dtype(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* p = x.data<T>();
      for (size_t i = 0; i < out.size(); ++i) {
        if constexpr (std::is_same_v<T, f16_t>) out[i] = half_to_float(p[i]);
        else out[i] = double(p[i]);
      }
    });
    return out;
  }
};

std::string db_text(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return fixed(v, 2);
}
nlohmann::ordered_json db_json(double v) {  // JSON has no inf or NaN: those go as strings
  return std::isfinite(v) ? nlohmann::ordered_json(v) : nlohmann::ordered_json(db_text(v));
}
std::string num_text(double v) { return std::isnan(v) ? "-" : cat(std::setprecision(4), v); }

nlohmann::ordered_json stats_json(const ErrorStats& s) {
  nlohmann::ordered_json j = {{"sqnr_db", db_json(s.sqnr_db())}, {"max_abs_error", s.max_abs},
                              {"mean_abs_error", s.elements ? nlohmann::ordered_json(s.mean_abs()) : nullptr},
                              {"elements", s.elements}};
  if (s.nan_count) j["nan_count"] = s.nan_count;
  return j;
}

// ---- the models' interfaces must agree

std::string names_of(const std::vector<ValueInfo>& vs) {
  std::string s;
  for (const auto& v : vs) s += (s.empty() ? "'" : ", '") + v.name + "'";
  return s.empty() ? "none" : s;
}

bool same_shape(const ValueInfo& a, const ValueInfo& b) {
  if (!a.shape_known || !b.shape_known) return true;
  if (a.dims.size() != b.dims.size()) return false;
  for (size_t i = 0; i < a.dims.size(); ++i)  // a dynamic dim takes any size
    if (a.dims[i] >= 0 && b.dims[i] >= 0 && a.dims[i] != b.dims[i]) return false;
  return true;
}

void check_same_values(const char* kind, const std::vector<ValueInfo>& a, const std::vector<ValueInfo>& b,
                       const std::string& pa, const std::string& pb, const Graph& gb) {
  auto find = [](const std::vector<ValueInfo>& vs, const std::string& name) -> const ValueInfo* {
    for (const auto& v : vs)
      if (v.name == name) return &v;
    return nullptr;
  };
  for (const auto& va : a)
    EK_CHECK(find(b, va.name), "the models differ: ", kind, " '", va.name, "' of ", pa, " is not an ", kind, " of ", pb,
             " (its ", kind, "s: ", names_of(b), ")");
  for (const auto& vb : b)
    EK_CHECK(find(a, vb.name), "the models differ: ", kind, " '", vb.name, "' of ", pb, " is not an ", kind, " of ", pa,
             " (its ", kind, "s: ", names_of(a), ")");
  for (const auto& va : a) {
    const ValueInfo& vb = *find(b, va.name);
    const bool int8_io = gb.metadata.count(cat("quantization.", kind, ".", va.name)) != 0;
    EK_CHECK(va.dtype == vb.dtype, "the models differ: ", kind, " '", va.name, "' is ", dtype_name(va.dtype), " in ", pa,
             ", ", dtype_name(vb.dtype), " in ", pb,
             int8_io ? " (quantized with --int8-io; compare needs the float interface)" : "");
    EK_CHECK(same_shape(va, vb), "the models differ: ", kind, " '", va.name, "' has shape ", shape_text(va), " in ", pa,
             ", ", shape_text(vb), " in ", pb);
  }
}

// ---- the sample set

Tensor first_rows(const Tensor& t, int64_t n) {
  Shape s = t.shape();
  const int64_t per = s[0] ? t.numel() / s[0] : 0;
  s[0] = n;
  Tensor out(t.dtype(), s);
  std::memcpy(out.raw(), t.raw(), size_t(n * per) * dtype_size(t.dtype()));
  return out;
}

int64_t samples_in(const std::map<std::string, Tensor>& feed) {
  const Tensor& t = feed.begin()->second;
  return t.rank() ? t.shape()[0] : 1;
}

struct SampleSet {
  CalibrationSet feeds;
  std::vector<std::string> sources;  // per feed: the file, or the .npz rows
  int64_t samples = 0;
};

SampleSet load_samples(const CompareOptions& o, const Graph& reference) {
  // A model whose inputs fix the batch dim takes batches of that size; others take 32 at once.
  int64_t batch = 32;
  for (const auto& in : reference.inputs)
    if (in.shape_known && !in.dims.empty() && in.dims[0] > 0) batch = std::min(batch, in.dims[0]);
  SampleSet s;
  s.feeds = load_calibration_data(o.data, reference, batch, "data", &s.sources);
  EK_CHECK(!s.feeds.empty(), o.data, ": the data set holds no samples");
  if (o.limit > 0) {
    size_t k = 0;
    for (int64_t kept = 0; k < s.feeds.size() && kept < o.limit; ++k) {
      const int64_t n = samples_in(s.feeds[k]);
      if (kept + n > o.limit)
        for (auto& [name, t] : s.feeds[k]) t = first_rows(t, o.limit - kept);
      kept += samples_in(s.feeds[k]);
    }
    s.feeds.resize(k);
    s.sources.resize(k);
  }
  for (const auto& f : s.feeds) s.samples += samples_in(f);
  return s;
}

// Checks every feed against the session's inputs (the batch dim too) before anything runs.
void check_samples(const SampleSet& s, const Session& session) {
  for (size_t k = 0; k < s.feeds.size(); ++k)
    for (const auto& in : session.inputs()) check_feed(in, s.feeds[k].at(in.name), s.sources[k]);
}

// ---- --per-layer: B's quantized activations and their float counterparts in A

struct LayerMatch {
  std::string reference;  // value in A
  std::string test;       // value in B: a DequantizeLinear output
  std::string op, node;   // the node of B writing the value that is quantized ("input" for a graph input)
  ErrorStats stats;
};

// Each QuantizeLinear -> DequantizeLinear pair of B quantizes the value x the QuantizeLinear
// reads and gives y. edgekit's quantizer names them v/float -> v (v/dq for a graph input v),
// ONNX Runtime's x -> x_DequantizeLinear_Output; the counterpart in A is the first of x, y and
// x without "/float" that A defines.
std::vector<LayerMatch> match_layers(const Graph& a, const Graph& b, size_t& pairs) {
  std::set<std::string> defined_in_a;
  for (const auto& in : a.inputs) defined_in_a.insert(in.name);
  for (const auto& n : a.nodes) defined_in_a.insert(n.outputs.begin(), n.outputs.end());
  std::map<std::string, const Node*> producer;
  for (const auto& n : b.nodes)
    for (const auto& out : n.outputs) producer[out] = &n;
  std::set<std::string> graph_inputs;
  for (const auto& in : b.inputs) graph_inputs.insert(in.name);

  std::vector<LayerMatch> matches;
  std::set<std::string> seen;
  pairs = 0;
  for (const auto& dq : b.nodes) {
    if (dq.op_type != "DequantizeLinear" || !dq.domain.empty() || !dq.has_input(0) || dq.outputs.empty()) continue;
    auto q = producer.find(dq.inputs[0]);
    if (q == producer.end() || q->second->op_type != "QuantizeLinear" || !q->second->has_input(0)) continue;
    ++pairs;
    const std::string x = q->second->inputs[0], y = dq.outputs[0];
    std::string stripped = x.size() > 6 && x.compare(x.size() - 6, 6, "/float") == 0 ? x.substr(0, x.size() - 6) : x;
    std::string ref;
    for (const std::string& c : {x, y, stripped})
      if (ref.empty() && defined_in_a.count(c)) ref = c;
    if (ref.empty() || !seen.insert(y).second) continue;
    LayerMatch m;
    m.reference = ref, m.test = y;
    auto p = producer.find(x);
    if (p != producer.end()) m.op = p->second->op_type, m.node = p->second->name;
    else m.op = graph_inputs.count(x) ? "input" : "?";
    matches.push_back(std::move(m));
  }
  return matches;
}

// A copy of `g` that also outputs `names` (those that are not already outputs or inputs).
Graph with_outputs(Graph g, const std::vector<std::string>& names) {
  std::set<std::string> have;
  for (const auto& v : g.outputs) have.insert(v.name);
  for (const auto& v : g.inputs) have.insert(v.name);
  for (const auto& name : names)
    if (have.insert(name).second) {
      ValueInfo vi;
      vi.name = name, vi.shape_known = false;
      auto known = g.value_info.find(name);
      vi.dtype = known != g.value_info.end() ? known->second.dtype : DType::f32;
      g.outputs.push_back(vi);
    }
  return g;
}

// Runs a session and returns every value it can see by name: its outputs and the feed.
std::map<std::string, Tensor> run_named(Session& s, const std::map<std::string, Tensor>& feed) {
  std::vector<Tensor> ys = s.run(feed);
  std::map<std::string, Tensor> out(feed);
  for (size_t i = 0; i < ys.size(); ++i) out[s.outputs()[i].name] = ys[i];
  return out;
}

void compare(const CompareOptions& o) {
  check_threads(o.threads);
  EK_CHECK(!o.limit_given || o.limit >= 1, "--limit must be at least 1, got ", o.limit);
  Graph a = load_model(o.reference), b = load_model(o.test);
  check_same_values("input", a.inputs, b.inputs, o.reference, o.test, b);
  check_same_values("output", a.outputs, b.outputs, o.reference, o.test, b);
  const SampleSet data = load_samples(o, a);
  const SessionOptions so{.threads = o.threads, .opt_level = o.opt_level};
  Session sa(a, so), sb(b, so);
  check_samples(data, sa);

  std::vector<LayerMatch> layers;
  std::unique_ptr<Session> probe_a, probe_b;
  if (o.per_layer) {
    size_t pairs = 0;
    layers = match_layers(a, b, pairs);
    EK_CHECK(pairs > 0, "--per-layer: ", o.test,
             " has no quantized activation (no QuantizeLinear -> DequantizeLinear pair); is it a static (QDQ) model?");
    EK_CHECK(!layers.empty(), "--per-layer: none of the ", pairs, " quantized activations of ", o.test,
             " matches a value of ", o.reference, " by name (expected v/float -> v, as edgekit quantize writes)");
    std::vector<std::string> ra, rb;
    for (const auto& m : layers) ra.push_back(m.reference), rb.push_back(m.test);
    const SessionOptions as_written{.threads = o.threads, .opt_level = 0};
    probe_a = std::make_unique<Session>(with_outputs(std::move(a), ra), as_written);
    probe_b = std::make_unique<Session>(with_outputs(std::move(b), rb), as_written);
  }

  std::vector<ErrorStats> outputs(sa.outputs().size());
  for (size_t k = 0; k < data.feeds.size(); ++k) {
    const auto& feed = data.feeds[k];
    std::map<std::string, Tensor> ya = run_named(sa, feed), yb = run_named(sb, feed);
    for (size_t i = 0; i < outputs.size(); ++i) {
      const std::string& name = sa.outputs()[i].name;
      outputs[i].add(ya.at(name), yb.at(name), cat("output '", name, "' on ", data.sources[k]), true);
    }
    if (o.per_layer) {
      std::map<std::string, Tensor> la = run_named(*probe_a, feed), lb = run_named(*probe_b, feed);
      for (auto& m : layers)
        m.stats.add(la.at(m.reference), lb.at(m.test), cat("tensor '", m.test, "' on ", data.sources[k]), false);
    }
    batch_progress("comparing", k + 1, data.feeds.size());
  }
  // Worst first: NaN (broken), then the lowest SQNR; graph order among equals.
  std::stable_sort(layers.begin(), layers.end(), [](const LayerMatch& x, const LayerMatch& y) {
    const double sx = x.stats.sqnr_db(), sy = y.stats.sqnr_db();
    if (std::isnan(sx) || std::isnan(sy)) return std::isnan(sx) && !std::isnan(sy);
    return sx < sy;
  });

  if (o.json) {
    nlohmann::ordered_json outs = nlohmann::ordered_json::array();
    for (size_t i = 0; i < outputs.size(); ++i) {
      const ValueInfo& v = sa.outputs()[i];
      nlohmann::ordered_json j = {{"name", v.name}, {"dtype", dtype_name(v.dtype)}, {"shape", shape_json(v)}};
      j.update(stats_json(outputs[i]));
      if (outputs[i].class_scores) {
        j["top1_agreement"] = double(outputs[i].top1_agree) / double(std::max<int64_t>(outputs[i].top1_rows, 1));
        j["top1_rows"] = outputs[i].top1_rows;
      }
      outs.push_back(j);
    }
    nlohmann::ordered_json j = {{"reference", o.reference}, {"test", o.test},       {"data", o.data},
                                {"samples", data.samples},  {"threads", o.threads}, {"opt_level", o.opt_level},
                                {"outputs", outs}};
    if (o.per_layer) {
      nlohmann::ordered_json ls = nlohmann::ordered_json::array();
      for (const auto& m : layers) {
        nlohmann::ordered_json l = {{"tensor", m.test}, {"reference_tensor", m.reference}, {"op", m.op}, {"node", m.node}};
        l.update(stats_json(m.stats));
        ls.push_back(l);
      }
      j["layers"] = ls;
    }
    std::cout << j.dump(2) << "\n";
    return;
  }
  std::cout << "Compared " << o.test << " against " << o.reference << " (the reference) on " << data.samples
            << " sample" << (data.samples == 1 ? "" : "s") << " from " << o.data << "\n";
  Table t{{"output", "shape", "SQNR dB", "max abs err", "mean abs err", "top-1 agreement"},
          {},
          {false, false, true, true, true, true}};
  for (size_t i = 0; i < outputs.size(); ++i) {
    const ErrorStats& s = outputs[i];
    std::string top1 = s.class_scores ? cat(fixed(double(s.top1_agree) / double(std::max<int64_t>(s.top1_rows, 1)), 3),
                                            " (", s.top1_agree, "/", s.top1_rows, ")")
                                      : "-";
    std::string mean = num_text(s.mean_abs()) + (s.nan_count ? cat(" (", s.nan_count, " NaN)") : "");
    t.rows.push_back({sa.outputs()[i].name, shape_text(sa.outputs()[i]), db_text(s.sqnr_db()), num_text(s.max_abs),
                      mean, top1});
  }
  t.print(std::cout);
  if (!o.per_layer) return;
  std::cout << "\nQuantized activations, worst first (" << layers.size()
            << " matched; both models run as written, opt-level 0)\n";
  Table l{{"tensor", "op", "SQNR dB", "max abs err", "mean abs err"}, {}, {false, false, true, true, true}};
  for (const auto& m : layers)
    l.rows.push_back({m.test, m.op, db_text(m.stats.sqnr_db()), num_text(m.stats.max_abs), num_text(m.stats.mean_abs())});
  l.print(std::cout);
}

}  // namespace

void add_compare_command(CLI::App& app) {
  auto o = std::make_shared<CompareOptions>();
  CLI::App* cmd = app.add_subcommand(
      "compare", "Compare two models on the same samples: SQNR, errors and top-1 agreement of B against A");
  cmd->add_option("A", o->reference, "Reference model, e.g. the float original (.onnx or .tflite)")->required();
  cmd->add_option("B", o->test, "Model to measure, e.g. the output of 'edgekit quantize'")->required();
  cmd->add_option("-d,--data", o->data, "Samples: a .npz (one array per input, dim 0 counts samples) or a folder of .npy files")
      ->required();
  cmd->add_flag("--per-layer", o->per_layer, "Also compare every activation B quantizes with A's float value, worst first");
  CLI::Option* limit = cmd->add_option("--limit", o->limit, "Use only the first N samples (default: all)");
  add_threads_option(cmd, o->threads);
  add_opt_level_option(cmd, o->opt_level);
  cmd->add_flag("--json", o->json, "Print one JSON object instead of tables");
  cmd->footer(
      "SQNR = 10*log10(sum(ref^2) / sum((ref - test)^2)) over all samples, in dB; inf when the\n"
      "outputs are identical (higher is better: ~6 dB per bit, int8 models typically 15-40 dB).\n"
      "Top-1 agreement (outputs of rank >= 2 whose last dim is > 1): the fraction of rows whose\n"
      "argmax over the last axis is the same in both models. Outputs run at --opt-level (both\n"
      "models); --per-layer runs copies of both at opt-level 0, so that every value keeps its name.\n"
      "\n"
      "Examples:\n"
      "  edgekit compare model.onnx model.int8.onnx --data calib.npz\n"
      "  edgekit compare model.onnx model.int8.onnx --data samples/ --per-layer --limit 100\n"
      "  edgekit compare model.onnx model.int8.onnx --data calib.npz --json");
  cmd->callback([o, limit] {
    o->limit_given = limit->count() > 0;
    compare(*o);
  });
}

}  // namespace edgekit::cli
