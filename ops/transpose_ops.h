// Builder functions for Transpose and InvertPermutation.
#ifndef DFLOW_OPS_TRANSPOSE_OPS_H_
#define DFLOW_OPS_TRANSPOSE_OPS_H_

#include "graph/graph.h"
#include "ops/scope.h"

namespace dflow {
namespace ops {

// y[i0, ..., in] = x[...] with y.shape[k] = x.shape[perm[k]] (perm: 1-D int32/int64, a
// permutation of 0..rank-1).
Output Transpose(const Scope& scope, Input x, Input perm);
// y[x[i]] = i for a 1-D int32/int64 permutation x.
Output InvertPermutation(const Scope& scope, Input x);

}  // namespace ops
}  // namespace dflow

#endif  // DFLOW_OPS_TRANSPOSE_OPS_H_
