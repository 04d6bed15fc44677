// What the straight-line and the dataflow executors share about calling one kernel: how an
// input value becomes a kernel input, and how many OpenMP threads a node gets.
#ifndef DFLOW_RUNTIME_STEP_INPUTS_H_
#define DFLOW_RUNTIME_STEP_INPUTS_H_

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "graph/graph.h"
#include "kernels/op_kernel.h"

namespace dflow {

// Makes *input point at what input `i` of `node` passes to its kernel, given the edge's value
// `v`: the value itself for tensors and for reference inputs, or, for a variable read, `read`
// filled with the variable's current buffer (shared; writers copy on write). Fails when a fed
// tensor stands where a variable must be updated, or when a read variable is uninitialized.
absl::Status ResolveRefInput(const Node& node, int i, TensorValue& v, TensorValue& read,
                             TensorValue** input);
inline absl::Status ResolveInput(const Node& node, int i, TensorValue& v, TensorValue& read,
                                 TensorValue** input) {
  if (v.ref == nullptr && !node.input_is_ref(i)) {  // The common case, inline.
    *input = &v;
    return absl::OkStatus();
  }
  return ResolveRefInput(node, i, v, read, input);
}

// A variable read that a straight-line plan keeps between runs of one run state. `value` shares
// the variable's buffer as of `version`. While the variable keeps that version, a run reads
// `value` without locking the variable or counting a reference to its buffer: both are writes
// that threads running the plan at once would share. Copy on write keeps the buffer unchanged.
struct CachedRead {
  TensorValue value;
  const Variable* var = nullptr;
  uint64_t version = 0;
};

// Reads bigger than this are not kept: the old buffer would outlive a writer's copy until the
// state's next run, and a read of a big variable costs little next to its reader's work.
inline constexpr int64_t kMaxCachedReadBytes = 256 << 10;

// ResolveInput for an input that reads a variable, through `cache`; `read` as there (used for
// reads too big to keep).
absl::Status RefreshCachedRead(const Node& node, int i, TensorValue& v, CachedRead& cache,
                               TensorValue& read, TensorValue** input);
inline absl::Status ResolveCachedRead(const Node& node, int i, TensorValue& v, CachedRead& cache,
                                      TensorValue& read, TensorValue** input) {
  if (v.ref != nullptr && v.ref == cache.var && v.ref->mu.version() == cache.version) {
    *input = &cache.value;
    return absl::OkStatus();
  }
  return RefreshCachedRead(node, i, v, cache, read, input);
}

// With at most `threads` OpenMP threads for the run, sets the team size (ThreadPolicy) for a
// node of `kernel` reading `inputs`; *current is the size set last. Call it only when
// threads > 1.
void SetTeamFor(const OpKernel& kernel, absl::Span<TensorValue* const> inputs, int threads,
                int* current);

// "<op> node '<name>': <message>", keeping the code.
absl::Status NodeError(const Node& node, const absl::Status& s);

}  // namespace dflow

#endif  // DFLOW_RUNTIME_STEP_INPUTS_H_
