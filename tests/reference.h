// Plain-loop references the op tests assert against: each op's math written out once, in
// double precision where it accumulates, independent of dflow's kernels (no oneDNN, no Eigen).
// Tensors are row-major; images are NHWC, filters HWIO, and windows follow TensorFlow's SAME
// (output ceil(in / stride), the odd pad after) and VALID (no padding) rules.
#ifndef DFLOW_TESTS_REFERENCE_H_
#define DFLOW_TESTS_REFERENCE_H_

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/types/span.h"
#include "graph/tensor.h"

namespace dflow {
namespace test {

std::vector<float> ToFloats(const std::vector<double>& v);

// ---------------------------------------------------------------------------------------------
// Element-wise, broadcasting and reductions.

// The multi-index of element `i` of `shape` (row-major).
std::vector<int64_t> Unravel(int64_t i, const TensorShape& shape);

// The element of a tensor of `shape` that numpy broadcasting maps to output index `out_idx`.
int64_t BroadcastSource(const std::vector<int64_t>& out_idx, const TensorShape& shape);

// out[i] = f(a[.], b[.]) over `out_shape`, the broadcast shape worked out by hand.
template <typename T, typename U>
std::vector<U> BroadcastRef(const Tensor& a, const Tensor& b, const TensorShape& out_shape,
                            const std::function<U(T, T)>& f) {
  std::vector<U> out(out_shape.num_elements());
  auto av = a.flat<T>();
  auto bv = b.flat<T>();
  for (int64_t i = 0; i < out_shape.num_elements(); ++i) {
    std::vector<int64_t> idx = Unravel(i, out_shape);
    out[i] = f(av[BroadcastSource(idx, a.shape())], bv[BroadcastSource(idx, b.shape())]);
  }
  return out;
}

// Sum, mean or product ("sum", "mean", "prod") of float `x` over the dims flagged in `reduced`,
// into the keep_dims layout.
std::vector<double> ReduceRef(const Tensor& x, const std::vector<bool>& reduced,
                              const std::string& kind);

// x + bias[i % c], for x whose last dimension is bias's c values (BiasAdd, NHWC).
std::vector<float> BiasAddRef(absl::Span<const float> x, const Tensor& bias);

// max(x, 0) per element.
std::vector<float> ReluRef(absl::Span<const float> x);

// ---------------------------------------------------------------------------------------------
// Matrices and softmax.

// op(a) x op(b) for float matrices, op a transpose when asked; double accumulation.
std::vector<float> MatMulRef(const Tensor& a, const Tensor& b, bool transpose_a,
                             bool transpose_b);

// Softmax of float `x` along its last axis (any rank >= 1).
std::vector<float> SoftmaxRef(const Tensor& x);

// log softmax of row r of a float [n, c] tensor.
std::vector<double> LogSoftmaxRow(const Tensor& x, int64_t r);

// Softmax's gradient from the incoming gradient g and the softmax output y, per row of the
// last axis: (g - sum(g * y)) * y.
std::vector<float> SoftmaxGradRef(const Tensor& g, const Tensor& y);

// ---------------------------------------------------------------------------------------------
// Convolution and pooling, NHWC.

// Output size and leading padding of one spatial dimension of input size `in`, window `k` and
// stride `s`.
struct WinDim {
  int64_t out, pad;
};
WinDim WindowDim(int64_t in, int64_t k, int64_t s, bool same);

// A Conv2D: input [n, h, w, ci], filter [kh, kw, ci, co] (HWIO), strides sh, sw.
struct ConvCase {
  int64_t n, h, w, ci, kh, kw, co, sh, sw;
  bool same;

  // The case of an input and a filter of these shapes.
  static ConvCase Of(const TensorShape& input, const TensorShape& filter, int64_t sh, int64_t sw,
                     bool same);
  std::string Name() const;
  WinDim Rows() const { return WindowDim(h, kh, sh, same); }
  WinDim Cols() const { return WindowDim(w, kw, sw, same); }
  TensorShape In() const { return TensorShape({n, h, w, ci}); }
  TensorShape Filter() const { return TensorShape({kh, kw, ci, co}); }
  TensorShape Out() const { return TensorShape({n, Rows().out, Cols().out, co}); }
  std::vector<int64_t> Strides() const { return {1, sh, sw, 1}; }
  const char* Padding() const { return same ? "SAME" : "VALID"; }
};

// y[n, oh, ow, co] = sum over taps inside the image of x[n, ih, iw, ci] * f[i, j, ci, co], with
// ih = oh * sh + i - pad_top and iw = ow * sw + j - pad_left.
std::vector<float> Conv2DRef(const ConvCase& c, const Tensor& x, const Tensor& f);
// dL/dx of that convolution for dL/dy = dy.
std::vector<float> Conv2DBackpropInputRef(const ConvCase& c, const Tensor& f, const Tensor& dy);
// dL/df of that convolution for dL/dy = dy.
std::vector<float> Conv2DBackpropFilterRef(const ConvCase& c, const Tensor& x, const Tensor& dy);

// A MaxPool or AvgPool: input [n, h, w, c], window kh x kw, strides sh, sw.
struct PoolCase {
  int64_t n, h, w, c, kh, kw, sh, sw;
  bool same;

