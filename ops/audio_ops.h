// Builder functions for TensorFlow's audio ops, the front end of its speech_commands models:
// WAV bytes to samples (DecodeWav), samples to a spectrogram (AudioSpectrogram), spectrogram to
// mel-frequency cepstral coefficients (Mfcc).
//
//   ops::DecodeWav wav(scope, contents, ops::DecodeWavAttrs().DesiredChannels(1));
//   auto spec = ops::AudioSpectrogram(scope, wav.audio, 480, 160, /*magnitude_squared=*/true);
//   auto mfcc = ops::Mfcc(scope, spec, wav.sample_rate, ops::MfccAttrs().DctCoefficientCount(40));
#ifndef DFLOW_OPS_AUDIO_OPS_H_
#define DFLOW_OPS_AUDIO_OPS_H_

#include <cstdint>

#include "graph/graph.h"
#include "ops/scope.h"

namespace dflow {
namespace audio {

// The smallest power of two >= n (n >= 1): AudioSpectrogram's FFT length for a window of n.
inline int64_t NextPowerOfTwo(int64_t n) {
  int64_t p = 1;
  while (p < n) p <<= 1;
  return p;
}

// The number of windows of `window` samples, `stride` apart, that fit in `samples`.
inline int64_t SpectrogramFrames(int64_t samples, int64_t window, int64_t stride) {
  return samples < window ? 0 : 1 + (samples - window) / stride;
}

}  // namespace audio

namespace ops {

// desired_channels / desired_samples: -1 keeps the file's.
struct DecodeWavAttrs {
  DecodeWavAttrs DesiredChannels(int64_t v) const {
    DecodeWavAttrs a = *this;
    a.desired_channels = v;
    return a;
  }
  DecodeWavAttrs DesiredSamples(int64_t v) const {
    DecodeWavAttrs a = *this;
    a.desired_samples = v;
    return a;
  }
  int64_t desired_channels = -1;
  int64_t desired_samples = -1;
};

// contents: a string scalar holding a 16-bit PCM WAV file. audio: float [samples, channels],
// each sample / 32768; with desired_channels, missing channels repeat the last one and extra
// ones are dropped; with desired_samples, the audio is cut or padded with zeros. sample_rate:
// the header's rate (int32 scalar).
struct DecodeWav {
  DecodeWav(const Scope& scope, Input contents, const DecodeWavAttrs& attrs = DecodeWavAttrs());
  Output audio, sample_rate;
};

// input: float [samples, channels]. For each channel, windows of window_size samples stride
// apart, times a periodic Hann window, zero-padded to the next power of two n; the output is
// float [channels, windows, n / 2 + 1] of |FFT| (or |FFT|^2 with magnitude_squared).
Output AudioSpectrogram(const Scope& scope, Input input, int64_t window_size, int64_t stride,
                        bool magnitude_squared = false);

struct MfccAttrs {
  MfccAttrs UpperFrequencyLimit(float v) const {
    MfccAttrs a = *this;
    a.upper_frequency_limit = v;
    return a;
  }
  MfccAttrs LowerFrequencyLimit(float v) const {
    MfccAttrs a = *this;
    a.lower_frequency_limit = v;
    return a;
  }
  MfccAttrs FilterbankChannelCount(int64_t v) const {
    MfccAttrs a = *this;
    a.filterbank_channel_count = v;
    return a;
  }
  MfccAttrs DctCoefficientCount(int64_t v) const {
    MfccAttrs a = *this;
    a.dct_coefficient_count = v;
    return a;
  }
  float upper_frequency_limit = 4000;
  float lower_frequency_limit = 20;
  int64_t filterbank_channel_count = 40;
  int64_t dct_coefficient_count = 13;
};

// spectrogram: float [channels, frames, bins] of squared magnitudes (AudioSpectrogram with
// magnitude_squared); sample_rate: int32 scalar. Per frame: a triangular mel filterbank over the
// bins' magnitudes, the log (floored at 1e-12), a DCT-II; float [channels, frames,
// dct_coefficient_count].
Output Mfcc(const Scope& scope, Input spectrogram, Input sample_rate,
            const MfccAttrs& attrs = MfccAttrs());

}  // namespace ops
}  // namespace dflow

#endif  // DFLOW_OPS_AUDIO_OPS_H_
