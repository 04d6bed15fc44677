// Kernels for the audio ops, written after TensorFlow's wav_io, spectrogram and mfcc code
// (tensorflow/core/lib/wav, core/kernels/spectrogram*, mfcc*): the same header checks, window,
// filterbank and DCT, computed in double as there and stored as float. The FFT is a plain
// radix-2 one (TensorFlow uses Ooura's rdft); both compute the same DFT.
#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "graph/status_macros.h"
#include "graph/tensor.h"
#include "graph/types.h"
#include "kernels/op_kernel.h"
#include "ops/audio_ops.h"

namespace dflow {
namespace {

constexpr double kPi = 3.14159265358979323846;

// An int attr, which TensorFlow declares int32 for these ops: out of range is an error.
absl::Status Int32Attr(const Node& node, absl::string_view name, int64_t* value) {
  DFLOW_RETURN_IF_ERROR(GetNodeAttr(node, name, value));
  if (*value < std::numeric_limits<int32_t>::min() ||
      *value > std::numeric_limits<int32_t>::max()) {
    return absl::InvalidArgumentError(
        absl::StrCat("attr '", name, "' = ", *value, " does not fit in int32"));
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// WAV parsing

// Reads little-endian fields from WAV bytes; every read is bounds-checked first, in int64 so
// that no declared size can overflow the offset.
class WavReader {
 public:
  explicit WavReader(absl::string_view bytes) : bytes_(bytes) {}

  int64_t offset() const { return offset_; }
  int64_t size() const { return static_cast<int64_t>(bytes_.size()); }

  // OK when `n` more bytes exist at the offset; `what` names the field in the error.
  absl::Status Need(int64_t n, absl::string_view what) const {
    if (n < 0 || offset_ > size() || n > size() - offset_) {
      return absl::InvalidArgumentError(absl::StrCat(
          "WAV data too short: ", what, " needs ", n, " bytes at offset ", offset_, " but ",
          offset_ > size() ? 0 : size() - offset_, " remain (", size(), " bytes in all)"));
    }
    return absl::OkStatus();
  }
  absl::Status Skip(int64_t n, absl::string_view what) {
    DFLOW_RETURN_IF_ERROR(Need(n, what));
    offset_ += n;
    return absl::OkStatus();
  }
  // Moves past `n` bytes without a check: TensorFlow lets a skipped chunk run past the end,
  // which ends the chunk loop.
  void SkipUnchecked(int64_t n) { offset_ += n; }

  absl::StatusOr<std::string> Text(absl::string_view what) {
    DFLOW_RETURN_IF_ERROR(Need(4, what));
    std::string s(bytes_.substr(offset_, 4));
    offset_ += 4;
    return s;
  }
  absl::Status Expect(absl::string_view text) {
    DFLOW_ASSIGN_OR_RETURN(std::string found, Text(absl::StrCat("the '", text, "' tag")));
    if (found != text) {
      return absl::InvalidArgumentError(
          absl::StrCat("Header mismatch: Expected ", text, " but found ", absl::CHexEscape(found),
                       " at offset ", offset_ - 4, " (not a WAV file?)"));
    }
    return absl::OkStatus();
  }
  absl::StatusOr<uint32_t> U32(absl::string_view what) {
    DFLOW_RETURN_IF_ERROR(Need(4, what));
    uint32_t v = 0;
    for (int i = 3; i >= 0; --i) v = (v << 8) | Byte(offset_ + i);
    offset_ += 4;
    return v;
  }
  absl::StatusOr<uint16_t> U16(absl::string_view what) {
    DFLOW_RETURN_IF_ERROR(Need(2, what));
    const uint16_t v = static_cast<uint16_t>(Byte(offset_) | (Byte(offset_ + 1) << 8));
    offset_ += 2;
    return v;
  }
  // The signed 16-bit sample at the offset, known to be in range.
  int16_t SampleUnchecked() {
    const uint16_t v = static_cast<uint16_t>(Byte(offset_) | (Byte(offset_ + 1) << 8));
    offset_ += 2;
    int16_t s;
    std::memcpy(&s, &v, sizeof(s));
    return s;
  }

 private:
  uint32_t Byte(int64_t i) const { return static_cast<unsigned char>(bytes_[i]); }

  absl::string_view bytes_;
  int64_t offset_ = 0;
};

struct DecodedWav {
  std::vector<float> samples;  // Interleaved: frame-major, then channel.
  uint32_t frames = 0;
  uint16_t channels = 0;
  uint32_t sample_rate = 0;
};

// The chunks TensorFlow skips between "WAVE" and "fmt " (padding, broadcast-WAV metadata).
bool IsSkippableChunk(absl::string_view id) {
  for (absl::string_view known : {"JUNK", "bext", "iXML", "qlty", "mext", "levl", "link", "axml"}) {
    if (id == known) return true;
  }
  return false;
}

// A 16-bit PCM WAV file: RIFF/WAVE, optional metadata chunks, "fmt " (16 or 18 bytes, PCM,
// 16 bits, consistent block align and byte rate), then chunks up to the end, exactly one of
// them "data". Samples are int16 / 32768.
absl::StatusOr<DecodedWav> DecodeWavBytes(absl::string_view bytes) {
  WavReader r(bytes);
  DecodedWav wav;
  DFLOW_RETURN_IF_ERROR(r.Expect("RIFF"));
  DFLOW_RETURN_IF_ERROR(r.U32("the RIFF chunk size").status());
  DFLOW_RETURN_IF_ERROR(r.Expect("WAVE"));
  DFLOW_ASSIGN_OR_RETURN(std::string id, r.Text("a chunk id"));
  while (id != "fmt ") {
    if (!IsSkippableChunk(id)) {
      return absl::InvalidArgumentError(absl::StrCat("Unexpected field ", absl::CHexEscape(id),
                                                     " at offset ", r.offset() - 4,
                                                     " in WAV header (expected 'fmt ')"));
    }
    DFLOW_ASSIGN_OR_RETURN(uint32_t chunk_size, r.U32(absl::StrCat("the size of chunk ", id)));
    DFLOW_RETURN_IF_ERROR(r.Skip(chunk_size, absl::StrCat("chunk ", id)));
    DFLOW_ASSIGN_OR_RETURN(id, r.Text("a chunk id"));
  }
  DFLOW_ASSIGN_OR_RETURN(uint32_t format_size, r.U32("the fmt chunk size"));
  if (format_size != 16 && format_size != 18) {
    return absl::InvalidArgumentError(
        absl::StrCat("Bad format chunk size for WAV: Expected 16 or 18, but got ", format_size));
  }
  DFLOW_ASSIGN_OR_RETURN(uint16_t audio_format, r.U16("the audio format"));
  if (audio_format != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("Bad audio format for WAV: Expected 1 (PCM), but got ", audio_format));
  }
  DFLOW_ASSIGN_OR_RETURN(wav.channels, r.U16("the channel count"));
  if (wav.channels < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Bad number of channels for WAV: Expected at least 1, but got ", wav.channels));
  }
  DFLOW_ASSIGN_OR_RETURN(wav.sample_rate, r.U32("the sample rate"));
  DFLOW_ASSIGN_OR_RETURN(uint32_t bytes_per_second, r.U32("the byte rate"));
  // WAV calls a frame (one sample of every channel) a "sample" here: the block align.
  DFLOW_ASSIGN_OR_RETURN(uint16_t bytes_per_frame, r.U16("the block align"));
  DFLOW_ASSIGN_OR_RETURN(uint16_t bits_per_sample, r.U16("the bits per sample"));
  if (bits_per_sample != 16) {
    return absl::InvalidArgumentError(
        absl::StrCat("Can only read 16-bit WAV files, but received ", bits_per_sample));
  }
  const uint32_t expected_frame = (uint32_t{bits_per_sample} * wav.channels + 7) / 8;
  if (bytes_per_frame != expected_frame) {
    return absl::InvalidArgumentError(absl::StrCat("Bad bytes per sample in WAV header: Expected ",
                                                   expected_frame, " but got ", bytes_per_frame));
  }
  // uint32 arithmetic, wrapping as TensorFlow's does.
  const uint32_t expected_rate = uint32_t{bytes_per_frame} * wav.sample_rate;
  if (bytes_per_second != expected_rate) {
    return absl::InvalidArgumentError(absl::StrCat("Bad bytes per second in WAV header: Expected ",
                                                   expected_rate, " but got ", bytes_per_second,
                                                   " (sample_rate=", wav.sample_rate,
                                                   ", bytes_per_sample=", bytes_per_frame, ")"));
  }
  if (format_size == 18) r.SkipUnchecked(2);  // The unused extension size.

  bool found_data = false;
  while (r.offset() < r.size()) {
    DFLOW_ASSIGN_OR_RETURN(std::string chunk_id, r.Text("a chunk id"));
    DFLOW_ASSIGN_OR_RETURN(uint32_t chunk_size,
                           r.U32(absl::StrCat("the size of chunk ", absl::CHexEscape(chunk_id))));
    if (chunk_size > static_cast<uint32_t>(std::numeric_limits<int32_t>::max())) {
      return absl::InvalidArgumentError(absl::StrCat(
          "WAV data chunk '", absl::CHexEscape(chunk_id), "' is too large: ", chunk_size,
          " bytes, but the limit is ", std::numeric_limits<int32_t>::max()));
    }
    if (chunk_id != "data") {
      r.SkipUnchecked(chunk_size);
      continue;
    }
    if (found_data) return absl::InvalidArgumentError("More than one data chunk found in WAV");
    found_data = true;
    wav.frames = chunk_size / bytes_per_frame;
    const int64_t count = int64_t{wav.frames} * wav.channels;
    // Checked before allocating, so a declared size cannot allocate what the bytes lack.
    DFLOW_RETURN_IF_ERROR(r.Need(count * 2, "the data chunk's samples"));
    wav.samples.resize(count);
    for (int64_t i = 0; i < count; ++i) {
      wav.samples[i] = static_cast<float>(r.SampleUnchecked()) * (1.0f / 32768.0f);
    }
  }
  if (!found_data) return absl::InvalidArgumentError("No data chunk found in WAV");
  return wav;
}

class DecodeWavOp : public OpKernel {
 public:
  explicit DecodeWavOp(const Node& node) : OpKernel(node) {
    absl::Status s = Int32Attr(node, "desired_channels", &desired_channels_);
    if (s.ok()) s = Int32Attr(node, "desired_samples", &desired_samples_);
    if (s.ok() && desired_channels_ < -1) {
      s = absl::InvalidArgumentError(
          absl::StrCat("desired_channels must be >= -1, got ", desired_channels_));
    }
    if (s.ok() && desired_samples_ < -1) {
      s = absl::InvalidArgumentError(
          absl::StrCat("desired_samples must be >= -1, got ", desired_samples_));
    }
    if (!s.ok()) SetConstructionError(s);
  }

  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& contents = ctx->input(0);
    DFLOW_RETURN_IF_ERROR(CheckInput(contents, "contents", DT_STRING));
    if (contents.dims() != 0) {
      return OpKernelContext::InvalidArgument("contents must be scalar, got shape ",
                                              contents.shape().DebugString());
    }
    const std::string& bytes = contents.flat<std::string>()[0];
    if (bytes.size() > static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
      return OpKernelContext::InvalidArgument("WAV contents are too large for int: ", bytes.size());
    }
    DFLOW_ASSIGN_OR_RETURN(DecodedWav wav, DecodeWavBytes(bytes));
    const int64_t frames = desired_samples_ == -1 ? int64_t{wav.frames} : desired_samples_;
    const int64_t channels = desired_channels_ == -1 ? int64_t{wav.channels} : desired_channels_;
    Tensor* audio = ctx->allocate_output(0, TensorShape({frames, channels}));
    float* out = audio->flat<float>().data();
    for (int64_t f = 0; f < frames; ++f) {
      for (int64_t c = 0; c < channels; ++c) {
        // Past the file's end: zeros; past its channels: the last channel again.
        const int64_t source = c < wav.channels ? c : wav.channels - 1;
        *out++ = f < wav.frames ? wav.samples[f * wav.channels + source] : 0.0f;
      }
    }
    ctx->allocate_output(1, TensorShape())->flat<int32_t>()[0] =
        static_cast<int32_t>(wav.sample_rate);
    return absl::OkStatus();
  }

 private:
  int64_t desired_channels_ = -1;
  int64_t desired_samples_ = -1;
};

// ---------------------------------------------------------------------------------------------
// AudioSpectrogram

// In-place iterative radix-2 DFT, X[k] = sum_j x[j] exp(-2 pi i j k / n), n a power of two.
void Fft(std::vector<std::complex<double>>* data) {
  std::vector<std::complex<double>>& a = *data;
  const size_t n = a.size();
  for (size_t i = 1, j = 0; i < n; ++i) {  // Bit-reversal permutation.
    size_t bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) std::swap(a[i], a[j]);
  }
  for (size_t len = 2; len <= n; len <<= 1) {
    const size_t half = len / 2;
    for (size_t k = 0; k < half; ++k) {
      // Each twiddle from cos/sin directly, not by repeated multiplication, to keep it exact.
      const double angle = -2.0 * kPi * static_cast<double>(k) / static_cast<double>(len);
      const std::complex<double> w(std::cos(angle), std::sin(angle));
      for (size_t i = k; i < n; i += len) {
        const std::complex<double> t = w * a[i + half];
        a[i + half] = a[i] - t;
        a[i] += t;
      }
    }
  }
}

class AudioSpectrogramOp : public OpKernel {
 public:
  explicit AudioSpectrogramOp(const Node& node) : OpKernel(node) {
    absl::Status s = Int32Attr(node, "window_size", &window_size_);
    if (s.ok()) s = Int32Attr(node, "stride", &stride_);
    if (s.ok()) s = GetNodeAttr(node, "magnitude_squared", &magnitude_squared_);
    if (s.ok() && window_size_ <= 1) {
      s = absl::InvalidArgumentError(absl::StrCat("window_size must be > 1, got ", window_size_));
    }
    if (s.ok() && stride_ <= 0) {
      s = absl::InvalidArgumentError(absl::StrCat("stride must be > 0, got ", stride_));
    }
    if (!s.ok()) SetConstructionError(s);
  }

  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& input = ctx->input(0);
    DFLOW_RETURN_IF_ERROR(CheckInput(input, "input", DT_FLOAT));
    if (input.dims() != 2) {
      return OpKernelContext::InvalidArgument(
          "input must be 2-dimensional [samples, channels] but has shape ",
          input.shape().DebugString());
    }
    const int64_t samples = input.dim_size(0), channels = input.dim_size(1);
    const int64_t frames = audio::SpectrogramFrames(samples, window_size_, stride_);
    const int64_t fft_length = audio::NextPowerOfTwo(window_size_);
    const int64_t bins = fft_length / 2 + 1;
    Tensor* output = ctx->allocate_output(0, TensorShape({channels, frames, bins}));
    if (frames == 0 || channels == 0) return absl::OkStatus();
    // Only now is the window known to fit in the input, which bounds these buffers.
    std::vector<double> hann(window_size_);
    for (int64_t i = 0; i < window_size_; ++i) {  // Periodic: the period is the window size.
      hann[i] = 0.5 - 0.5 * std::cos((2 * kPi * static_cast<double>(i)) /
                                     static_cast<double>(window_size_));
    }
    std::vector<std::complex<double>> buffer(fft_length);
    const float* in = input.flat<float>().data();
    float* out = output->flat<float>().data();
    for (int64_t c = 0; c < channels; ++c) {
      for (int64_t f = 0; f < frames; ++f) {
        const int64_t start = f * stride_;
        for (int64_t j = 0; j < fft_length; ++j) {
          buffer[j] = j < window_size_
                          ? static_cast<double>(in[(start + j) * channels + c]) * hann[j]
                          : 0.0;
        }
        Fft(&buffer);
        float* row = out + (c * frames + f) * bins;
        for (int64_t k = 0; k < bins; ++k) {
          const double re = buffer[k].real(), im = buffer[k].imag();
          // Squared in double, stored as float, then (as TensorFlow) the float's square root.
          const float power = static_cast<float>(re * re + im * im);
          row[k] = magnitude_squared_ ? power : std::sqrt(power);
        }
      }
    }
    return absl::OkStatus();
  }

