// Max and average pooling as loops over images stored [n][blocks][h][w][block]: NHWC is one
// block of all c channels, oneDNN's blocked nChw8c / nChw16c layouts blocks of 8 / 16 channels
// (the last block padded). oneDNN 2.6's pooling costs about 0.8 ns per input element on AVX2
// whatever the layout (24 us for the CIFAR CNN's 30x30x32 2x2 pool); these loops take a third
// to a quarter of that (docs/benchmarks.md, "CIFAR CNN against ONNX Runtime").
#ifndef DFLOW_KERNELS_POOL_LOOPS_H_
#define DFLOW_KERNELS_POOL_LOOPS_H_

#include <cstdint>

namespace dflow {

// A pooling of an image in that layout. Windows start at (oy * stride_h - pad_top,
// ox * stride_w - pad_left); their parts outside the h x w image are padding.
struct BlockedPool {
  int64_t n = 0, blocks = 0, block = 0, h = 0, w = 0, oh = 0, ow = 0;
  int64_t window_h = 0, window_w = 0, stride_h = 0, stride_w = 0, pad_top = 0, pad_left = 0;
};

// Each window's maximum over its elements inside the image, starting from the lowest float
// (padding never wins, and neither does NaN: best = v > best ? v : best, as TensorFlow's and
// oneDNN's max pooling). Rows are split among the calling thread's OpenMP team when large.
void MaxPoolBlocked(const BlockedPool& p, const float* in, float* out);

// Each window's mean over its elements inside the image (padding excluded from the count):
// the sum in row-major window order divided by the count.
void AvgPoolBlocked(const BlockedPool& p, const float* in, float* out);

}  // namespace dflow

#endif  // DFLOW_KERNELS_POOL_LOOPS_H_
