// An execution plan: the pruned, ordered nodes one (feeds, fetches, targets) signature needs,
// with their kernels created once and input wiring resolved to slot indices.
#ifndef DFLOW_RUNTIME_EXECUTOR_H_
#define DFLOW_RUNTIME_EXECUTOR_H_

#include <chrono>
#include <memory>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "graph/buffer_pool.h"
#include "graph/graph.h"
#include "kernels/op_kernel.h"
#include "runtime/run_options.h"

namespace dflow {

class ExecutionPlan {
 public:
  // Fails on a fetch of a node without outputs, or a node without a kernel.
  static absl::StatusOr<std::unique_ptr<ExecutionPlan>> Build(const Graph& graph,
                                                              std::vector<Output> feeds,
                                                              std::vector<Output> fetches,
                                                              std::vector<const Node*> targets);

  // Keeps `graph` (the one the plan was built from, e.g. an optimized copy) alive with the plan.
  void Own(std::unique_ptr<Graph> graph) { owned_graph_ = std::move(graph); }

  // Runs the plan once; the feeds' tensors line up with the feeds given to Build (their Outputs
  // are not read). Intermediate tensors' buffers stay in the plan's pool between runs, so that
  // steady-state runs allocate none. Serialized per plan. With `trace`, appends each node's
  // times, measured from `start`, to trace->nodes.
  absl::Status Run(absl::Span<const std::pair<Output, Tensor>> feeds, VariableStore* variables,
                   std::vector<Tensor>* outputs, RunMetadata* trace = nullptr,
                   std::chrono::steady_clock::time_point start = {});

 private:
  struct Step {
    const Node* node;
    std::unique_ptr<OpKernel> kernel;
    std::vector<int> input_slots;  // Slot each input reads.
    int first_output_slot;
  };

  ExecutionPlan() : stream_(CpuEngineForPlans()) {}
  static const dnnl::engine& CpuEngineForPlans();
  absl::Status RunLocked(absl::Span<const std::pair<Output, Tensor>> feeds,
                         VariableStore* variables, std::vector<Tensor>* outputs,
                         RunMetadata* trace, std::chrono::steady_clock::time_point start,
                         int threads) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  std::unique_ptr<Graph> owned_graph_;
  std::vector<Output> feeds_;
  std::vector<Step> steps_;
  std::vector<int> feed_slots_;
  std::vector<int> fetch_slots_;
  std::vector<int> uses_;      // Per slot: reads by steps (fetched and fed slots are pinned).
  std::vector<bool> pinned_;
  int num_slots_ = 0;
  int max_inputs_ = 0;

  absl::Mutex mu_;
  dnnl::stream stream_;
  // Per-run state, kept between runs so that a run allocates nothing.
  BufferPool pool_ ABSL_GUARDED_BY(mu_);
  std::vector<TensorValue> slots_ ABSL_GUARDED_BY(mu_);
  std::vector<int> remaining_ ABSL_GUARDED_BY(mu_);
  std::vector<TensorValue> reads_ ABSL_GUARDED_BY(mu_);    // Variable values read by one step.
  std::vector<TensorValue*> inputs_ ABSL_GUARDED_BY(mu_);  // One step's inputs.
  // The last run's fetched tensors: their buffers return to the pool once the caller drops them.
  std::vector<Tensor> fetched_ ABSL_GUARDED_BY(mu_);
};

}  // namespace dflow

#endif  // DFLOW_RUNTIME_EXECUTOR_H_
