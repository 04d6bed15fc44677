// The dataflow executor: runs a signature whose pruned graph holds control flow (Switch, Merge,
// Enter, Exit, NextIteration, LoopCond, ControlTrigger) with TensorFlow's semantics:
//
// - Dead tensors. Switch sends its input to one output; the other is dead. A node with a dead
//   data or control input does not run and its outputs are dead, except Merge, which forwards
//   the first live input (and its index) and is dead only when every input is, and
//   ControlTrigger, which always runs.
// - Frames and iterations. Enter moves a value into a child frame (a while loop; one frame
//   instance per iteration of the parent), NextIteration to the next iteration of its frame and
//   Exit back to the parent. `is_constant` Enters are seen by every iteration. A Merge in a loop
//   takes its Enter input in iteration 0 and its NextIteration input in later ones.
//
// Each node's frame is found once, when the plan is built; a run keeps per-iteration pending
// counts and input values and runs ready nodes from a queue on the calling thread. Graphs
// without control flow never come here: ExecutionPlan runs them straight-line.
//
// Thread-safe like ExecutionPlan: a plan is immutable and each run keeps its own state.
#ifndef DFLOW_RUNTIME_DATAFLOW_EXECUTOR_H_
#define DFLOW_RUNTIME_DATAFLOW_EXECUTOR_H_

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "graph/graph.h"
#include "kernels/op_kernel.h"
#include "runtime/run_options.h"
#include "runtime/signature.h"

namespace dflow {

class DataflowPlan {
 public:
  // True when a node marked in `needed` (indexed by node id) is a control-flow op.
  static bool NeedsDataflow(const Graph& graph, const std::vector<bool>& needed);

  // Plans the `needed` nodes of `graph` for `signature`. Fails naming the node when a kernel is
  // missing or frames are malformed: an Exit or NextIteration outside a loop, a node whose inputs
  // come from different frames, a feed or fetch inside a loop.
  static absl::StatusOr<std::unique_ptr<DataflowPlan>> Build(const Graph& graph,
                                                             const Signature& signature,
                                                             const std::vector<bool>& needed);
  ~DataflowPlan();

  // As ExecutionPlan::Run. Fails when a fetch is dead or never computed, when a Merge gets two
  // live inputs in one iteration, or when the run passes `deadline` (a loop that never ends).
  absl::Status Run(absl::Span<const Tensor> feeds, VariableStore* variables,
                   std::vector<Tensor>* outputs, RunMetadata* trace,
                   std::chrono::steady_clock::time_point start,
                   std::chrono::steady_clock::time_point deadline) const;

  // How the executor treats a node.
  enum class Kind { kNormal, kSwitch, kMerge, kEnter, kExit, kNextIteration, kControlTrigger };

 private:
  struct Edge {
    int item;   // Consumer.
    int input;  // Its input index; -1 for a control edge.
  };
  struct Item;
  struct Frame;
  struct Iteration;
  struct FrameInstance;
  struct Task;
  class Run_;

  DataflowPlan() = default;

  std::vector<Item> items_;
  std::vector<Frame> frames_;  // frames_[0] is the root.
  std::vector<Edge> feed_edges_;         // Where each feed goes (item, input), many per feed.
  std::vector<int> feed_edge_begin_;     // feed i's edges: [begin[i], begin[i+1]).
  std::vector<std::pair<int, int>> fetches_;  // (item, output), or (-1, feed index) when fed.
  int max_inputs_ = 0;
  int max_outputs_ = 0;
};

}  // namespace dflow

#endif  // DFLOW_RUNTIME_DATAFLOW_EXECUTOR_H_
