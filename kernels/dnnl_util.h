// Small helpers for wrapping dflow tensors in oneDNN memory.
#ifndef DFLOW_KERNELS_DNNL_UTIL_H_
#define DFLOW_KERNELS_DNNL_UTIL_H_

#include <optional>

#include "graph/tensor.h"
#include "oneapi/dnnl/dnnl.hpp"

namespace dflow {

// The process-wide CPU engine (thread-safe, created on first use).
const dnnl::engine& CpuEngine();

// oneDNN's element type for `dtype`, if it has one (f32, s32, s8, u8).
std::optional<dnnl::memory::data_type> ToDnnlType(DataType dtype);

// Dims of `shape`; a scalar becomes {1} since oneDNN has no rank-0 memory.
dnnl::memory::dims ToDnnlDims(const TensorShape& shape);

// Dense row-major descriptor for `shape` padded on the left with 1s to `rank` (>= shape rank).
dnnl::memory::desc PlainDesc(const TensorShape& shape, dnnl::memory::data_type type, int rank = 0);

}  // namespace dflow

#endif  // DFLOW_KERNELS_DNNL_UTIL_H_
