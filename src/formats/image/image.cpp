#include "formats/image/image.h"

#include <stb_image.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>

#include "core/error.h"

namespace edgekit {

namespace {

// Larger images are refused before decoding: a hostile header must not make us allocate
// gigabytes (stb would try width x height x channels).
constexpr int64_t kMaxImageSide = 16384;

std::string lower_extension(const std::string& path) {
  const size_t dot = path.find_last_of('.'), slash = path.find_last_of('/');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return "";
  std::string ext = path.substr(dot);
  for (char& c : ext) c = char(std::tolower(static_cast<unsigned char>(c)));
  return ext;
}

// Bilinear sample of channel c at (y, x) in source pixel coordinates, clamped to the edges.
float sample(const Image& img, float y, float x, int64_t c) {
  y = std::clamp(y, 0.f, float(img.height - 1));
  x = std::clamp(x, 0.f, float(img.width - 1));
  const int64_t y0 = int64_t(y), x0 = int64_t(x);
  const int64_t y1 = std::min(y0 + 1, img.height - 1), x1 = std::min(x0 + 1, img.width - 1);
  const float fy = y - float(y0), fx = x - float(x0);
  auto at = [&](int64_t yy, int64_t xx) { return float(img.pixels[size_t((yy * img.width + xx) * img.channels + c)]); };
  const float top = at(y0, x0) + (at(y0, x1) - at(y0, x0)) * fx;
  const float bottom = at(y1, x0) + (at(y1, x1) - at(y1, x0)) * fx;
  return top + (bottom - top) * fy;
}

std::vector<float> per_channel(const std::vector<float>& v, int64_t channels, float fallback, const char* what,
                               const std::string& where) {
  if (v.empty()) return std::vector<float>(size_t(channels), fallback);
  if (v.size() == 1) return std::vector<float>(size_t(channels), v[0]);
  EK_CHECK(int64_t(v.size()) == channels, where, ": ", what, " has ", v.size(), " values but the input has ", channels,
           channels == 1 ? " channel (expected 1 value)" : cat(" channels (expected 1 or ", channels, " values)"));
  return v;
}

uint32_t le32(const std::string& b, size_t at) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | uint8_t(b[at + size_t(i)]);
  return v;
}

// stb_image decodes what a file holds and pads a truncated JPEG, BMP or PNM with zeros; a cut
// file must be an error, not an image with a black bottom, so their data's extent is checked
// here (PNG's own chunk structure makes stb fail on it). Other formats stb reads are refused.
void check_complete(const std::string& b, const std::string& path) {
  const auto starts = [&](const char* magic, size_t n) { return b.size() >= n && b.compare(0, n, magic, n) == 0; };
  if (starts("\x89PNG", 4)) return;
  if (starts("\xFF\xD8", 2)) {  // JPEG: the end-of-image marker, allowing trailing padding
    const size_t eoi = b.rfind("\xFF\xD9");
    EK_CHECK(eoi != std::string::npos && b.size() - eoi <= 4096, path, ": JPEG without its end marker (truncated?)");
    return;
  }
  if (starts("BM", 2)) {  // uncompressed BMP: pixel offset + rows within the file
    EK_CHECK(b.size() >= 34, path, ": BMP header truncated (", b.size(), " bytes)");
    const uint32_t offset = le32(b, 10), compression = le32(b, 30);
    const int32_t width = int32_t(le32(b, 18)), height = int32_t(le32(b, 22));
    const uint32_t bits = uint8_t(b[28]) | (uint32_t(uint8_t(b[29])) << 8);
    if (compression == 0 || compression == 3) {
      const uint64_t row = (uint64_t(std::max(width, 0)) * bits + 31) / 32 * 4;
      const uint64_t need = uint64_t(offset) + row * uint64_t(std::abs(int64_t(height)));
      EK_CHECK(need <= b.size(), path, ": BMP pixel data truncated (", b.size(), " bytes, ", need, " expected)");
    }
    return;
  }
  if (starts("P5", 2) || starts("P6", 2)) {  // binary PGM/PPM: header of three numbers, then w*h*c samples
    size_t at = 2;
    uint64_t v[3] = {};
    for (uint64_t& n : v) {
      while (at < b.size() && (std::isspace(uint8_t(b[at])) || b[at] == '#')) {
        if (b[at] == '#') at = b.find('\n', at) == std::string::npos ? b.size() : b.find('\n', at);
        ++at;
      }
      const size_t digits = at;
      while (at < b.size() && std::isdigit(uint8_t(b[at])) && at - digits < 9) n = n * 10 + uint64_t(b[at++] - '0');
      EK_CHECK(at > digits, path, ": PNM header is malformed");
    }
    const uint64_t need = at + 1 + v[0] * v[1] * (b[1] == '6' ? 3 : 1) * (v[2] > 255 ? 2 : 1);
    EK_CHECK(need <= b.size(), path, ": PNM pixel data truncated (", b.size(), " bytes, ", need, " expected)");
    return;
  }
  fail(path, ": not a PNG, JPEG, BMP or binary PGM/PPM image");
}

}  // namespace

bool is_image_file(const std::string& path) {
  static const char* kExtensions[] = {".png", ".jpg", ".jpeg", ".bmp", ".pnm", ".ppm", ".pgm"};
  const std::string ext = lower_extension(path);
  return std::any_of(std::begin(kExtensions), std::end(kExtensions), [&](const char* e) { return ext == e; });
}

