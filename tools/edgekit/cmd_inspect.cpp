// edgekit inspect MODEL [--json]: what a model is made of, without running it.
#include <algorithm>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <set>

#include "common.h"
#include "ekm/ekm.h"
#include "passes/pass_manager.h"
#include "runtime/session.h"
#include "flops.h"
#include "formats/model_loader.h"
#include "kernels/op.h"
#include "quant_summary.h"

namespace edgekit::cli {

namespace {

struct InspectOptions {
  std::string model;
  bool json = false;
  int opt_level = -1;  // -1: the graph as stored
  bool plan = false;
};

std::string domain_name(const std::string& d) { return d.empty() ? "ai.onnx" : d; }

std::string join(const std::set<std::string>& items) {
  std::string s;
  for (const auto& i : items) s += (s.empty() ? "" : ", ") + i;
  return s;
}

nlohmann::ordered_json value_json(const ValueInfo& v) {
  return {{"name", v.name}, {"dtype", dtype_name(v.dtype)}, {"shape", shape_json(v)}};
}

std::string floats_text(const std::vector<float>& v) {
  std::string s;
  for (float f : v) s += (s.empty() ? "" : ",") + cat(f);
  return s;
}

nlohmann::ordered_json ekm_json(const EkmModel& m) {
  const EkmPreprocessing& p = m.metadata.preprocessing;
  nlohmann::ordered_json j = {{"format_version", m.format_version},
                              {"sha256", m.sha256},
                              {"opt_level", m.opt_level},
                              {"threads_hint", m.threads_hint},
                              {"weight_bytes", m.weight_bytes},
                              {"name", m.metadata.name},
                              {"version", m.metadata.version},
                              {"author", m.metadata.author},
                              {"description", m.metadata.description},
                              {"labels", m.metadata.labels},
                              {"preprocessing",
                               {{"layout", p.layout},
                                {"mean", p.mean},
                                {"std", p.std},
                                {"image_width", p.image_width},
                                {"image_height", p.image_height},
                                {"sample_rate", p.sample_rate}}}};
  if (m.memory_plan.present) {
    nlohmann::ordered_json planned_for = nlohmann::ordered_json::object();
    for (const auto& in : m.memory_plan.inputs) planned_for[in.name] = in.dims;
    j["memory_plan"] = {{"arena_bytes", m.memory_plan.arena_bytes},
                        {"naive_bytes", m.memory_plan.naive_bytes},
                        {"tensors", m.memory_plan.tensors.size()},
                        {"input_shapes", planned_for}};
  }
  return j;
}

nlohmann::ordered_json quant_json(const QuantParamStats& s) {
  nlohmann::ordered_json j = {{"tensors", s.tensors}, {"per_tensor", s.per_tensor}, {"per_channel", s.per_channel},
                              {"channels", s.channels}, {"dtypes", s.dtypes}};
  if (s.tensors) {
    j["scale_min"] = s.scale_min;
    j["scale_max"] = s.scale_max;
    j["zero_point_min"] = s.zero_point_min;
    j["zero_point_max"] = s.zero_point_max;
  }
  return j;
}

void add_ekm_rows(const EkmModel& m, Table& summary) {
  summary.rows.push_back({"Compiled", cat("format version ", m.format_version, ", opt level ", m.opt_level,
                                          m.threads_hint ? cat(", threads hint ", m.threads_hint) : std::string(),
                                          ", sha256 ", m.sha256.substr(0, 16), "...")});
  const EkmMetadata& md = m.metadata;
  std::string about;
  for (const auto& [key, value] : {std::pair{"name", md.name}, {"version", md.version}, {"author", md.author}})
    if (!value.empty()) about += cat(about.empty() ? "" : ", ", key, " ", value);
  if (!about.empty()) summary.rows.push_back({"Metadata", about});
  if (!md.description.empty()) summary.rows.push_back({"Description", md.description});
  if (!md.labels.empty())
    summary.rows.push_back({"Labels", cat(md.labels.size(), " (", md.labels.front(), ", ...)")});
  const EkmPreprocessing& p = md.preprocessing;
  std::string pre;
  if (!p.layout.empty()) pre += p.layout;
  if (p.image_width) pre += cat(pre.empty() ? "" : ", ", p.image_width, "x", p.image_height);
  if (!p.mean.empty()) pre += cat(pre.empty() ? "" : ", ", "mean ", floats_text(p.mean));
  if (!p.std.empty()) pre += cat(pre.empty() ? "" : ", ", "std ", floats_text(p.std));
  if (p.sample_rate) pre += cat(pre.empty() ? "" : ", ", p.sample_rate, " Hz");
  if (!pre.empty()) summary.rows.push_back({"Preprocessing", pre});
  if (m.memory_plan.present)
    summary.rows.push_back({"Stored plan", cat(human_bytes(double(m.memory_plan.arena_bytes)), " arena for ",
                                               m.memory_plan.tensors.size(), " tensors (naive ",
                                               human_bytes(double(m.memory_plan.naive_bytes)), ")")});
}

// Quantized tensors by kind, and the initializers' bytes by dtype (the model's size by storage type).
void print_storage(const QuantSummary& q, const std::map<DType, DTypeShare>& by_dtype) {
  if (q.total()) {
    std::cout << "\nQuantization (" << q.total() << " quantized tensors)\n";
    Table t{{"kind", "tensors", "dtype", "per-tensor", "per-channel", "scale min", "scale max", "zero points"},
            {},
            {false, true, false, true, true, true, true, true}};
    auto row = [&](const char* kind, const QuantParamStats& s) {
      if (!s.tensors) return;
      std::string dtypes;
      for (const auto& d : s.dtypes) dtypes += (dtypes.empty() ? "" : ",") + d;
      t.rows.push_back({kind, std::to_string(s.tensors), dtypes, std::to_string(s.per_tensor),
                        s.per_channel ? cat(s.per_channel, " (", s.channels, " ch)") : "0",
                        cat(std::setprecision(3), s.scale_min), cat(std::setprecision(3), s.scale_max),
                        s.zero_point_min == s.zero_point_max ? std::to_string(s.zero_point_min)
                                                             : cat(s.zero_point_min, "..", s.zero_point_max)});
    };
    row("activation", q.activations);
    row("weight", q.weights);
    row("bias", q.biases);
    if (q.runtime_quantized)
      t.rows.push_back({"at run time", std::to_string(q.runtime_quantized), "-", "-", "-", "-", "-", "-"});
    t.print(std::cout);
  }
  size_t total = 0;
  for (const auto& [d, s] : by_dtype) total += s.bytes;
  std::cout << "\nInitializers by dtype\n";
  Table t{{"dtype", "tensors", "elements", "size", "share"}, {}, {false, true, true, true, true}};
  for (const auto& [d, s] : by_dtype)
    t.rows.push_back({dtype_name(d), std::to_string(s.tensors), thousands(s.elements), human_bytes(double(s.bytes)),
                      total ? fixed(100.0 * double(s.bytes) / double(total), 1) + "%" : "-"});
  t.print(std::cout);
}

void inspect(const InspectOptions& o) {
  ModelFormat format = detect_model_format(o.model);
  EkmModel ekm;  // what a compiled model carries beside its graph
  Graph g;
  if (format == ModelFormat::ekm) {
    ekm = read_ekm(o.model);
    g = std::move(ekm.graph);
  } else {
    g = load_model(o.model);
  }
  g.topo_sort();
  // Storage as the file holds it, whatever --opt-level shows of the ops.
  const QuantSummary quant = summarize_quantization(g);
  const std::map<DType, DTypeShare> by_dtype = initializers_by_dtype(g);
  if (o.opt_level >= 0) optimize_graph(g, o.opt_level);
  MemoryPlan plan;
  if (o.plan) {  // plan for one run on random inputs (dynamic dims as 1)
    Session session(Graph(g), SessionOptions{.threads = 1, .opt_level = 0});
    session.run(random_inputs(session, 0));
    plan = session.memory_plan();
  }
  auto file_size = std::filesystem::file_size(o.model);
  int64_t params = g.parameter_count();
  size_t param_bytes = 0;
  for (const auto& [name, t] : g.initializers) param_bytes += t.nbytes();
  FlopsEstimate flops = estimate_flops(g);

  // op histogram, most frequent first (ties by name)
  std::map<std::string, int> count;
  for (const Node& n : g.nodes) count[n.domain.empty() ? n.op_type : n.domain + ":" + n.op_type]++;
  std::vector<std::pair<std::string, int>> ops(count.begin(), count.end());
  int64_t winograd = 0;  // convolutions passes/choose_winograd.cpp gave to kernels/winograd.h
  for (const Node& n : g.nodes) winograd += n.attr_int("_winograd", 0) != 0;
  std::stable_sort(ops.begin(), ops.end(), [](auto& a, auto& b) { return a.second > b.second; });
  // Ops this build cannot run: the model loads and inspects, but a Session would refuse it.
  std::set<std::string> unsupported;
  for (const Node& n : g.nodes)
    if (!op_supported(n.op_type, n.domain)) unsupported.insert(n.domain.empty() ? n.op_type : n.domain + ":" + n.op_type);

  if (o.json) {
    nlohmann::ordered_json j;
    j["model"] = o.model;
    j["format"] = model_format_name(format);
    j["producer"] = g.producer;
    j["graph_name"] = g.name;
    nlohmann::ordered_json opsets = nlohmann::ordered_json::object();
    for (const auto& [d, v] : g.opsets) opsets[domain_name(d)] = v;
    j["opsets"] = opsets;
    j["inputs"] = nlohmann::ordered_json::array();
    for (const auto& v : g.inputs) j["inputs"].push_back(value_json(v));
    j["outputs"] = nlohmann::ordered_json::array();
    for (const auto& v : g.outputs) j["outputs"].push_back(value_json(v));
    j["nodes"] = g.nodes.size();
    nlohmann::ordered_json hist = nlohmann::ordered_json::object();
    for (const auto& [op, c] : ops) hist[op] = c;
    j["ops"] = hist;
    j["parameters"] = params;
    j["parameter_bytes"] = param_bytes;
    j["file_size_bytes"] = file_size;
    j["flops"] = int64_t(flops.total);
    j["flops_by_op"] = flops.by_op;
    j["flops_nodes_without_shapes"] = flops.nodes_without_shapes;
    j["metadata"] = g.metadata;
    j["unsupported_ops"] = unsupported;
    if (o.opt_level >= 0) j["opt_level"] = o.opt_level;
    if (winograd) j["winograd_convs"] = winograd;
    if (o.plan) j["memory_plan"] = {{"arena_bytes", plan.arena_bytes}, {"naive_bytes", plan.naive_bytes}};
    if (format == ModelFormat::ekm) j["ekm"] = ekm_json(ekm);
    nlohmann::ordered_json dtypes = nlohmann::ordered_json::object();
    for (const auto& [d, s] : by_dtype)
      dtypes[dtype_name(d)] = {{"tensors", s.tensors}, {"elements", s.elements}, {"bytes", s.bytes}};
    j["initializers_by_dtype"] = dtypes;
    if (quant.total())
      j["quantization"] = {{"tensors", quant.total()},
                           {"activations", quant_json(quant.activations)},
                           {"weights", quant_json(quant.weights)},
                           {"biases", quant_json(quant.biases)},
                           {"runtime_quantized", quant.runtime_quantized}};
    std::cout << j.dump(2) << "\n";
    return;
  }

  std::string opsets;
  for (const auto& [d, v] : g.opsets) opsets += (opsets.empty() ? "" : ", ") + domain_name(d) + " " + std::to_string(v);
  std::string flops_text = "~" + si(flops.total) + "FLOPs";
  if (flops.total < 1000) flops_text = "~" + si(flops.total) + " FLOPs";
  bool dynamic = false;
  for (const auto& v : g.inputs)
    for (int64_t d : v.dims) dynamic |= d < 0;
  if (dynamic) flops_text += "  (dynamic dims taken as 1)";
  if (flops.nodes_without_shapes)
    flops_text += cat("  (", flops.nodes_without_shapes, " nodes without known shapes not counted)");

  Table summary{{"Model", o.model}, {}, {}};
  summary.rows = {
      {"Format", model_format_name(format)},
      {"Producer", g.producer.empty() ? "-" : g.producer},
      {"Opsets", format != ModelFormat::onnx && format != ModelFormat::ekm ? "-" : opsets.empty() ? "-" : opsets},
      {"File size", human_bytes(double(file_size))},
      {"Parameters", cat(thousands(params), " (", human_bytes(double(param_bytes)), ")")},
      {"FLOPs", flops_text},
      {"Runnable", unsupported.empty() ? "yes" : "no: unsupported ops " + join(unsupported)},
  };
  if (o.opt_level >= 0) summary.rows.push_back({"Optimised", cat("at level ", o.opt_level, " (ops below are after the passes)")});
  if (winograd) summary.rows.push_back({"Winograd", cat(winograd, " convolutions (3x3, stride 1) by F(4x4, 3x3)")});
  if (o.plan)
    summary.rows.push_back({"Memory plan", cat(human_bytes(double(plan.arena_bytes)), " arena for intermediates vs ",
                                               human_bytes(double(plan.naive_bytes)), " if each had its own buffer (",
                                               fixed(plan.naive_bytes ? 100.0 * double(plan.arena_bytes) / double(plan.naive_bytes) : 0, 0),
                                               "%)")});
  if (format == ModelFormat::ekm) add_ekm_rows(ekm, summary);
  if (!g.name.empty()) summary.rows.insert(summary.rows.begin() + 1, {"Graph", g.name});
  summary.print(std::cout, "");

  auto io_table = [](const std::vector<ValueInfo>& values) {
    Table t{{"name", "dtype", "shape"}, {}, {}};
    for (const auto& v : values) t.rows.push_back({v.name, dtype_name(v.dtype), shape_text(v)});
    return t;
  };
  std::cout << "\nInputs\n";
  io_table(g.inputs).print(std::cout);
  std::cout << "\nOutputs\n";
  io_table(g.outputs).print(std::cout);

  std::cout << "\nOps (" << g.nodes.size() << " nodes, " << ops.size() << " types)\n";
  Table hist{{"op", "count", "FLOPs", "share"}, {}, {false, true, true, true}};
  for (const auto& [op, c] : ops) {
    auto it = flops.by_op.find(op);
    double f = it == flops.by_op.end() ? 0 : it->second;
    hist.rows.push_back({op, std::to_string(c), f > 0 ? si(f) : "-",
                         f > 0 && flops.total > 0 ? fixed(100 * f / flops.total, 1) + "%" : ""});
  }
  hist.print(std::cout);
  print_storage(quant, by_dtype);
}

}  // namespace

void add_inspect_command(CLI::App& app) {
  auto o = std::make_shared<InspectOptions>();
  CLI::App* cmd = app.add_subcommand("inspect", "Show a model's format, inputs, outputs, ops, parameters and FLOPs");
  cmd->add_option("MODEL", o->model, "Model file (.onnx, .tflite or .ekm)")->required();
  cmd->add_flag("--json", o->json, "Print one JSON object instead of tables");
  cmd->add_option("--opt-level", o->opt_level, "Show the graph after optimisation at this level (0..3)")
      ->check(CLI::Range(0, 3));
  cmd->add_flag("--plan", o->plan,
                "Plan memory for one run on random inputs (dynamic dims as 1): arena size versus the sum of all "
                "intermediate tensors");
  cmd->footer(
      "Shapes print symbolic dims by name, e.g. [batch,3,224,224]. FLOPs count a multiply-add as 2 and\n"
      "take dynamic dims as 1. A quantized model (QDQ, QLinear ops, TFLite int8) also shows its\n"
      "quantized tensors by kind (activation, weight, bias): scale and zero-point ranges, per-tensor\n"
      "and per-channel counts; every model shows its initializers' size by dtype, as stored.");
  cmd->callback([o] { inspect(*o); });
}

}  // namespace edgekit::cli
