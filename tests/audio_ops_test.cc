// Tests of DecodeWav, AudioSpectrogram and Mfcc: WAV files written byte by byte here decoded to
// hand-computed samples (channel and length options included), malformed and mutated WAV bytes
// rejected with an error, spectrograms of pure tones against a direct DFT with the Hann window,
// MFCCs against the explicit-triangle filterbank of tests/reference.h, the whole front end
// chained, the shape functions and the attr checks.
#include "ops/audio_ops.h"

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "graph/status_macros.h"
#include "gtest/gtest.h"
#include "ops/array_ops.h"
#include "ops/gradients.h"
#include "runtime/session.h"
#include "tests/reference.h"
#include "tests/test_util.h"

namespace dflow {
namespace test {
namespace {

using ::testing::HasSubstr;

constexpr double kPi = 3.14159265358979323846;

void Le16(std::string* s, uint16_t v) {
  s->push_back(static_cast<char>(v & 0xff));
  s->push_back(static_cast<char>(v >> 8));
}
void Le32(std::string* s, uint32_t v) {
  for (int i = 0; i < 4; ++i) s->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// A canonical 44-byte-header 16-bit PCM WAV: every field written out. `frames` interleaves the
// channels. Offsets: 0 "RIFF", 4 size, 8 "WAVE", 12 "fmt ", 16 fmt size, 20 format, 22 channels,
// 24 rate, 28 byte rate, 32 block align, 34 bits, 36 "data", 40 data size, 44 samples.
std::string Wav(uint16_t channels, uint32_t rate, const std::vector<int16_t>& samples) {
  std::string s = "RIFF";
  Le32(&s, 36 + 2 * samples.size());
  s += "WAVEfmt ";
  Le32(&s, 16);                   // fmt chunk size
  Le16(&s, 1);                    // PCM
  Le16(&s, channels);             // channel count
  Le32(&s, rate);                 // sample rate
  Le32(&s, rate * 2 * channels);  // byte rate
  Le16(&s, 2 * channels);         // block align
  Le16(&s, 16);                   // bits per sample
  s += "data";
  Le32(&s, 2 * samples.size());
  for (int16_t v : samples) Le16(&s, static_cast<uint16_t>(v));
  return s;
}

struct Decoded {
  Tensor audio, rate;
};

absl::StatusOr<Decoded> Decode(const std::string& bytes,
                               const ops::DecodeWavAttrs& attrs = ops::DecodeWavAttrs()) {
  Scope root = Scope::NewRootScope();
  ops::Placeholder contents(root, DT_STRING);
  ops::DecodeWav wav(root, contents, attrs);
  Tensor fed(DT_STRING, TensorShape());
  fed.flat<std::string>()[0] = bytes;
  DFLOW_ASSIGN_OR_RETURN(std::vector<Tensor> out,
                         RunGraph(root, {{contents, fed}}, {wav.audio, wav.sample_rate}));
  return Decoded{out[0], out[1]};
}

TEST(DecodeWavTest, MonoSamplesAreInt16Over32768) {
  absl::StatusOr<Decoded> d = Decode(Wav(1, 16000, {0, 1, -1, 16384, -16384, 32767, -32768}));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->audio.shape(), TensorShape({7, 1}));
  EXPECT_EQ(ValuesOf<float>(d->audio), (std::vector<float>{0.f, 1.f / 32768, -1.f / 32768, 0.5f,
                                                           -0.5f, 32767.f / 32768, -1.f}));
  EXPECT_EQ(d->rate.shape(), TensorShape({}));
  EXPECT_EQ(d->rate.flat<int32_t>()[0], 16000);
}

TEST(DecodeWavTest, StereoChannelsAndLengthOptions) {
  // Frames (L, R): (100, -200), (300, -400), (500, -600).
  const std::string stereo = Wav(2, 8000, {100, -200, 300, -400, 500, -600});
  const float k = 1.f / 32768;
  absl::StatusOr<Decoded> d = Decode(stereo);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->audio.shape(), TensorShape({3, 2}));
  EXPECT_EQ(ValuesOf<float>(d->audio),
            (std::vector<float>{100 * k, -200 * k, 300 * k, -400 * k, 500 * k, -600 * k}));
  EXPECT_EQ(d->rate.flat<int32_t>()[0], 8000);

