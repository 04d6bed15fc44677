#include "ops/collective/horovod_training.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "ops/array_ops.h"
#include "ops/collective/horovod_ops.h"
#include "ops/math_ops.h"
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

std::vector<GradAndVar> DistributedOptimizer::ComputeGradients(
    const Scope& scope, const Output& loss, const std::vector<Output>& var_list) {
  std::vector<GradAndVar> grads_and_vars = inner_->ComputeGradients(scope, loss, var_list);
  if (grads_and_vars.empty() || !scope.ok()) return {};
  const Scope s = scope.NewSubScope("DistributedOptimizer_Allreduce");
  Output weight;
  if (rows_.node() != nullptr) {
    // rows / sum over ranks of rows: this rank's share of the global batch.
    const Scope w = s.NewSubScope("batch_weight");
    const Output rows = ops::Cast(w, rows_, DT_FLOAT);
    const Output total = ops::HorovodAllreduce(w.WithOpName("HorovodAllreduce_rows"), rows);
    weight = ops::RealDiv(w, rows, total);
  }
  for (GradAndVar& gv : grads_and_vars) {
    const std::string name = absl::StrCat("HorovodAllreduce_", gv.variable.node()->name());
    if (weight.node() == nullptr) {
      gv.gradient = ops::HorovodAllreduce(
          s.WithOpName(name), gv.gradient,
          ops::HorovodAllreduce::ReduceOp(ops::kHorovodAverage));
    } else {
      const Output w = gv.gradient.type() == DT_FLOAT ? weight
                                                      : ops::Cast(s, weight, gv.gradient.type());
      const Output scaled = ops::Mul(s, gv.gradient, w);
      gv.gradient = ops::HorovodAllreduce(s.WithOpName(name), scaled);
    }
  }
  if (!scope.ok()) return {};
  return grads_and_vars;
}

}  // namespace dflow
