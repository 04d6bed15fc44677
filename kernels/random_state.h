// The state of a Session's stateful random nodes (RandomUniform, TruncatedNormal): per node, the
// generator's key and how many times the node has run, so that every execution plan of the
// Session continues one stream per node and a checkpoint can carry it.
//
//   RandomState* state = store.LookupOrCreate("dropout/random_uniform");
//   RandomState::Position p = state->Next(seed_key);  // p.key, p.run: this run's stream
#ifndef DFLOW_KERNELS_RANDOM_STATE_H_
#define DFLOW_KERNELS_RANDOM_STATE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"

namespace dflow {

// One node's stream. Thread-safe: concurrent runs of the node each get a distinct run index.
class RandomState {
 public:
  struct Position {
    uint64_t key = 0;
    uint64_t run = 0;  // The next run's index: the runs so far.
  };

  // This run's key and index, and counts the run. A state not yet started (new, or reset by a
  // restore) starts at run 0 with `initial_key`.
  Position Next(uint64_t initial_key);
  // Where the stream stands; nullopt when it has not started.
  std::optional<Position> Get() const;
  // Moves the stream to `position`, or back to not started.
  void Set(std::optional<Position> position);

 private:
  mutable absl::Mutex mu_;
  std::optional<Position> position_ ABSL_GUARDED_BY(mu_);
};

// The random states of one Session, by node name; created on first lookup, not started.
class RandomStateStore {
 public:
  // Never null; the state lives as long as the store.
  RandomState* LookupOrCreate(const std::string& node_name);
  // Every started state, sorted by node name.
  std::vector<std::pair<std::string, RandomState::Position>> Snapshot() const;
  // Sets the named states (nullopt: back to not started) in one step under the store's lock,
  // so that a concurrent Snapshot sees all or none of them.
  void SetAll(absl::Span<const std::pair<std::string, std::optional<RandomState::Position>>> states);

  // The session's seed for nodes whose seed and seed2 attrs are both 0 (SessionOptions::
  // random_seed): such a node's key is derived from it and the node's name instead of drawn at
  // random. Set before the first run.
  void set_session_seed(std::optional<uint64_t> seed) { session_seed_ = seed; }
  std::optional<uint64_t> session_seed() const { return session_seed_; }

 private:
  RandomState* LookupOrCreateLocked(const std::string& node_name) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::unique_ptr<RandomState>> states_ ABSL_GUARDED_BY(mu_);
  std::optional<uint64_t> session_seed_;
};

}  // namespace dflow

#endif  // DFLOW_KERNELS_RANDOM_STATE_H_
