// What the edgekit subcommands share: registration, input files, thread checks, tables.
//
// A subcommand is one file cmd_<name>.cpp defining add_<name>_command(app): it adds a CLI11
// subcommand whose callback does the work. Callbacks throw edgekit::Error on failure; main()
// turns any exception into one line "edgekit: error: <message>" and exit code 1 (usage
// errors found by CLI11 exit with 2).
#pragma once
#include <CLI/CLI.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "ekm/ekm.h"
#include "graph/graph.h"

namespace edgekit {
class Session;
}

namespace edgekit::cli {

void add_inspect_command(CLI::App& app);
void add_run_command(CLI::App& app);
void add_bench_command(CLI::App& app);
void add_quantize_command(CLI::App& app);
void add_compile_command(CLI::App& app);
void add_compare_command(CLI::App& app);
void add_ops_command(CLI::App& app);

// --threads: adds the option to `cmd` (default 1) and checks it in the callback.
void add_threads_option(CLI::App* cmd, int& threads);
// --no-verify: skip an .ekm's SHA-256 check on load (SessionOptions::verify_hash).
void add_no_verify_option(CLI::App* cmd, bool& no_verify);
void check_threads(int threads);  // 1..hardware_concurrency, else Error saying the range

// --opt-level: graph optimisation level 0..3 (passes/pass_manager.h), default 3.
void add_opt_level_option(CLI::App* cmd, int& level);

// --mean, --std, --layout, --image-size (compile's metadata, quantize's image calibration):
// the preprocessing of an image model's input, as text until parse_preprocessing checks it.
struct PreprocessingOptions {
  std::string mean, std, layout, image_size;
  bool given() const { return !(mean.empty() && std.empty() && layout.empty() && image_size.empty()); }
};
void add_preprocessing_options(CLI::App* cmd, PreprocessingOptions& o);
// `base` with the options given replacing its fields; errors name the option and the form.
EkmPreprocessing parse_preprocessing(const PreprocessingOptions& o, EkmPreprocessing base = {});

// --input: repeatable NAME=FILE.npy, FILE.npy (single-input models) or FILE.npz (by key).
void add_input_option(CLI::App* cmd, std::vector<std::string>& specs, bool required);
// Reads every --input, checks names, dtypes and shapes against the session's inputs with the
// file named in the message, and makes sure every model input is given.
std::map<std::string, Tensor> load_inputs(const Session& session, const std::vector<std::string>& specs);
// Checks one feed's dtype and shape against a model input; the error names `source` (a file,
// a sample) and says how to convert.
void check_feed(const ValueInfo& info, const Tensor& t, const std::string& source);
// Seeded random feeds shaped like the model's inputs (dynamic dims as 1).
std::map<std::string, Tensor> random_inputs(const Session& session, uint64_t seed);

// A model input/output as text and JSON: shape dims by number, symbolic dims by name.
std::string shape_text(const ValueInfo& v);
nlohmann::ordered_json shape_json(const ValueInfo& v);
const char* numpy_dtype_name(DType t);  // "float32", "int64", "bool", ...

// Output name -> file name: characters other than [A-Za-z0-9._-] become '_'.
std::string sanitize_filename(const std::string& name);

// Summary statistics of a tensor (as double, whatever the dtype).
struct TensorStats {
  double min = 0, max = 0, mean = 0;
  int64_t nan_count = 0;
};
TensorStats tensor_stats(const Tensor& t);

// "\rLABEL [#####     ] done/total batches" on stderr when it is a terminal (nothing otherwise);
// the line ends once done == total.
void batch_progress(const char* label, size_t done, size_t total);

// Human formatting: 1234567 -> "1,234,567"; 1.5e9 -> "1.50 G"; bytes -> "1.4 MB".
std::string thousands(int64_t n);
std::string si(double v);
std::string human_bytes(double bytes);
std::string fixed(double v, int decimals);

// A table printed with columns padded to their widest cell; right-aligned columns by index.
struct Table {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  std::vector<bool> right;  // per column
  void print(std::ostream& os, const std::string& indent = "  ") const;
};

}  // namespace edgekit::cli
