#include "ops/collective/horovod_training.h"

#include <map>
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
  const Scope s = scope.NewSubScope("DistributedOptimizer_Allreduce");
  const bool weighted = rows_.node() != nullptr;
  Output rows, total;  // Weighted: this rank's rows, and their sum over ranks.
  Output scaled_loss = loss;
  if (weighted) {
    const Scope w = s.NewSubScope("batch_weight");
    rows = ops::Cast(w, rows_, DT_FLOAT);
    // rows * g_k as the gradients of rows * loss: the backprop's seed is scaled (a scalar)
    // instead of every gradient (a pass over all the model's gradients each step).
    scaled_loss = ops::Mul(w, loss, ops::StopGradient(w, ops::Cast(w, rows_, loss.type())));
  }
  std::vector<GradAndVar> grads_and_vars =
      inner_->ComputeGradients(scope, scaled_loss, var_list);
  if (grads_and_vars.empty() || !scope.ok()) return {};
  // One grouped allreduce per dtype (float first): one negotiation round and, below the fusion
  // threshold, one MPI call per step, however many variables the model has.
  std::vector<DataType> dtypes = {DT_FLOAT};
  std::map<DataType, std::vector<size_t>> by_dtype;
  for (size_t i = 0; i < grads_and_vars.size(); ++i) {
    const DataType t = grads_and_vars[i].gradient.type();
    if (by_dtype.count(t) == 0 && t != DT_FLOAT) dtypes.push_back(t);
    by_dtype[t].push_back(i);
  }
  for (DataType t : dtypes) {
    const std::vector<size_t>& members = by_dtype[t];
    if (members.empty() && !(weighted && t == DT_FLOAT)) continue;
    const std::string name = t == DT_FLOAT
                                 ? "HorovodGroupedAllreduce"
                                 : absl::StrCat("HorovodGroupedAllreduce_", DataTypeString(t));
    std::vector<Output> inputs;
    if (!weighted) {
      for (size_t i : members) inputs.push_back(grads_and_vars[i].gradient);
      const std::vector<Output> out =
          ops::HorovodGroupedAllreduce(s.WithOpName(name), inputs,
                                       ops::HorovodAllreduce::ReduceOp(ops::kHorovodAverage))
              .sum;
      if (!s.ok()) return {};
      for (size_t k = 0; k < members.size(); ++k) grads_and_vars[members[k]].gradient = out[k];
      continue;
    }
    if (t == DT_FLOAT) {
      // sum_r(rows_r * g_r) / sum_r(rows_r): the rows travel with the gradients (input 0).
      inputs.push_back(rows);
      for (size_t i : members) inputs.push_back(grads_and_vars[i].gradient);  // rows * g_i.
      const std::vector<Output> out =
          ops::HorovodGroupedAllreduce(s.WithOpName(name), inputs,
                                       ops::HorovodAllreduce::ReduceOp(ops::kHorovodSum))
              .sum;
      if (!s.ok()) return {};
      total = out[0];
      for (size_t k = 0; k < members.size(); ++k) {
        grads_and_vars[members[k]].gradient = ops::RealDiv(s, out[k + 1], total);
      }
      continue;
    }
    // Other dtypes, after the float group: rows * g (above) scaled by 1 / total (cast), then
    // summed.
    const Output weight = ops::Cast(s, ops::RealDiv(s, ops::Const(s, 1.0f), total), t);
    for (size_t i : members) inputs.push_back(ops::Mul(s, grads_and_vars[i].gradient, weight));
    const std::vector<Output> out =
        ops::HorovodGroupedAllreduce(s.WithOpName(name), inputs,
                                     ops::HorovodAllreduce::ReduceOp(ops::kHorovodSum))
            .sum;
    if (!s.ok()) return {};
    for (size_t k = 0; k < members.size(); ++k) grads_and_vars[members[k]].gradient = out[k];
  }
  if (!scope.ok()) return {};
  return grads_and_vars;
}

}  // namespace dflow
