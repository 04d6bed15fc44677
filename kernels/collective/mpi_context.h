// The process's MPI communicator for the Horovod-compatible collectives (docs/distributed.md).
//
// Under mpirun (OMPI_COMM_WORLD_SIZE set) the first Get() initializes MPI once
// (MPI_Init_thread, MPI_THREAD_SERIALIZED: only one thread calls MPI at a time), duplicates
// MPI_COMM_WORLD with MPI_ERRORS_RETURN, and starts a background thread that runs every
// collective. A lone process never touches MPI: it is rank 0 of 1 and every collective is local.
//
// Kernels hand Run() a CollectiveWork (RunAll() several) and block until it is done. The
// background threads agree on the order through rank 0 (negotiation.h: matched by node name,
// fused, stall warnings and timeouts) and then run non-blocking MPI collectives, polled against
// a deadline. So nothing blocks forever: a rank that never submits a name fails it on every
// rank after HOROVOD_STALL_SHUTDOWN_TIME_SECONDS (default 60); a rank that sends nothing for
// that long (killed, or its process hung) is reported lost and every later collective fails at
// once; a rank whose program ends tells rank 0, which fails what waits for it at once.
//
// At exit the thread says goodbye to rank 0, then MPI is finalized once every rank is exiting
// (a barrier waited for DFLOW_MPI_EXIT_TIMEOUT_SECONDS, default 60); past that it exits without
// MPI_Finalize and mpirun ends the job naming this rank.
#ifndef DFLOW_KERNELS_COLLECTIVE_MPI_CONTEXT_H_
#define DFLOW_KERNELS_COLLECTIVE_MPI_CONTEXT_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "mpi.h"
#include "graph/types.h"
#include "kernels/collective/negotiation.h"
#include "ops/collective/mpi_world.h"

namespace dflow {

// Horovod's reduce_op values (horovod/common: AVERAGE 0, SUM 1, ADASUM 2, MIN 3, MAX 4, PRODUCT 5).
enum class ReduceOp : int64_t {
  kAverage = 0,
  kSum = 1,
  kAdasum = 2,
  kMin = 3,
  kMax = 4,
  kProduct = 5,
};

// One kernel's collective: filled by the kernel, completed by Run().
struct CollectiveWork {
  CollectiveRequest request;   // request.attr: reduce_op (average runs as a sum) or root_rank.
  absl::Status local;          // This rank's own error: sent (as request.error) and returned.
  void* buffer = nullptr;      // Allreduce, broadcast: `count` elements, reduced in place.
  const void* send = nullptr;  // Allgather: this rank's `count` elements.
  int64_t count = 0;
  int64_t inner = 1;               // Allgather: elements per row.
  std::vector<int64_t> dim0s;      // Allgather result: every rank's dimension 0.
  std::vector<char> gathered;      // Allgather result: every rank's rows, rank by rank.
};

class MpiContext {
 public:
  // The process's context, created (and MPI initialized, under mpirun) on the first call; the
  // same error on every call when initialization failed.
  static absl::StatusOr<MpiContext*> Get();

  MpiContext(const MpiContext&) = delete;
  MpiContext& operator=(const MpiContext&) = delete;
  ~MpiContext();

  int rank() const { return world_.rank; }
  int size() const { return world_.size; }
  int local_rank() const { return world_.local_rank; }
  const CoordinatorOptions& options() const { return options_; }

  // Runs `work` once every rank has submitted its node name; blocks until done or failed (the
  // failure names the rank at fault). Thread-safe: concurrent calls may be fused.
  absl::Status Run(CollectiveWork* work) { return RunAll({work}); }
  // Submits every one of `works` at once (one cycle message, so the coordinator can fuse them)
  // and blocks until all are done; the first failure, if any.
  absl::Status RunAll(absl::Span<CollectiveWork* const> works);

  // Counters for tests and benchmarks: MPI allreduce calls, and tensors that shared one.
  int64_t allreduce_calls() const { return allreduce_calls_.load(); }
  int64_t fused_tensors() const { return fused_tensors_.load(); }

 private:
  struct Pending {
    CollectiveWork* work;
    bool done = false;
    absl::Status status;
  };

  MpiContext() = default;
  absl::Status Init();
  void Loop();
  // One cycle's exchange with rank 0 (or, on rank 0, with everyone): the response to run.
  absl::StatusOr<CycleResponse> Exchange(const CycleMessage& mine, bool* stop);
  absl::Status Execute(const CollectiveAction& action);
  // Takes queued works whose names are not pending yet; their requests go into `message`.
  void TakeQueued(CycleMessage* message);
  void Complete(Pending* p, absl::Status status);
  void FailAll(const absl::Status& status);  // And marks the context broken.
  // Polls `request` until done, an MPI error, or `deadline` (then DeadlineExceeded).
  absl::Status Wait(MPI_Request* request, absl::Time deadline);
  absl::StatusOr<std::string> Receive(int source, int tag, absl::Time deadline);
  absl::Status Send(const std::string& bytes, int dest, int tag, absl::Time deadline);

  MpiWorld world_;
  CoordinatorOptions options_;
  bool initialized_mpi_ = false;
  MPI_Comm comm_ = MPI_COMM_NULL;       // Data collectives; MPI_ERRORS_RETURN.
  MPI_Comm control_ = MPI_COMM_NULL;    // Cycle messages and responses.
  MPI_Comm exit_comm_ = MPI_COMM_NULL;  // The exit barrier only.

  std::mutex mu_;
  std::condition_variable queued_cv_, done_cv_;
  std::deque<Pending*> queue_;                 // Submitted, not yet sent to rank 0.
  std::map<std::string, Pending*> pending_;    // Sent, waiting for an action, by name.
  absl::Status broken_;                        // Set once: every later Run fails with it.
  bool stopping_ = false;
  std::thread thread_;

  std::unique_ptr<Coordinator> coordinator_;  // Rank 0 only.
  std::vector<char> fusion_;                   // The fused allreduces' buffer.
  std::atomic<int64_t> allreduce_calls_{0}, fused_tensors_{0};
};

}  // namespace dflow

#endif  // DFLOW_KERNELS_COLLECTIVE_MPI_CONTEXT_H_
