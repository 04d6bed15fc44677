// Audio ops: DecodeWav, AudioSpectrogram and Mfcc. Op by op: the schema, its shape function and
// its builder. TensorFlow registers no gradient for them; here they are not differentiable.
#include "ops/audio_ops.h"

#include <cstdint>
#include <limits>
#include <string>

#include "absl/strings/str_cat.h"
#include "graph/status_macros.h"
#include "ops/op_registry.h"
#include "ops/shape_inference.h"

namespace dflow {

// ---------------------------------------------------------------------------------------------
// DecodeWav

namespace {

// A desired_* attr as an output dimension: -1 is unknown (the file's); below -1 is an error.
absl::StatusOr<int64_t> DesiredDim(InferenceContext* ctx, const char* attr, const char* what) {
  int64_t v = -1;
  DFLOW_RETURN_IF_ERROR(ctx->GetAttr(attr, &v));
  if (v < -1) return ctx->Error(absl::StrCat(what, " must be non-negative, got ", v));
  return v;
}

// contents [] -> audio [desired_samples, desired_channels], sample_rate [].
absl::Status DecodeWavShape(InferenceContext* ctx) {
  DFLOW_RETURN_IF_ERROR(ctx->WithRank(0, 0).status());
  DFLOW_ASSIGN_OR_RETURN(int64_t channels, DesiredDim(ctx, "desired_channels", "channels"));
  DFLOW_ASSIGN_OR_RETURN(int64_t samples, DesiredDim(ctx, "desired_samples", "samples"));
  ctx->set_output(0, PartialTensorShape({samples, channels}));
  ctx->set_output(1, PartialTensorShape({}));
  return absl::OkStatus();
}

}  // namespace

REGISTER_OP("DecodeWav")
    .Input("contents: string")
    .Attr("desired_channels: int = -1")
    .Attr("desired_samples: int = -1")
    .Output("audio: float")
    .Output("sample_rate: int32")
    .SetShapeFn(DecodeWavShape)
    .NotDifferentiable();

ops::DecodeWav::DecodeWav(const Scope& scope, Input contents, const DecodeWavAttrs& attrs) {
  Node* node = AddOp(scope, "DecodeWav", {contents},
                     {{"desired_channels", MakeAttr(attrs.desired_channels)},
                      {"desired_samples", MakeAttr(attrs.desired_samples)}});
  if (node == nullptr) return;
  audio = Output(node, 0);
  sample_rate = Output(node, 1);
}

// ---------------------------------------------------------------------------------------------
// AudioSpectrogram

namespace {

// input [samples, channels] -> [channels, windows, next_pow2(window_size) / 2 + 1].
absl::Status AudioSpectrogramShape(InferenceContext* ctx) {
  DFLOW_ASSIGN_OR_RETURN(PartialTensorShape input, ctx->WithRank(0, 2));
  int64_t window = 0, stride = 0;
  DFLOW_RETURN_IF_ERROR(ctx->GetAttr("window_size", &window));
  DFLOW_RETURN_IF_ERROR(ctx->GetAttr("stride", &stride));
  if (window <= 1) return ctx->Error(absl::StrCat("window size must be > 1, got ", window));
  if (stride <= 0)
    return ctx->Error(absl::StrCat("stride must be strictly positive, got ", stride));
  // TensorFlow's attrs are int32; larger ones would overflow the FFT length.
  constexpr int64_t kInt32Max = std::numeric_limits<int32_t>::max();
  if (window > kInt32Max || stride > kInt32Max) {
    return ctx->Error(
        absl::StrCat("window_size ", window, " and stride ", stride, " must fit in int32"));
  }
  const int64_t samples = input.unknown_rank() ? -1 : input.dim_size(0);
  const int64_t channels = input.unknown_rank() ? -1 : input.dim_size(1);
  const int64_t frames = samples < 0 ? -1 : audio::SpectrogramFrames(samples, window, stride);
  ctx->set_output(0, PartialTensorShape({channels, frames, audio::NextPowerOfTwo(window) / 2 + 1}));
  return absl::OkStatus();
}

}  // namespace

REGISTER_OP("AudioSpectrogram")
    .Input("input: float")
    .Attr("window_size: int")
    .Attr("stride: int")
    .Attr("magnitude_squared: bool = false")
    .Output("spectrogram: float")
    .SetShapeFn(AudioSpectrogramShape)
    .NotDifferentiable();

Output ops::AudioSpectrogram(const Scope& scope, Input input, int64_t window_size, int64_t stride,
                             bool magnitude_squared) {
  return AddOp(scope, "AudioSpectrogram", {input},
               {{"window_size", MakeAttr(window_size)},
                {"stride", MakeAttr(stride)},
                {"magnitude_squared", MakeAttr(magnitude_squared)}});
}

// ---------------------------------------------------------------------------------------------
// Mfcc

namespace {

// spectrogram [channels, frames, bins], sample_rate [] -> [channels, frames,
// dct_coefficient_count].
absl::Status MfccShape(InferenceContext* ctx) {
  DFLOW_ASSIGN_OR_RETURN(PartialTensorShape spectrogram, ctx->WithRank(0, 3));
  DFLOW_RETURN_IF_ERROR(ctx->WithRank(1, 0).status());
  int64_t dct = 0;
  DFLOW_RETURN_IF_ERROR(ctx->GetAttr("dct_coefficient_count", &dct));
  if (dct < 1) return ctx->Error(absl::StrCat("dct_coefficient_count must be positive, got ", dct));
  const bool known = !spectrogram.unknown_rank();
  ctx->set_output(0, PartialTensorShape({known ? spectrogram.dim_size(0) : -1,
                                         known ? spectrogram.dim_size(1) : -1, dct}));
  return absl::OkStatus();
}

}  // namespace

REGISTER_OP("Mfcc")
    .Input("spectrogram: float")
    .Input("sample_rate: int32")
    .Attr("upper_frequency_limit: float = 4000")
    .Attr("lower_frequency_limit: float = 20")
    .Attr("filterbank_channel_count: int = 40")
    .Attr("dct_coefficient_count: int = 13")
    .Output("output: float")
    .SetShapeFn(MfccShape)
    .NotDifferentiable();

Output ops::Mfcc(const Scope& scope, Input spectrogram, Input sample_rate, const MfccAttrs& attrs) {
  return AddOp(scope, "Mfcc", {spectrogram, sample_rate},
               {{"upper_frequency_limit", MakeAttr(attrs.upper_frequency_limit)},
                {"lower_frequency_limit", MakeAttr(attrs.lower_frequency_limit)},
                {"filterbank_channel_count", MakeAttr(attrs.filterbank_channel_count)},
                {"dct_coefficient_count", MakeAttr(attrs.dct_coefficient_count)}});
}

}  // namespace dflow
