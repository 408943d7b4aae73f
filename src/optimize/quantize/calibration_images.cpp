// Calibration samples from image files (load_calibration_data on a folder of images).
#include <cstring>

#include "formats/image/image.h"
#include "optimize/quantize/quantize.h"

namespace edgekit {

CalibrationSet calibration_from_images(const std::vector<std::string>& files, const Graph& model,
                                       const EkmPreprocessing& pre, int64_t batch, const std::string& role,
                                       std::vector<std::string>* sources) {
  EK_CHECK(batch >= 1, "batch size must be at least 1, got ", batch);
  EK_CHECK(!files.empty(), "no image files for the ", role);
  EK_CHECK(model.inputs.size() == 1, files[0], ": images serve one-input models; this model has ",
           model.inputs.size(), " inputs (use a .npz with one array per input)");
  const ValueInfo& input = model.inputs[0];
  const ImageInputLayout layout = image_input_layout(input, pre, files[0]);
  // Images batch together when the input's batch dim is free and they all come out one size
  // (a fixed or given height and width); a fixed batch dim takes exactly that many.
  const int64_t fixed = input.dims[0];
  const bool one_size = layout.height > 0 && layout.width > 0;
  const int64_t per_batch = fixed > 0 ? fixed : one_size ? batch : 1;
  EK_CHECK(fixed <= 0 || int64_t(files.size()) % fixed == 0, files[0], ": input '", input.name, "' takes ",
           fixed, " images a batch but the ", role, " has ", files.size(), " (give a multiple of ", fixed, ")");
  if (sources) sources->clear();
  CalibrationSet out;
  for (size_t b = 0; b < files.size(); b += size_t(per_batch)) {
    const size_t end = std::min(files.size(), b + size_t(per_batch));
    std::vector<Tensor> images;
    for (size_t i = b; i < end; ++i)
      images.push_back(image_to_input(read_image(files[i], layout.channels), input, pre, files[i]));
    Shape shape = images[0].shape();
    shape[0] = int64_t(images.size());
    Tensor t(DType::f32, shape);
    for (size_t i = 0; i < images.size(); ++i) {
      EK_CHECK(images[i].shape() == images[0].shape(), files[b + i], ": image gives ", shape_str(images[i].shape()),
               ", the batch's first ", shape_str(images[0].shape()));
      std::memcpy(t.data<float>() + i * size_t(images[0].numel()), images[i].data<float>(), images[i].nbytes());
    }
    out.push_back({{input.name, std::move(t)}});
    if (sources) sources->push_back(end - b == 1 ? files[b] : cat(files[b], " .. ", files[end - 1]));
  }
  return out;
}

}  // namespace edgekit
