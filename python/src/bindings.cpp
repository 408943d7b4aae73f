// edgekit._edgekit: the C++ half of the Python package (python/edgekit/__init__.py is the API).
//
// Arrays cross the boundary through the Python buffer protocol only, never numpy's C API, so
// the module works with numpy 1.x and 2.x alike: numpy arrays come in as C-contiguous buffers
// (copied into Tensors), Tensors go out as TensorBuffer objects that numpy wraps without a
// copy (np.asarray), the buffer keeping the Tensor's memory alive.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <mutex>

#include "formats/model_loader.h"
#include "formats/npy/npy.h"
#include "optimize/quantize/quantize.h"
#include "runtime/session.h"

namespace py = pybind11;
using namespace edgekit;

namespace {

// Buffer-protocol format of each dtype (struct module codes numpy understands).
const char* buffer_format(DType t) {
  switch (t) {
    case DType::f32: return "f";
    case DType::f64: return "d";
    case DType::f16: return "e";
    case DType::i8: return "b";
    case DType::u8: return "B";
    case DType::i16: return "h";
    case DType::u16: return "H";
    case DType::i32: return "i";
    case DType::u32: return "I";
    case DType::i64: return "q";
    case DType::u64: return "Q";
    case DType::boolean: return "?";
    default: fail("dtype ", dtype_name(t), " has no Python buffer format");
  }
}

DType dtype_from_buffer(const py::buffer_info& b, const std::string& what) {
  std::string f = b.format;
  if (!f.empty() && (f[0] == '<' || f[0] == '=' || f[0] == '@')) f = f.substr(1);
  EK_CHECK(f.size() == 1, what, ": unsupported array element format '", b.format, "'");
  bool is_signed = std::islower(static_cast<unsigned char>(f[0])) != 0;
  switch (f[0]) {
    case 'f': return DType::f32;
    case 'd': return DType::f64;
    case 'e': return DType::f16;
    case '?': return DType::boolean;
    case 'b': case 'B': case 'h': case 'H': case 'i': case 'I': case 'l': case 'L': case 'q': case 'Q':
      switch (b.itemsize) {  // 'l' is 8 bytes on Linux, 4 on Windows: go by size
        case 1: return is_signed ? DType::i8 : DType::u8;
        case 2: return is_signed ? DType::i16 : DType::u16;
        case 4: return is_signed ? DType::i32 : DType::u32;
        case 8: return is_signed ? DType::i64 : DType::u64;
      }
  }
  fail(what, ": unsupported array element format '", b.format, "' (supported: float16/32/64, int8..int64, uint8..uint64, bool)");
}

// Copies a C-contiguous buffer into a new Tensor.
Tensor tensor_from_buffer(const py::buffer& obj, const std::string& what) {
  py::buffer_info b = obj.request();
  DType dtype = dtype_from_buffer(b, what);
  EK_CHECK(size_t(b.itemsize) == dtype_size(dtype), what, ": element size ", b.itemsize, " does not match ",
           dtype_name(dtype));
  Shape shape(b.shape.begin(), b.shape.end());
  int64_t expect = b.itemsize;
  for (size_t i = shape.size(); i-- > 0;) {
    EK_CHECK(shape[i] <= 1 || b.strides[i] == expect, what, ": array is not C-contiguous");
    expect *= shape[i];
  }
  Tensor t(dtype, shape);
  if (t.nbytes()) std::memcpy(t.raw(), b.ptr, t.nbytes());
  return t;
}

struct TensorBuffer {
  Tensor tensor;
};

// The GIL is released while a model runs, so Python threads may call run() on one Session at
// once; the Session's thread pool takes one loop at a time, so runs are serialised here.
struct PySession {
  PySession(const std::string& path, int threads, int opt_level, bool verify)
      : session(path, SessionOptions{.threads = threads, .opt_level = opt_level, .verify_hash = verify}) {}
  Session session;
  std::mutex mutex;
};

py::object dims_of(const ValueInfo& v) {
  if (!v.shape_known) return py::none();
  py::list dims;
  for (size_t i = 0; i < v.dims.size(); ++i) {
    if (v.dims[i] >= 0)
      dims.append(v.dims[i]);
    else if (i < v.dim_names.size() && !v.dim_names[i].empty())
      dims.append(v.dim_names[i]);
    else
      dims.append(py::none());
  }
  return dims;
}

py::list infos(const std::vector<ValueInfo>& values) {
  py::list out;
  for (const auto& v : values) out.append(py::make_tuple(v.name, buffer_format(v.dtype), dims_of(v)));
  return out;
}

// edgekit.quantize: what `edgekit quantize` does (tools/edgekit/cmd_quantize.cpp), calibration
// from a file (`calibration_path`) or from arrays by input name (`calibration_arrays`).
py::dict quantize(const std::string& model_path, const std::string& output, const std::string& mode,
                  const std::string& calibration_path, const py::dict& calibration_arrays, const std::string& method,
                  bool per_channel, bool symmetric_activations, bool int8_io, bool int8_outputs, bool bias_correction,
                  const std::vector<std::string>& exclude, int64_t batch, int threads, const std::string& format,
                  bool mse_weights, const py::dict& preprocessing) {
  QuantizeOptions o;
  o.mode = quantize_mode_from_name(mode);
  o.method = calibration_method_from_name(method);
  o.per_channel = per_channel;
  o.symmetric_activations = symmetric_activations;
  o.int8_io = int8_io;
  o.float_outputs = !int8_outputs;
  o.bias_correction = bias_correction;
  o.exclude = exclude;
  o.threads = threads;
  o.mse_weights = mse_weights;
  // Checked in __init__.py; the .ekm's stored preprocessing fills in what is not given.
  EkmPreprocessing pre = stored_preprocessing(model_path);
  if (preprocessing.contains("mean")) pre.mean = preprocessing["mean"].cast<std::vector<float>>();
  if (preprocessing.contains("std")) pre.std = preprocessing["std"].cast<std::vector<float>>();
  if (preprocessing.contains("layout")) pre.layout = preprocessing["layout"].cast<std::string>();
  if (preprocessing.contains("image_size")) {
    auto [w, h] = preprocessing["image_size"].cast<std::pair<int64_t, int64_t>>();
    pre.image_width = w, pre.image_height = h;
  }
  EK_CHECK(preprocessing.empty() || is_image_folder(calibration_path),
           "mean, std, layout and image_size apply to a calibration folder of images; ",
           calibration_path.empty() ? std::string("calibration is not a path") : calibration_path + " is not one");
  std::map<std::string, Tensor> arrays;
  for (auto [k, v] : calibration_arrays) {
    std::string name = py::str(k);
    arrays[name] = tensor_from_buffer(py::reinterpret_borrow<py::buffer>(v), "calibration['" + name + "']");
  }
  const bool has_data = !calibration_path.empty() || !arrays.empty();
  QuantizeReport report;
  size_t batches = 0;
  {
    py::gil_scoped_release release;
    Graph g = load_model(model_path);
    EK_CHECK(o.mode == QuantizeMode::static_int8 || !has_data, "calibration is for mode='static'");
    EK_CHECK(o.mode != QuantizeMode::static_int8 || has_data,
             "mode='static' needs calibration data (a .npz, a folder of .npy files, or arrays)");
    CalibrationSet data;
    if (!calibration_path.empty()) data = load_calibration_data(calibration_path, g, batch, "calibration data", nullptr, pre);
    else if (!arrays.empty()) data = calibration_from_arrays(arrays, g, batch, "calibration");
    batches = data.size();
    Graph q = quantize_model(g, o, &data, &report);
    write_quantized(std::move(q), output, format, model_path, std::string("edgekit ") + EDGEKIT_VERSION);
  }
  py::dict r;
  r["quantized_nodes"] = report.quantized_nodes;
  r["by_op"] = report.by_op;
  r["warnings"] = report.warnings;
  r["calibration_batches"] = batches;
  return r;
}

}  // namespace