 private:
  int64_t window_size_ = 0;
  int64_t stride_ = 0;
  bool magnitude_squared_ = false;
};

// ---------------------------------------------------------------------------------------------
// Mfcc

double FreqToMel(double freq) { return 1127.0 * std::log1p(freq / 700.0); }

// TensorFlow's mel filterbank: channel c's triangle rises from center c-1 to center c and falls
// to center c+1 (centers evenly spaced in mel between the limits, the first and last edges at
// the limits). FFT bin i in [start, end] belongs to the falling side of band[i] with weight
// weight[i] and the rising side of band[i] + 1 with 1 - weight[i]; the bank sums magnitudes.
struct MelFilterbank {
  int64_t start = 0, end = 0;
  bool input_too_short = false;  // end is past the spectrum: TensorFlow's output is all zeros.
  std::vector<int64_t> band;
  std::vector<double> weight;
};

// `centers_buf` (double [channels + 1]) receives the center frequencies in mel.
MelFilterbank MakeFilterbank(int64_t bins, double sample_rate, int64_t channels, double lower,
                             double upper, Tensor* centers_buf) {
  double* centers = centers_buf->flat<double>().data();
  const double mel_low = FreqToMel(lower), mel_high = FreqToMel(upper);
  const double spacing = (mel_high - mel_low) / static_cast<double>(channels + 1);
  for (int64_t i = 0; i < channels + 1; ++i) {
    centers[i] = mel_low + spacing * static_cast<double>(i + 1);
  }
  MelFilterbank fb;
  const double hz_per_bin = 0.5 * sample_rate / static_cast<double>(bins - 1);
  // DC is always left out (as HTK does). Bounds clamped before the integer conversion.
  const double start = 1.5 + lower / hz_per_bin, end = upper / hz_per_bin;
  if (!(end < static_cast<double>(bins))) {
    fb.input_too_short = true;
    return fb;
  }
  fb.start = start < static_cast<double>(bins) ? static_cast<int64_t>(start) : bins;
  fb.end = static_cast<int64_t>(end);
  fb.band.assign(bins, -2);
  fb.weight.assign(bins, 0.0);
  int64_t channel = 0;
  for (int64_t i = fb.start; i <= fb.end; ++i) {
    const double mel = FreqToMel(static_cast<double>(i) * hz_per_bin);
    while (channel < channels && centers[channel] < mel) ++channel;
    const int64_t b = channel - 1;  // -1: the rising side of channel 0 only.
    fb.band[i] = b;
    fb.weight[i] = b >= 0 ? (centers[b + 1] - mel) / (centers[b + 1] - centers[b])
                          : (centers[0] - mel) / (centers[0] - mel_low);
  }
  return fb;
}

