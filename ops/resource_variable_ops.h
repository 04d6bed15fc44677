// Builder functions for resource variables (TensorFlow's use_resource=True variables): a
// VarHandleOp's output is a handle (a DT_RESOURCE scalar) naming a variable of the Session, the
// same store VariableV2 uses (its shared_name, else its node name), so checkpoints carry both
// kinds. Reads copy nothing: a later update copies the variable first when a read still holds
// its buffer, so a value read earlier keeps its values.
#ifndef DFLOW_OPS_RESOURCE_VARIABLE_OPS_H_
#define DFLOW_OPS_RESOURCE_VARIABLE_OPS_H_

#include <string>

#include "graph/graph.h"
#include "ops/scope.h"

namespace dflow {
namespace ops {

// The handle of the session's variable `shared_name` (empty: the node's name) of `dtype`;
// `shape` is what it is declared to hold.
Output VarHandleOp(const Scope& scope, DataType dtype, const PartialTensorShape& shape,
                   const std::string& shared_name = "");
// The variable's current value; FailedPrecondition when it is uninitialized, InvalidArgument
// when it holds another dtype.
Output ReadVariableOp(const Scope& scope, Input resource, DataType dtype);
// Sets the variable to (a copy of) `value`, of any shape; its dtype must match an existing value.
Operation AssignVariableOp(const Scope& scope, Input resource, Input value);
// var += value (var -= value) in place; the variable must be initialized and `value` of its
// shape and dtype. Float, double, int32, int64 (integers wrap around).
Operation AssignAddVariableOp(const Scope& scope, Input resource, Input value);
Operation AssignSubVariableOp(const Scope& scope, Input resource, Input value);
// Whether the variable has a value (a bool scalar).
Output VarIsInitializedOp(const Scope& scope, Input resource);
// Rows of the variable's value: output[i, ...] = var[indices[i], ...] for int32/int64 indices of
// any shape (output shape indices.shape + var.shape[1:]); an index out of range is an error.
Output ResourceGather(const Scope& scope, Input resource, Input indices, DataType dtype);

// The optimizer updates of ops/state_ops.h on resource variables (float), in place, no output:
//   ResourceApplyGradientDescent: var -= alpha * delta
//   ResourceApplyMomentum: accum = accum * momentum + grad; var -= lr * accum
//     (use_nesterov: var -= lr * grad + lr * momentum * accum)
//   ResourceApplyAdam: as ApplyAdam.
Operation ResourceApplyGradientDescent(const Scope& scope, Input var, Input alpha, Input delta);
Operation ResourceApplyMomentum(const Scope& scope, Input var, Input accum, Input lr, Input grad,
                                Input momentum, bool use_nesterov = false);
Operation ResourceApplyAdam(const Scope& scope, Input var, Input m, Input v, Input beta1_power,
                            Input beta2_power, Input lr, Input beta1, Input beta2, Input epsilon,
                            Input grad, bool use_nesterov = false);

}  // namespace ops
}  // namespace dflow

#endif  // DFLOW_OPS_RESOURCE_VARIABLE_OPS_H_
