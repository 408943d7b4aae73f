// edgekit compile MODEL -o OUT.ekm: optimise once, plan memory for the declared input shapes,
// and write the single-file compiled model (src/ekm/ekm.h, docs/ekm-format.md).
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "common.h"
#include "ekm/ekm.h"
#include "formats/model_loader.h"
#include "runtime/compile.h"

namespace edgekit::cli {

namespace {

struct CompileOptions {
  std::string model, output, name, model_version, author, description, labels;
  PreprocessingOptions preprocessing;
  int opt_level = 3;
  int threads_hint = 0;
  int64_t sample_rate = 0;
  bool json = false;
};

std::vector<std::string> read_labels(const std::string& path) {
  std::ifstream f(path);
  EK_CHECK(f.good(), "--labels ", path, ": cannot open (one label a line expected)");
  std::vector<std::string> labels;
  for (std::string line; std::getline(f, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    labels.push_back(line);
  }
  while (!labels.empty() && labels.back().empty()) labels.pop_back();
  EK_CHECK(!labels.empty(), "--labels ", path, ": no labels in the file");
  return labels;
}

EkmMetadata metadata_from(const CompileOptions& o) {
  EkmMetadata m;
  m.name = o.name;
  m.version = o.model_version;
  m.author = o.author;
  m.description = o.description;
  if (!o.labels.empty()) m.labels = read_labels(o.labels);
  m.preprocessing = parse_preprocessing(o.preprocessing);
  EK_CHECK(o.sample_rate >= 0, "--sample-rate ", o.sample_rate, ": must be positive");
  m.preprocessing.sample_rate = o.sample_rate;
  return m;
}

std::string planned_shapes(const EkmMemoryPlan& plan) {
  std::string s;
  for (const auto& in : plan.inputs) s += (s.empty() ? "" : ", ") + in.name + " " + shape_str(in.dims);
  return s;
}

void compile(const CompileOptions& o) {
  EK_CHECK(o.opt_level >= 0 && o.opt_level <= 3, "--opt-level ", o.opt_level, ": expected 0..3");
  EK_CHECK(o.threads_hint >= 0 && o.threads_hint <= 1024, "--threads-hint ", o.threads_hint, ": expected 0..1024");
  EkmMetadata metadata = metadata_from(o);  // option errors before the (slower) model work
  auto start = std::chrono::steady_clock::now();
  EkmModel m = compile_graph(load_model(o.model), o.opt_level, o.model);
  m.metadata = std::move(metadata);
  m.threads_hint = o.threads_hint;
  m.producer = std::string("edgekit ") + EDGEKIT_VERSION;
  write_ekm(m, o.output);
  read_ekm(o.output);  // what was written must load (a writer bug shows here, not on a device)
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();

  auto source_bytes = std::filesystem::file_size(o.model);
  if (o.json) {
    nlohmann::ordered_json j = {{"model", o.model},
                                {"output", o.output},
                                {"format_version", m.format_version},
                                {"opt_level", m.opt_level},
                                {"nodes", m.graph.nodes.size()},
                                {"initializers", m.graph.initializers.size()},
                                {"weight_bytes", m.weight_bytes},
                                {"file_bytes", m.file_bytes},
                                {"source_bytes", source_bytes},
                                {"sha256", m.sha256},
                                {"compile_ms", ms}};
    if (m.memory_plan.present) {
      j["arena_bytes"] = m.memory_plan.arena_bytes;
      j["naive_bytes"] = m.memory_plan.naive_bytes;
    }
    std::cout << j.dump() << "\n";
    return;
  }
  std::cout << "Compiled " << o.model << " -> " << o.output << " in " << fixed(ms, 1) << " ms\n"
            << "  opt level " << m.opt_level << ", " << m.graph.nodes.size() << " nodes, "
            << m.graph.initializers.size() << " weight tensors (" << human_bytes(double(m.weight_bytes)) << ")\n";
  if (m.memory_plan.present)
    std::cout << "  arena " << human_bytes(double(m.memory_plan.arena_bytes)) << " for "
              << m.memory_plan.tensors.size() << " tensors (naive sum " << human_bytes(double(m.memory_plan.naive_bytes))
              << "), planned for " << planned_shapes(m.memory_plan) << "\n";
  else
    std::cout << "  arena: planned at the first run (an input's rank is unknown)\n";
  std::cout << "  file " << human_bytes(double(m.file_bytes)) << " (source " << human_bytes(double(source_bytes))
            << "), sha256 " << m.sha256 << "\n";
}

}  // namespace

void add_compile_command(CLI::App& app) {
  auto o = std::make_shared<CompileOptions>();
  CLI::App* cmd = app.add_subcommand(
      "compile", "Optimise a model once and write a compiled .ekm file (graph, aligned weights, memory plan, metadata)");
  cmd->add_option("MODEL", o->model, "Model (.onnx, .tflite or .ekm)")->required();
  cmd->add_option("-o,--output", o->output, "Compiled model to write (.ekm)")->required();
  add_opt_level_option(cmd, o->opt_level);
  cmd->add_option("--threads-hint", o->threads_hint, "Thread count the model is meant to run with (advisory, stored)");
  cmd->add_option("--name", o->name, "Model name stored in the metadata");
  cmd->add_option("--model-version", o->model_version, "Model version string");
  cmd->add_option("--author", o->author, "Author");
  cmd->add_option("--description", o->description, "Description");
  cmd->add_option("--labels", o->labels, "Text file with one class label a line");
  add_preprocessing_options(cmd, o->preprocessing);
  cmd->add_option("--sample-rate", o->sample_rate, "Audio sample rate in Hz, for audio models");
  cmd->add_flag("--json", o->json, "Print the summary as JSON");
  cmd->callback([o] { compile(*o); });
}

}  // namespace edgekit::cli
