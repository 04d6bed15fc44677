// Hand loops for work oneDNN 2.6 does only on its slow reference path.
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

}  // namespace dflow

#endif  // DFLOW_KERNELS_LOOPS_H_
