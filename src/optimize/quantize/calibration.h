// CalibrationObserver: what static quantization learns about one activation tensor.
// Pass 1 records min and max; methods other than minmax then fill a histogram of
// kBins bins over [min, max] in pass 2, and range() picks the clipping range from it:
//   minmax      [min, max]
//   percentile  the p-th and (100 - p)-th percentiles
//   mse         the range whose int8 rounding + clipping error over the histogram is least
//   entropy     the range whose int8 histogram is closest to the float one (KL divergence,
//               as TensorRT's calibrator), searched symmetric around zero
// Memory: kBins doubles per observed tensor.
#pragma once
#include <cstdint>
#include <utility>
#include <vector>

#include "optimize/quantize/quantize.h"

namespace edgekit {

class CalibrationObserver {
 public:
  static constexpr int kBins = 2048;
  void observe_range(const float* x, int64_t n);  // pass 1
  void observe_histogram(const float* x, int64_t n);  // pass 2 (after every observe_range)
  bool empty() const { return !seen_; }
  std::pair<float, float> range(CalibrationMethod method, float percentile) const;

 private:
  bool seen_ = false;
  float min_ = 0.f, max_ = 0.f;
  std::vector<double> hist_;
};

// int8 scale and zero point for a real range (0 included; zero point 0 when symmetric).
std::pair<float, int32_t> int8_params_for_range(float lo, float hi, bool symmetric);

}  // namespace edgekit
