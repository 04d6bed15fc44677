// Reading traced runs (RunOptions::trace): a per-node and per-op time table, and the Chrome
// trace format that chrome://tracing and https://ui.perfetto.dev open.
//
//   RunOptions options;
//   options.trace = true;
//   RunMetadata meta;
//   session->Run(options, feeds, fetches, targets, &outputs, &meta);
//   std::cout << ProfileSummary({meta}, 10);
//   WriteChromeTrace({meta}, "step.json");
#ifndef DFLOW_RUNTIME_PROFILE_H_
#define DFLOW_RUNTIME_PROFILE_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "runtime/run_options.h"

namespace dflow {

// A table of the time spent per op type and in the `top_nodes` slowest nodes, summed over
// `runs`, with each share of the runs' total time.
std::string ProfileSummary(absl::Span<const RunMetadata> runs, int top_nodes = 10);

// The runs as Chrome trace events ({"traceEvents": [...]}): one complete event per node, placed
// at its wall-clock time relative to the first run, plus one per run.
std::string ChromeTraceJson(absl::Span<const RunMetadata> runs);

// Writes ChromeTraceJson(runs) to `path` (atomically); fails naming the file.
absl::Status WriteChromeTrace(absl::Span<const RunMetadata> runs, const std::string& path);

}  // namespace dflow

#endif  // DFLOW_RUNTIME_PROFILE_H_
