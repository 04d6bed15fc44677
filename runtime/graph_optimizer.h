// Graph rewrites before planning: the part of a graph one (feeds, fetches, targets) signature
// needs, copied and specialised to the fed shapes, with constants folded, pass-through nodes
// removed, duplicates merged and MatMul / Conv2D + bias [+ Relu] fused into one oneDNN op.
//
//   absl::StatusOr<OptimizedGraph> opt =
//       OptimizeGraph(graph, {x}, {TensorShape({100, 784})}, {loss}, {train.node()});
//   // Run opt->graph feeding opt->feeds[0], fetching opt->fetches[0], running opt->targets[0].
//
// Copied nodes keep their names (variables, random-op state and error messages are keyed by
// node name); nodes the rewrites create get fresh names derived from the ones they replace.
#ifndef DFLOW_RUNTIME_GRAPH_OPTIMIZER_H_
#define DFLOW_RUNTIME_GRAPH_OPTIMIZER_H_

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "graph/graph.h"
#include "graph/tensor_shape.h"

namespace dflow {

struct GraphOptimizerOptions {
  // Evaluates nodes whose inputs are all constants, and Shape / Rank of tensors whose shape is
  // known, replacing them with Const nodes.
  bool fold_constants = true;
  // Drops Identity nodes (not of variables; readers inherit their control inputs) and NoOps
  // that only relay control edges, and control edges from nodes that compute only values.
  bool remove_identities = true;
  // Merges nodes that compute the same thing (same op, attrs, inputs and control inputs).
  bool eliminate_common_subexpressions = true;
  // MatMul / Conv2D + BiasAdd (or Add of a 1-D bias) [+ Relu] -> _FusedMatMul / _FusedConv2D.
  bool fuse_ops = true;
};

// A rewritten copy of the part of a graph that (feeds, fetches, targets) needs, specialised to
// the fed shapes. Run it by feeding `feeds` (the nodes producing them must not run: each
// non-variable feed is a Placeholder of the fed shape), fetching `fetches` and running `targets`.
struct OptimizedGraph {
  std::unique_ptr<Graph> graph;
  std::vector<Output> feeds;         // In `graph`, one per given feed, same order.
  std::vector<Output> fetches;       // In `graph`, one per given fetch.
  std::vector<const Node*> targets;  // In `graph`, one per given target.
};

// `feed_shapes` holds the shape of each fed tensor (ignored for a variable's reference, which
// is kept as it is). Each rewrite keeps results equal up to float rounding; stateful nodes,
// variable references, fed, fetched and targeted nodes are never removed or merged away. Fails
// naming the feed or node on a feed shape the graph does not accept. `graph` is not changed.
absl::StatusOr<OptimizedGraph> OptimizeGraph(const Graph& graph, absl::Span<const Output> feeds,
                                             absl::Span<const TensorShape> feed_shapes,
                                             absl::Span<const Output> fetches,
                                             absl::Span<const Node* const> targets,
                                             const GraphOptimizerOptions& options = {});

}  // namespace dflow

#endif  // DFLOW_RUNTIME_GRAPH_OPTIMIZER_H_