PYBIND11_MODULE(_edgekit, m) {
  m.doc() = "edgekit C++ bindings; use the edgekit package";
  m.attr("__version__") = EDGEKIT_VERSION;
  static py::exception<Error> error(m, "Error", PyExc_RuntimeError);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const Error& e) {
      error(e.what());
    }
  });

  py::class_<TensorBuffer>(m, "TensorBuffer", py::buffer_protocol())
      .def_buffer([](TensorBuffer& b) {
        const Tensor& t = b.tensor;
        std::vector<py::ssize_t> shape(t.shape().begin(), t.shape().end()), strides(t.rank());
        py::ssize_t s = py::ssize_t(dtype_size(t.dtype()));
        for (size_t i = t.rank(); i-- > 0;) {
          strides[i] = s;
          s *= shape[i];
        }
        return py::buffer_info(b.tensor.raw(), py::ssize_t(dtype_size(t.dtype())), buffer_format(t.dtype()),
                               py::ssize_t(t.rank()), shape, strides);
      });

  py::class_<PySession>(m, "Session")
      .def(py::init([](const std::string& path, int threads, int opt_level, bool verify) {
             py::gil_scoped_release release;  // loading may take a while
             return std::make_unique<PySession>(path, threads, opt_level, verify);
           }),
           py::arg("path"), py::arg("threads") = 1, py::arg("opt_level") = 3, py::arg("verify") = true)
      .def_property_readonly("inputs", [](const PySession& s) { return infos(s.session.inputs()); })
      .def_property_readonly("outputs", [](const PySession& s) { return infos(s.session.outputs()); })
      .def("run", [](PySession& s, const py::dict& feeds) {
        std::map<std::string, Tensor> inputs;
        for (auto [k, v] : feeds) {
          std::string name = py::str(k);
          inputs[name] = tensor_from_buffer(py::reinterpret_borrow<py::buffer>(v), "input '" + name + "'");
        }
        std::vector<Tensor> results;
        {
          py::gil_scoped_release release;
          std::lock_guard<std::mutex> lock(s.mutex);
          results = s.session.run(inputs);
        }
        py::list out;
        for (auto& t : results) out.append(TensorBuffer{std::move(t)});
        return out;
      });

  m.def("quantize", &quantize, py::arg("model"), py::arg("output"), py::arg("mode"), py::arg("calibration_path"),
        py::arg("calibration_arrays"), py::arg("method"), py::arg("per_channel"), py::arg("symmetric_activations"),
        py::arg("int8_io"), py::arg("int8_outputs"), py::arg("bias_correction"), py::arg("exclude"), py::arg("batch"), py::arg("threads"),
        py::arg("format"), py::arg("mse_weights"), py::arg("preprocessing"));
  m.def("read_npy", [](const std::string& path) { return TensorBuffer{read_npy(path)}; });
  m.def("write_npy", [](const std::string& path, const py::buffer& array) {
    write_npy(path, tensor_from_buffer(array, path));
  });
}
