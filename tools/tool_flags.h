// Command-line handling shared by dflow's absl-flags tools (mnist_softmax, mnist_cnn, mnist_rnn).
#ifndef DFLOW_TOOLS_TOOL_FLAGS_H_
#define DFLOW_TOOLS_TOOL_FLAGS_H_

#include <optional>
#include <ostream>
#include <string>

#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "graph/graph.h"

namespace dflow {

// Prints `usage` for --help (and absl's help spellings), parses the absl flags, and rejects
// positional arguments. Returns the exit status to stop with (0 after help, 1 after an error
// it printed), or nullopt to go on.
std::optional<int> ParseToolFlags(int argc, char** argv, absl::string_view program,
                                  const char* usage);

// Prints "<program>: error: <message>" on stderr and returns exit status 1.
int ToolFail(absl::string_view program, absl::string_view message);

// "--<flag> must be >= <min>, got <value>" unless value >= min: the tools' bound checks.
absl::Status CheckFlagAtLeast(absl::string_view flag, int64_t value, int64_t min);

// --learning_rate as the float the optimizers take: a positive number (finite, at most 1e30).
absl::StatusOr<float> LearningRateFlag(double value);

// --write_graph: writes `graph` to `path` (text if it ends in .pbtxt, else binary), then
// "wrote the <what> (<n> nodes) to <path>" on `log`.
absl::Status WriteGraphFlag(const Graph& graph, const std::string& path, absl::string_view what,
                            std::ostream& log);

}  // namespace dflow

#endif  // DFLOW_TOOLS_TOOL_FLAGS_H_