  std::string Name() const;
  WinDim Rows() const { return WindowDim(h, kh, sh, same); }
  WinDim Cols() const { return WindowDim(w, kw, sw, same); }
  TensorShape In() const { return TensorShape({n, h, w, c}); }
  TensorShape Out() const { return TensorShape({n, Rows().out, Cols().out, c}); }
  std::vector<int64_t> Ksize() const { return {1, kh, kw, 1}; }
  std::vector<int64_t> Strides() const { return {1, sh, sw, 1}; }
  const char* Padding() const { return same ? "SAME" : "VALID"; }
};

// The maximum of each window (padding never wins).
std::vector<float> MaxPoolRef(const PoolCase& p, const Tensor& x);
// MaxPool's gradient: each window's g goes to the first maximum of the window.
std::vector<float> MaxPoolGradRef(const PoolCase& p, const Tensor& x, const Tensor& g);
// The mean of each window, padding excluded from the count.
std::vector<float> AvgPoolRef(const PoolCase& p, const Tensor& x);
// AvgPool's gradient: each window's g spread evenly over the window's input elements.
std::vector<float> AvgPoolGradRef(const PoolCase& p, const Tensor& g);

// ---------------------------------------------------------------------------------------------
// Optimizers, in double precision.

// Adam written from the paper's update as TensorFlow states it. The hyperparameters are the
// float values the graph holds, and the beta powers advance in float as the graph's Mul does,
// so only the arithmetic differs.
struct AdamRef {
  double lr, beta1, beta2, epsilon;
  bool nesterov = false;
  std::vector<double> var, m, v;
  float beta1_power, beta2_power;

  AdamRef(std::vector<double> init, float lr, float beta1, float beta2, float epsilon);
  void Step(const std::vector<double>& g);
};

// Momentum: accum = accum * momentum + g; var -= lr * accum (Nesterov: lr * (g + momentum *
// accum)).
struct MomentumRef {
  double lr, momentum;
  bool nesterov;
  std::vector<double> var, accum;

