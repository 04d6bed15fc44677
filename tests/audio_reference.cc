// The plain-loop references of tests/reference.h for the audio ops (AudioSpectrogram, Mfcc):
// a direct DFT sum and the mel filterbank as explicit triangles, from TensorFlow's formulas.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "tests/reference.h"

namespace dflow {
namespace test {

namespace {
constexpr double kPi = 3.14159265358979323846;
double Mel(double hz) { return 1127.0 * std::log1p(hz / 700.0); }
}  // namespace

std::vector<double> SpectrogramRef(const std::vector<float>& samples, int64_t window,
                                   int64_t stride, int64_t fft_length, bool squared) {
  const int64_t n = static_cast<int64_t>(samples.size());
  const int64_t bins = fft_length / 2 + 1;
  std::vector<double> out;
  for (int64_t start = 0; start + window <= n; start += stride) {
    for (int64_t k = 0; k < bins; ++k) {
      double re = 0, im = 0;
      for (int64_t j = 0; j < window; ++j) {  // Samples past the window are the zero padding.
        const double hann = 0.5 - 0.5 * std::cos(2 * kPi * j / window);
        const double x = samples[start + j] * hann;
        re += x * std::cos(2 * kPi * j * k / fft_length);
        im -= x * std::sin(2 * kPi * j * k / fft_length);
      }
      const float power = static_cast<float>(re * re + im * im);
      out.push_back(squared ? power : std::sqrt(power));
    }
  }
  return out;
}

std::vector<double> MfccRef(const float* power, int64_t bins, double sample_rate, double lower,
                            double upper, int64_t channels, int64_t dct) {
  const double hz = sample_rate / (2.0 * (bins - 1));
  const int64_t first = static_cast<int64_t>(std::floor(1.5 + lower / hz));
  const int64_t last = static_cast<int64_t>(std::floor(upper / hz));
  if (last >= bins) return std::vector<double>(dct, 0.0);
  std::vector<double> center(channels + 2);  // center[0] = mel(lower): channel 0's left edge.
  const double low = Mel(lower), high = Mel(upper);
  for (int64_t k = 0; k <= channels + 1; ++k) {
    center[k] = low + k * (high - low) / (channels + 1);
  }
  std::vector<double> log_energy(channels);
  for (int64_t k = 0; k < channels; ++k) {
    const double left = center[k], peak = center[k + 1], right = center[k + 2];
    double energy = 0;
    for (int64_t i = first; i <= last; ++i) {
      const double m = Mel(i * hz);
      double triangle = 0;
      if (m > left && m <= peak) triangle = (m - left) / (peak - left);
      if (m > peak && m <= right) triangle = (right - m) / (right - peak);
      energy += triangle * std::sqrt(static_cast<double>(power[i]));
    }
    log_energy[k] = std::log(std::max(energy, 1e-12));
  }
  std::vector<double> out(dct);
  for (int64_t i = 0; i < dct; ++i) {
    double sum = 0;
    for (int64_t j = 0; j < channels; ++j) {
      sum += std::cos(kPi * i * (j + 0.5) / channels) * log_energy[j];
    }
    out[i] = std::sqrt(2.0 / channels) * sum;
  }
  return out;
}

}  // namespace test
}  // namespace dflow
