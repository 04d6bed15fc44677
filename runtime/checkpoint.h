// Saving and restoring a Session's state: its variables and its random-op streams.
//
// A checkpoint holds one entry per variable, under the variable's session name, and one per
// started random stream (kernels/random_state.h), under kRandomStatePrefix + the node's name,
// holding int64 [2] {key, runs so far}. That is also how older versions kept a stream, as a
// pseudo-variable, so their checkpoints restore unchanged; an int64 [0] entry means "not started".
#ifndef DFLOW_RUNTIME_CHECKPOINT_H_
#define DFLOW_RUNTIME_CHECKPOINT_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "runtime/session.h"

namespace dflow {

// Entry names with this prefix are random states, never variables.
inline constexpr absl::string_view kRandomStatePrefix = "_rng_state/";

// Writes the entries named in `names` (every VariableV2 of the session's graph and every started
// random stream when empty) to `path` atomically. Fails, writing nothing, if a variable is
// unknown or uninitialized, or a named random state names no node of the graph.
absl::Status SaveCheckpoint(Session& session, const std::string& path,
                            const std::vector<std::string>& names = {});

// Sets the entries named in `names` from `path`. When `names` is empty: every VariableV2 of the
// graph, and every random stream of the graph's nodes, which continues from the checkpoint's
// state or, when the checkpoint has none for it, starts afresh at run 0. Checks everything first,
// so that nothing is half-restored: a variable missing from the file, saved with another dtype or
// a shape the graph's variable cannot hold, or a malformed random state fails naming it.
absl::Status RestoreCheckpoint(Session& session, const std::string& path,
                               const std::vector<std::string>& names = {});

}  // namespace dflow

#endif  // DFLOW_RUNTIME_CHECKPOINT_H_
