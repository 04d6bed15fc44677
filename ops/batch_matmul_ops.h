// Builder functions for TensorFlow's batched matrix products:
//
//   auto z = ops::BatchMatMulV2(scope, x, y, ops::BatchMatMulAttrs().AdjY(true));
#ifndef DFLOW_OPS_BATCH_MATMUL_OPS_H_
#define DFLOW_OPS_BATCH_MATMUL_OPS_H_

#include "graph/graph.h"
#include "ops/scope.h"

namespace dflow {
namespace ops {

// adj_x / adj_y: use the (conjugate, for real types plain) transpose of each operand's last two
// dimensions.
struct BatchMatMulAttrs {
  BatchMatMulAttrs AdjX(bool v) const {
    BatchMatMulAttrs a = *this;
    a.adj_x = v;
    return a;
  }
  BatchMatMulAttrs AdjY(bool v) const {
    BatchMatMulAttrs a = *this;
    a.adj_y = v;
    return a;
  }
  bool adj_x = false, adj_y = false;
};

// x [..., m, k] times y [..., k, n] matrix by matrix (x, y of equal rank >= 2 and equal batch
// dimensions): [..., m, n].
Output BatchMatMul(const Scope& scope, Input x, Input y,
                   const BatchMatMulAttrs& attrs = BatchMatMulAttrs());
// The same with the batch dimensions broadcast as numpy does (either rank >= 2).
Output BatchMatMulV2(const Scope& scope, Input x, Input y,
                     const BatchMatMulAttrs& attrs = BatchMatMulAttrs());

}  // namespace ops
}  // namespace dflow

#endif  // DFLOW_OPS_BATCH_MATMUL_OPS_H_
