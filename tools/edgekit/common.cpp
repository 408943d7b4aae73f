#include "common.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <random>
#include <set>
#include <sstream>
#include <thread>
#include <unistd.h>

#include "formats/npy/npy.h"
#include "runtime/session.h"

namespace edgekit::cli {

namespace {
int max_threads() { return int(std::max(1u, std::thread::hardware_concurrency())); }

std::string input_names(const Session& s) {
  std::string names;
  for (const auto& in : s.inputs()) names += (names.empty() ? "'" : ", '") + in.name + "'";
  return names;
}

bool is_npz(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  char head[2] = {0, 0};
  f.read(head, 2);
  return f.gcount() == 2 && head[0] == 'P' && head[1] == 'K';  // zip magic
}

}  // namespace

void check_feed(const ValueInfo& info, const Tensor& t, const std::string& source) {
  EK_CHECK(t.dtype() == info.dtype, "input '", info.name, "' from ", source, ": expected dtype ",
           dtype_name(info.dtype), ", got ", dtype_name(t.dtype()), " (convert with arr.astype(np.",
           numpy_dtype_name(info.dtype), "))");
  if (!info.shape_known) return;
  bool ok = t.rank() == info.dims.size();
  for (size_t i = 0; ok && i < info.dims.size(); ++i) ok = info.dims[i] < 0 || info.dims[i] == t.shape()[i];
  EK_CHECK(ok, "input '", info.name, "' from ", source, ": expected shape ", shape_text(info), ", got ",
           shape_str(t.shape()));
}

void add_threads_option(CLI::App* cmd, int& threads) {
  cmd->add_option("--threads", threads, cat("Threads used inside ops, 1..", max_threads(), " (this machine's cores)"))
      ->capture_default_str();
}

void add_no_verify_option(CLI::App* cmd, bool& no_verify) {
  cmd->add_flag("--no-verify", no_verify,
                "Skip the SHA-256 check of an .ekm file (for files already checked, e.g. when installed)");
}

namespace {
std::vector<float> parse_floats(const std::string& text, const char* option) {
  std::vector<float> out;
  std::stringstream s(text);
  std::string item;
  while (std::getline(s, item, ',')) {
    try {
      size_t used = 0;
      out.push_back(std::stof(item, &used));
      EK_CHECK(used == item.size(), "");
    } catch (...) {
      fail(option, " ", text, ": '", item, "' is not a number (expected a comma-separated list like 0.5,0.5,0.5)");
    }
  }
  EK_CHECK(!out.empty(), option, ": empty list");
  return out;
}
}  // namespace

void add_preprocessing_options(CLI::App* cmd, PreprocessingOptions& o) {
  cmd->add_option("--mean", o.mean, "Per-channel input mean, comma-separated (preprocessing: (x - mean) / std)");
  cmd->add_option("--std", o.std, "Per-channel input standard deviation, comma-separated");
  cmd->add_option("--layout", o.layout, "Input image layout: NCHW or NHWC");
  cmd->add_option("--image-size", o.image_size, "Input image size, WIDTHxHEIGHT");
}

EkmPreprocessing parse_preprocessing(const PreprocessingOptions& o, EkmPreprocessing p) {
  if (!o.mean.empty()) p.mean = parse_floats(o.mean, "--mean");
  if (!o.std.empty()) p.std = parse_floats(o.std, "--std");
  EK_CHECK(p.mean.empty() || p.std.empty() || p.mean.size() == p.std.size(), "--mean has ", p.mean.size(),
           " values but --std has ", p.std.size());
  for (float s : p.std) EK_CHECK(s > 0, "--std ", o.std, ": every value must be positive");
  EK_CHECK(o.layout.empty() || o.layout == "NCHW" || o.layout == "NHWC", "--layout ", o.layout,
           ": expected NCHW or NHWC");
  if (!o.layout.empty()) p.layout = o.layout;
  if (!o.image_size.empty()) {
    // WxH, or one number for a square image.
    size_t x = o.image_size.find('x');
    try {
      size_t used = 0;
      std::string w = o.image_size.substr(0, x), h = x == std::string::npos ? w : o.image_size.substr(x + 1);
      p.image_width = std::stoll(w, &used);
      EK_CHECK(used == w.size(), "");
      p.image_height = std::stoll(h, &used);
      EK_CHECK(used == h.size(), "");
    } catch (...) {
      fail("--image-size ", o.image_size, ": expected WIDTHxHEIGHT, e.g. 224x224");
    }
    EK_CHECK(p.image_width > 0 && p.image_height > 0, "--image-size ", o.image_size, ": sides must be positive");
  }
  return p;
}

void add_opt_level_option(CLI::App* cmd, int& level) {
  cmd->add_option("--opt-level", level,
                  "Graph optimisation: 0 none, 1 clean-up (constant and shape folding), 2 + algebraic rewrites "
                  "(BatchNorm folding, MatMul+Add to Gemm, LayerNorm, GELU), 3 + fusion into kernels (default)")
      ->check(CLI::Range(0, 3))
      ->capture_default_str();
}

void check_threads(int threads) {
  EK_CHECK(threads >= 1, "--threads must be at least 1, got ", threads);
  EK_CHECK(threads <= max_threads(), "--threads ", threads, " exceeds the maximum of ", max_threads(),
           " (the cores of this machine)");
}

void add_input_option(CLI::App* cmd, std::vector<std::string>& specs, bool required) {
  auto* opt = cmd->add_option("-i,--input", specs,
                              "Input tensor, repeatable: NAME=FILE.npy, or FILE.npy for a single-input model, "
                              "or FILE.npz holding one array per input name");
  opt->allow_extra_args(false)->type_name("NAME=FILE");
  if (required) opt->required();
}

std::map<std::string, Tensor> load_inputs(const Session& session, const std::vector<std::string>& specs) {
  std::map<std::string, Tensor> feeds;
  std::map<std::string, std::string> source;  // input name -> where it came from
  auto find_input = [&](const std::string& name, const std::string& from) -> const ValueInfo& {
    for (const auto& in : session.inputs())
      if (in.name == name) return in;
    fail("unknown input '", name, "' given by ", from, " (model inputs: ", input_names(session), ")");
  };
  auto add = [&](const std::string& name, Tensor t, const std::string& from) {
    const ValueInfo& info = find_input(name, from);
    EK_CHECK(!feeds.count(name), "input '", name, "' given twice (", source[name], " and ", from, ")");
    check_feed(info, t, from);
    feeds[name] = std::move(t);
    source[name] = from;
  };

  for (const std::string& spec : specs) {
    std::string name, path = spec;
    size_t eq = spec.find('=');
    if (eq != std::string::npos && !std::filesystem::exists(spec)) {  // a path may itself contain '='
      name = spec.substr(0, eq);
      path = spec.substr(eq + 1);
      EK_CHECK(!name.empty() && !path.empty(), "--input '", spec, "': expected NAME=FILE");
    }
    EK_CHECK(std::filesystem::exists(path), path, ": input file not found");
    if (is_npz(path)) {
      auto arrays = read_npz(path);
      if (!name.empty()) {  // NAME=FILE.npz takes the array stored under NAME
        auto it = arrays.find(name);
        EK_CHECK(it != arrays.end(), path, ": has no array '", name, "'");
        add(name, it->second, path);
      } else if (arrays.size() == 1 && session.inputs().size() == 1 &&
                 !arrays.count(session.inputs()[0].name)) {  // np.savez(f, x) stores "arr_0"
        add(session.inputs()[0].name, arrays.begin()->second, cat(path, "['", arrays.begin()->first, "']"));
      } else {
        for (auto& [key, t] : arrays) add(key, t, cat(path, "['", key, "']"));
      }
      continue;
    }
    Tensor t = read_npy(path);
    if (name.empty()) {
      EK_CHECK(session.inputs().size() == 1, "--input ", path, ": the model has ", session.inputs().size(),
               " inputs (", input_names(session), "); name them: --input NAME=", path);
      name = session.inputs()[0].name;
    }
    add(name, std::move(t), path);
  }
  for (const auto& in : session.inputs())
    EK_CHECK(feeds.count(in.name), "missing input '", in.name, "' (", dtype_name(in.dtype), " ", shape_text(in),
             "); give --input ", in.name, "=FILE.npy");
  return feeds;
}

std::map<std::string, Tensor> random_inputs(const Session& session, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::map<std::string, Tensor> feeds;
  for (const auto& in : session.inputs()) {
    EK_CHECK(in.shape_known, "input '", in.name, "' has an unknown rank; give data with --input");
    Shape shape = in.dims;
    for (auto& d : shape) d = d < 0 ? 1 : d;
    Tensor t(in.dtype, shape);
    visit_dtype(in.dtype, [&](auto tag) {
      using T = decltype(tag);
      T* p = t.data<T>();
      int64_t n = t.numel();
      if constexpr (std::is_same_v<T, bool>) {
        for (int64_t i = 0; i < n; ++i) p[i] = (rng() & 1) != 0;
      } else if constexpr (std::is_same_v<T, f16_t>) {
        std::uniform_real_distribution<float> u(-1.f, 1.f);
        for (int64_t i = 0; i < n; ++i) p[i] = float_to_half(u(rng));
      } else if constexpr (std::is_floating_point_v<T>) {
        std::uniform_real_distribution<T> u(T(-1), T(1));
        for (int64_t i = 0; i < n; ++i) p[i] = u(rng);
      } else {  // small non-negative ints: valid as indices, token ids or class labels
        for (int64_t i = 0; i < n; ++i) p[i] = T(rng() % 4);
      }
    });
    feeds[in.name] = t;
  }
  return feeds;
}

std::string shape_text(const ValueInfo& v) { return v.shape_string(); }

nlohmann::ordered_json shape_json(const ValueInfo& v) {
  if (!v.shape_known) return nullptr;
  auto dims = nlohmann::ordered_json::array();
  for (size_t i = 0; i < v.dims.size(); ++i) {
    if (v.dims[i] >= 0)
      dims.push_back(v.dims[i]);
    else if (i < v.dim_names.size() && !v.dim_names[i].empty())
      dims.push_back(v.dim_names[i]);
    else
      dims.push_back(nullptr);
  }
  return dims;
}

const char* numpy_dtype_name(DType t) {
  switch (t) {
    case DType::f32: return "float32";
    case DType::f64: return "float64";
    case DType::f16: return "float16";
    case DType::i8: return "int8";
    case DType::u8: return "uint8";
    case DType::i16: return "int16";
    case DType::u16: return "uint16";
    case DType::i32: return "int32";
    case DType::u32: return "uint32";
    case DType::i64: return "int64";
    case DType::u64: return "uint64";
    case DType::boolean: return "bool_";
    default: return "undefined";
  }
}

std::string sanitize_filename(const std::string& name) {
  std::string out = name;
  for (char& c : out)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') c = '_';
  if (out.empty() || out == "." || out == "..") out = "_" + out;  // never a directory entry
  return out;
}

TensorStats tensor_stats(const Tensor& t) {
  TensorStats s;
  int64_t n = t.numel(), counted = 0;
  double sum = 0, lo = INFINITY, hi = -INFINITY;
  visit_dtype(t.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* p = t.data<T>();
    for (int64_t i = 0; i < n; ++i) {
      double v;
      if constexpr (std::is_same_v<T, f16_t>) v = half_to_float(p[i]);
      else v = double(p[i]);
      if (std::isnan(v)) {
        ++s.nan_count;
        continue;
      }
      lo = std::min(lo, v);
      hi = std::max(hi, v);
      sum += v;
      ++counted;
    }
  });
  if (counted) {
    s.min = lo;
    s.max = hi;
    s.mean = sum / double(counted);
  } else {
    s.min = s.max = s.mean = NAN;
  }
  return s;
}