  d = Decode(stereo, ops::DecodeWavAttrs().DesiredChannels(1));  // Extra channels dropped.
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(ValuesOf<float>(d->audio), (std::vector<float>{100 * k, 300 * k, 500 * k}));

  d = Decode(stereo, ops::DecodeWavAttrs().DesiredChannels(3));  // The last one repeated.
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->audio.shape(), TensorShape({3, 3}));
  EXPECT_EQ(ValuesOf<float>(d->audio),
            (std::vector<float>{100 * k, -200 * k, -200 * k, 300 * k, -400 * k, -400 * k, 500 * k,
                                -600 * k, -600 * k}));

  d = Decode(stereo, ops::DecodeWavAttrs().DesiredSamples(5));  // Padded with zeros.
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(ValuesOf<float>(d->audio), (std::vector<float>{100 * k, -200 * k, 300 * k, -400 * k,
                                                           500 * k, -600 * k, 0, 0, 0, 0}));

  d = Decode(stereo, ops::DecodeWavAttrs().DesiredSamples(1).DesiredChannels(1));  // Cut.
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->audio.shape(), TensorShape({1, 1}));
  EXPECT_EQ(ValuesOf<float>(d->audio), (std::vector<float>{100 * k}));

  d = Decode(stereo, ops::DecodeWavAttrs().DesiredSamples(0));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->audio.shape(), TensorShape({0, 2}));
}

TEST(DecodeWavTest, SkipsMetadataChunksAndReadsTheLongFormatChunk) {
  std::string s = "RIFF";
  Le32(&s, 0);  // TensorFlow ignores the RIFF size.
  s += "WAVE";
  s += "JUNK";  // Padding before "fmt ", skipped.
  Le32(&s, 3);
  s += "abc";
  s += "fmt ";
  Le32(&s, 18);  // The 18-byte form: 2 bytes of extension size at the end.
  Le16(&s, 1);
  Le16(&s, 1);
  Le32(&s, 22050);
  Le32(&s, 44100);
  Le16(&s, 2);
  Le16(&s, 16);
  Le16(&s, 0);
  s += "LIST";  // Any chunk after the format chunk is skipped.
  Le32(&s, 4);
  s += "INFO";
  s += "data";
  Le32(&s, 4);
  Le16(&s, static_cast<uint16_t>(-8192));
  Le16(&s, 8192);
  absl::StatusOr<Decoded> d = Decode(s);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(ValuesOf<float>(d->audio), (std::vector<float>{-0.25f, 0.25f}));
  EXPECT_EQ(d->rate.flat<int32_t>()[0], 22050);
}

// `wav` with the 4 bytes at `offset` replaced by v (little-endian).
std::string With32(std::string wav, size_t offset, uint32_t v) {
  for (int i = 0; i < 4; ++i) wav[offset + i] = static_cast<char>((v >> (8 * i)) & 0xff);
  return wav;
}
std::string With16(std::string wav, size_t offset, uint16_t v) {
  wav[offset] = static_cast<char>(v & 0xff);
  wav[offset + 1] = static_cast<char>(v >> 8);
  return wav;
}

std::string DecodeError(const std::string& bytes) {
  absl::StatusOr<Decoded> d = Decode(bytes);
  return d.ok() ? "" : std::string(d.status().message());
}