class MfccOp : public OpKernel {
 public:
  explicit MfccOp(const Node& node) : OpKernel(node) {
    absl::Status s = GetNodeAttr(node, "upper_frequency_limit", &upper_);
    if (s.ok()) s = GetNodeAttr(node, "lower_frequency_limit", &lower_);
    if (s.ok()) s = Int32Attr(node, "filterbank_channel_count", &filterbank_channels_);
    if (s.ok()) s = Int32Attr(node, "dct_coefficient_count", &dct_count_);
    if (!s.ok()) SetConstructionError(s);
  }

  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& spectrogram = ctx->input(0);
    const Tensor& rate = ctx->input(1);
    DFLOW_RETURN_IF_ERROR(CheckInput(spectrogram, "spectrogram", DT_FLOAT));
    if (spectrogram.dims() != 3) {
      return OpKernelContext::InvalidArgument(
          "spectrogram must be 3-dimensional [channels, frames, bins] but has shape ",
          spectrogram.shape().DebugString());
    }
    DFLOW_RETURN_IF_ERROR(CheckInput(rate, "sample_rate", DT_INT32));
    if (rate.dims() != 0) {
      return OpKernelContext::InvalidArgument("Input sample_rate should be a scalar tensor, got ",
                                              rate.shape().DebugString(), " instead.");
    }
    const int32_t sample_rate = rate.flat<int32_t>()[0];
    const int64_t channels = spectrogram.dim_size(0), frames = spectrogram.dim_size(1);
    const int64_t bins = spectrogram.dim_size(2);
    DFLOW_RETURN_IF_ERROR(CheckSettings(bins, sample_rate));

