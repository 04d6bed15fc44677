// Session: runs the part of a graph that given fetches and targets need, many times, keeping
// variable state between runs.
//
//   Scope root = Scope::NewRootScope();
//   ... build the graph ...
//   absl::StatusOr<std::unique_ptr<Session>> session = Session::Create(root);
//   std::vector<Tensor> out;
//   absl::Status s = (*session)->Run({{x, batch}}, {y}, {}, &out);
#ifndef DFLOW_RUNTIME_SESSION_H_
#define DFLOW_RUNTIME_SESSION_H_

#include <array>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "graph/graph.h"
#include "graph/tensor.h"
#include "ops/scope.h"
#include "proto/graph.pb.h"
#include "runtime/graph_optimizer.h"
#include "runtime/run_options.h"
#include "runtime/signature.h"
#include "runtime/thread_slots.h"

namespace dflow {

class ExecutionPlan;
class VariableStore;

struct SessionOptions {
  // oneDNN's intra-op threads; 0 keeps oneDNN's default (all cores).
  int intra_op_threads = 0;
  // Each signature's plan runs a rewritten copy of the graph, specialised to the fed shapes
  // (runtime/graph_optimizer.h); false runs the graph's nodes as they are.
  bool optimize_graph = true;
  GraphOptimizerOptions optimizer;
  // The most tensor memory the process may hold while this session runs (graph/tensor.h); an
  // allocation past it fails the run with ResourceExhausted. 0: 3/4 of physical memory.
  int64_t memory_limit_bytes = 0;
  // Random ops whose seed and seed2 attrs are both 0 (as TensorFlow writes them without a graph
  // seed) draw a different stream in every session; with a value here each such node's stream
  // is fixed by it and the node's name, so runs repeat (dflow's own option, not TensorFlow's).
  std::optional<uint64_t> random_seed;
};

class Session {
 public:
  // The session runs `graph`, which must outlive it; nodes may be added to the graph between
  // runs (they become runnable), but existing ones never change.
  static absl::StatusOr<std::unique_ptr<Session>> Create(const Graph& graph,
                                                         const SessionOptions& options = {});
  // Reports the scope's first error, if any; the session shares ownership of its graph.
  static absl::StatusOr<std::unique_ptr<Session>> Create(const Scope& scope,
                                                         const SessionOptions& options = {});
  // Imports `def` into a graph the session owns.
  static absl::StatusOr<std::unique_ptr<Session>> Create(const GraphDef& def,
                                                         const SessionOptions& options = {});
  ~Session();

  // Feeds name tensors ("x", "x:0", "split:1"); fetches name tensors; targets name nodes run for
  // their effect. Outputs hold one tensor per fetch, in order. Only what the fetches and targets
  // need runs; a fed tensor cuts off everything upstream of it. The plan for each distinct
  // (feeds, fetches, targets, fed shapes) signature is built once and cached. `outputs` is cleared first;
  // reusing one vector across runs lets the previous outputs' memory be reused. Thread-safe:
  // concurrent runs, of one signature or of several, run concurrently.
  absl::Status Run(const std::vector<std::pair<std::string, Tensor>>& feeds,
                   const std::vector<std::string>& fetches, const std::vector<std::string>& targets,
                   std::vector<Tensor>* outputs);
  // The same with graph handles, ClientSession-style.
  absl::Status Run(const std::vector<std::pair<Output, Tensor>>& feeds,
                   const std::vector<Output>& fetches, const std::vector<Operation>& targets,
                   std::vector<Tensor>* outputs);
  // The same with options; `metadata` (may be null) receives the trace when options.trace.
  absl::Status Run(const RunOptions& options,
                   const std::vector<std::pair<std::string, Tensor>>& feeds,
                   const std::vector<std::string>& fetches, const std::vector<std::string>& targets,
                   std::vector<Tensor>* outputs, RunMetadata* metadata);
  absl::Status Run(const RunOptions& options, const std::vector<std::pair<Output, Tensor>>& feeds,
                   const std::vector<Output>& fetches, const std::vector<Operation>& targets,
                   std::vector<Tensor>* outputs, RunMetadata* metadata);
  // Runs targets only.
  absl::Status Run(const std::vector<Operation>& targets) { return Run({}, {}, targets, nullptr); }

