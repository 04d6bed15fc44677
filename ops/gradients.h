// Symbolic differentiation: appends gradient nodes to the same graph.
#ifndef DFLOW_OPS_GRADIENTS_H_
#define DFLOW_OPS_GRADIENTS_H_

#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "graph/graph.h"
#include "ops/scope.h"

namespace dflow {

struct GradientOptions {
  // When an x does not depend on the ys: false -> error naming x; true -> ZerosLike(x).
  bool zeros_for_unconnected = false;
};

// Adds nodes computing d(sum of ys)/d(xs) under "gradients/" in `scope`'s graph. `grad_ys` seeds
// the ys' gradients (OnesLike(y) for each when empty). Fan-out is summed with AddN; broadcast
// inputs are un-broadcast by their ops' gradient functions; only nodes on a path from the xs to
// the ys are differentiated. Fails naming the op when a node on such a path has no gradient.
//
// The contract with gradient functions (op_registry.h's GradFn): each is handed one gradient
// per output of its node, zeros (ZerosLike) for an output no gradient reached; each input
// gradient it returns, unless null (none), must have the input's type and a shape compatible
// with the input's, or this fails naming the op, the node and the input.
absl::Status AddSymbolicGradients(const Scope& scope, absl::Span<const Output> ys,
                                  absl::Span<const Output> xs, absl::Span<const Output> grad_ys,
                                  std::vector<Output>* grad_xs,
                                  const GradientOptions& options = {});
absl::Status AddSymbolicGradients(const Scope& scope, absl::Span<const Output> ys,
                                  absl::Span<const Output> xs, std::vector<Output>* grad_xs);

// For gradient functions: true when `grad` is known to be zeros (a ZerosLike, as
// AddSymbolicGradients supplies for an output no gradient reached), so the terms it would
// contribute can be left out of the graph.
bool IsZerosGradient(const Output& grad);

// For gradient functions of broadcasting binary ops: sums `grad` (of the broadcast output's
// shape) down to the shape of `input`, as ops in the graph (Sum over the broadcast axes, then
// Reshape). Works when shapes are only known at run time.
Output ReduceGradientToShape(const Scope& scope, const Output& grad, const Output& input);

}  // namespace dflow

#endif  // DFLOW_OPS_GRADIENTS_H_
