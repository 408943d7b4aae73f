// libFuzzer target: image file bytes -> decode_image (stb_image behind edgekit's own header and
// truncation checks), as grey and as RGB; what decodes must hold width x height x channels
// pixels and become a model input.
#include <cstdlib>

#include "formats/image/image.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace edgekit;
  const std::string bytes = fuzz::as_bytes(data, size);
  for (int64_t channels : {1, 3}) {
    Image img;
    try {
      img = decode_image(bytes, "fuzz", channels);
    } catch (const Error&) {
      continue;
    }
    if (img.channels != channels || img.width <= 0 || img.height <= 0 ||
        img.pixels.size() != size_t(img.width * img.height * channels))
      std::abort();
    ValueInfo input{"x", DType::f32, {1, channels, 8, 8}, {}};
    const Tensor t = image_to_input(img, input, {}, "fuzz");
    for (int64_t i = 0; i < t.numel(); ++i)
      if (!(t.data<float>()[i] >= 0.f && t.data<float>()[i] <= 1.f)) std::abort();
  }
  return 0;
}