Image read_image(const std::string& path, int64_t channels) {
  std::ifstream f(path, std::ios::binary);
  EK_CHECK(f.good(), path, ": cannot open the image");
  const std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  return decode_image(bytes, path, channels);
}

Image decode_image(const std::string& bytes, const std::string& path, int64_t channels) {
  EK_CHECK(channels == 1 || channels == 3, path, ": images are read as 1 or 3 channels, not ", channels);
  EK_CHECK(!bytes.empty(), path, ": empty file, not an image");
  EK_CHECK(bytes.size() < (size_t(1) << 31), path, ": ", bytes.size(), " bytes is too large for an image file");
  const auto* data = reinterpret_cast<const stbi_uc*>(bytes.data());
  int w = 0, h = 0, n = 0;
  EK_CHECK(stbi_info_from_memory(data, int(bytes.size()), &w, &h, &n), path,
           ": not an image edgekit can decode: ", stbi_failure_reason());
  EK_CHECK(w > 0 && h > 0 && w <= kMaxImageSide && h <= kMaxImageSide, path, ": image of ", w, "x", h,
           " pixels (at most ", kMaxImageSide, " a side)");
  check_complete(bytes, path);
  std::unique_ptr<stbi_uc, void (*)(void*)> pixels(
      stbi_load_from_memory(data, int(bytes.size()), &w, &h, &n, int(channels)), stbi_image_free);
  EK_CHECK(pixels, path, ": cannot decode the image: ", stbi_failure_reason());
  Image img;
  img.width = w, img.height = h, img.channels = channels;
  img.pixels.assign(pixels.get(), pixels.get() + size_t(w) * size_t(h) * size_t(channels));
  return img;
}

ImageInputLayout image_input_layout(const ValueInfo& input, const EkmPreprocessing& pre, const std::string& where) {
  EK_CHECK(input.dtype == DType::f32, where, ": input '", input.name, "' is ", dtype_name(input.dtype),
           "; images feed float32 inputs");
  EK_CHECK(input.shape_known && input.dims.size() == 4, where, ": input '", input.name, "' has ",
           input.shape_known ? shape_str(input.dims) : std::string("an unknown shape"),
           "; images feed rank-4 inputs (NCHW or NHWC)");
  const Shape& d = input.dims;
  auto is_channels = [](int64_t v) { return v == 1 || v == 3; };
  ImageInputLayout l;
  if (!pre.layout.empty()) {
    EK_CHECK(pre.layout == "NCHW" || pre.layout == "NHWC", where, ": layout ", pre.layout, ": expected NCHW or NHWC");
    l.nchw = pre.layout == "NCHW";
  } else {
    const bool nchw = is_channels(d[1]), nhwc = is_channels(d[3]);
    EK_CHECK(nchw != nhwc, where, ": cannot tell the layout of input '", input.name, "' ", shape_str(d),
             " (a channel dim of 1 or 3 at ", nchw ? "both ends" : "neither end", "): give the layout, NCHW or NHWC");
    l.nchw = nchw;
  }
  l.channels = l.nchw ? d[1] : d[3];
  EK_CHECK(is_channels(l.channels), where, ": input '", input.name, "' ", shape_str(d), " in ",
           l.nchw ? "NCHW" : "NHWC", " has ", l.channels, " channels; images have 1 (grey) or 3 (RGB)");
  l.height = l.nchw ? d[2] : d[1];
  l.width = l.nchw ? d[3] : d[2];
  auto take = [&](int64_t& dim, int64_t given, const char* what) {
    if (given <= 0) return;
    EK_CHECK(dim < 0 || dim == given, where, ": image ", what, " ", given, " but input '", input.name, "' ",
             shape_str(d), " has ", dim);
    dim = given;
  };
  take(l.height, pre.image_height, "height");
  take(l.width, pre.image_width, "width");
  l.height = std::max<int64_t>(l.height, 0), l.width = std::max<int64_t>(l.width, 0);
  return l;
}

Tensor image_to_input(const Image& image, const ValueInfo& input, const EkmPreprocessing& pre,
                      const std::string& where) {
  const ImageInputLayout l = image_input_layout(input, pre, where);
  EK_CHECK(image.channels == l.channels, where, ": image has ", image.channels, " channels, input '", input.name,
           "' takes ", l.channels);
  const int64_t H = l.height ? l.height : image.height, W = l.width ? l.width : image.width, C = l.channels;
  const std::vector<float> mean = per_channel(pre.mean, C, 0.f, "mean", where);
  const std::vector<float> std = per_channel(pre.std, C, 1.f, "std", where);
  for (float s : std) EK_CHECK(s > 0, where, ": std values must be positive");
  Tensor out(DType::f32, l.nchw ? Shape{1, C, H, W} : Shape{1, H, W, C});
  float* y = out.data<float>();
  const bool same_size = H == image.height && W == image.width;
  const float sy = float(image.height) / float(H), sx = float(image.width) / float(W);
  for (int64_t h = 0; h < H; ++h)
    for (int64_t w = 0; w < W; ++w)
      for (int64_t c = 0; c < C; ++c) {
        const float p = same_size ? float(image.pixels[size_t((h * W + w) * C + c)])
                                  : sample(image, (float(h) + 0.5f) * sy - 0.5f, (float(w) + 0.5f) * sx - 0.5f, c);
        const float v = (p / 255.f - mean[size_t(c)]) / std[size_t(c)];
        y[l.nchw ? (c * H + h) * W + w : (h * W + w) * C + c] = v;
      }
  return out;
}

}  // namespace edgekit
