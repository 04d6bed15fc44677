// Lowering of functional control flow (ops/functional_ops.h) into the dataflow control flow
// dflow's executor runs, as TensorFlow's LowerFunctionalOpsPass does:
//
//   If/StatelessIf       -> Switch on the predicate for every input, both branch bodies inlined
//                           (each under a pivot, so its constants die with it), a Merge per output.
//   While/StatelessWhile -> an Enter/Merge/Switch/LoopCond/NextIteration/Exit frame named after
//                           the node, cond and body inlined inside it.
//   PartitionedCall/StatefulPartitionedCall (or a node whose op names a library function)
//                        -> the body inlined, args through Identity nodes.
//
// Each functional node N is replaced by an IdentityN named N over its results (a NoOp when it
// has none), so "N", "N:1" and "^N" keep their meaning for consumers and fetches. Lowered nodes
// are named under N: "N/then/<body node>", "N/else/...", "N/cond/...", "N/body/...", "N/<body
// node>" for calls; "N/switch_pred", "N/switch_input_<k>", "N/merge_<k>", "N/enter_<k>",
// "N/exit_<k>", "N/next_iteration_<k>", "N/loop_cond". Bodies may hold functional ops and call
// other functions: those are lowered in turn.
#ifndef DFLOW_OPS_FUNCTION_LOWERING_H_
#define DFLOW_OPS_FUNCTION_LOWERING_H_

#include "absl/status/status.h"
#include "proto/graph.pb.h"

namespace dflow {

// True when `def` has a node to lower: a functional op, or an op named by a library function.
bool HasFunctionalOps(const GraphDef& def);

// Replaces every functional node of `def` as above and clears `def->library`. Fails, with a
// message naming the node (and the function), on: a function missing from the library, an
// input or result count that disagrees with the node's type lists or the function's signature,
// a function that calls itself (directly or not), a body input that names no arg or node
// output (output args resolve through dflow's op schemas), an unbound attr placeholder, or a
// While without loop variables. `output_shapes` is accepted and not checked; parallel_iterations
// goes to the Enters.
absl::Status LowerFunctionalOps(GraphDef* def);

}  // namespace dflow

#endif  // DFLOW_OPS_FUNCTION_LOWERING_H_
