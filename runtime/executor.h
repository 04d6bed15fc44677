// An execution plan: the pruned, ordered nodes one signature (runtime/signature.h) needs, with
// their kernels created once and every input resolved to a slot index.
//
// A plan has two parts. The immutable part (steps, kernels, slot wiring, use counts) is built
// once and shared by every run. Per-run state (slot values, use counters, a buffer pool, a
// oneDNN stream) lives in RunState objects, kept in a free list: a run takes one, or makes one
// when all are busy, and returns it at the end. So runs of one plan from several threads
// proceed concurrently (kernels are safe to call concurrently, kernels/op_kernel.h), while
// runs from one thread keep reusing the same state and allocate nothing once warm.
#ifndef DFLOW_RUNTIME_EXECUTOR_H_
#define DFLOW_RUNTIME_EXECUTOR_H_

#include <array>
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "graph/graph.h"
#include "kernels/op_kernel.h"
#include "runtime/dataflow_executor.h"
#include "runtime/run_options.h"
#include "runtime/signature.h"
#include "runtime/thread_slots.h"

namespace dflow {

class ExecutionPlan {
 public:
  // Plans `signature`, which the caller has validated against `graph`. A signature whose
  // pruned graph holds control flow gets a dataflow plan (runtime/dataflow_executor.h) behind
  // the same interface; all others run straight-line, as a list of steps. Fails naming the node
  // when a needed node has no kernel or its kernel rejects the node.
  static absl::StatusOr<std::unique_ptr<ExecutionPlan>> Build(const Graph& graph,
                                                              const Signature& signature);
  ~ExecutionPlan();

  // Keeps `graph` (the one the plan was built from, e.g. an optimized copy) alive with the plan.
  void Own(std::unique_ptr<Graph> graph) { owned_graph_ = std::move(graph); }

  // Runs the plan once. `feeds` line up with the signature's feeds and have its fed shapes
  // and dtypes (the caller checked). On success `outputs` (may be null) holds one tensor per
  // fetch; on failure it is empty. With `trace`, appends each node's times, measured from
  // `start`, to trace->nodes. Thread-safe: concurrent calls run concurrently.
  // A run of a plan with control flow that passes `deadline` fails with DeadlineExceeded
  // (a straight-line plan always ends and ignores it).
  absl::Status Run(absl::Span<const Tensor> feeds, VariableStore* variables,
                   std::vector<Tensor>* outputs, RunMetadata* trace = nullptr,
                   std::chrono::steady_clock::time_point start = {},
                   std::chrono::steady_clock::time_point deadline =
                       std::chrono::steady_clock::time_point::max()) const;

 private:
  struct Step {
    const Node* node;
    std::unique_ptr<OpKernel> kernel;
    std::vector<int> input_slots;  // Slot each input reads.
    int first_output_slot;
    // Slots whose last reader is this step (or, never read, that this step produced): their
    // buffers go back to the pool as soon as the step is done.
    std::vector<int> release;
    // For each input, its entry in RunState::cached_reads, or -1; empty when none has one.
    std::vector<int> cached_reads;
  };
  struct RunState;

  ExecutionPlan() = default;
  static void PlanCachedReads(ExecutionPlan& plan,
                              const absl::flat_hash_map<Output, int>& feed_slot);
  std::unique_ptr<RunState> AcquireState() const;
  void ReleaseState(std::unique_ptr<RunState> state) const;
  // Runs every step with at most `threads` OpenMP threads a node.
  absl::Status RunSteps(absl::Span<const Tensor> feeds, VariableStore* variables,
                        RunState& state, std::vector<Tensor>* outputs, RunMetadata* trace,
                        std::chrono::steady_clock::time_point start, int threads) const;

  // Immutable after Build.
  std::unique_ptr<Graph> owned_graph_;
  std::unique_ptr<DataflowPlan> dataflow_;  // Set for graphs with control flow; then no steps.
  std::vector<Step> steps_;
  std::vector<int> feed_slots_;
  std::vector<int> fetch_slots_;
  std::vector<int> pinned_slots_;  // Fed and fetched: they hold their values to the run's end.
  int num_slots_ = 0;
  int max_inputs_ = 0;
  int num_cached_reads_ = 0;

  // Each client thread's last run state waits in its own slot (runtime/thread_slots.h), so a
  // thread's next run reuses the state, buffers and cache lines it left, touching nothing
  // another thread writes; a slot owns the state it holds (deleted with the plan).
  struct alignas(64) StateSlot {
    std::atomic<RunState*> state{nullptr};
  };
  mutable std::array<StateSlot, kThreadSlots> state_slots_;
  // More idle run states (threads sharing a slot, recursive runs), most recently used last; a
  // plain mutex, since absl::Mutex's deadlock detection (compiled into Debian's Abseil) costs.
  mutable std::mutex states_mu_;
  mutable std::vector<std::unique_ptr<RunState>> idle_states_;
  mutable int num_states_ = 0;  // Made so far: the free list's capacity.
};

}  // namespace dflow

#endif  // DFLOW_RUNTIME_EXECUTOR_H_
