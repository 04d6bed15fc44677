// Training: optimizers that turn gradients into variable updates, and variable initialization.
#ifndef DFLOW_OPS_TRAINING_H_
#define DFLOW_OPS_TRAINING_H_

#include <vector>

#include "graph/graph.h"
#include "ops/scope.h"

namespace dflow {

class GradientDescentOptimizer {
 public:
  explicit GradientDescentOptimizer(float learning_rate) : learning_rate_(learning_rate) {}

  // Appends gradients of `loss` w.r.t. `var_list` (every variable `loss` depends on when empty)
  // and one ApplyGradientDescent per variable, grouped by a NoOp named "<name>" under the scope;
  // returns that NoOp. Errors are recorded in the scope (the result is then null).
  Operation Minimize(const Scope& scope, const Output& loss,
                     const std::vector<Output>& var_list = {});

 private:
  float learning_rate_;
};

// One target that runs every variable's initializer (each Assign whose `ref` is a VariableV2),
// grouped by a NoOp named "init" (unique-ified) under `scope`.
Operation GlobalVariablesInitializer(const Scope& scope);

// Every VariableV2 in the graph that `output` depends on, in graph order.
std::vector<Output> VariablesReachableFrom(const Output& output);

}  // namespace dflow

#endif  // DFLOW_OPS_TRAINING_H_
