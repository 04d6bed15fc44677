#include "runtime/step_inputs.h"

#include <mutex>

#include "absl/strings/str_cat.h"
#include "kernels/dnnl_util.h"
#include "runtime/thread_policy.h"

namespace dflow {

absl::Status ResolveRefInput(const Node& node, int i, TensorValue& v, TensorValue& read,
                             TensorValue** input) {
  if (node.input_is_ref(i) && v.ref == nullptr) {
    // A fed tensor replaced the variable this input must update.
    return absl::InvalidArgumentError(absl::StrCat(
        node.op(), " node '", node.name(), "': input ", i, " ('", node.input(i).name(),
        "') must be a variable, but a fed tensor was given for it"));
  }
  if (node.input_is_ref(i) || v.ref == nullptr) {
    *input = &v;
    return absl::OkStatus();
  }
  std::lock_guard<std::mutex> var_lock(v.ref->mu.reader());
  if (!v.ref->value.IsInitialized()) {
    const absl::Status s = UninitializedError(*v.ref);
    return absl::Status(s.code(),
                        absl::StrCat(s.message(), " (read by node ", node.DebugString(), ")"));
  }
  read.tensor = v.ref->value;
  *input = &read;
  return absl::OkStatus();
}

absl::Status RefreshCachedRead(const Node& node, int i, TensorValue& v, CachedRead& cache,
                               TensorValue& read, TensorValue** input) {
  cache = CachedRead();
  if (v.ref == nullptr || node.input_is_ref(i)) return ResolveRefInput(node, i, v, read, input);
  {
    std::lock_guard<std::mutex> var_lock(v.ref->mu.reader());
    const Tensor& value = v.ref->value;
    if (value.IsInitialized() && value.TotalBytes() <= kMaxCachedReadBytes) {
      cache.value.tensor = value;
      cache.var = v.ref;
      cache.version = v.ref->mu.version();
      *input = &cache.value;
      return absl::OkStatus();
    }
    if (value.IsInitialized()) {  // Too big to keep: read it as uncached reads are, one lock.
      read.tensor = value;
      *input = &read;
      return absl::OkStatus();
    }
  }
  return ResolveRefInput(node, i, v, read, input);  // Uninitialized: its error names the node.
}

void SetTeamFor(const OpKernel& kernel, absl::Span<TensorValue* const> inputs, int threads,
                int* current) {
  int64_t elements = 0;
  for (const TensorValue* v : inputs) elements += v->tensor.NumElements();
  const int wanted = ThreadPolicy::Global().TeamSize(threads, kernel.TeamElements(elements));
  if (wanted != *current) omp_set_num_threads(*current = wanted);
}

absl::Status NodeError(const Node& node, const absl::Status& s) {
  return absl::Status(s.code(), absl::StrCat(node.op(), " node '", node.name(), "': ", s.message()));
}

}  // namespace dflow
