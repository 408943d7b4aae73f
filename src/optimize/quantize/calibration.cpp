#include "optimize/quantize/calibration.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace edgekit {

void CalibrationObserver::observe_range(const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    if (!seen_) min_ = max_ = x[i], seen_ = true;
    min_ = std::min(min_, x[i]), max_ = std::max(max_, x[i]);
  }
}

void CalibrationObserver::observe_histogram(const float* x, int64_t n) {
  if (hist_.empty()) hist_.assign(kBins, 0.0);
  const double width = (double(max_) - double(min_)) / kBins;
  if (!(width > 0)) return;
  for (int64_t i = 0; i < n; ++i) {
    int b = int((double(x[i]) - min_) / width);
    hist_[size_t(std::clamp(b, 0, kBins - 1))] += 1;
  }
}

namespace {

// Squared error of quantizing every histogram bin centre into 256 levels over [lo, hi].
double quantization_mse(const std::vector<double>& h, double min, double width, double lo, double hi) {
  const double step = (hi - lo) / 255.0;
  double err = 0;
  for (size_t b = 0; b < h.size(); ++b) {
    if (!h[b]) continue;
    const double v = min + (double(b) + 0.5) * width;
    const double q = std::clamp(std::round((v - lo) / step), 0.0, 255.0) * step + lo;
    err += h[b] * (v - q) * (v - q);
  }
  return err;
}

// KL(P || Q) of the histogram clipped to bins [first, last) against its 256-level quantization.
double clipped_kl(const std::vector<double>& h, size_t first, size_t last) {
  const size_t n = last - first;
  std::vector<double> p(h.begin() + long(first), h.begin() + long(last));
  for (size_t b = 0; b < first; ++b) p.front() += h[b];  // outliers fold into the edge bins
  for (size_t b = last; b < h.size(); ++b) p.back() += h[b];
  std::vector<double> q(n, 0.0);
  const double per = double(n) / 256.0;
  for (int l = 0; l < 256; ++l) {
    const size_t b0 = size_t(std::floor(l * per)), b1 = std::max(b0 + 1, size_t(std::floor((l + 1) * per)));
    double sum = 0;
    size_t nonzero = 0;
    for (size_t b = b0; b < b1 && b < n; ++b) sum += h[first + b], nonzero += h[first + b] > 0;
    for (size_t b = b0; b < b1 && b < n; ++b)
      if (h[first + b] > 0) q[b] = sum / double(nonzero);
  }
  double tp = 0, tq = 0, kl = 0;
  for (size_t b = 0; b < n; ++b) tp += p[b], tq += q[b];
  if (tp <= 0 || tq <= 0) return std::numeric_limits<double>::infinity();
  for (size_t b = 0; b < n; ++b)
    if (p[b] > 0) kl += p[b] / tp * std::log((p[b] / tp) / std::max(q[b] / tq, 1e-12));
  return kl;
}

}  // namespace

std::pair<float, float> CalibrationObserver::range(CalibrationMethod method, float percentile) const {
  if (method == CalibrationMethod::minmax || hist_.empty() || !(max_ > min_)) return {min_, max_};
  const double width = (double(max_) - double(min_)) / kBins;
  double total = 0;
  for (double c : hist_) total += c;
  if (method == CalibrationMethod::percentile) {
    const double tail = total * (100.0 - double(percentile)) / 100.0;
    size_t lo = 0, hi = hist_.size();
    for (double acc = 0; lo < hist_.size() && acc + hist_[lo] <= tail; ++lo) acc += hist_[lo];
    for (double acc = 0; hi > lo + 1 && acc + hist_[hi - 1] <= tail; --hi) acc += hist_[hi - 1];
    return {float(min_ + double(lo) * width), float(min_ + double(hi) * width)};
  }
  // mse and entropy: shrink the range from both ends towards zero, keep the best candidate.
  const double zero = std::clamp(-double(min_) / width, 0.0, double(kBins));
  double best = std::numeric_limits<double>::infinity();
  std::pair<float, float> out{min_, max_};
  for (int i = 0; i <= 64; ++i) {
    const double f = 1.0 - i / 80.0;  // 100% down to 20% of each side
    const size_t first = size_t(std::floor(zero - f * zero)), last = size_t(std::ceil(zero + f * (kBins - zero)));
    if (last <= first + 256 && method == CalibrationMethod::entropy) break;
    const double lo = min_ + double(first) * width, hi = min_ + double(last) * width;
    const double cost = method == CalibrationMethod::mse ? quantization_mse(hist_, min_, width, lo, hi)
                                                         : clipped_kl(hist_, first, std::min<size_t>(last, kBins));
    if (cost < best) best = cost, out = {float(lo), float(hi)};
  }
  return out;
}

std::pair<float, int32_t> int8_params_for_range(float lo, float hi, bool symmetric) {
  lo = std::min(lo, 0.f), hi = std::max(hi, 0.f);
  if (symmetric) {
    const float m = std::max(-lo, hi);
    return {m > 0 ? m / 127.f : 1.f, 0};
  }
  const float scale = hi > lo ? (hi - lo) / 255.f : 1.f;
  const int32_t zp = int32_t(std::clamp(std::round(-128.f - lo / scale), -128.f, 127.f));
  return {scale, zp};
}

}  // namespace edgekit
