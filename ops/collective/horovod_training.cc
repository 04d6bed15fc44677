#include "ops/collective/horovod_training.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "ops/array_ops.h"
#include "ops/collective/horovod_ops.h"
#include "ops/state_ops.h"

namespace dflow {

Operation BroadcastGlobalVariables(const Scope& scope, int64_t root_rank) {
  if (!scope.ok()) return Operation();
  std::vector<Node*> variables;
  for (Node* node : scope.graph()->nodes()) {
    if (node->op() == "VariableV2") variables.push_back(node);
  }
  if (variables.empty()) {
    scope.UpdateStatus(
        absl::FailedPreconditionError("BroadcastGlobalVariables: the graph has no variables"));
    return Operation();
  }
  const Scope s = scope.NewSubScope("broadcast_global_variables");
  std::vector<Operation> assigns;
  for (Node* var : variables) {
    const Output value = ops::HorovodBroadcast(s, Output(var, 0), root_rank);
    assigns.push_back(Operation(ops::Assign(s, Output(var, 0), value).node()));
  }
  return ops::NoOp(scope.WithControlDependencies(assigns)
                       .WithUniqueOpName("broadcast_global_variables"));
}

}  // namespace dflow
