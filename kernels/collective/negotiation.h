// How the ranks agree on which collectives to run, and in which order (docs/distributed.md).
//
// Each rank's background thread (mpi_context.cc) sends rank 0 one CycleMessage per cycle that
// negotiates (with the response cache, response_cache.h: only cycles where some rank has new or
// changed names, or rank 0 still tracks some): the collectives its kernels submitted since, by
// node name. Rank 0's Coordinator
// keeps a table of names and which ranks have submitted them; once every rank has, the name is
// checked (same kind, dtype, shape, attr) and scheduled. Rank 0 answers every rank with the same
// CycleResponse, and every rank runs its actions in that order, so ranks may submit collectives
// in different orders without deadlocking. Ready allreduces of one dtype and reduction are fused
// into one action up to a byte threshold (Horovod's tensor fusion). A name some ranks submitted
// but others have not for the stall check time is reported; past the shutdown time it fails on
// every rank with an error naming the missing ranks. No MPI here: plain data, testable alone.
#ifndef DFLOW_KERNELS_COLLECTIVE_NEGOTIATION_H_
#define DFLOW_KERNELS_COLLECTIVE_NEGOTIATION_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "graph/types.h"

namespace dflow {

enum class CollectiveKind : int64_t { kAllreduce = 1, kBroadcast = 2, kAllgather = 3 };

// "HorovodAllreduce" etc.
const char* CollectiveOpName(CollectiveKind kind);

// One rank's collective, as the coordinator sees it.
struct CollectiveRequest {
  std::string name;  // The node's name: what matches the ranks' requests.
  CollectiveKind kind = CollectiveKind::kAllreduce;
  DataType dtype = DT_FLOAT;
  std::vector<int64_t> dims;
  int64_t attr = 0;    // reduce_op for allreduce (Horovod's values), root_rank for broadcast.
  std::string error;   // Non-empty: this rank failed at this collective; every rank gets it.
};

// The request's tensor size in bytes.
int64_t RequestBytes(const CollectiveRequest& request);
// The MPI reduction an allreduce's reduce_op travels as: average as a sum (each rank divides),
// so that it fuses with sums.
int64_t WireReduceOp(int64_t reduce_op);

struct CycleMessage {
  std::vector<CollectiveRequest> requests;
  bool shutdown = false;  // This rank's program is ending: it sends no more messages.
};

// One step every rank takes, in the response's order.
struct CollectiveAction {
  std::vector<std::string> names;  // Run together: more than one only for a fused allreduce.
  CollectiveKind kind = CollectiveKind::kAllreduce;
  absl::StatusCode error_code = absl::StatusCode::kOk;
  std::string error;               // Set with error_code: fail these names with it.
  std::vector<int64_t> dim0s;      // Allgather: every rank's dimension 0, rank by rank.
};

struct CycleResponse {
  std::vector<CollectiveAction> actions;
  std::string fatal;  // Non-empty: the job cannot go on (a rank was lost); fail everything.
};

std::string SerializeCycleMessage(const CycleMessage& message);
absl::StatusOr<CycleMessage> ParseCycleMessage(absl::string_view bytes);
std::string SerializeCycleResponse(const CycleResponse& response);
absl::StatusOr<CycleResponse> ParseCycleResponse(absl::string_view bytes);

// The timing and fusion knobs, Horovod's environment variables (read by FromEnv).
struct CoordinatorOptions {
  absl::Duration stall_check = absl::Seconds(5);      // HOROVOD_STALL_CHECK_TIME_SECONDS
  absl::Duration stall_shutdown = absl::Seconds(60);  // HOROVOD_STALL_SHUTDOWN_TIME_SECONDS
  int64_t fusion_threshold = int64_t{64} << 20;       // HOROVOD_FUSION_THRESHOLD (bytes)
  absl::Duration cycle = absl::Milliseconds(5);       // HOROVOD_CYCLE_TIME (milliseconds)
  int cache_capacity = 1024;                          // HOROVOD_CACHE_CAPACITY (0: off)
  // Defaults overridden by the variables that are set; InvalidArgument naming a bad one.
  static absl::StatusOr<CoordinatorOptions> FromEnv();
};

// Rank 0's table of submitted names.
class Coordinator {
 public:
  Coordinator(int size, const CoordinatorOptions& options);

  // Records rank `rank`'s message of this cycle.
  void Add(int rank, const CycleMessage& message, absl::Time now);
  bool shut_down(int rank) const { return shut_down_[rank]; }
  // Whether names wait in the table (so Decide must keep running: stalls, timeouts).
  bool tracking() const { return !table_.empty(); }

  // The actions of this cycle: names every rank has submitted (checked, fused), failures, and
  // names stalled past the shutdown time. Stall warnings (one line each) go to `warnings`.
  CycleResponse Decide(absl::Time now, std::vector<std::string>* warnings);

 private:
  struct Entry {
    std::vector<bool> have;
    std::vector<CollectiveRequest> requests;  // By rank; valid where have[rank].
    int count = 0;
    absl::Time first_seen;
    absl::Time last_warned = absl::InfinitePast();
    int64_t order = 0;  // When the entry became complete: the schedule's order.
  };
  // An error action when the ranks' requests disagree or one failed; else OK.
  absl::Status Check(const Entry& entry) const;

  int size_;
  CoordinatorOptions options_;
  std::map<std::string, Entry> table_;
  std::vector<bool> shut_down_;
  int64_t next_order_ = 0;
};

}  // namespace dflow

#endif  // DFLOW_KERNELS_COLLECTIVE_NEGOTIATION_H_
