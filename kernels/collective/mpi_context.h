// The process's MPI communicator for the Horovod-compatible collectives (docs/distributed.md).
//
// Under mpirun (OMPI_COMM_WORLD_SIZE set) the first Get() initializes MPI once
// (MPI_Init_thread, MPI_THREAD_MULTIPLE: the watchdog below calls MPI while the background
// thread is inside a blocking call), duplicates MPI_COMM_WORLD with MPI_ERRORS_RETURN, and
// starts a background thread that runs every collective. A lone process never touches MPI: it
// is rank 0 of 1 and every collective is local.
//
// Kernels hand Run() a CollectiveWork (RunAll() several) and block until it is done (no
// spinning: the background thread usually shares the kernel's core, see docs/distributed.md);
// each side signals the other's condition variable only when that side is blocked. Each cycle
// the background threads agree on what to run: a small control allreduce of cache bits
// (response_cache.h) runs collectives that every rank has submitted and that were agreed
// before, and names that are new (or changed) go through rank 0 (negotiation.h: matched by
// name, fused, stall warnings and timeouts) in the same cycle. The data collectives are
// blocking MPI calls (MPI_Allreduce, MPI_Bcast, MPI_Allgatherv), as fast as MPI gets.
//
// Nothing blocks forever: a watchdog thread answers the other ranks' liveness probes and, when
// a blocking call on the background thread has lasted HOROVOD_STALL_SHUTDOWN_TIME_SECONDS
// (default 60), probes every rank; the ranks that do not answer are named lost and every
// waiting collective fails with that error (the stuck thread is abandoned; the buffers it may
// still touch are kept alive). A rank that never submits a name fails it on every rank after
// that time too; a rank whose program ends tells the others, which fail what waits for it.
//
// At exit the thread announces the shutdown, then MPI is finalized once every rank is exiting
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
#include "graph/tensor.h"
#include "graph/types.h"
#include "kernels/collective/negotiation.h"
#include "kernels/collective/response_cache.h"
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
  // Allreduce, broadcast: `count` elements, the result (reduced in place when `send` is null).
  void* buffer = nullptr;
  // Allgather: this rank's `count` elements. Allreduce: its input when not already in `buffer`
  // (MPI reads it there, or it is copied straight into the fusion buffer: no kernel copy).
  const void* send = nullptr;
  double scale = 1.0;  // Allreduce: the result times this (postscale, average's 1 / size).
  int64_t count = 0;
  int64_t inner = 1;               // Allgather: elements per row.
  std::vector<int64_t> dim0s;      // Allgather result: every rank's dimension 0.
  std::vector<char> gathered;      // Allgather result: every rank's rows, rank by rank.
  // The tensors behind buffer/send: kept alive if a lost rank leaves MPI stuck on them.
  std::vector<Tensor> keep_alive;
};

