// Saving and restoring a Session's state: its variables and its random-op streams.
//
// Checkpoints are TensorFlow's V2 format (runtime/tensor_bundle.h): `PREFIX.index` and
// `PREFIX.data-00000-of-00001`, so TensorFlow restores dflow's checkpoints and dflow restores
// TensorFlow's. A save also updates the `checkpoint` state file (TensorFlow's CheckpointState,
// text) in PREFIX's folder, so that the folder alone names its newest checkpoint.
//
// A checkpoint holds one tensor per variable, under the variable's session name, and one per
// started random stream (kernels/random_state.h), under kRandomStatePrefix + the node's name,
// holding int64 [2] {key, runs so far}. That is also how older versions kept a stream, as a
// pseudo-variable, so their checkpoints restore unchanged; an int64 [0] entry means "not started".
// dflow's first checkpoint format (one binary proto file at PATH, proto/checkpoint.proto) still
// restores.
#ifndef DFLOW_RUNTIME_CHECKPOINT_H_
#define DFLOW_RUNTIME_CHECKPOINT_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "runtime/session.h"

namespace dflow {

// Entry names with this prefix are random states, never variables.
inline constexpr absl::string_view kRandomStatePrefix = "_rng_state/";

// The state file's name, in the checkpoints' folder, as TensorFlow names it.
inline constexpr absl::string_view kCheckpointStateFile = "checkpoint";

// Writes the entries named in `names` (every VariableV2 of the session's graph and every started
// random stream when empty) as the checkpoint `prefix`, creating its folder if needed. Each file
// is written to a temporary, synced and renamed, the index last; stale temporaries of killed
// writers of this prefix are removed first. Fails, writing nothing, if a variable is unknown or
// uninitialized, or a named random state names no node of the graph.
absl::Status SaveCheckpoint(Session& session, const std::string& prefix,
                            const std::vector<std::string>& names = {});

// Sets the entries named in `names` from the checkpoint at `path`: a V2 prefix, a folder (its
// state file's newest checkpoint) or a file of dflow's first format. When `names` is empty: every
// VariableV2 of the graph, and every random stream of the graph's nodes, which continues from the
// checkpoint's state or, when the checkpoint has none for it, starts afresh at run 0. Reads and
// checks everything first (checksums, duplicates, dtypes, shapes), so that nothing is
// half-restored: any failure changes no variable and no stream.
absl::Status RestoreCheckpoint(Session& session, const std::string& path,
                               const std::vector<std::string>& names = {});

// Makes `prefix` the newest checkpoint of its folder's `checkpoint` state file, keeping the older
// ones that still exist, oldest first, as TensorFlow's update_checkpoint_state does (SaveCheckpoint
// and SaveThroughSaver call it).
absl::Status UpdateCheckpointState(const std::string& prefix);

// What RestoreCheckpoint(path) would read: the V2 prefix (from a folder's state file when `path`
// is a folder, with a trailing ".index" dropped), or `path` itself for a first-format file.
// NotFound when there is no checkpoint there.
absl::StatusOr<std::string> ResolveCheckpoint(const std::string& path);

// As tf.train.latest_checkpoint: the prefix named by `dir`'s state file, relative paths taken
// from `dir`. NotFound when the state file or the checkpoint it names is missing.
absl::StatusOr<std::string> LatestCheckpoint(const std::string& dir);

}  // namespace dflow

#endif  // DFLOW_RUNTIME_CHECKPOINT_H_
