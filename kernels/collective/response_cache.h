// Horovod's response cache, dflow's version (docs/distributed.md, "The response cache").
//
// Once every rank has agreed to a collective through rank 0 (negotiation.h), every rank puts
// its request into an identical cache, at the same bit (the lowest free one), in the order of
// rank 0's response. Later submissions of that name with the same kind, dtype, shape and attr
// are hits: instead of a round trip to rank 0, each cycle every rank contributes one small
// control vector to a bitwise-AND allreduce (ControlVector below), and the hits every rank has
// are run in bit order, fused as rank 0 would fuse them. A name submitted with another request
// (a new shape, a local error) invalidates its bit on every rank, and the submission goes to
// rank 0 as before; so do cached submissions that some ranks have and others have not had for
// a while (rank 0 invalidates them: its Coordinator then reports stalls naming the ranks).
// No MPI here: plain data, testable alone.
#ifndef DFLOW_KERNELS_COLLECTIVE_RESPONSE_CACHE_H_
#define DFLOW_KERNELS_COLLECTIVE_RESPONSE_CACHE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "kernels/collective/negotiation.h"

namespace dflow {

// A set of cache bits, 64 to a word.
class BitSet {
 public:
  explicit BitSet(int words = 0) : words_(words, 0) {}
  void Set(int bit) { words_[bit / 64] |= uint64_t{1} << (bit % 64); }
  bool Get(int bit) const { return (words_[bit / 64] >> (bit % 64)) & 1; }
  bool Any() const;
  // The set bits, ascending.
  std::vector<int> Bits() const;
  std::vector<uint64_t>& words() { return words_; }
  const std::vector<uint64_t>& words() const { return words_; }

 private:
  std::vector<uint64_t> words_;
};

class ResponseCache {
 public:
  // HOROVOD_CACHE_CAPACITY (default 1024): the most entries; 0 turns the cache off.
  explicit ResponseCache(int capacity) : capacity_(capacity) {}

  int capacity() const { return capacity_; }
  int words() const { return (capacity_ + 63) / 64; }
  // The words that hold every bit in use (the highest bit ever given, until Clear).
  int used_words() const { return (static_cast<int>(slots_.size()) + 63) / 64; }
  int size() const { return static_cast<int>(by_name_.size()); }

  enum class Lookup { kMiss, kHit, kChanged };
  // kHit: `request` is cached exactly (its bit in *bit); kChanged: its name is cached with
  // another request or `request` carries an error (the bit to invalidate in *bit); else kMiss.
  Lookup Find(const CollectiveRequest& request, int* bit) const;
  // Adds an agreed allreduce or broadcast at the lowest free bit; no-op when full, present or
  // another kind (an allgather's dimension 0 may change every time).
  void Insert(const CollectiveRequest& request);
  void Erase(int bit);
  void Clear();
  const CollectiveRequest& request(int bit) const { return *slots_[bit]; }
  bool has(int bit) const { return bit < static_cast<int>(slots_.size()) && slots_[bit]; }

  // The actions for `bits` (every rank's hits), in bit order: allreduces fused by dtype and
  // reduction up to `fusion_threshold` bytes, as Coordinator::Decide fuses them.
  std::vector<CollectiveAction> Actions(const BitSet& bits, int64_t fusion_threshold) const;

 private:
  int capacity_;
  std::vector<std::optional<CollectiveRequest>> slots_;  // By bit.
  std::map<std::string, int> by_name_;
};

// One rank's part of a cycle's control allreduce (MPI_BAND over uint64 words), and the result.
// Flags that mean "any rank" travel inverted, so that AND computes OR.
struct ControlVector {
  bool need_negotiation = false;  // Requests for rank 0, or (rank 0) names it still tracks.
  bool shutdown = false;          // This rank's program is ending.
  BitSet hits;                    // Cached submissions waiting to run.
  BitSet invalid;                 // Bits to drop from every rank's cache this cycle.

  explicit ControlVector(int words) : hits(words), invalid(words) {}
  // 1 + 3 * words words: flags, hits, ~hits, ~invalid.
  std::vector<uint64_t> Encode() const;
};

struct ControlResult {
  bool any_negotiation = false;
  bool any_shutdown = false;
  BitSet all_hits;     // Every rank has them.
  BitSet any_hits;     // Some rank has them.
  BitSet any_invalid;  // Some rank invalidated them.

  // From the bitwise AND of every rank's Encode().
  static ControlResult Decode(const std::vector<uint64_t>& anded, int words);
};

// Rank 0's watch over cached names that some ranks have submitted and others have not.
class PartialHits {
 public:
  // Records this cycle's result; returns the bits partial for at least `after` (to invalidate).
  std::vector<int> Update(const ControlResult& result, absl::Time now, absl::Duration after);

 private:
  std::map<int, absl::Time> since_;
};

}  // namespace dflow

#endif  // DFLOW_KERNELS_COLLECTIVE_RESPONSE_CACHE_H_
