// This process's place among the processes mpirun started: rank, size and local rank, read from
// the environment Open MPI's mpirun sets (OMPI_COMM_WORLD_RANK, _SIZE, _LOCAL_RANK). Needs no
// MPI library, so graph-building code (the Horovod gradients) can ask without initializing MPI.
#ifndef DFLOW_OPS_COLLECTIVE_MPI_WORLD_H_
#define DFLOW_OPS_COLLECTIVE_MPI_WORLD_H_

#include "absl/status/statusor.h"

namespace dflow {

struct MpiWorld {
  int rank = 0;
  int size = 1;
  int local_rank = 0;
  bool under_mpirun = false;  // False: a lone process, rank 0 of 1.
};

// Rank 0 of 1 when OMPI_COMM_WORLD_SIZE is unset; InvalidArgument naming the variable when one
// is set but not an integer, or rank/local rank are out of [0, size).
absl::StatusOr<MpiWorld> MpiWorldFromEnv();

}  // namespace dflow

#endif  // DFLOW_OPS_COLLECTIVE_MPI_WORLD_H_
