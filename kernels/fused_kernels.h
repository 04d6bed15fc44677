// Whether oneDNN runs the primitive a fused kernel would build for these shapes with an
// optimized implementation on this CPU: the graph optimizer asks before it fuses, and
// _ApplyGradientDescentMatMul's kernel before it sums its product into the variable (else it
// runs the plain product and a loop). oneDNN falls back to its reference code where its JIT
// kernels lack a feature (in 2.6: matmul post-ops and softmax backward without AVX-512), and
// that code is far slower than the unfused nodes (17 ms against 50 us for the tutorial's weight
// update on AVX2).
#ifndef DFLOW_KERNELS_FUSED_KERNELS_H_
#define DFLOW_KERNELS_FUSED_KERNELS_H_

#include <cstdint>

#include "graph/tensor_shape.h"
#include "kernels/dnnl_util.h"

namespace dflow {

// _ApplyGradientDescentMatMul's product summed into the variable, for these dims.
bool HasFastGradientDescentMatMul(const MatMulDims& dims);

// Up to this many variable elements, ApplyGradientDescent's update is a one-thread loop, and so
// is _ApplyGradientDescentMatMul's where oneDNN lacks the fast summed product: fusing never
// costs there (a batch-1 update becomes one pass over the variable).
inline constexpr int64_t kLoopMaxFusedUpdate = int64_t{1} << 16;

// _SoftmaxGrad for gradients of this shape.
bool HasFastSoftmaxGrad(const TensorShape& shape);

}  // namespace dflow

#endif  // DFLOW_KERNELS_FUSED_KERNELS_H_
