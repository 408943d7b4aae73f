// Post-training quantization of a float Graph.
//
//   QuantizeOptions o;  o.mode = QuantizeMode::static_int8;  o.per_channel = true;
//   CalibrationSet data = load_calibration_data("calib.npz", model);
//   QuantizeReport report;
//   Graph q = quantize_model(model, o, &data, &report);   // then export_onnx(q, "model.int8.onnx")
//
// static_int8: the model is optimised at level 2 (BatchNorm folded, MatMul + Add to Gemm),
//   every activation that a quantizable op (Conv, Gemm, MatMul with constant weights, Add,
//   pooling, Concat, Flatten/Reshape, Relu, Sigmoid, Tanh, HardSwish, ...) reads or writes gets a
//   CalibrationObserver, and the calibration batches run through a Session with those values
//   as extra outputs. Each observer keeps min/max and (for percentile, entropy, mse) a
//   2048-bin histogram filled in a second pass over the data. The graph is then written in
//   standard QDQ form: the producer of each observed value v writes v/float, QuantizeLinear and
//   DequantizeLinear give v back; weights become int8 initializers behind DequantizeLinear
//   (per output channel, symmetric, for Conv and Gemm by default), biases int32 at scale
//   x_scale * w_scale, less the mean output shift the int8 weights cause (bias_correction,
//   measured on the calibration data by a copy of the layer holding the weights' error). A
//   graph output a Conv/Gemm/MatMul writes stays float (float_outputs). A Relu or Relu6-Clip after a Conv/Gemm/Add is absorbed into the output's
//   range (asymmetric activations only). Data-movement ops (MaxPool, Flatten, Reshape) keep
//   their input's parameters so int8 values pass through unchanged. ONNX Runtime runs the
//   result; edgekit's fuse_qdq pass turns the patterns into its int8 kernels.
// dynamic_int8: Gemm and MatMul with constant weights get int8 weights (per tensor, or per
//   output channel) and run as DynamicQuantizeLinear -> MatMulInteger -> scale (ONNX Runtime's
//   dynamic format); activations are quantized per batch at run time. GRU and LSTM get int8
//   W and R behind DequantizeLinear (weight-only: ONNX has no integer recurrent op).
// fp16: every float initializer of 16+ elements is stored as f16 behind a Cast to f32.
#pragma once
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "ekm/ekm.h"
#include "graph/graph.h"

namespace edgekit {

enum class QuantizeMode { dynamic_int8, static_int8, fp16 };
enum class CalibrationMethod { minmax, percentile, entropy, mse };

QuantizeMode quantize_mode_from_name(const std::string& name);            // "dynamic", "static", "fp16"
CalibrationMethod calibration_method_from_name(const std::string& name);  // "minmax", ...

struct QuantizeOptions {
  QuantizeMode mode = QuantizeMode::static_int8;
  CalibrationMethod method = CalibrationMethod::minmax;
  bool per_channel = true;              // weights per output channel (static: Conv and Gemm)
  bool symmetric_activations = false;   // zero point 0
  bool int8_io = false;                 // graph inputs and outputs become int8 (static)
  // Static: each Conv/Gemm bias less the mean output shift its int8 weights cause on the
  // calibration data, per output channel (empirical bias correction, Nagel et al. 2019).
  bool bias_correction = true;
  // Static: a graph output written by a Conv/Gemm/MatMul (logits) stays float, not int8
  // (int8_io overrides).
  bool float_outputs = true;
  // Static: each weight channel's range clipped where that gives the least squared error
  // (default: its max |w|).
  bool mse_weights = false;
  std::vector<std::string> exclude;     // node names or op types kept in float
  float percentile = 99.999f;           // CalibrationMethod::percentile
  int threads = 1;
  // Progress over calibration batches (done, total), e.g. a bar on a terminal.
  std::function<void(size_t, size_t)> progress;
};

// Calibration samples: one feed (input name -> batch) per entry.
using CalibrationSet = std::vector<std::map<std::string, Tensor>>;

// Reads a .npz (arrays named after the inputs, or one array for a one-input model; dim 0
// counts samples) or a folder of .npy files (one sample or batch each, one-input models), in
// batches of up to `batch` samples. Checks dtype and shape against the model's inputs, that
// the set is not empty and that every value is finite; errors name the file and call the data
// `role` ("calibration data for input 'x' has shape ..."). When `sources` is given it receives,
// per entry, where the entry came from: "DIR/x.npy", or "FILE.npz samples 32..63".
// A folder of images (PNG, JPEG, BMP, ...) serves a one-input image model: each is decoded,
// resized and normalised as `images` says (formats/image/image.h: mean, std, layout, size;
// the .ekm metadata's preprocessing, or the CLI's options).
CalibrationSet load_calibration_data(const std::string& path, const Graph& model, int64_t batch = 32,
                                     const std::string& role = "calibration data",
                                     std::vector<std::string>* sources = nullptr,
                                     const EkmPreprocessing& images = {});
// Image files as calibration samples for a one-input model, in batches of up to `batch` when
// the input's batch dim is dynamic (else one image a batch of one); `sources` as above.
CalibrationSet calibration_from_images(const std::vector<std::string>& files, const Graph& model,
                                       const EkmPreprocessing& pre, int64_t batch, const std::string& role,
                                       std::vector<std::string>* sources = nullptr);
// The same from arrays in memory (one per input name, or one for a one-input model; dim 0
// counts samples), e.g. from Python; errors name them as `source`['name'].
CalibrationSet calibration_from_arrays(const std::map<std::string, Tensor>& arrays, const Graph& model, int64_t batch,
                                       const std::string& source, const std::string& role = "calibration data",
                                       std::vector<std::string>* sources = nullptr);

// Whether `path` is a folder holding at least one image file (formats/image/image.h), the
// only calibration data preprocessing options apply to.
bool is_image_folder(const std::string& path);
// The preprocessing an .ekm model stores in its metadata (empty for other formats): the
// default for calibration images when quantizing a compiled model.
EkmPreprocessing stored_preprocessing(const std::string& model_path);

struct QuantizeReport {
  int quantized_nodes = 0;
  std::map<std::string, int> by_op;     // op type -> quantized nodes
  std::vector<std::string> warnings;    // e.g. an --exclude that names nothing
};

// Throws Error for a model with nothing to quantize, missing or mismatched calibration data.
Graph quantize_model(const Graph& model, const QuantizeOptions& options, const CalibrationSet* data,
                     QuantizeReport* report = nullptr);
// Writes a quantized graph to `output` as `format`: "onnx" (QDQ ONNX that ONNX Runtime runs)
// or "ekm" (compiled at level 3: int8 kernels chosen, memory planned); `source` names the
// model in errors, `producer` goes into the .ekm header.
void write_quantized(Graph q, const std::string& output, const std::string& format, const std::string& source,
                     const std::string& producer);

}  // namespace edgekit