  void Step(const std::vector<double>& g);
};

// Softmax regression (logits = x w + b, w and b starting at zero) trained by full-batch gradient
// descent on the mean cross-entropy, in double precision: x is [n, d] row-major with integer
// labels in [0, c). Returns each step's loss (before its update) and the final accuracy on
// test_x / test_labels.
struct SoftmaxTrainingRef {
  std::vector<double> losses;
  double accuracy;
};
SoftmaxTrainingRef TrainSoftmaxRef(const std::vector<float>& x,
                                   const std::vector<int32_t>& labels, int d, int c, int steps,
                                   double lr, const std::vector<float>& test_x,
                                   const std::vector<int32_t>& test_labels);

// ---------------------------------------------------------------------------------------------
// Max / min reductions, scans and selection.

// Max (max = true) or min of float `x` over the dims flagged in `reduced`, into the keep_dims
// layout; an empty group gives -inf (max) or +inf (min).
std::vector<double> ReduceExtremeRef(const Tensor& x, const std::vector<bool>& reduced, bool max);

// The cumulative sum of float `x` along `axis` (0 <= axis < rank): element j sums the elements
// k of its line with k <= j (k < j when exclusive; k >= j, k > j when reversed).
std::vector<double> CumsumRef(const Tensor& x, int axis, bool exclusive, bool reverse);

// out[i] = cond[.] ? t[.] : e[.] over `out_shape`, each operand broadcast by numpy's rules.
std::vector<float> SelectV2Ref(const Tensor& cond, const Tensor& t, const Tensor& e,
                               const TensorShape& out_shape);

// ---------------------------------------------------------------------------------------------
// Data movement, as index maps: for each output element (row-major), the flat index of the
// input element it copies, or -1 where the op writes a fill value (Pad). Any element type can
// then be checked against them.

// Transpose: out.dim(k) = in.dim(perm[k]).
std::vector<int64_t> TransposeSourceRef(const TensorShape& in, const std::vector<int>& perm);
// Slice of `size` at `begin` (sizes resolved: no -1).
std::vector<int64_t> SliceSourceRef(const TensorShape& in, const std::vector<int64_t>& begin,
                                    const std::vector<int64_t>& size);
// Pad with (before, after) per dim; mode "CONSTANT" (-1 in the padding), "REFLECT" or
// "SYMMETRIC".
std::vector<int64_t> PadSourceRef(const TensorShape& in,
                                  const std::vector<std::pair<int64_t, int64_t>>& pads,
                                  const std::string& mode);
// GatherV2 of `indices` (values and shape) along `axis` with `batch_dims`.
std::vector<int64_t> GatherSourceRef(const TensorShape& params, const std::vector<int64_t>& indices,
                                     const TensorShape& indices_shape, int axis, int batch_dims);
// ReverseV2 along the dims flagged in `reversed`.
std::vector<int64_t> ReverseSourceRef(const TensorShape& in, const std::vector<bool>& reversed);
// ReverseSequence: along seq_dim, the first lens[b] elements reversed for batch index b.
std::vector<int64_t> ReverseSequenceSourceRef(const TensorShape& in,
                                              const std::vector<int64_t>& lens, int seq_dim,
                                              int batch_dim);
// DepthToSpace (to_space) or SpaceToDepth of an NHWC input, block size b: output element
// [n, h, w, c] of DepthToSpace reads input [n, h / b, w / b, ((h % b) * b + w % b) * C + c].
std::vector<int64_t> DepthSpaceSourceRef(const TensorShape& in, int64_t b, bool to_space);

// TopK of each row of `n` values: the k largest, larger first, equal values by lower index.
struct TopKRefResult {
  std::vector<float> values;
  std::vector<int64_t> indices;
};
TopKRefResult TopKRef(const std::vector<float>& x, int64_t n, int64_t k);
// Depthwise convolution, NHWC, filter [kh, kw, c, m].

// A DepthwiseConv2dNative: input [n, h, w, c], filter [kh, kw, c, m], strides sh, sw,
// dilations dh, dw (the window spans (k - 1) * d + 1 pixels).
struct DepthwiseCase {
  int64_t n, h, w, c, kh, kw, m, sh, sw;
  bool same;
  int64_t dh = 1, dw = 1;

