// Per-run options and what a traced run reports, as TensorFlow's RunOptions and RunMetadata.
#ifndef DFLOW_RUNTIME_RUN_OPTIONS_H_
#define DFLOW_RUNTIME_RUN_OPTIONS_H_

#include <cstdint>
#include <string>
#include <vector>

namespace dflow {

// Per-run options, as TensorFlow's RunOptions.
struct RunOptions {
  bool trace = false;  // Record each node's execution time in RunMetadata.
  // When > 0, a run of a graph with control flow that takes longer fails with DeadlineExceeded
  // (TensorFlow's name; a loop that never ends is stopped this way).
  int64_t timeout_in_ms = 0;
};

// One node's execution in a traced run; times are nanoseconds since the run started.
struct NodeExecStats {
  std::string node;
  std::string op;
  int64_t start_ns = 0;
  int64_t end_ns = 0;
  int64_t flops = 0;  // Its arithmetic, for the ops runtime/flops.h counts; else 0.
};

// What a traced run reports (see runtime/profile.h for summaries and Chrome traces).
struct RunMetadata {
  int64_t start_unix_ns = 0;  // Wall-clock start of the run.
  int64_t duration_ns = 0;    // The whole Session::Run, plan lookup included.
  std::vector<NodeExecStats> nodes;  // In execution order.
};

}  // namespace dflow

#endif  // DFLOW_RUNTIME_RUN_OPTIONS_H_
