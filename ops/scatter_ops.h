// Builder functions for the sparse in-place updates of a reference variable: ScatterAdd,
// ScatterSub, ScatterUpdate (TensorFlow's state_ops). None has a gradient, as in TensorFlow.
#ifndef DFLOW_OPS_SCATTER_OPS_H_
#define DFLOW_OPS_SCATTER_OPS_H_

#include "graph/graph.h"
#include "ops/scope.h"

namespace dflow {
namespace ops {

// ref[indices[i], ...] += updates[i, ...] (ScatterSub: -=, ScatterUpdate: =), in place, for
// every i of the int32/int64 `indices` of any shape; repeated indices add up (ScatterUpdate:
// the last one wins). `updates` has shape indices.shape + ref.shape[1:], or is a scalar applied
// to every selected row. An index outside [0, ref.shape[0]) is an error. Outputs ref.
Output ScatterAdd(const Scope& scope, Input ref, Input indices, Input updates);
Output ScatterSub(const Scope& scope, Input ref, Input indices, Input updates);
Output ScatterUpdate(const Scope& scope, Input ref, Input indices, Input updates);

}  // namespace ops
}  // namespace dflow

#endif  // DFLOW_OPS_SCATTER_OPS_H_