  std::string Name() const;
  WinDim Rows() const { return WindowDim(h, (kh - 1) * dh + 1, sh, same); }
  WinDim Cols() const { return WindowDim(w, (kw - 1) * dw + 1, sw, same); }
  TensorShape In() const { return TensorShape({n, h, w, c}); }
  TensorShape Filter() const { return TensorShape({kh, kw, c, m}); }
  TensorShape Out() const { return TensorShape({n, Rows().out, Cols().out, c * m}); }
  std::vector<int64_t> Strides() const { return {1, sh, sw, 1}; }
  std::vector<int64_t> Dilations() const { return {1, dh, dw, 1}; }
  const char* Padding() const { return same ? "SAME" : "VALID"; }
};

// y[n, oh, ow, k * m + q] = sum over taps inside the image of x[n, ih, iw, k] * f[i, j, k, q],
// with ih = oh * sh + i * dh - pad_top and iw = ow * sw + j * dw - pad_left.
std::vector<float> DepthwiseConv2DRef(const DepthwiseCase& c, const Tensor& x, const Tensor& f);
// dL/dx and dL/df of that convolution for dL/dy = dy.
std::vector<float> DepthwiseBackpropInputRef(const DepthwiseCase& c, const Tensor& f,
                                             const Tensor& dy);
std::vector<float> DepthwiseBackpropFilterRef(const DepthwiseCase& c, const Tensor& x,
                                              const Tensor& dy);

// ---------------------------------------------------------------------------------------------
// Batch normalization, x viewed as [outer, c, inner] (channels last: inner = 1; channels first:
// outer = batch, inner = spatial size).

struct BatchNormDims {
  int64_t outer, c, inner;
};
// FusedBatchNorm's outputs: y and the four statistics outputs.
struct BatchNormRefResult {
  std::vector<float> y, batch_mean, batch_var, saved_mean, saved_var;
};
// Training: batch mean and biased variance per channel (saved_*), running statistics
// batch_mean = (1 - f) * mean + f * m, batch_var = (1 - f) * var + f * v * n / max(n - 1, 1);
// f = 1 ignores mean and var. Inference: mean and var used and passed through.
BatchNormRefResult FusedBatchNormRef(const BatchNormDims& d, const Tensor& x, const Tensor& scale,
                                     const Tensor& offset, const Tensor& mean, const Tensor& var,
                                     float epsilon, bool is_training, float factor = 1.0f);
// FusedBatchNormGrad's dx, dscale, doffset for saved (training) or given (inference) statistics.
struct BatchNormGradRefResult {
  std::vector<float> dx, dscale, doffset;
};
BatchNormGradRefResult FusedBatchNormGradRef(const BatchNormDims& d, const Tensor& dy,
                                             const Tensor& x, const Tensor& scale,
                                             const Tensor& mean, const Tensor& var,
                                             float epsilon, bool is_training);

// ---------------------------------------------------------------------------------------------
// Image resizing (NHWC), TensorFlow's coordinate rules: scale = (in - 1) / (out - 1) with
// align_corners (out > 1) else in / out; source coordinate out * scale, or with
// half_pixel_centers (out + 0.5) * scale - 0.5 (bilinear) / (out + 0.5) * scale (nearest).

// Bilinear resize of float x to [n, oh, ow, c], taps clamped to the image.
std::vector<float> ResizeBilinearRef(const Tensor& x, int64_t oh, int64_t ow, bool align_corners,
                                     bool half_pixel_centers);
// Its gradient: dy [n, oh, ow, c] scattered with the same weights onto [n, h, w, c].
std::vector<float> ResizeBilinearGradRef(const Tensor& dy, int64_t h, int64_t w,
                                         bool align_corners, bool half_pixel_centers);
// Nearest-neighbour resize (floor, or round half away from zero with align_corners).
std::vector<float> ResizeNearestRef(const Tensor& x, int64_t oh, int64_t ow, bool align_corners,
                                    bool half_pixel_centers);
std::vector<float> ResizeNearestGradRef(const Tensor& dy, int64_t h, int64_t w,
                                        bool align_corners, bool half_pixel_centers);

// ---------------------------------------------------------------------------------------------
// Fake quantization, as TensorFlow documents it: levels q in [quant_min, quant_max] (quant_min =
// narrow_range ? 1 : 0, quant_max = 2^num_bits - 1), scale = (max - min) / (quant_max -
// quant_min), the zero point quant_min - min / scale rounded (half away from zero) and clamped
// to the levels, the range shifted to put 0 on it, inputs clamped to that range and rounded to
// the nearest level (the range in float as TensorFlow computes it, the rest in double).
struct FakeQuantRange {
  double min, max, scale;
};
FakeQuantRange NudgeRef(float min, float max, int num_bits, bool narrow_range);
double FakeQuantRef(float x, const FakeQuantRange& r);

// ---------------------------------------------------------------------------------------------
// Batched matrix products.

// x [..., r, c] times y [..., r', c'] per batch index (batch dims broadcast numpy-style), each
// operand transposed in its last two dims when adj; double accumulation. `out` is the product's
// shape, worked out by the caller.
std::vector<float> BatchMatMulRef(const Tensor& x, const Tensor& y, bool adj_x, bool adj_y,
                                  const TensorShape& out);

// ---------------------------------------------------------------------------------------------
// Audio front end (tests/audio_reference.cc), from TensorFlow's documented formulas.

// The spectrogram of one channel: frames at 0, stride, 2 stride, ... while a whole window fits;
// each frame times the periodic Hann window 0.5 - 0.5 cos(2 pi n / window), zero-padded to
// fft_length, and its DFT (a plain O(n^2) sum) at bins 0..fft_length/2. Returns frames x bins
// values of |X|^2 (rounded to float, as the op stores it) or, unless squared, their float sqrt.
std::vector<double> SpectrogramRef(const std::vector<float>& samples, int64_t window,
                                   int64_t stride, int64_t fft_length, bool squared);

// MFCCs of one frame of squared magnitudes (`power`, `bins` of them), in double:
//   mel(f) = 1127 ln(1 + f / 700); centers c_k = mel(lower) + (k + 1) (mel(upper) - mel(lower)) /
//   (channels + 1), k = 0..channels; FFT bin i has frequency i * sample_rate / (2 (bins - 1)) and
//   counts for i in [floor(1.5 + lower / hz), floor(upper / hz)]; channel k's triangle rises
//   from c_{k-1} (mel(lower) for k = 0) to 1 at c_k and falls to 0 at c_{k+1}; the bank sums
//   triangle * sqrt(power); then ln(max(e, 1e-12)) and the DCT-II
//   out[i] = sqrt(2 / channels) sum_j cos(pi i (j + 0.5) / channels) x[j], i < dct.
// All zeros when floor(upper / hz) >= bins (TensorFlow's filterbank then gives nothing).
std::vector<double> MfccRef(const float* power, int64_t bins, double sample_rate, double lower,
                            double upper, int64_t channels, int64_t dct);

}  // namespace test
}  // namespace dflow

#endif  // DFLOW_TESTS_REFERENCE_H_
