// session_run's command line: its --help text and the flags parsed into Options, checked for
// the combinations that make sense. No I/O beyond reading argv.
#ifndef DFLOW_TOOLS_SESSION_RUN_FLAGS_H_
#define DFLOW_TOOLS_SESSION_RUN_FLAGS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace dflow {

// The flags (see SessionRunUsage()).
struct Options {
  std::string graph, init, restore, save, output_dir, profile;
  std::string meta_graph, saved_model, tag_set, signature_def;
  bool show = false;
  std::vector<std::pair<std::string, std::string>> feeds;
  std::vector<std::string> fetches, targets;
  int64_t steps = 1;
  int64_t batch_size = 0;
  int64_t memory_limit = 0;
  std::optional<uint64_t> seed;
  bool print = false;
  bool list_unsupported = false;
  bool shard = false;
};

// The --help text.
const char* SessionRunUsage();

// The flags of argv[1..argc), or InvalidArgument naming the bad or missing one.
absl::StatusOr<Options> ParseArgs(int argc, char** argv);

}  // namespace dflow

#endif  // DFLOW_TOOLS_SESSION_RUN_FLAGS_H_