TEST(DecodeWavTest, MalformedHeadersAreErrors) {
  const std::string good = Wav(1, 16000, {1, 2, 3, 4});
  ASSERT_EQ(DecodeError(good), "");
  // Every truncation of the header and of the samples.
  for (size_t n = 0; n < good.size(); ++n) {
    EXPECT_NE(DecodeError(good.substr(0, n)), "") << "truncated to " << n << " bytes";
  }
  EXPECT_THAT(DecodeError(""), HasSubstr("WAV data too short"));
  EXPECT_THAT(DecodeError(good.substr(0, 30)), HasSubstr("WAV data too short"));
  EXPECT_THAT(DecodeError("RIFX" + good.substr(4)), HasSubstr("Expected RIFF"));
  EXPECT_THAT(DecodeError(good.substr(0, 8) + "WAVf" + good.substr(12)),
              HasSubstr("Expected WAVE"));
  EXPECT_THAT(DecodeError(good.substr(0, 12) + "abcd" + good.substr(16)),
              HasSubstr("Unexpected field abcd"));
  EXPECT_THAT(DecodeError(With32(good, 16, 20)), HasSubstr("Expected 16 or 18"));
  EXPECT_THAT(DecodeError(With16(good, 20, 3)), HasSubstr("Expected 1 (PCM)"));
  EXPECT_THAT(DecodeError(With16(good, 22, 0)), HasSubstr("Expected at least 1, but got 0"));
  EXPECT_THAT(DecodeError(With16(good, 34, 8)), HasSubstr("Can only read 16-bit WAV files"));
  EXPECT_THAT(DecodeError(With16(good, 32, 4)), HasSubstr("Bad bytes per sample"));
  EXPECT_THAT(DecodeError(With32(good, 28, 16000)), HasSubstr("Bad bytes per second"));
  // Declared sizes past the data: the samples are checked to exist before any allocation.
  EXPECT_THAT(DecodeError(With32(good, 40, 10)), HasSubstr("WAV data too short"));
  EXPECT_THAT(DecodeError(With32(good, 40, 0x7ffffffe)), HasSubstr("WAV data too short"));
  EXPECT_THAT(DecodeError(With32(good, 40, 0xffffffff)), HasSubstr("is too large"));
  EXPECT_THAT(DecodeError(good.substr(0, 12) + "JUNK" + std::string("\xff\xff\xff\x7f", 4) +
                          good.substr(12)),
              HasSubstr("WAV data too short"));
  // A chunk other than data, declared past the end: the chunk loop ends without data.
  std::string no_data = good.substr(0, 36) + "LIST";
  Le32(&no_data, 0x7fffffff);
  EXPECT_THAT(DecodeError(no_data), HasSubstr("No data chunk found"));
  EXPECT_THAT(DecodeError(good.substr(0, 36)), HasSubstr("No data chunk found"));
  EXPECT_THAT(DecodeError(good + good.substr(36)), HasSubstr("More than one data chunk"));
  // A data chunk of 5 bytes holds 2 samples; the odd byte is too short for the next chunk id.
  std::string odd = With32(good.substr(0, 44), 40, 5) + std::string(5, '\0');
  EXPECT_THAT(DecodeError(odd), HasSubstr("WAV data too short"));
}

TEST(DecodeWavTest, MutatedBytesNeverCrash) {
  // Every byte of a stereo file set to each of a few hostile values, one at a time: each run
  // either decodes or fails cleanly (the sanitizer configs check the memory accesses).
  const std::string good = Wav(2, 44100, {1, -1, 2, -2, 3, -3});
  const uint8_t values[] = {0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff};
  int errors = 0;
  for (size_t i = 0; i < good.size(); ++i) {
    for (uint8_t v : values) {
      std::string bad = good;
      bad[i] = static_cast<char>(v);
      absl::StatusOr<Decoded> d = Decode(bad);
      if (!d.ok()) {
        ++errors;
        EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument) << d.status();
      }
    }
  }
  EXPECT_GT(errors, 0);
}

TEST(DecodeWavTest, ContentsMustBeAScalarAndAttrsAtLeastMinusOne) {
  Scope root = Scope::NewRootScope();
  ops::Placeholder contents(root, DT_STRING);
  ops::DecodeWav wav(root, contents);
  Tensor two(DT_STRING, TensorShape({2}));
  EXPECT_THAT(ErrorOf(RunGraph(root, {{contents, two}}, {wav.audio}, Unoptimized()).status()),
              HasSubstr("contents must be scalar"));

  Scope bad = Scope::NewRootScope();
  ops::DecodeWav w2(bad, ops::Placeholder(bad, DT_STRING),
                    ops::DecodeWavAttrs().DesiredChannels(-2));
  EXPECT_THAT(ErrorOf(bad), HasSubstr("channels must be non-negative, got -2"));

  Scope shaped = Scope::NewRootScope();
  ops::DecodeWav w3(shaped, ops::Placeholder(shaped, DT_STRING),
                    ops::DecodeWavAttrs().DesiredChannels(1).DesiredSamples(16000));
  ASSERT_TRUE(shaped.ok()) << shaped.status();
  EXPECT_EQ(w3.audio.node()->output_shape(0), PartialTensorShape({16000, 1}));
  EXPECT_EQ(w3.sample_rate.node()->output_shape(1), PartialTensorShape({}));
}

