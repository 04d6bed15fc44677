// The graph optimizer (graph_optimizer.h) for a signature whose pruned graph holds control flow
// (Switch, Merge, Enter, Exit, NextIteration, LoopCond, ControlTrigger): the rewrites know
// nothing of dead tensors and frames, so they run only on the part of the graph where neither
// exists, and the rest is kept exactly as written.
//
// A needed node is "plain" when it is in the root frame (not between an Enter and its Exit), can
// never be dead, is no control-flow op, and takes no control input, and no variable reference,
// from a node that is not plain. "Never dead" is decided on conditions: a Switch's output p holds
// under (predicate, p); a node holds under the union of its inputs' conditions; a Merge drops the
// conditions on one predicate when its inputs cover both of its branches (tf.cond's Merge), and
// a loop's Switch (predicate from LoopCond) adds none, so what follows a cond's Merge or a loop's
// Exit is plain again when what went in was. Everything else ("touched") is copied unchanged.
//
// The plain nodes are copied into a graph of their own, where each tensor they read from a
// touched node is a stand-in Placeholder of that tensor's static shape; OptimizeGraph rewrites
// it with the signature's fetches and targets, and every plain tensor or node a touched node
// reads, kept (fetched or targeted). The rewritten plain part and the touched nodes are then
// stitched into one graph, the stand-ins replaced by the tensors they stand for.
#ifndef DFLOW_RUNTIME_CONTROL_FLOW_OPTIMIZER_H_
#define DFLOW_RUNTIME_CONTROL_FLOW_OPTIMIZER_H_

#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "graph/graph.h"
#include "runtime/graph_optimizer.h"
#include "runtime/signature.h"

namespace dflow {

// `signature` is valid for `graph` (runtime/signature.h) and `needed` is
// NodesNeededFor(graph, signature...). Returns the stitched graph with `signature` mapped into
// it (same order and feed shapes; names of kept nodes unchanged), or nullopt when the graph is
// better run as written: nothing is plain, a feed is a touched node's tensor or a variable
// reference outside the plain part, a touched Assign may change a variable's shape
// (validate_shape false), or the conditions do not settle. Fails as OptimizeGraph
// does on the plain part. `graph` is not changed.
absl::StatusOr<std::optional<OptimizedGraph>> OptimizeAroundControlFlow(
    const Graph& graph, const Signature& signature, const std::vector<bool>& needed,
    const GraphOptimizerOptions& options = {});

// Which nodes of `graph` are touched (the complement of plain above, before restricting to the
// needed nodes), indexed by node id; nullopt when the conditions do not settle. `fed` holds the
// fed tensors, which are never dead. For tests and the function above.
std::optional<std::vector<bool>> ControlFlowTouchedNodes(const Graph& graph,
                                                         absl::Span<const Output> fed);

}  // namespace dflow

#endif  // DFLOW_RUNTIME_CONTROL_FLOW_OPTIMIZER_H_