std::string thousands(int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

void batch_progress(const char* label, size_t done, size_t total) {
  if (!isatty(2)) return;
  const int width = 30, filled = int(width * done / std::max<size_t>(total, 1));
  std::cerr << "\r" << label << " [" << std::string(size_t(filled), '#') << std::string(size_t(width - filled), ' ')
            << "] " << done << "/" << total << " batches" << (done == total ? "\n" : "") << std::flush;
}

std::string fixed(double v, int decimals) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(decimals) << v;
  return s.str();
}

std::string si(double v) {
  const char* units[] = {"", " K", " M", " G", " T"};
  int u = 0;
  while (std::fabs(v) >= 1000 && u < 4) {
    v /= 1000;
    ++u;
  }
  return u == 0 ? fixed(v, 0) : fixed(v, 2) + units[u];
}

std::string human_bytes(double bytes) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  int u = 0;
  while (bytes >= 1024 && u < 4) {
    bytes /= 1024;
    ++u;
  }
  return u == 0 ? fixed(bytes, 0) + " B" : fixed(bytes, 1) + " " + units[u];
}

void Table::print(std::ostream& os, const std::string& indent) const {
  size_t cols = header.size();
  std::vector<size_t> width(cols, 0);
  for (size_t c = 0; c < cols; ++c) width[c] = header[c].size();
  for (const auto& r : rows)
    for (size_t c = 0; c < cols && c < r.size(); ++c) width[c] = std::max(width[c], r[c].size());
  auto line = [&](const std::vector<std::string>& r) {
    std::string s = indent;
    for (size_t c = 0; c < cols; ++c) {
      const std::string cell = c < r.size() ? r[c] : "";
      std::string pad(width[c] - cell.size(), ' ');
      bool is_last = c + 1 == cols;
      s += c < right.size() && right[c] ? pad + cell : cell + (is_last ? "" : pad);
      if (!is_last) s += "  ";
    }
    while (!s.empty() && s.back() == ' ') s.pop_back();
    os << s << "\n";
  };
  line(header);
  for (const auto& r : rows) line(r);
}

}  // namespace edgekit::cli