// ---------------------------------------------------------------------------------------------
// AudioSpectrogram

absl::StatusOr<Tensor> Spectrogram(const Tensor& audio, int64_t window, int64_t stride,
                                   bool squared) {
  Scope root = Scope::NewRootScope();
  ops::Placeholder x(root, DT_FLOAT);
  Output y = ops::AudioSpectrogram(root, x, window, stride, squared);
  return RunOne(root, y, {{x, audio}});
}

// Column c of the [samples, channels] tensor.
std::vector<float> Channel(const Tensor& audio, int64_t c) {
  std::vector<float> v;
  for (int64_t i = 0; i < audio.dim_size(0); ++i) {
    v.push_back(audio.flat<float>()[i * audio.dim_size(1) + c]);
  }
  return v;
}

TEST(AudioSpectrogramTest, PureTonesMatchADirectDft) {
  // Two channels of tones (bin 16 and 37.5 of a 256-point FFT), a window that is not a power of
  // two (200 -> FFT 256) and one that is.
  const int64_t samples = 1000;
  Tensor audio(DT_FLOAT, TensorShape({samples, 2}));
  for (int64_t i = 0; i < samples; ++i) {
    audio.flat<float>()[2 * i] = static_cast<float>(0.8 * std::sin(2 * kPi * 16 * i / 256.0));
    audio.flat<float>()[2 * i + 1] =
        static_cast<float>(0.3 * std::cos(2 * kPi * 37.5 * i / 256.0) + 0.1);
  }
  struct Case {
    int64_t window, stride, fft;
  };
  for (const Case& c : {Case{200, 100, 256}, Case{256, 128, 256}, Case{129, 300, 256}}) {
    for (bool squared : {false, true}) {
      absl::StatusOr<Tensor> s = Spectrogram(audio, c.window, c.stride, squared);
      ASSERT_TRUE(s.ok()) << s.status();
      const int64_t frames = 1 + (samples - c.window) / c.stride, bins = c.fft / 2 + 1;
      ASSERT_EQ(s->shape(), TensorShape({2, frames, bins})) << c.window;
      for (int64_t ch = 0; ch < 2; ++ch) {
        const std::vector<double> want =
            SpectrogramRef(Channel(audio, ch), c.window, c.stride, c.fft, squared);
        const std::vector<float> all = ValuesOf<float>(*s);
        const std::vector<float> got(all.begin() + ch * frames * bins,
                                     all.begin() + (ch + 1) * frames * bins);
        // Relative to the peak: the FFT and the direct sum round differently near zero.
        double peak = 0;
        for (double w : want) peak = std::max(peak, w);
        ExpectNear(got, want, 1e-5 * peak, "spectrogram channel " + std::to_string(ch));
      }
      // The pure tone's energy peaks at its bin (16) in every frame of channel 0.
      for (int64_t f = 0; f < frames; ++f) {
        const float* row = s->flat<float>().data() + f * bins;
        EXPECT_EQ(std::max_element(row, row + bins) - row, 16) << "frame " << f;
      }
    }
  }
}

TEST(AudioSpectrogramTest, HandComputedHannWindowOfAConstant) {
  // x = 1 with window 4: Hann = {0, 0.5, 1, 0.5}; X[0] = 2, X[1] = -1 (0.5 e^{-i pi/2} + e^{-i pi}
  // + 0.5 e^{-3i pi/2} = -1), X[2] = 0.
  Tensor ones = FloatTensor({6, 1}, {1, 1, 1, 1, 1, 1});
  absl::StatusOr<Tensor> s = Spectrogram(ones, 4, 2, false);
  ASSERT_TRUE(s.ok()) << s.status();
  ExpectTensorNear(*s, TensorShape({1, 2, 3}), {2, 1, 0, 2, 1, 0});
  s = Spectrogram(ones, 4, 2, true);
  ASSERT_TRUE(s.ok()) << s.status();
  ExpectTensorNear(*s, TensorShape({1, 2, 3}), {4, 1, 0, 4, 1, 0});
}

