#include "ops/training.h"

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "ops/array_ops.h"
#include "ops/gradients.h"
#include "ops/state_ops.h"

namespace dflow {

std::vector<Output> VariablesReachableFrom(const Output& output) {
  std::vector<Output> vars;
  if (output.node() == nullptr) return vars;
  std::vector<const Node*> stack = {output.node()};
  std::vector<Node*> found;
  absl::flat_hash_set<const Node*> visited = {output.node()};
  while (!stack.empty()) {
    const Node* n = stack.back();
    stack.pop_back();
    if (n->op() == "VariableV2") found.push_back(const_cast<Node*>(n));
    auto visit = [&](const Node* m) {
      if (visited.insert(m).second) stack.push_back(m);
    };
    for (const Output& in : n->inputs()) visit(in.node());
    for (const Node* c : n->control_inputs()) visit(c);
  }
  std::sort(found.begin(), found.end(), [](Node* a, Node* b) { return a->id() < b->id(); });
  for (Node* n : found) vars.emplace_back(n, 0);
  return vars;
}

Operation GradientDescentOptimizer::Minimize(const Scope& scope, const Output& loss,
                                             const std::vector<Output>& var_list) {
  if (!scope.ok()) return Operation();
  std::vector<Output> vars = var_list.empty() ? VariablesReachableFrom(loss) : var_list;
  if (vars.empty()) {
    scope.UpdateStatus(absl::InvalidArgumentError(
        absl::StrCat("Minimize: loss '", loss.name(), "' depends on no variables")));
    return Operation();
  }
  std::vector<Output> grads;
  absl::Status s = AddSymbolicGradients(scope, {loss}, vars, &grads);
  if (!s.ok()) {
    scope.UpdateStatus(s);
    return Operation();
  }
  // TensorFlow's names: GradientDescent/learning_rate, GradientDescent/update_<var>, and the
  // grouping NoOp GradientDescent itself.
  Output lr = ops::Const(scope.WithOpName("GradientDescent/learning_rate"), learning_rate_);
  std::vector<Operation> updates;
  for (size_t i = 0; i < vars.size(); ++i) {
    const std::string var_name = vars[i].node()->name();
    updates.push_back(ops::ApplyGradientDescent(
        scope.WithOpName(absl::StrCat("GradientDescent/update_", var_name)), vars[i], lr,
        grads[i]));
  }
  return ops::NoOp(scope.WithControlDependencies(updates).WithUniqueOpName("GradientDescent"));
}

Operation GlobalVariablesInitializer(const Scope& scope) {
  if (!scope.ok()) return Operation();
  const Graph& graph = *scope.graph();
  std::vector<Operation> inits;
  for (Node* node : graph.nodes()) {
    if (node->op() != "VariableV2") continue;
    // By convention the first Assign to a variable is its initializer.
    Node* first = nullptr;
    for (const auto& [consumer, slot] : node->out_edges()) {
      if (consumer->op() == "Assign" && slot == 0 && (first == nullptr || consumer->id() < first->id())) {
        first = consumer;
      }
    }
    if (first == nullptr) {
      scope.UpdateStatus(absl::FailedPreconditionError(
          absl::StrCat("GlobalVariablesInitializer: variable '", node->name(),
                       "' has no Assign to initialize it")));
      return Operation();
    }
    inits.push_back(first);
  }
  return ops::NoOp(scope.WithControlDependencies(inits).WithUniqueOpName("init"));
}

}  // namespace dflow
