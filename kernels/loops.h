// Hand loops for work oneDNN 2.6 does only on its slow reference path, or that is too small to
// pay for a primitive call.
#ifndef DFLOW_KERNELS_LOOPS_H_
#define DFLOW_KERNELS_LOOPS_H_

#include <cstdint>

namespace dflow {

// out[c] = sum over r of x[r * cols + c]: the column sums of a row-major [rows, cols] matrix
// (bias gradients). oneDNN 2.6 reduces leading axes with its reference kernel, 10-20x slower
// than this loop, which vectorizes along the contiguous columns (docs/benchmarks.md).
inline void SumOverRows(const float* x, int64_t rows, int64_t cols, float* out) {
  for (int64_t c = 0; c < cols; ++c) out[c] = 0.0f;
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = x + r * cols;
    for (int64_t c = 0; c < cols; ++c) out[c] += row[c];
  }
}

// v[i] = v[i] + scale * d[i]: the product rounded, then the sum, as oneDNN's binary add with a
// scale on its second source rounds (no fused multiply-add), so results match it bit for bit.
// AVX2 where the CPU has it, a plain loop otherwise (loops.cc).
void ScaledAddInPlace(float* v, const float* d, int64_t n, float scale);

// out[i * n + j] = 0 + a[i] * b[j]: a [m, 1] x [1, n] product, exactly as a matmul with k = 1
// computes it (its sum starts at +0, which turns a -0 product into +0).
void OuterProduct(const float* a, int64_t m, const float* b, int64_t n, float* out);

// v[i * n + j] = v[i * n + j] + (0 + a[i] * b[j]) * scale: a k = 1 matmul scaled and summed into
// v, rounded at each of the three steps as oneDNN's matmul with an output scale and a sum
// post-op rounds them (the batch-1 weight update of _ApplyGradientDescentMatMul).
void ScaledOuterProductAdd(const float* a, int64_t m, const float* b, int64_t n, float scale,
                           float* v);

// out[j] = sum over r of x[r] * w[r * n + j]: a [1, k] row times a row-major [k, n] matrix (a
// batch-1 MatMul). oneDNN 2.6 runs this gemv as one dependent chain of multiply-adds per column
// block; this sums r in several interleaved partial sums of fused multiply-adds, so it is
// several times faster and rounds differently from oneDNN in the last bits (and from its own
// plain-loop fallback for CPUs without AVX2 and FMA).
void RowTimesMatrix(const float* x, const float* w, int64_t k, int64_t n, float* out);

// Each row of the row-major [rows, cols] x to y = exp(x - max) * (1 / sum exp(x - max)), as
// TensorFlow's kernel computes a softmax (std::exp; oneDNN's own exp rounds differently).
// For small tensors, whose primitive call costs more than the math.
void SoftmaxRows(const float* x, int64_t rows, int64_t cols, float* y);

// Each row of the row-major [rows, cols] x to y = (x - max) - log(sum exp(x - max)), as
// TensorFlow's kernel computes a log-softmax.
void RowLogSoftmax(const float* x, int64_t rows, int64_t cols, float* y);

// Each row of out = (g - sum(g * y)) * y: the softmax's backward pass from its output y and
// gradients g, all row-major [rows, cols].
void SoftmaxGradRows(const float* g, const float* y, int64_t rows, int64_t cols, float* out);

}  // namespace dflow

#endif  // DFLOW_KERNELS_LOOPS_H_
