// The process's MPI communicator for the Horovod-compatible collectives (docs/distributed.md).
//
// Under mpirun (OMPI_COMM_WORLD_SIZE set) the first Get() initializes MPI once
// (MPI_Init_thread, MPI_THREAD_SERIALIZED: calls are serialized by mutex()), duplicates
// MPI_COMM_WORLD and sets MPI_ERRORS_RETURN on it, so MPI failures come back as errors instead
// of aborting; MPI is finalized at exit. A lone process (no mpirun) never touches MPI: it is
// rank 0 of 1 and every collective is local.
//
// At exit, MPI is finalized only once every rank is exiting too (a barrier on a communicator of
// its own, waited for DFLOW_MPI_EXIT_TIMEOUT_SECONDS, default 60): MPI_Finalize waits for all
// ranks, so a rank that fails and exits while the others are blocked in a collective would
// otherwise hang the job. Past the timeout it exits without finalizing, and mpirun ends the job
// with an error naming that rank.
//
// Collectives are blocking and matched by call order: every rank must make the same calls in
// the same order (the kernels check this with a header exchange, horovod_kernels.cc).
#ifndef DFLOW_KERNELS_COLLECTIVE_MPI_CONTEXT_H_
#define DFLOW_KERNELS_COLLECTIVE_MPI_CONTEXT_H_

#include <cstdint>
#include <mutex>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "mpi.h"
#include "graph/types.h"
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

class MpiContext {
 public:
  // The process's context, created (and MPI initialized, under mpirun) on the first call; the
  // same error on every call when initialization failed.
  static absl::StatusOr<MpiContext*> Get();

  MpiContext(const MpiContext&) = delete;
  MpiContext& operator=(const MpiContext&) = delete;
  ~MpiContext();  // Finalizes MPI if this process initialized it.

  int rank() const { return world_.rank; }
  int size() const { return world_.size; }
  int local_rank() const { return world_.local_rank; }

  // Held across one collective's calls so concurrent Session runs never interleave them.
  std::mutex& mutex() { return mu_; }

  // Each rank contributes `count` int64s; `out` gets size() * count, rank by rank.
  absl::Status AllgatherInt64(const int64_t* in, int count, int64_t* out);
  // In place over `count` elements of `dtype` (float, int32, int64); kAverage is not an MPI
  // op: callers sum and divide.
  absl::Status Allreduce(void* data, int64_t count, DataType dtype, ReduceOp op);
  // `in` holds this rank's counts[rank()] elements; `out` all of them, rank by rank.
  absl::Status Allgatherv(const void* in, const std::vector<int64_t>& counts, DataType dtype,
                          void* out);
  absl::Status Broadcast(void* data, int64_t count, DataType dtype, int root);

 private:
  MpiContext() = default;
  absl::Status Init();

  MpiWorld world_;
  bool initialized_mpi_ = false;
  MPI_Comm comm_ = MPI_COMM_NULL;  // A duplicate of MPI_COMM_WORLD, with MPI_ERRORS_RETURN.
  MPI_Comm exit_comm_ = MPI_COMM_NULL;  // Another, for the exit barrier only.
  std::mutex mu_;
};

}  // namespace dflow

#endif  // DFLOW_KERNELS_COLLECTIVE_MPI_CONTEXT_H_
