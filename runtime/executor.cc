#include "runtime/executor.h"

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "kernels/dnnl_util.h"
#include "runtime/thread_policy.h"

extern "C" {  // libgomp, which oneDNN's CPU runtime uses.
void omp_set_num_threads(int num_threads);
int omp_get_max_threads(void);
}

namespace dflow {

const dnnl::engine& ExecutionPlan::CpuEngineForPlans() { return CpuEngine(); }

absl::StatusOr<std::unique_ptr<ExecutionPlan>> ExecutionPlan::Build(
    const Graph& graph, std::vector<Output> feeds, std::vector<Output> fetches,
    std::vector<const Node*> targets) {
  auto plan = std::unique_ptr<ExecutionPlan>(new ExecutionPlan());
  absl::flat_hash_map<Output, int> feed_slot;
  for (const Output& f : feeds) {
    if (feed_slot.contains(f)) {
      return absl::InvalidArgumentError(absl::StrCat("tensor '", f.name(), "' is fed twice"));
    }
    feed_slot[f] = plan->num_slots_;
    plan->feed_slots_.push_back(plan->num_slots_++);
  }

  const std::vector<bool> needed = NodesNeededFor(graph, feeds, fetches, targets);

  // Node ids are a topological order, so ascending ids is a valid schedule.
  absl::flat_hash_map<const Node*, int> first_slot;
  for (int id = 0; id < graph.num_nodes(); ++id) {
    if (!needed[id]) continue;
    const Node* node = graph.node(id);
    absl::StatusOr<std::unique_ptr<OpKernel>> kernel = KernelRegistry::Global()->CreateKernel(*node);
    if (!kernel.ok()) return kernel.status();
    Step step{node, std::move(*kernel), {}, plan->num_slots_};
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
  plan->uses_.assign(plan->num_slots_, 0);
  plan->pinned_.assign(plan->num_slots_, false);
  for (int s : plan->feed_slots_) plan->pinned_[s] = true;
  for (const Step& step : plan->steps_) {
    for (int s : step.input_slots) ++plan->uses_[s];
  }
  for (const Output& f : fetches) {
    auto fed = feed_slot.find(f);
    const int slot = fed != feed_slot.end() ? fed->second : first_slot[f.node()] + f.index();
    plan->fetch_slots_.push_back(slot);
    plan->pinned_[slot] = true;
  }
  plan->feeds_ = std::move(feeds);
  return plan;
}

absl::Status ExecutionPlan::Run(absl::Span<const std::pair<Output, Tensor>> feeds,
                                VariableStore* variables, std::vector<Tensor>* outputs,
                                RunMetadata* trace,
                                std::chrono::steady_clock::time_point start) {
  absl::MutexLock lock(&mu_);
  if (outputs != nullptr) outputs->clear();
  // Buffers the caller let go of since the last run can be reused by this one.
  for (Tensor& t : fetched_) pool_.Recycle(&t);
  fetched_.clear();
  const int threads = omp_get_max_threads();
  absl::Status status = RunLocked(feeds, variables, outputs, trace, start, threads);
  if (omp_get_max_threads() != threads) omp_set_num_threads(threads);  // Small nodes lower it.
  // Drop every intermediate so a failed or finished run holds no memory outside the pool.
  for (TensorValue& v : slots_) {
    pool_.Recycle(&v.tensor);
    v.ref = nullptr;
  }
  for (TensorValue& v : reads_) v = TensorValue();
  for (const Tensor& t : fetched_) pool_.ReserveFor(t);  // Their return next run won't allocate.
  if (!status.ok() && outputs != nullptr) outputs->clear();
  return status;
}

absl::Status ExecutionPlan::RunLocked(absl::Span<const std::pair<Output, Tensor>> feeds,
                                      VariableStore* variables, std::vector<Tensor>* outputs,
                                      RunMetadata* trace,
                                      std::chrono::steady_clock::time_point start, int threads) {
  auto since_start = [start] {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now() - start)
        .count();
  };
  slots_.resize(num_slots_);
  remaining_ = uses_;
  for (size_t i = 0; i < feed_slots_.size(); ++i) {
    slots_[feed_slots_[i]].tensor = feeds[i].second;
  }
  reads_.resize(max_inputs_);
  inputs_.resize(max_inputs_);
  int current_threads = threads;
  for (Step& step : steps_) {
    const Node& node = *step.node;
    const int n_in = node.num_inputs();
    for (int i = 0; i < n_in; ++i) {
      TensorValue& v = slots_[step.input_slots[i]];
      if (node.input_is_ref(i) && v.ref == nullptr) {
        // A fed tensor replaced the variable this input must update.
        return absl::InvalidArgumentError(absl::StrCat(
            node.op(), " node '", node.name(), "': input ", i, " ('", node.input(i).name(),
            "') must be a variable, but a fed tensor was given for it"));
      }
      if (node.input_is_ref(i) || v.ref == nullptr) {
        inputs_[i] = &v;
        continue;
      }
      // Reading a variable: share its current buffer (writers copy on write).
      absl::MutexLock var_lock(&v.ref->mu);
      if (!v.ref->value.IsInitialized()) {
        return absl::FailedPreconditionError(
            absl::StrCat("Attempting to use uninitialized variable ", v.ref->name,
                         " (read by node ", node.DebugString(), ")"));
      }
      reads_[i].tensor = v.ref->value;
      inputs_[i] = &reads_[i];
    }
    OpKernelContext ctx(node, absl::MakeConstSpan(inputs_.data(), n_in),
                        absl::MakeSpan(slots_.data() + step.first_output_slot, node.num_outputs()),
                        variables, CpuEngine(), stream_, &pool_);
    if (threads > 1) {
      int64_t elements = 0;
      for (int i = 0; i < n_in; ++i) elements += inputs_[i]->tensor.NumElements();
      const int wanted = ThreadPolicy::Global().TeamSize(threads, elements);
      if (wanted != current_threads) omp_set_num_threads(current_threads = wanted);
    }
    absl::Status s;
    const int64_t node_start = trace != nullptr ? since_start() : 0;
    s = RunKernel(*step.kernel, &ctx);
    if (trace != nullptr) {
      trace->nodes.push_back({node.name(), node.op(), node_start, since_start()});
    }
    if (!s.ok()) {
      return absl::Status(s.code(), absl::StrCat(node.op(), " node '", node.name(), "': ",
                                                 s.message()));
    }
    for (int i = 0; i < node.num_outputs(); ++i) {
      const TensorValue& out = slots_[step.first_output_slot + i];
      if (out.ref == nullptr && !out.tensor.IsInitialized()) {
        return absl::InternalError(absl::StrCat(node.op(), " node '", node.name(),
                                                "' produced no value for output ", i));
      }
    }
    for (int i = 0; i < n_in; ++i) {
      reads_[i] = TensorValue();
      const int slot = step.input_slots[i];
      if (--remaining_[slot] == 0 && !pinned_[slot]) {
        pool_.Recycle(&slots_[slot].tensor);
        slots_[slot].ref = nullptr;
      }
    }
  }
  if (outputs != nullptr) {
    for (int slot : fetch_slots_) {
      const TensorValue& v = slots_[slot];
      if (v.ref == nullptr) {
        outputs->push_back(v.tensor);
        fetched_.push_back(v.tensor);
        continue;
      }
      absl::MutexLock var_lock(&v.ref->mu);
      if (!v.ref->value.IsInitialized()) {
        return absl::FailedPreconditionError(
            absl::StrCat("Attempting to use uninitialized variable ", v.ref->name));
      }
      outputs->push_back(v.ref->value);
    }
  }
  return absl::OkStatus();
}

}  // namespace dflow
