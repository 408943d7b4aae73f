// edgekit quantize MODEL -o OUT [--mode dynamic|static|fp16] [--calibration DATA] ...: post-training
// quantization (optimize/quantize/quantize.h), written as ONNX (QDQ for static, ONNX Runtime's
// dynamic form, fp16 weights).
#include <filesystem>
#include <iomanip>
#include <iostream>

#include "common.h"
#include "formats/model_loader.h"
#include "optimize/quantize/quantize.h"

namespace edgekit::cli {

namespace {

struct QuantizeCliOptions {
  std::string model, output, mode = "static", calibration, method = "minmax", format = "onnx";
  bool per_tensor = false, per_channel = false, symmetric = false, int8_io = false, json = false;
  bool no_bias_correction = false, int8_outputs = false;
  std::string weight_range = "max";
  std::vector<std::string> exclude;
  int threads = 1;
  int64_t batch = 32;
  PreprocessingOptions preprocessing;  // for a folder of images
};

// How images become the input: the .ekm's stored preprocessing when MODEL is one, with the
// options given replacing its fields.
EkmPreprocessing image_preprocessing(const QuantizeCliOptions& c) {
  return parse_preprocessing(c.preprocessing, stored_preprocessing(c.model));
}

void quantize(const QuantizeCliOptions& c) {
  check_threads(c.threads);
  EK_CHECK(c.format == "onnx" || c.format == "ekm", "--format ", c.format, ": expected onnx or ekm");
  EK_CHECK(!(c.per_tensor && c.per_channel), "--per-channel and --per-tensor exclude each other");
  QuantizeOptions o;
  o.mode = quantize_mode_from_name(c.mode);
  o.method = calibration_method_from_name(c.method);
  // Static: per channel unless --per-tensor; dynamic: per tensor unless --per-channel.
  o.per_channel = o.mode == QuantizeMode::static_int8 ? !c.per_tensor : c.per_channel;
  o.symmetric_activations = c.symmetric;
  o.int8_io = c.int8_io;
  o.bias_correction = !c.no_bias_correction;
  o.float_outputs = !c.int8_outputs;
  EK_CHECK(c.weight_range == "max" || c.weight_range == "mse", "--weight-range ", c.weight_range, ": expected max or mse");
  o.mse_weights = c.weight_range == "mse";
  o.exclude = c.exclude;
  o.threads = c.threads;
  o.progress = [](size_t done, size_t total) { batch_progress("calibrating", done, total); };
  Graph model = load_model(c.model);
  EK_CHECK(o.mode == QuantizeMode::static_int8 || c.calibration.empty(), "--calibration is for --mode static");
  EK_CHECK(o.mode != QuantizeMode::static_int8 || !c.calibration.empty(),
           "--mode static needs --calibration DATA (a .npz, a folder of .npy files or a folder of images)");
  EK_CHECK(!c.preprocessing.given() || !c.calibration.empty(),
           "--mean, --std, --layout and --image-size say how calibration images become the input; give --calibration");
  CalibrationSet data;
  // Options that would change nothing are a mistake to report.
  EK_CHECK(!c.preprocessing.given() || is_image_folder(c.calibration),
           "--mean, --std, --layout and --image-size apply to a folder of images; ", c.calibration, " is not one");
  if (!c.calibration.empty())
    data = load_calibration_data(c.calibration, model, c.batch, "calibration data", nullptr, image_preprocessing(c));
  QuantizeReport report;
  Graph q = quantize_model(model, o, &data, &report);
  for (const auto& w : report.warnings) std::cerr << "edgekit: warning: " << w << "\n";
  write_quantized(std::move(q), c.output, c.format, c.model, std::string("edgekit ") + EDGEKIT_VERSION);
  const auto in_size = std::filesystem::file_size(c.model), out_size = std::filesystem::file_size(c.output);
  if (c.json) {
    nlohmann::ordered_json j = {{"model", c.model}, {"output", c.output}, {"mode", c.mode},
                                {"quantized_nodes", report.quantized_nodes}, {"by_op", report.by_op},
                                {"input_bytes", in_size}, {"output_bytes", out_size},
                                {"calibration_batches", data.size()}, {"warnings", report.warnings}};
    std::cout << j.dump() << "\n";
    return;
  }
  std::cout << "Quantized " << c.model << " (" << c.mode << ") -> " << c.output << "\n  " << report.quantized_nodes
            << " nodes:";
  for (const auto& [op, n] : report.by_op) std::cout << " " << op << " " << n;
  std::cout << "\n  size " << in_size << " -> " << out_size << " bytes (" << std::fixed << std::setprecision(2)
            << double(out_size) / double(in_size) << "x)\n";
}

}  // namespace

void add_quantize_command(CLI::App& app) {
  auto o = std::make_shared<QuantizeCliOptions>();
  CLI::App* cmd = app.add_subcommand("quantize", "Quantize a float model: static int8 (calibrated), dynamic int8 or fp16");
  cmd->add_option("MODEL", o->model, "Float model (.onnx or .tflite)")->required();
  cmd->add_option("-o,--output", o->output, "Output model (.onnx)")->required();
  cmd->add_option("--mode", o->mode, "static | dynamic | fp16")->capture_default_str();
  cmd->add_option("--calibration", o->calibration, "Calibration data: a .npz, a folder of .npy files, or a folder of images (PNG, JPEG, BMP, ...) (static)");
  add_preprocessing_options(cmd, o->preprocessing);
  cmd->add_option("--method", o->method, "Calibration range: minmax | percentile | entropy | mse")->capture_default_str();
  cmd->add_flag("--per-channel", o->per_channel, "Weights per output channel (default for static)");
  cmd->add_flag("--per-tensor", o->per_tensor, "Weights per tensor");
  cmd->add_flag("--symmetric-activations", o->symmetric, "Activation zero points 0");
  cmd->add_flag("--int8-io", o->int8_io, "Graph inputs and outputs become int8 (static)");
  cmd->add_flag("--int8-outputs", o->int8_outputs,
                "Quantize graph outputs a Conv/Gemm/MatMul writes too (default: they stay float, static)");
  cmd->add_option("--weight-range", o->weight_range,
                  "Static weights' range per channel: max (max |w|) | mse (clipped for least squared error)")
      ->capture_default_str();
  cmd->add_flag("--no-bias-correction", o->no_bias_correction,
                "Keep Conv/Gemm biases as they are (default: less the mean shift int8 weights cause, static)");
  cmd->add_option("--exclude", o->exclude, "Node names or op types to keep in float")->expected(1, -1);
  cmd->add_option("--format", o->format, "onnx (QDQ / ONNX Runtime's dynamic form, runs in ONNX Runtime too) or ekm (compiled for edgekit)")->capture_default_str();
  cmd->add_option("--batch", o->batch, "Calibration batch size")->capture_default_str();
  add_threads_option(cmd, o->threads);
  cmd->add_flag("--json", o->json, "Print one JSON object");
  cmd->footer(
      "Examples:\n"
      "  edgekit quantize model.onnx -o model.int8.onnx --calibration calib.npz\n"
      "  edgekit quantize model.onnx -o model.dyn.onnx --mode dynamic\n"
      "  edgekit quantize model.onnx -o model.fp16.onnx --mode fp16");
  cmd->callback([o] { quantize(*o); });
}

}  // namespace edgekit::cli
