// Internal to the graph optimizer (graph_optimizer.cc): its two passes, each a copy of the graph
// (a Graph is append-only), and the helpers both use.
//
//  1. Simplify (simplifier.cc): the needed nodes in id (= topological) order, each fed tensor
//     replaced by a Placeholder of its fed shape; while copying, a node is dropped (Identity,
//     relaying NoOp), replaced by Consts (constant folding, Shape / Rank of known shapes) or
//     merged with an identical node already copied (CSE). Consumers are visited after their
//     inputs, so each sees its inputs already rewritten and one pass reaches the fixed point.
//  2. FuseAndPrune (fusion.cc): the nodes the result still needs (folding leaves dead inputs
//     behind), with chains of nodes replaced by one fused node (ops/fused_ops.h), which is only
//     decidable once the consumers are final.
//  3. FormConvTrunks (conv_trunk.cc): chains of NHWC convolutions, poolings and activations (the
//     fused ones of pass 2 among them) replaced by one _DflowConvTrunk node that keeps oneDNN's
//     blocked layouts between them (ops/conv_trunk_ops.h).
#ifndef DFLOW_RUNTIME_OPTIMIZER_PASSES_H_
#define DFLOW_RUNTIME_OPTIMIZER_PASSES_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "graph/graph.h"
#include "graph/tensor.h"
#include "runtime/graph_optimizer.h"
#include "runtime/signature.h"

namespace dflow {
namespace optimizer {

// Pass 1. `signature` is valid for `graph` (OptimizeGraph's precondition).
absl::StatusOr<OptimizedGraph> Simplify(const Graph& graph, const Signature& signature,
                                        const GraphOptimizerOptions& options);

// Pass 2 on pass 1's result; fuses only when `fuse`.
absl::StatusOr<OptimizedGraph> FuseAndPrune(const OptimizedGraph& in, bool fuse);

// Pass 3 on pass 2's result (returned as it is when no chain qualifies).
absl::StatusOr<OptimizedGraph> FormConvTrunks(OptimizedGraph in);

bool IsRef(const Output& o);
// Whether `n` reads or produces a variable reference.
bool TouchesRefs(const Node& n);

// The value of a Const output, else nullopt.
std::optional<Tensor> ConstValue(const Output& o);

// Adds a node of `op` with `attrs` and `device` under `name` through NodeBuilder; the flat
// `inputs` are grouped into the op's input args (GroupInputsByArg).
absl::StatusOr<Node*> AddNode(const std::string& op, const AttrMap& attrs,
                              const std::string& device, const std::string& name,
                              absl::Span<const Output> inputs, absl::Span<Node* const> controls,
                              Graph* graph);

// A copy of `like` under `name` with the given inputs and control inputs.
absl::StatusOr<Node*> AddNodeLike(const Node& like, const std::string& name,
                                  absl::Span<const Output> inputs, absl::Span<Node* const> controls,
                                  Graph* graph);

}  // namespace optimizer
}  // namespace dflow

#endif  // DFLOW_RUNTIME_OPTIMIZER_PASSES_H_
