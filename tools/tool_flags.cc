#include "tools/tool_flags.h"

#include <cmath>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "graph/graph_def_io.h"
#include "graph/status_macros.h"

namespace dflow {

std::optional<int> ParseToolFlags(int argc, char** argv, absl::string_view program,
                                  const char* usage) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--") == 0) break;
    for (const char* help : {"--help", "-help", "-h", "--helpfull", "-helpfull", "--helpshort"}) {
      if (std::strcmp(argv[i], help) == 0) {
        std::cout << usage;
        return 0;
      }
    }
  }
  absl::SetProgramUsageMessage(usage);
  std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  if (positional.size() > 1) {
    return ToolFail(program, absl::StrCat("unexpected argument '", positional[1],
                                          "' (flags are written --name=value; see --help)"));
  }
  return std::nullopt;
}

absl::Status CheckFlagAtLeast(absl::string_view flag, int64_t value, int64_t min) {
  if (value >= min) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("--", flag, " must be >= ", min, ", got ", value));
}

absl::StatusOr<float> LearningRateFlag(double value) {
  if (!(value > 0) || !std::isfinite(value) || value > 1e30) {
    return absl::InvalidArgumentError(
        absl::StrCat("--learning_rate must be a positive number, got ", value));
  }
  return static_cast<float>(value);
}

int ToolFail(absl::string_view program, absl::string_view message) {
  std::cerr << program << ": error: " << message << std::endl;
  return 1;
}

absl::Status WriteGraphFlag(const Graph& graph, const std::string& path, absl::string_view what,
                            std::ostream& log) {
  GraphDef def;
  graph.ToGraphDef(&def);
  DFLOW_RETURN_IF_ERROR(WriteGraphDefFile(path, def));
  log << "wrote the " << what << " (" << def.node_size() << " nodes) to " << path << std::endl;
  return absl::OkStatus();
}

}  // namespace dflow
