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

// y = exp(x - max) / sum(exp(x - max)) per row of a row-major [rows, cols] matrix, as oneDNN's
// accurate softmax: for a few logits (a classifier's output) the primitive call costs ~10x the
// work (docs/benchmarks.md).
void SoftmaxRows(const float* x, int64_t rows, int64_t cols, float* y);

}  // namespace dflow

#endif  // DFLOW_KERNELS_LOOPS_H_
