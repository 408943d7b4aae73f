// edgekit run MODEL --input NAME=FILE.npy ...: run once, write every output as <name>.npy.
#include <chrono>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <set>

#include "common.h"
#include "formats/npy/npy.h"
#include "runtime/session.h"

namespace edgekit::cli {

namespace {

struct RunOptions {
  std::string model;
  std::vector<std::string> inputs;
  std::string output_dir = ".";
  int threads = 1;
  int opt_level = 3;
  bool json = false, no_verify = false;
};

void run(const RunOptions& o) {
  check_threads(o.threads);
  Session session(o.model, SessionOptions{.threads = o.threads, .opt_level = o.opt_level, .verify_hash = !o.no_verify});
  std::map<std::string, Tensor> feeds = load_inputs(session, o.inputs);

  auto start = std::chrono::steady_clock::now();
  std::vector<Tensor> results = session.run(feeds);
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();

  std::error_code ec;
  std::filesystem::create_directories(o.output_dir, ec);
  EK_CHECK(std::filesystem::is_directory(o.output_dir), o.output_dir, ": cannot create output directory",
           ec ? " (" + ec.message() + ")" : std::string());

  nlohmann::ordered_json outs = nlohmann::ordered_json::array();
  Table table{{"output", "dtype", "shape", "min", "max", "mean", "file"}, {}, {false, false, false, true, true, true}};
  std::set<std::string> used;
  for (size_t i = 0; i < results.size(); ++i) {
    const std::string& name = session.outputs()[i].name;
    // Two names may sanitise alike ("a/b", "a:b"): number the later ones.
    std::string base = sanitize_filename(name), file = base + ".npy";
    for (int k = 1; used.count(file); ++k) file = cat(base, "_", k, ".npy");
    used.insert(file);
    std::string path = (std::filesystem::path(o.output_dir) / file).string();
    write_npy(path, results[i]);

    const Tensor& t = results[i];
    TensorStats s = tensor_stats(t);
    nlohmann::ordered_json j = {{"name", name}, {"file", path}, {"dtype", dtype_name(t.dtype())}, {"shape", t.shape()}};
    if (t.numel() > 0) {
      j["min"] = s.min;
      j["max"] = s.max;
      j["mean"] = s.mean;
    }
    if (s.nan_count) j["nan_count"] = s.nan_count;
    outs.push_back(j);
    auto num = [&](double v) { return t.numel() ? cat(std::setprecision(6), v) : std::string("-"); };
    std::string mean = num(s.mean) + (s.nan_count ? cat(" (", s.nan_count, " NaN)") : "");
    table.rows.push_back({name, dtype_name(t.dtype()), shape_str(t.shape()), num(s.min), num(s.max), mean, path});
  }

  if (o.json) {
    nlohmann::ordered_json j = {{"model", o.model}, {"threads", o.threads}, {"latency_ms", ms}, {"outputs", outs}};
    std::cout << j.dump(2) << "\n";
    return;
  }
  std::cout << "Ran " << o.model << " in " << fixed(ms, 2) << " ms (" << o.threads << " thread"
            << (o.threads == 1 ? "" : "s") << ")\n";
  table.print(std::cout);
}

}  // namespace

void add_run_command(CLI::App& app) {
  auto o = std::make_shared<RunOptions>();
  CLI::App* cmd = app.add_subcommand("run", "Run a model once on inputs from .npy/.npz files and save its outputs");
  cmd->add_option("MODEL", o->model, "Model file (.onnx, .tflite or .ekm)")->required();
  add_input_option(cmd, o->inputs, /*required=*/true);
  cmd->add_option("-o,--output-dir", o->output_dir, "Directory for the outputs (created if missing)")
      ->capture_default_str();
  add_threads_option(cmd, o->threads);
  add_opt_level_option(cmd, o->opt_level);
  add_no_verify_option(cmd, o->no_verify);
  cmd->add_flag("--json", o->json, "Print one JSON object instead of a table");
  cmd->footer(
      "Each output is written to DIR/<output name>.npy. In file names, every character other than\n"
      "A-Z a-z 0-9 . _ - becomes '_' (output 'logits:0' -> logits_0.npy); names that clash after\n"
      "that get _1, _2, ... appended.\n"
      "\n"
      "Examples:\n"
      "  edgekit run model.onnx --input image.npy\n"
      "  edgekit run model.onnx --input input_ids=ids.npy --input mask=mask.npy -o out/\n"
      "  edgekit run model.onnx --input inputs.npz --json");
  cmd->callback([o] { run(*o); });
}

}  // namespace edgekit::cli
