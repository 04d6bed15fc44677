// Dataflow control flow, as TensorFlow 1.x builds it for tf.cond and tf.while_loop: Switch,
// Merge, Enter, Exit, NextIteration, LoopCond and ControlTrigger (with their Ref variants).
// Their meaning lives in the executor (runtime/dataflow_executor.h: dead tensors, frames and
// iterations); here are their schemas, shape functions, gradients and builders.
#ifndef DFLOW_OPS_CONTROL_FLOW_OPS_H_
#define DFLOW_OPS_CONTROL_FLOW_OPS_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "ops/scope.h"

namespace dflow {

// True for the ops above: a graph that runs any of them needs the dataflow executor.
bool IsControlFlowOp(absl::string_view op);

class Node;
// The gradient of loop ops reached one by one (TensorArray accesses, Ref loop ops, a loop op
// outside the pattern a while loop's gradient handles as a whole): Unimplemented, naming it.
absl::Status LoopGradUnimplemented(const Scope& scope, const Node& node,
                                   absl::Span<const Output> grads,
                                   std::vector<Output>* grad_inputs);

// For AddSymbolicGradients (ops/control_flow_grad.cc): the gradient of the whole while loop that
// `exit` (one of its Exit nodes) leaves. `exit_grad(o)` is the summed gradient reaching Exit
// output `o`, null for none. Builds, under `scope`, a trip counter and stack pushes in the
// forward loop and a backward loop running as many iterations (see docs/design/control_flow.md,
// section 6); marks every node of the loop's frame (nested frames included) in `*in_loop`
// (indexed by node id) and returns the gradients of the loop's inputs from outside as
// (outer value, gradient): each loop variable's initial value and each loop-invariant Enter's
// input (summed over iterations).
absl::Status AddWhileLoopGradient(const Scope& scope, const Node& exit,
                                  const std::function<Output(const Output&)>& exit_grad,
                                  std::vector<bool>* in_loop,
                                  std::vector<std::pair<Output, Output>>* input_grads);

namespace ops {

// Forwards `data` to output_true when `pred` is true, else to output_false; the other is dead.
struct Switch {
  Switch(const Scope& scope, Input data, Input pred);
  Output output_false;
  Output output_true;
};

// Forwards the first of `inputs` that is live; value_index says which.
struct Merge {
  Merge(const Scope& scope, absl::Span<const Output> inputs);
  Output output;
  Output value_index;
};

struct EnterAttrs {
  bool is_constant = false;
  int parallel_iterations = 10;
};
// Moves `data` into the child frame `frame_name` (a while loop's body).
Output Enter(const Scope& scope, Input data, absl::string_view frame_name,
             const EnterAttrs& attrs = {});
// Moves `data` out of its frame to the parent frame.
Output Exit(const Scope& scope, Input data);
// Moves `data` to the next iteration of its frame.
Output NextIteration(const Scope& scope, Input data);
// Marks a while loop's predicate.
Output LoopCond(const Scope& scope, Input input);

// Builds one branch of a Cond or the body of a WhileLoop from its inputs.
using BranchFn = std::function<absl::Status(const Scope& scope, const std::vector<Output>& inputs,
                                            std::vector<Output>* outputs)>;
// Builds a while loop's predicate (a bool scalar) from the loop variables.
using CondFn = std::function<absl::Status(const Scope& scope, const std::vector<Output>& inputs,
                                          Output* output)>;

// if (pred) outputs = true_fn(inputs) else outputs = false_fn(inputs), as tf.cond builds it: each
// input goes through a Switch on `pred`, each branch is built in a scope whose ops depend on
// that branch's pivot (so its constants die with it), and output i is a Merge of the branches'
// output i (false first). Both branches must return as many outputs, of matching types. A branch
// may use only its inputs and constants.
absl::Status Cond(const Scope& scope, const Output& pred, const std::vector<Output>& inputs,
                  const BranchFn& true_fn, const BranchFn& false_fn,
                  std::vector<Output>* outputs);

struct WhileLoopOptions {
  // The loop's frame; by default the scope's unique name "while_context".
  std::string frame_name;
  // Loop-invariant values (weights, TensorArray handles) the cond and body use: each goes
  // through one `is_constant` Enter, as tf.while_loop captures an outside tensor, and is passed
  // to cond and body after the loop variables.
  std::vector<Output> invariants;
  int parallel_iterations = 10;
};

// while (cond(vars)) vars = body(vars); outputs = vars, as tf.while_loop builds it (Enter, Merge,
// LoopCond, Switch, Identity, NextIteration and Exit per variable, in the frame `frame_name`, by
// default the scope's unique name "while"). The cond and body may use only their inputs (the loop
// variables, then options.invariants) and constants (their ops depend on the loop's pivot, which
// puts constants in the loop's frame); the body returns one value per loop variable.
// AddSymbolicGradients differentiates through the loop (docs/design/control_flow.md, section 6).
absl::Status WhileLoop(const Scope& scope, const std::vector<Output>& inputs, const CondFn& cond,
                       const BranchFn& body, std::vector<Output>* outputs,
                       const WhileLoopOptions& options);
absl::Status WhileLoop(const Scope& scope, const std::vector<Output>& inputs, const CondFn& cond,
                       const BranchFn& body, std::vector<Output>* outputs,
                       absl::string_view frame_name = "");

}  // namespace ops
}  // namespace dflow

#endif  // DFLOW_OPS_CONTROL_FLOW_OPS_H_