// out[i] = in[i] * factor for n elements of `dtype` (float, int32, int64; integers scaled in
// double and truncated toward zero, as Horovod does); in == out is allowed.
absl::Status ScaleElements(DataType dtype, const void* in, void* out, int64_t n, double factor);

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
  // Submits every one of `works` at once (one cycle takes them all, so they can be fused) and
  // blocks until all are done; the first failure, if any.
  absl::Status RunAll(absl::Span<CollectiveWork* const> works);

  // Counters for tests and benchmarks: MPI allreduce calls, tensors that shared one, and
  // collectives run from the response cache (no round trip to rank 0) or through rank 0.
  int64_t allreduce_calls() const { return allreduce_calls_.load(); }
  int64_t fused_tensors() const { return fused_tensors_.load(); }
  int64_t cached_runs() const { return cached_runs_.load(); }
  int64_t negotiated_runs() const { return negotiated_runs_.load(); }

 private:
  struct Pending {
    CollectiveWork* work = nullptr;
    // Set under mu_ after `status`; read without it by the waiter (acquire).
    std::atomic<bool> done{false};
    absl::Status status;
    int bit = -1;       // Cached: its bit, waiting for every rank's hit.
    bool sent = false;  // Sent to rank 0, waiting for its answer.
  };

  MpiContext() = default;
  absl::Status Init();
  void Loop();
  // One cycle with the response cache (every rank takes part); false when the loop ends.
  bool CachedCycle();
  // One cycle through rank 0 only (the cache is off, or a rank has left); false at the end.
  bool NegotiatedCycle();
  // Runs rank 0's response (`insert`: caching what it agreed); false (after failing
  // everything) when the loop must end.
  bool RunResponse(const absl::StatusOr<CycleResponse>& response, bool stop, bool insert);
  // One cycle's exchange with rank 0 (or, on rank 0, with everyone): the response to run.
  // `take_queue`: add what is queued meanwhile (else `mine` is the whole message).
  absl::StatusOr<CycleResponse> Exchange(const CycleMessage& mine, bool take_queue, bool* stop);
  // Runs one agreed action; `insert`: caches its requests (on every rank alike); `runs`
  // counts its names when it succeeds.
  absl::Status Execute(const CollectiveAction& action, bool insert, std::atomic<int64_t>* runs);
  // The MPI call of `action`; *called once MPI was called (else a refusal, alike on every rank).
  absl::Status Collective(const CollectiveAction& action, const std::vector<Pending*>& works,
                          const std::string& what, bool* called);
  // Takes queued works whose names are not pending yet; their requests go into `message`.
  void TakeQueued(CycleMessage* message);
  // Takes queued works into pending_: cache hits wait for their bit, the rest for rank 0.
  void SortQueued();
  // Completes `works` (null entries skipped) with `status`, or each its own local error.
  void Complete(const std::vector<Pending*>& works, const absl::Status& status);
  // The background thread waits on queued_cv_ (mu_ held in `lock`) for at most `timeout`
  // unless `woken()`, marked as blocked so that RunAll signals it.
  template <typename Pred>
  void WaitForWork(std::unique_lock<std::mutex>& lock, absl::Duration timeout, Pred woken);
  void FailAll(const absl::Status& status);  // And marks the context broken.
  // Every waiting work fails with `status` (mu_ held).
  void FailAllLocked(const absl::Status& status);
  // Marks a blocking MPI call on the background thread, which the watchdog watches. Leave()
  // is false when the watchdog gave up on the call: then touch none of its works.
  void Enter(const std::string& what);
  bool Leave();
  void WatchLoop();
  // Probes every other rank while the call `call` is stuck; a failure naming the lost ranks,
  // or OK when every rank answers (a slow transfer).
  absl::Status Diagnose(int64_t call, const std::string& what, std::vector<int64_t>* behind);
  void AnswerProbes();
  // Fails everything with `status` and gives up on the stuck background thread (mu_ held).
  void Abandon(const absl::Status& status);
  bool Abandoned();
  // A non-blocking data collective's request, polled until done (an MPI return code).
  int Poll(MPI_Request* request);
  // Polls `request` until done, an MPI error, or `deadline` (then DeadlineExceeded).
  absl::Status Wait(MPI_Request* request, absl::Time deadline);
  absl::StatusOr<std::string> Receive(int source, int tag, absl::Time deadline);
  absl::Status Send(const std::string& bytes, int dest, int tag, absl::Time deadline);

  MpiWorld world_;
  CoordinatorOptions options_;
  // For tests: DFLOW_MPI_TEST_DIE_IN=<rank>:<name> kills that rank (SIGKILL) as it enters the
  // agreed data collective `name`: a rank lost mid-transfer.
  std::string die_in_;
  // DFLOW_MPI_NONBLOCKING=1: the data collectives as MPI_Iallreduce etc. polled with MPI_Test
  // (the slower way used before; kept to compare).
  bool nonblocking_ = false;
  bool initialized_mpi_ = false;
  MPI_Comm comm_ = MPI_COMM_NULL;       // Data collectives; MPI_ERRORS_RETURN.
  MPI_Comm control_ = MPI_COMM_NULL;    // Cycle messages and responses.
  MPI_Comm exit_comm_ = MPI_COMM_NULL;  // The exit barrier only.
  MPI_Comm probe_ = MPI_COMM_NULL;      // The watchdogs' liveness probes.

  std::mutex mu_;
  std::condition_variable queued_cv_, done_cv_, exit_cv_, watch_cv_;
  std::deque<Pending*> queue_;                 // Submitted, not yet taken by the thread.
  std::map<std::string, Pending*> pending_;    // Taken, waiting for an action, by name.
  std::vector<Pending*> executing_;            // In the running collective.
  absl::Status broken_;                        // Set once: every later Run fails with it.
  bool stopping_ = false;
  bool loop_done_ = false;
  int waiters_ = 0;            // Kernel threads blocked on done_cv_.
  bool loop_blocked_ = false;  // The background thread is blocked on queued_cv_.
  std::thread thread_;

  // The response cache's state, the background thread's own (identical on every rank).
  ResponseCache cache_{0};
  bool negotiate_only_ = true;   // No cache: the cache is off, or a rank has left.
  BitSet changed_;               // Bits this rank's submissions invalidate next cycle.
  std::vector<Pending*> unsent_;  // In pending_, for rank 0 in the next negotiation.
  // RunAll calls (written under mu_), and
  // those the thread has looked at.
  std::atomic<int64_t> submitted_{0};
  int64_t seen_ = 0;
  std::vector<int> stalled_;     // Rank 0: partial hits to invalidate next cycle.
  PartialHits partial_;          // Rank 0.
  bool progressed_ = true;       // The last cycle ran something or took new work.
  absl::Time last_progress_;     // When a cycle last did.
  std::vector<uint64_t> control_in_, control_out_;

  // The watchdog (under mu_): the background thread's blocking MPI call.
  std::thread watchdog_;
  bool watch_stop_ = false;
  int64_t calls_ = 0;          // Blocking calls started: the same sequence on every rank.
  bool in_call_ = false;
  absl::Time call_start_;
  std::string call_what_;
  bool abandoned_ = false;     // The watchdog gave up on the background thread.
  // The watchdog thread's own: probe buffers (kept: a lost rank may never take them) and the
  // answers it has sent.
  int64_t probe_ask_ = 0;
  std::vector<int64_t> probe_replies_;
  std::deque<std::pair<std::unique_ptr<int64_t[]>, MPI_Request>> answers_;

  std::unique_ptr<Coordinator> coordinator_;  // Rank 0 only.
  std::vector<char> fusion_;                   // The fused allreduces' buffer.
  std::atomic<int64_t> allreduce_calls_{0}, fused_tensors_{0}, cached_runs_{0},
      negotiated_runs_{0};
};

}  // namespace dflow

#endif  // DFLOW_KERNELS_COLLECTIVE_MPI_CONTEXT_H_
