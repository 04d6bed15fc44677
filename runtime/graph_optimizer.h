// Graph rewrites before planning: the part of a graph one run signature needs, copied and
// specialised to the fed shapes, with constants folded, pass-through nodes removed, duplicates
// merged and chains of nodes fused into one oneDNN op.
//
//   absl::StatusOr<OptimizedGraph> opt = OptimizeGraph(
//       graph, Signature{{x}, {TensorShape({100, 784})}, {loss}, {train.node()}});
//   // Run opt->graph with opt->signature: feed opt->signature.feeds[0], fetch
//   // opt->signature.fetches[0], run opt->signature.targets[0].
//
// Copied nodes keep their names (variables, random-op state and error messages are keyed by
// node name); nodes the rewrites create get fresh names derived from the ones they replace.
#ifndef DFLOW_RUNTIME_GRAPH_OPTIMIZER_H_
#define DFLOW_RUNTIME_GRAPH_OPTIMIZER_H_

#include <memory>

#include "absl/status/statusor.h"
#include "graph/graph.h"
#include "runtime/signature.h"

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
  // MatMul / Conv2D + BiasAdd (or Add of a 1-D bias) [+ Relu] -> _FusedMatMul / _FusedConv2D,
  // and the other patterns of docs/architecture.md (ops/fused_ops.h).
  bool fuse_ops = true;
  // With fuse_ops: chains of two or more NHWC convolutions (with the poolings and activations
  // between them) -> one _DflowConvTrunk node whose images stay in oneDNN's blocked layouts,
  // reordered from and to NHWC only at the chain's ends (ops/conv_trunk_ops.h). The environment
  // variable DFLOW_CONV_TRUNKS=0 turns it off for the whole process (to time both ways).
  bool conv_trunks = true;
};

// A rewritten copy of the part of a graph that a signature needs, specialised to the fed
// shapes, with that signature mapped into it: same order, same feed shapes. Run it by feeding
// `signature.feeds` (the nodes producing them must not run: each non-variable feed is a
// Placeholder of the fed shape), fetching `signature.fetches` and running `signature.targets`.
struct OptimizedGraph {
  std::unique_ptr<Graph> graph;
  Signature signature;  // In `graph`.
};

// `signature` must be valid for `graph`, as Session resolves it (runtime/signature.h): this
// only asserts that. A variable reference's feed is kept as the variable, whatever its feed
// shape. Each rewrite keeps results equal up to float rounding; stateful nodes, variable
// references, fed, fetched and targeted nodes are never removed or merged away. Fails naming
// the node whose op rejects the shapes the feeds give its inputs. `graph` is not changed.
absl::StatusOr<OptimizedGraph> OptimizeGraph(const Graph& graph, const Signature& signature,
                                             const GraphOptimizerOptions& options = {});

}  // namespace dflow

#endif  // DFLOW_RUNTIME_GRAPH_OPTIMIZER_H_