TEST(AudioSpectrogramTest, ShortInputsShapesAndChecks) {
  absl::StatusOr<Tensor> s = Spectrogram(FloatTensor({3, 1}, {1, 2, 3}), 5, 1, false);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->shape(), TensorShape({1, 0, 5}));  // No whole window: no frames.

  Scope root = Scope::NewRootScope();
  Output y = ops::AudioSpectrogram(
      root, ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({16000, 2})), 480, 160);
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_EQ(y.node()->output_shape(0), PartialTensorShape({2, 98, 257}));

  Scope bad = Scope::NewRootScope();
  ops::AudioSpectrogram(bad, ops::Placeholder(bad, DT_FLOAT), 1, 1);
  EXPECT_THAT(ErrorOf(bad), HasSubstr("window size must be > 1, got 1"));
  Scope bad_stride = Scope::NewRootScope();
  ops::AudioSpectrogram(bad_stride, ops::Placeholder(bad_stride, DT_FLOAT), 4, 0);
  EXPECT_THAT(ErrorOf(bad_stride), HasSubstr("stride must be strictly positive"));
  Scope huge = Scope::NewRootScope();
  ops::AudioSpectrogram(huge, ops::Placeholder(huge, DT_FLOAT), int64_t{1} << 62, 1);
  EXPECT_THAT(ErrorOf(huge), HasSubstr("must fit in int32"));

  Scope rank = Scope::NewRootScope();
  ops::Placeholder x(rank, DT_FLOAT);
  Output z = ops::AudioSpectrogram(rank, x, 4, 2);
  EXPECT_THAT(
      ErrorOf(RunGraph(rank, {{x, FloatTensor({4}, {1, 2, 3, 4})}}, {z}, Unoptimized()).status()),
      HasSubstr("input must be 2-dimensional"));
}

// ---------------------------------------------------------------------------------------------
// Mfcc

absl::StatusOr<Tensor> RunMfcc(const Tensor& spectrogram, int32_t rate, const ops::MfccAttrs& a) {
  Scope root = Scope::NewRootScope();
  ops::Placeholder s(root, DT_FLOAT), r(root, DT_INT32);
  Output y = ops::Mfcc(root, s, r, a);
  return RunGraph(root, {{s, spectrogram}, {r, Tensor::Scalar<int32_t>(rate)}}, {y}, Unoptimized())
      .value_or(std::vector<Tensor>{Tensor()})[0];
}

// The reference for every frame of a [channels, frames, bins] spectrogram.
std::vector<double> MfccRefAll(const Tensor& s, double rate, const ops::MfccAttrs& a) {
  std::vector<double> out;
  const int64_t bins = s.dim_size(2);
  for (int64_t f = 0; f < s.dim_size(0) * s.dim_size(1); ++f) {
    std::vector<double> v =
        MfccRef(s.flat<float>().data() + f * bins, bins, rate, a.lower_frequency_limit,
                a.upper_frequency_limit, a.filterbank_channel_count, a.dct_coefficient_count);
    out.insert(out.end(), v.begin(), v.end());
  }
  return out;
}

TEST(MfccTest, MatchesTheFilterbankLogDctReference) {
  struct Case {
    int64_t bins;
    int32_t rate;
    ops::MfccAttrs attrs;
  };
  const Case cases[] = {
      {257, 16000, ops::MfccAttrs()},                          // TensorFlow's defaults.
      {257, 16000, ops::MfccAttrs().DctCoefficientCount(40)},  // speech_commands' setting.
      {129, 22050,
       ops::MfccAttrs()
           .FilterbankChannelCount(20)
           .DctCoefficientCount(10)
           .LowerFrequencyLimit(100)
           .UpperFrequencyLimit(6000)},
      {513, 8000, ops::MfccAttrs().LowerFrequencyLimit(0).UpperFrequencyLimit(3999)},
  };
  uint64_t seed = 7;
  for (const Case& c : cases) {
    // Squared magnitudes over several orders of magnitude, one frame all zeros (the log floor).
    Tensor s = RandomTensor(TensorShape({2, 3, c.bins}), seed++, 0.f, 1.f);
    for (int64_t i = 0; i < s.NumElements(); ++i) {
      float& v = s.flat<float>()[i];
      v = i < c.bins ? 0.f : std::pow(10.f, 4 * v - 2);
    }
    absl::StatusOr<Tensor> y = RunMfcc(s, c.rate, c.attrs);
    ASSERT_TRUE(y.ok() && y->IsInitialized()) << c.bins;
    ASSERT_EQ(y->shape(), TensorShape({2, 3, c.attrs.dct_coefficient_count}));
    ExpectNear(ValuesOf<float>(*y), MfccRefAll(s, c.rate, c.attrs), 2e-5,
               "mfcc bins " + std::to_string(c.bins));
  }
}

