// Saving and restoring a Session's variables.
#ifndef DFLOW_RUNTIME_CHECKPOINT_H_
#define DFLOW_RUNTIME_CHECKPOINT_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "runtime/session.h"

namespace dflow {

// Writes the variables named in `names` (every VariableV2 of the session's graph when empty) to
// `path` atomically. Fails, writing nothing, if one is unknown or uninitialized.
absl::Status SaveCheckpoint(Session& session, const std::string& path,
                            const std::vector<std::string>& names = {});

// Sets the variables named in `names` (every VariableV2 of the graph when empty) from `path`.
// Checks everything first, so that nothing is half-restored: a variable missing from the file,
// or saved with another dtype or a shape the graph's variable cannot hold, fails naming it.
absl::Status RestoreCheckpoint(Session& session, const std::string& path,
                               const std::vector<std::string>& names = {});

}  // namespace dflow

#endif  // DFLOW_RUNTIME_CHECKPOINT_H_
