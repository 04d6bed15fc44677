#include "runtime/executor.h"

#include <mutex>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "graph/buffer_pool.h"
#include "graph/cache_line_allocator.h"
#include "graph/status_macros.h"
#include "kernels/dnnl_util.h"
#include "runtime/flops.h"
#include "runtime/step_inputs.h"
#include "runtime/thread_policy.h"

namespace dflow {
// One run's mutable state; kept between runs so that a warm run allocates nothing. It and its
// vectors fill cache lines of their own (graph/cache_line_allocator.h): a run writes them on
// every step, and another thread's run reads the plan's steps, allocated beside them.
struct alignas(kCacheLine) ExecutionPlan::RunState {
  explicit RunState(const ExecutionPlan& plan)
      : stream(CpuEngine()),
        slots(plan.num_slots_),
        reads(plan.max_inputs_),
        cached_reads(plan.num_cached_reads_),
        inputs(plan.max_inputs_) {
    fetched.reserve(plan.fetch_slots_.size());
  }

  dnnl::stream stream;
  BufferPool pool;
  RunResources resources;  // TensorArrays and stacks, emptied after each run.
  CacheLineVector<TensorValue> slots;
  CacheLineVector<TensorValue> reads;      // Variable values read by one step.
  CacheLineVector<CachedRead> cached_reads;  // Kept from the last run (runtime/step_inputs.h).
  CacheLineVector<TensorValue*> inputs;    // One step's inputs.
  // The last run's fetched tensors: their buffers return to the pool once the caller drops them.
  CacheLineVector<Tensor> fetched;
};

// Gives each variable read its own cache entry, in plans that write no variable through a
// reference (an update reading its own variable would find the buffer shared by the cache, and
// copy it on every run).
void ExecutionPlan::PlanCachedReads(ExecutionPlan& plan,
                                    const absl::flat_hash_map<Output, int>& feed_slot) {
  for (const Step& step : plan.steps_) {
    for (int i = 0; i < step.node->num_inputs(); ++i) {
      if (step.node->input_is_ref(i)) return;
    }
  }
  for (Step& step : plan.steps_) {
    const std::vector<Output>& inputs = step.node->inputs();
    for (int i = 0; i < static_cast<int>(inputs.size()); ++i) {
      if (!inputs[i].node()->output_is_ref(inputs[i].index()) || feed_slot.contains(inputs[i])) {
        continue;
      }
      step.cached_reads.resize(inputs.size(), -1);
      step.cached_reads[i] = plan.num_cached_reads_++;
    }
  }
}

ExecutionPlan::~ExecutionPlan() {
  for (StateSlot& slot : state_slots_) {
    std::unique_ptr<RunState> owned(slot.state.exchange(nullptr, std::memory_order_acquire));
  }
}

absl::StatusOr<std::unique_ptr<ExecutionPlan>> ExecutionPlan::Build(const Graph& graph,
                                                                    const Signature& signature) {
  auto plan = std::unique_ptr<ExecutionPlan>(new ExecutionPlan());
  absl::flat_hash_map<Output, int> feed_slot;
  for (const Output& f : signature.feeds) {
    feed_slot[f] = plan->num_slots_;
    plan->feed_slots_.push_back(plan->num_slots_++);
  }
  const std::vector<bool> needed =
      NodesNeededFor(graph, signature.feeds, signature.fetches, signature.targets);
  if (DataflowPlan::NeedsDataflow(graph, needed)) {
    DFLOW_ASSIGN_OR_RETURN(plan->dataflow_, DataflowPlan::Build(graph, signature, needed));
    return plan;
  }

  // Node ids are a topological order, so ascending ids is a valid schedule.
  absl::flat_hash_map<const Node*, int> first_slot;
  for (int id = 0; id < graph.num_nodes(); ++id) {
    if (!needed[id]) continue;
    const Node* node = graph.node(id);
    DFLOW_ASSIGN_OR_RETURN(std::unique_ptr<OpKernel> kernel,
                           KernelRegistry::Global()->CreateKernel(*node));
    Step step{node, std::move(kernel), {}, plan->num_slots_};
    first_slot[node] = plan->num_slots_;
    plan->num_slots_ += node->num_outputs();
    for (const Output& in : node->inputs()) {
      auto fed = feed_slot.find(in);
      step.input_slots.push_back(fed != feed_slot.end() ? fed->second
                                                        : first_slot[in.node()] + in.index());
    }
    plan->max_inputs_ = std::max(plan->max_inputs_, node->num_inputs());
    plan->steps_.push_back(std::move(step));
  }
  PlanCachedReads(*plan, feed_slot);
  std::vector<bool> pinned(plan->num_slots_, false);
  for (int s : plan->feed_slots_) pinned[s] = true;
  for (const Output& f : signature.fetches) {
    auto fed = feed_slot.find(f);
    const int slot = fed != feed_slot.end() ? fed->second : first_slot[f.node()] + f.index();
    plan->fetch_slots_.push_back(slot);
    pinned[slot] = true;
  }
  for (int s = 0; s < plan->num_slots_; ++s) {
    if (pinned[s]) plan->pinned_slots_.push_back(s);
  }
  // The schedule is fixed, so each slot's last reader is known now: -1 for a never-read slot.
  std::vector<int> last_reader(plan->num_slots_, -1);
  for (int i = 0; i < static_cast<int>(plan->steps_.size()); ++i) {
    for (int s : plan->steps_[i].input_slots) last_reader[s] = i;
  }
  for (int i = 0; i < static_cast<int>(plan->steps_.size()); ++i) {
    Step& step = plan->steps_[i];
    for (int k = 0; k < step.node->num_outputs(); ++k) {
      const int s = step.first_output_slot + k;
      if (last_reader[s] == -1 && !pinned[s]) step.release.push_back(s);
    }
  }
  for (int s = 0; s < plan->num_slots_; ++s) {
    if (last_reader[s] != -1 && !pinned[s]) plan->steps_[last_reader[s]].release.push_back(s);
  }
  return plan;
}

std::unique_ptr<ExecutionPlan::RunState> ExecutionPlan::AcquireState() const {
  StateSlot& slot = state_slots_[ThisThreadSlot()];
  if (RunState* mine = slot.state.exchange(nullptr, std::memory_order_acquire)) {
    return std::unique_ptr<RunState>(mine);
  }
  {
    std::lock_guard<std::mutex> lock(states_mu_);
    if (!idle_states_.empty()) {
      std::unique_ptr<RunState> state = std::move(idle_states_.back());
      idle_states_.pop_back();
      return state;
    }
    ++num_states_;
    idle_states_.reserve(num_states_);  // Its return never allocates.
  }
  return std::make_unique<RunState>(*this);
}

void ExecutionPlan::ReleaseState(std::unique_ptr<RunState> state) const {
  StateSlot& slot = state_slots_[ThisThreadSlot()];
  std::unique_ptr<RunState> displaced(
      slot.state.exchange(state.release(), std::memory_order_acq_rel));
  if (displaced == nullptr) return;
  std::lock_guard<std::mutex> lock(states_mu_);
  idle_states_.push_back(std::move(displaced));
}

absl::Status ExecutionPlan::Run(absl::Span<const Tensor> feeds, VariableStore* variables,
                                std::vector<Tensor>* outputs, RunMetadata* trace,
                                std::chrono::steady_clock::time_point start,
                                std::chrono::steady_clock::time_point deadline) const {
  if (dataflow_ != nullptr) return dataflow_->Run(feeds, variables, outputs, trace, start, deadline);
  std::unique_ptr<RunState> state = AcquireState();
  if (outputs != nullptr) outputs->clear();
  // Buffers the caller let go of since this state's last run can be reused by this one.
  for (Tensor& t : state->fetched) state->pool.Recycle(&t);
  state->fetched.clear();
  const int threads = omp_get_max_threads();
  absl::Status status = RunSteps(feeds, variables, *state, outputs, trace, start, threads);
  if (omp_get_max_threads() != threads) omp_set_num_threads(threads);  // Small nodes lower it.
  // Drop every value so a failed or finished run holds no memory outside the pool; a finished
  // run has released all but the pinned slots already.
  auto drop = [&state](int slot) {
    state->pool.Recycle(&state->slots[slot].tensor);
    state->slots[slot].ref = nullptr;
  };
  if (status.ok()) {
    for (int slot : pinned_slots_) drop(slot);
  } else {
    for (int slot = 0; slot < num_slots_; ++slot) drop(slot);
    for (TensorValue& v : state->reads) v = TensorValue();
  }
  if (!state->resources.empty()) state->resources.Clear();
  for (const Tensor& t : state->fetched) state->pool.ReserveFor(t);  // Their return won't allocate.
  if (!status.ok() && outputs != nullptr) outputs->clear();
  ReleaseState(std::move(state));
  return status;
}

absl::Status ExecutionPlan::RunSteps(absl::Span<const Tensor> feeds, VariableStore* variables,
                                     RunState& state, std::vector<Tensor>* outputs,
                                     RunMetadata* trace,
                                     std::chrono::steady_clock::time_point start,
                                     int threads) const {
  auto since_start = [start] {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now() - start)
        .count();
  };
  auto& slots = state.slots;
  for (size_t i = 0; i < feed_slots_.size(); ++i) slots[feed_slots_[i]].tensor = feeds[i];
  int current_threads = threads;
  for (const Step& step : steps_) {
    const Node& node = *step.node;
    const int n_in = node.num_inputs();
    for (int i = 0; i < n_in; ++i) {
      TensorValue& v = slots[step.input_slots[i]];
      if (step.cached_reads.empty() || step.cached_reads[i] < 0) {
        DFLOW_RETURN_IF_ERROR(ResolveInput(node, i, v, state.reads[i], &state.inputs[i]));
      } else {
        DFLOW_RETURN_IF_ERROR(ResolveCachedRead(node, i, v,
                                                state.cached_reads[step.cached_reads[i]],
                                                state.reads[i], &state.inputs[i]));
      }
    }
    OpKernelContext ctx(node, absl::MakeConstSpan(state.inputs.data(), n_in),
                        absl::MakeSpan(slots.data() + step.first_output_slot, node.num_outputs()),
                        variables, CpuEngine(), state.stream, &state.pool);
    ctx.set_resources(&state.resources);
    if (threads > 1) {
      SetTeamFor(*step.kernel, absl::MakeConstSpan(state.inputs.data(), n_in), threads,
                 &current_threads);
    }
    const int64_t node_start = trace != nullptr ? since_start() : 0;
    const absl::Status s = RunKernel(*step.kernel, &ctx);
    if (trace != nullptr) {
      trace->nodes.push_back({node.name(), node.op(), node_start, since_start(),
                              NodeFlops(node, absl::MakeConstSpan(state.inputs.data(), n_in),
                                        absl::MakeConstSpan(slots.data() + step.first_output_slot,
                                                            node.num_outputs()))});
    }
    if (!s.ok()) return NodeError(node, s);
    for (int i = 0; i < node.num_outputs(); ++i) {
      const TensorValue& out = slots[step.first_output_slot + i];
      if (out.ref == nullptr && !out.tensor.IsInitialized()) {
        return NodeError(node, absl::InternalError(absl::StrCat("produced no value for output ", i)));
      }
    }
    for (int i = 0; i < n_in; ++i) state.reads[i] = TensorValue();
    for (int slot : step.release) {
      state.pool.Recycle(&slots[slot].tensor);
      slots[slot].ref = nullptr;
    }
  }
  if (outputs != nullptr) {
    for (int slot : fetch_slots_) {
      const TensorValue& v = slots[slot];
      if (v.ref == nullptr) {
        outputs->push_back(v.tensor);
        state.fetched.push_back(v.tensor);
        continue;
      }
      std::lock_guard<std::mutex> var_lock(v.ref->mu.reader());
      if (!v.ref->value.IsInitialized()) return UninitializedError(*v.ref);
      outputs->push_back(v.ref->value);
    }
  }
  return absl::OkStatus();
}

}  // namespace dflow