TEST(MfccTest, HandComputedSingleChannelBank) {
  // 1 filterbank channel, 1 coefficient: c0 = sqrt(2) * ln(sum of triangle * magnitude). With
  // 5 bins at 8 kHz (1 kHz per bin), limits 0 and 4000 Hz: bins 1..4 count; the one triangle
  // rises from mel(0) = 0 to 1 at the mel midpoint and falls to 0 at mel(4000).
  Tensor s = FloatTensor({1, 1, 5}, {100, 4, 4, 4, 4});  // Magnitudes 10, 2, 2, 2, 2.
  absl::StatusOr<Tensor> y = RunMfcc(s, 8000,
                                     ops::MfccAttrs()
                                         .FilterbankChannelCount(1)
                                         .DctCoefficientCount(1)
                                         .LowerFrequencyLimit(0)
                                         .UpperFrequencyLimit(4000));
  ASSERT_TRUE(y.ok() && y->IsInitialized());
  auto mel = [](double f) { return 1127.0 * std::log(1 + f / 700.0); };
  const double mid = mel(4000) / 2;
  double energy = 0;
  for (int i = 1; i <= 4; ++i) {
    const double m = mel(1000.0 * i);
    energy += 2 * (m <= mid ? m / mid : (mel(4000) - m) / (mel(4000) - mid));
  }
  ExpectNear(ValuesOf<float>(*y), {std::sqrt(2.0) * std::log(energy)}, 1e-6, "c0");
}

TEST(MfccTest, UpperLimitPastNyquistGivesZerosAsTensorFlow) {
  // floor(upper / hz) >= bins: TensorFlow's filterbank rejects each frame and the DCT sums
  // nothing, so the output is all zeros.
  Tensor s = RandomTensor(TensorShape({1, 2, 65}), 3, 0.1f, 1.f);
  absl::StatusOr<Tensor> y = RunMfcc(s, 8000, ops::MfccAttrs().UpperFrequencyLimit(5000));
  ASSERT_TRUE(y.ok() && y->IsInitialized());
  EXPECT_EQ(ValuesOf<float>(*y), std::vector<float>(26, 0.f));
}

TEST(MfccTest, BadSettingsAndInputsAreErrors) {
  Tensor s = RandomTensor(TensorShape({1, 2, 65}), 4, 0.1f, 1.f);
  auto error = [&](const Tensor& spec, int32_t rate, const ops::MfccAttrs& a) {
    Scope root = Scope::NewRootScope();
    ops::Placeholder sp(root, DT_FLOAT), r(root, DT_INT32);
    Output y = ops::Mfcc(root, sp, r, a);
    return ErrorOf(
        RunGraph(root, {{sp, spec}, {r, Tensor::Scalar<int32_t>(rate)}}, {y}, Unoptimized())
            .status());
  };
  EXPECT_THAT(error(s, 0, ops::MfccAttrs()), HasSubstr("sample rate must be positive"));
  EXPECT_THAT(error(s, 16000, ops::MfccAttrs().DctCoefficientCount(41)),
              HasSubstr("at most the filterbank channel count"));
  EXPECT_THAT(error(s, 16000, ops::MfccAttrs().FilterbankChannelCount(0)),
              HasSubstr("filterbank channel count must be positive"));
  EXPECT_THAT(error(s, 16000, ops::MfccAttrs().LowerFrequencyLimit(-1)),
              HasSubstr("lower frequency limit must be nonnegative"));
  EXPECT_THAT(error(s, 16000, ops::MfccAttrs().LowerFrequencyLimit(300).UpperFrequencyLimit(300)),
              HasSubstr("upper frequency limit must be greater"));
  EXPECT_THAT(error(RandomTensor(TensorShape({1, 2, 1}), 5), 16000, ops::MfccAttrs()),
              HasSubstr("more than 1 bin"));
  EXPECT_THAT(error(RandomTensor(TensorShape({2, 65}), 5), 16000, ops::MfccAttrs()),
              HasSubstr("spectrogram must be 3-dimensional"));

  Scope root = Scope::NewRootScope();
  Output y =
      ops::Mfcc(root, ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({1, 98, 257})),
                ops::Placeholder(root, DT_INT32), ops::MfccAttrs().DctCoefficientCount(40));
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_EQ(y.node()->output_shape(0), PartialTensorShape({1, 98, 40}));
  Scope vec = Scope::NewRootScope();
  ops::Mfcc(vec, ops::Placeholder(vec, DT_FLOAT),
            ops::Placeholder(vec, DT_INT32, ops::Placeholder::Shape({1})));
  EXPECT_NE(ErrorOf(vec), "");  // sample_rate must be a scalar.
}