  const Graph& graph() const { return *graph_; }
  // The session's variables (name -> state); uninitialized ones hold an invalid tensor.
  VariableStore* variables() { return variables_.get(); }

 private:
  // Plans by signature: ids of feeds, fetches and targets and the fed shapes, inline (no
  // allocation) up to 64 numbers.
  using PlanKey = absl::InlinedVector<int64_t, 64>;

  Session(const Graph* graph, std::shared_ptr<const void> owner, const SessionOptions& options);

  // The one place a run's feeds, fetches and targets are checked: every one belongs to the
  // graph, each fetch names an output, each fed value is initialized with the fed output's
  // dtype and a compatible shape. Fills the plan key. Allocates nothing.
  absl::Status CheckSignature(absl::Span<const std::pair<Output, Tensor>> feeds,
                              absl::Span<const Output> fetches,
                              absl::Span<const Operation> targets, PlanKey* key) const;
  // The cached plan for `key`, or a new one for the checked signature.
  // This thread's slot first, then the shared map.
  struct PlanRef;
  absl::StatusOr<std::shared_ptr<const PlanRef>> FindOrBuildPlan(
      const PlanKey& key, absl::Span<const std::pair<Output, Tensor>> feeds,
      absl::Span<const Output> fetches, absl::Span<const Operation> targets);
  absl::StatusOr<std::shared_ptr<const ExecutionPlan>> FindOrBuildSharedPlan(
      const PlanKey& key, absl::Span<const std::pair<Output, Tensor>> feeds,
      absl::Span<const Output> fetches, absl::Span<const Operation> targets);
  // The plan of a checked signature: of the graph as written without optimize_graph; else of
  // OptimizeGraph's copy, or, when the pruned graph holds control flow, of a copy rewritten
  // only outside loops and dead branches (OptimizeAroundControlFlow), or as written when that
  // declines.
  absl::StatusOr<std::unique_ptr<ExecutionPlan>> BuildPlan(const Signature& signature) const;

  const Graph* graph_;
  std::shared_ptr<const void> graph_owner_;  // Keeps a Scope's or imported graph alive.
  std::unique_ptr<VariableStore> variables_;
  SessionOptions options_;
  // Bounded: a caller feeding ever new shapes drops old plans (runs in flight keep theirs).
  static constexpr size_t kMaxPlans = 64;
  // Readers look plans up concurrently; a plain shared mutex, since absl::Mutex's deadlock
  // detection (compiled into Debian's Abseil) costs on every run.
  mutable std::shared_mutex plans_mu_;
  absl::flat_hash_map<PlanKey, std::shared_ptr<const ExecutionPlan>> plans_;
  // Each client thread's last plan, in its own slot (runtime/thread_slots.h): a repeated run
  // finds it without writing the shared mutex or the plan's shared reference count (the slot
  // holds its own reference, which runs copy).
  // On lines of its own: its reference count is written on every run of the slot's thread.
  struct alignas(64) PlanRef {
    std::shared_ptr<const ExecutionPlan> plan;
  };
  struct alignas(64) PlanSlot {
    static constexpr int kEntries = 4;  // A thread alternating a few signatures hits too.
    std::mutex mu;  // Uncontended unless more than kThreadSlots threads run.
    PlanKey keys[kEntries];
    std::shared_ptr<const PlanRef> refs[kEntries];
    int next = 0;  // The entry replaced next.
  };
  mutable std::array<PlanSlot, kThreadSlots> plan_slots_;
};

}  // namespace dflow

#endif  // DFLOW_RUNTIME_SESSION_H_
