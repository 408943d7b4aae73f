// Image files into model inputs: decoding (PNG, JPEG, BMP, binary PGM/PPM through stb_image),
// then the preprocessing a vision model expects, for calibration data and the vision pipeline.
//
//   Image img = read_image("cat.jpg", 3);                      // 8-bit RGB, row-major HWC
//   Tensor x = image_to_input(img, model.inputs[0], pre, "cat.jpg");   // f32 [1,3,224,224]
//
// The input's value for channel c is (pixel / 255 - mean[c]) / std[c] (torchvision's ToTensor
// then Normalize; no mean/std: pixel / 255), after a bilinear resize (half-pixel centres, no
// antialiasing) to the input's height and width when the image differs.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "ekm/ekm.h"
#include "graph/graph.h"

namespace edgekit {

struct Image {
  int64_t width = 0, height = 0, channels = 0;
  std::vector<uint8_t> pixels;  // height x width x channels
};

// Whether the file name ends in an extension read_image decodes (case-insensitive).
bool is_image_file(const std::string& path);

// Decodes the file as 1 (grey) or 3 (RGB) channels, converting what it holds. Throws
// "<path>: <why>" for a missing, unreadable, truncated or undecodable file, or another format.
Image read_image(const std::string& path, int64_t channels);
// The same from the file's bytes; errors name `where`.
Image decode_image(const std::string& bytes, const std::string& where, int64_t channels);

// Where an image input's dims are: layout "NCHW" or "NHWC", channels (1 or 3), height and
// width (0 where the input's dim is dynamic: the image's own size is then used, or the
// preprocessing's image size). The layout is the preprocessing's when given, else read from the
// dims (a channel dim of 1 or 3 in position 1 or 3, not both); errors say what to pass.
struct ImageInputLayout {
  bool nchw = true;
  int64_t channels = 3, height = 0, width = 0;
};
ImageInputLayout image_input_layout(const ValueInfo& input, const EkmPreprocessing& pre, const std::string& where);

// One image as a batch of one for `input` (f32, rank 4), preprocessed as above.
Tensor image_to_input(const Image& image, const ValueInfo& input, const EkmPreprocessing& pre,
                      const std::string& where);

}  // namespace edgekit
