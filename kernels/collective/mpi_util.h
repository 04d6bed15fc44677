// Small MPI helpers shared by mpi_context.cc and mpi_watchdog.cc (not a public header).
#ifndef DFLOW_KERNELS_COLLECTIVE_MPI_UTIL_H_
#define DFLOW_KERNELS_COLLECTIVE_MPI_UTIL_H_

#include <climits>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "graph/types.h"
#include "mpi.h"

namespace dflow {
namespace mpi_util {

// An MPI return code as a status naming the call; OK for MPI_SUCCESS.
inline absl::Status MpiStatus(int code, const char* call) {
  if (code == MPI_SUCCESS) return absl::OkStatus();
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (MPI_Error_string(code, text, &len) != MPI_SUCCESS) len = 0;
  return absl::UnavailableError(
      absl::StrCat(call, " failed: ", std::string(text, len), " (MPI error ", code, ")"));
}

inline absl::StatusOr<int> MpiCount(int64_t count) {
  if (count < 0 || count > INT_MAX) {
    return absl::InvalidArgumentError(
        absl::StrCat("a collective of ", count, " elements exceeds MPI's int count"));
  }
  return static_cast<int>(count);
}

inline std::string Seconds(absl::Duration d) { return absl::FormatDuration(d); }

// "rank 1" or "ranks 1, 2".
inline std::string RankList(const std::vector<int>& ranks) {
  return absl::StrCat(ranks.size() == 1 ? "rank " : "ranks ", absl::StrJoin(ranks, ", "));
}

}  // namespace mpi_util
}  // namespace dflow

#endif  // DFLOW_KERNELS_COLLECTIVE_MPI_UTIL_H_