    const int64_t nf = filterbank_channels_, nd = dct_count_;
    // Scratch from the session's pool, so that huge attrs hit its memory limit, not the heap.
    Tensor centers = ctx->allocate_temp(DT_DOUBLE, TensorShape({nf + 1}));
    const MelFilterbank fb = MakeFilterbank(bins, sample_rate, nf, lower_, upper_, &centers);
    Tensor* output = ctx->allocate_output(0, TensorShape({channels, frames, nd}));
    float* out = output->flat<float>().data();
    if (fb.input_too_short) {
      // TensorFlow's filterbank refuses the frame and its DCT then sums nothing.
      std::fill(out, out + output->NumElements(), 0.0f);
      return absl::OkStatus();
    }
    // The DCT-II with TensorFlow's scaling: c[i] = sqrt(2 / N) sum_j cos(pi i (j + 0.5) / N) x[j].
    Tensor cosines_buf = ctx->allocate_temp(DT_DOUBLE, TensorShape({nd, nf}));
    double* cosines = cosines_buf.flat<double>().data();
    const double norm = std::sqrt(2.0 / static_cast<double>(nf));
    const double arg = kPi / static_cast<double>(nf);
    for (int64_t i = 0; i < nd; ++i) {
      for (int64_t j = 0; j < nf; ++j) {
        cosines[i * nf + j] =
            norm * std::cos(static_cast<double>(i) * arg * (static_cast<double>(j) + 0.5));
      }
    }
    Tensor mel_buf = ctx->allocate_temp(DT_DOUBLE, TensorShape({nf}));
    double* mel = mel_buf.flat<double>().data();
    const float* in = spectrogram.flat<float>().data();
    for (int64_t frame = 0; frame < channels * frames; ++frame) {
      const float* power = in + frame * bins;
      std::fill(mel, mel + nf, 0.0);
      for (int64_t i = fb.start; i <= fb.end; ++i) {
        const double magnitude = std::sqrt(static_cast<double>(power[i]));
        const double falling = magnitude * fb.weight[i];
        const int64_t b = fb.band[i];
        if (b >= 0) mel[b] += falling;
        if (b + 1 < nf) mel[b + 1] += magnitude - falling;
      }
      for (int64_t j = 0; j < nf; ++j) mel[j] = std::log(std::max(mel[j], kFilterbankFloor));
      for (int64_t i = 0; i < nd; ++i) {
        double sum = 0.0;
        for (int64_t j = 0; j < nf; ++j) sum += cosines[i * nf + j] * mel[j];
        out[frame * nd + i] = static_cast<float>(sum);
      }
    }
    return absl::OkStatus();
  }

 private:
  static constexpr double kFilterbankFloor = 1e-12;

  // TensorFlow's Mfcc::Initialize conditions, each with its reason.
  absl::Status CheckSettings(int64_t bins, int32_t sample_rate) const {
    std::string why;
    if (filterbank_channels_ < 1) {
      why = "the filterbank channel count must be positive";
    } else if (sample_rate <= 0) {
      why = "the sample rate must be positive";
    } else if (bins < 2) {
      why = "the spectrogram must have more than 1 bin";
    } else if (lower_ < 0) {
      why = "the lower frequency limit must be nonnegative";
    } else if (!(upper_ > lower_)) {
      why = "the upper frequency limit must be greater than the lower frequency limit";
    } else if (dct_count_ < 1) {
      why = "the DCT coefficient count must be positive";
    } else if (dct_count_ > filterbank_channels_) {
      why = "the DCT coefficient count must be at most the filterbank channel count";
    }
    if (why.empty()) return absl::OkStatus();
    return OpKernelContext::InvalidArgument(
        "Mfcc initialization failed for channel count ", bins, " and sample rate ", sample_rate,
        ": ", why, " (filterbank_channel_count ", filterbank_channels_, ", dct_coefficient_count ",
        dct_count_, ", lower_frequency_limit ", lower_, ", upper_frequency_limit ", upper_, ")");
  }

  float upper_ = 4000, lower_ = 20;
  int64_t filterbank_channels_ = 40, dct_count_ = 13;
};

}  // namespace

REGISTER_KERNEL("DecodeWav", DecodeWavOp);
REGISTER_KERNEL("AudioSpectrogram", AudioSpectrogramOp);
REGISTER_KERNEL("Mfcc", MfccOp);

}  // namespace dflow