// ---------------------------------------------------------------------------------------------
// The front end chained, as speech_commands builds it.

TEST(AudioFrontEndTest, WavToMfccMatchesTheChainedReferences) {
  // 0.25 s at 16 kHz: a 440 Hz tone plus a 2 kHz one, as int16.
  const int64_t n = 4000;
  std::vector<int16_t> pcm(n);
  for (int64_t i = 0; i < n; ++i) {
    pcm[i] = static_cast<int16_t>(std::lround(9000 * std::sin(2 * kPi * 440 * i / 16000.0) +
                                              3000 * std::sin(2 * kPi * 2000 * i / 16000.0)));
  }
  Scope root = Scope::NewRootScope();
  ops::Placeholder contents(root, DT_STRING);
  ops::DecodeWav wav(root, contents, ops::DecodeWavAttrs().DesiredChannels(1).DesiredSamples(n));
  Output spec = ops::AudioSpectrogram(root, wav.audio, 480, 160, true);
  const ops::MfccAttrs attrs = ops::MfccAttrs().DctCoefficientCount(40);
  Output mfcc = ops::Mfcc(root, spec, wav.sample_rate, attrs);
  Tensor fed(DT_STRING, TensorShape());
  fed.flat<std::string>()[0] = Wav(1, 16000, pcm);
  absl::StatusOr<std::vector<Tensor>> out = RunGraph(root, {{contents, fed}}, {spec, mfcc});
  ASSERT_TRUE(out.ok()) << out.status();

  std::vector<float> samples;
  for (int16_t v : pcm) samples.push_back(v / 32768.0f);
  const std::vector<double> want_spec = SpectrogramRef(samples, 480, 160, 512, true);
  double peak = 0;
  for (double w : want_spec) peak = std::max(peak, w);
  ExpectNear(ValuesOf<float>((*out)[0]), want_spec, 1e-5 * peak, "spectrogram");
  // The MFCCs of the reference spectrogram (as float, which the op passes on).
  const int64_t frames = 1 + (n - 480) / 160;
  ASSERT_EQ((*out)[1].shape(), TensorShape({1, frames, 40}));
  Tensor ref_spec(DT_FLOAT, TensorShape({1, frames, 257}));
  for (size_t i = 0; i < want_spec.size(); ++i) {
    ref_spec.flat<float>()[i] = static_cast<float>(want_spec[i]);
  }
  ExpectNear(ValuesOf<float>((*out)[1]), MfccRefAll(ref_spec, 16000, attrs), 1e-4, "mfcc");
}

TEST(AudioFrontEndTest, NoGradientFlowsThroughTheAudioOps) {
  // TensorFlow registers no gradient for them: asking for one through them fails (here: x does
  // not reach the ys), and with zeros_for_unconnected it is zeros.
  Scope root = Scope::NewRootScope();
  ops::Placeholder x(root, DT_FLOAT, ops::Placeholder::Shape({64, 1}));
  Output spec = ops::AudioSpectrogram(root, x, 16, 8, true);
  std::vector<Output> grads;
  EXPECT_FALSE(AddSymbolicGradients(root, {spec}, {x}, &grads).ok());
  GradientOptions zeros;
  zeros.zeros_for_unconnected = true;
  ASSERT_TRUE(AddSymbolicGradients(root, {spec}, {x}, {}, &grads, zeros).ok());
  absl::StatusOr<Tensor> g = RunOne(root, grads[0], {{x, RandomTensor(TensorShape({64, 1}), 1)}});
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(ValuesOf<float>(*g), std::vector<float>(64, 0.f));
}

}  // namespace
}  // namespace test
}  // namespace dflow
