#include "ops/collective/mpi_world.h"

#include <cstdlib>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace dflow {
namespace {

// The integer in environment variable `name`, or `fallback` when it is unset.
absl::StatusOr<int> IntFromEnv(const char* name, int fallback) {
  const char* value = std::getenv(name);
  if (value == nullptr) return fallback;
  int n = 0;
  if (!absl::SimpleAtoi(value, &n)) {
    return absl::InvalidArgumentError(
        absl::StrCat("environment variable ", name, "=\"", value, "\" is not an integer"));
  }
  return n;
}

}  // namespace

absl::StatusOr<MpiWorld> MpiWorldFromEnv() {
  MpiWorld world;
  if (std::getenv("OMPI_COMM_WORLD_SIZE") == nullptr) return world;
  world.under_mpirun = true;
  absl::StatusOr<int> size = IntFromEnv("OMPI_COMM_WORLD_SIZE", 1);
  if (!size.ok()) return size.status();
  absl::StatusOr<int> rank = IntFromEnv("OMPI_COMM_WORLD_RANK", 0);
  if (!rank.ok()) return rank.status();
  absl::StatusOr<int> local_rank = IntFromEnv("OMPI_COMM_WORLD_LOCAL_RANK", *rank);
  if (!local_rank.ok()) return local_rank.status();
  if (*size < 1 || *rank < 0 || *rank >= *size || *local_rank < 0 || *local_rank >= *size) {
    return absl::InvalidArgumentError(absl::StrCat(
        "inconsistent Open MPI environment: OMPI_COMM_WORLD_SIZE=", *size,
        " OMPI_COMM_WORLD_RANK=", *rank, " OMPI_COMM_WORLD_LOCAL_RANK=", *local_rank));
  }
  world.size = *size;
  world.rank = *rank;
  world.local_rank = *local_rank;
  return world;
}

}  // namespace dflow
