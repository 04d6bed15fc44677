#include "kernels/collective/mpi_context.h"

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace dflow {
namespace {

// An MPI return code as a status naming the call; OK for MPI_SUCCESS.
absl::Status MpiStatus(int code, const char* call) {
  if (code == MPI_SUCCESS) return absl::OkStatus();
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (MPI_Error_string(code, text, &len) != MPI_SUCCESS) len = 0;
  return absl::UnavailableError(
      absl::StrCat(call, " failed: ", std::string(text, len), " (MPI error ", code, ")"));
}

absl::StatusOr<MPI_Datatype> MpiType(DataType dtype) {
  switch (dtype) {
    case DT_FLOAT: return MPI_FLOAT;
    case DT_INT32: return MPI_INT32_T;
    case DT_INT64: return MPI_INT64_T;
    default:
      return absl::UnimplementedError(
          absl::StrCat("MPI collectives do not support dtype ", DataTypeString(dtype)));
  }
}

absl::StatusOr<int> MpiCount(int64_t count) {
  if (count < 0 || count > INT_MAX) {
    return absl::InvalidArgumentError(
        absl::StrCat("a collective of ", count, " elements exceeds MPI's int count"));
  }
  return static_cast<int>(count);
}

}  // namespace

absl::StatusOr<MpiContext*> MpiContext::Get() {
  static MpiContext context;
  static const absl::Status status = context.Init();
  if (!status.ok()) return status;
  return &context;
}

absl::Status MpiContext::Init() {
  absl::StatusOr<MpiWorld> world = MpiWorldFromEnv();
  if (!world.ok()) return world.status();
  world_ = *world;
  if (!world_.under_mpirun) return absl::OkStatus();
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    int provided = 0;
    absl::Status s =
        MpiStatus(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided),
                  "MPI_Init_thread");
    if (!s.ok()) return s;
    initialized_mpi_ = true;
    if (provided < MPI_THREAD_SERIALIZED) {
      return absl::FailedPreconditionError(
          "MPI_Init_thread: this MPI does not support MPI_THREAD_SERIALIZED");
    }
  }
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  for (MPI_Comm* comm : {&comm_, &exit_comm_}) {
    absl::Status s = MpiStatus(MPI_Comm_dup(MPI_COMM_WORLD, comm), "MPI_Comm_dup");
    if (!s.ok()) return s;
    MPI_Comm_set_errhandler(*comm, MPI_ERRORS_RETURN);
  }
  int rank = 0, size = 0;
  MPI_Comm_rank(comm_, &rank);
  MPI_Comm_size(comm_, &size);
  if (rank != world_.rank || size != world_.size) {
    return absl::FailedPreconditionError(absl::StrCat(
        "MPI says rank ", rank, " of ", size, " but the environment says rank ", world_.rank,
        " of ", world_.size));
  }
  return absl::OkStatus();
}

MpiContext::~MpiContext() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (finalized || !initialized_mpi_ || exit_comm_ == MPI_COMM_NULL) return;
  int timeout_seconds = 60;
  if (const char* env = std::getenv("DFLOW_MPI_EXIT_TIMEOUT_SECONDS")) {
    if (!absl::SimpleAtoi(env, &timeout_seconds)) timeout_seconds = 60;
  }
  const absl::Time deadline = absl::Now() + absl::Seconds(timeout_seconds);
  bool all_exiting = false;
  MPI_Request request;
  if (MPI_Ibarrier(exit_comm_, &request) == MPI_SUCCESS) {
    while (absl::Now() < deadline) {
      int done = 0;
      if (MPI_Test(&request, &done, MPI_STATUS_IGNORE) != MPI_SUCCESS) break;
      if (done) {
        all_exiting = true;
        break;
      }
      absl::SleepFor(absl::Milliseconds(1));
    }
  }
  if (!all_exiting) {
    std::fprintf(stderr,
                 "dflow: rank %d: the other ranks did not reach exit within %d s "
                 "(DFLOW_MPI_EXIT_TIMEOUT_SECONDS); exiting without MPI_Finalize, so mpirun "
                 "ends the job\n",
                 world_.rank, timeout_seconds);
    return;
  }
  MPI_Comm_free(&comm_);
  MPI_Comm_free(&exit_comm_);
  MPI_Finalize();
}

absl::Status MpiContext::AllgatherInt64(const int64_t* in, int count, int64_t* out) {
  if (size() == 1) {
    std::memcpy(out, in, sizeof(int64_t) * count);
    return absl::OkStatus();
  }
  return MpiStatus(MPI_Allgather(in, count, MPI_INT64_T, out, count, MPI_INT64_T, comm_),
                   "MPI_Allgather");
}

absl::Status MpiContext::Allreduce(void* data, int64_t count, DataType dtype, ReduceOp op) {
  if (size() == 1) return absl::OkStatus();
  absl::StatusOr<MPI_Datatype> type = MpiType(dtype);
  if (!type.ok()) return type.status();
  absl::StatusOr<int> n = MpiCount(count);
  if (!n.ok()) return n.status();
  MPI_Op mpi_op;
  switch (op) {
    case ReduceOp::kSum: mpi_op = MPI_SUM; break;
    case ReduceOp::kMin: mpi_op = MPI_MIN; break;
    case ReduceOp::kMax: mpi_op = MPI_MAX; break;
    case ReduceOp::kProduct: mpi_op = MPI_PROD; break;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("reduce_op ", static_cast<int64_t>(op), " is not an MPI reduction"));
  }
  return MpiStatus(MPI_Allreduce(MPI_IN_PLACE, data, *n, *type, mpi_op, comm_), "MPI_Allreduce");
}

absl::Status MpiContext::Allgatherv(const void* in, const std::vector<int64_t>& counts,
                                    DataType dtype, void* out) {
  absl::StatusOr<MPI_Datatype> type = MpiType(dtype);
  if (!type.ok()) return type.status();
  if (static_cast<int>(counts.size()) != size()) {
    return absl::InternalError("Allgatherv: one count per rank expected");
  }
  std::vector<int> n(counts.size()), displs(counts.size());
  int64_t offset = 0;
  for (size_t r = 0; r < counts.size(); ++r) {
    absl::StatusOr<int> c = MpiCount(counts[r]);
    if (!c.ok()) return c.status();
    absl::StatusOr<int> d = MpiCount(offset);
    if (!d.ok()) return d.status();
    n[r] = *c;
    displs[r] = *d;
    offset += counts[r];
  }
  if (size() == 1) {
    if (counts[0] > 0) std::memcpy(out, in, counts[0] * DataTypeSize(dtype));
    return absl::OkStatus();
  }
  return MpiStatus(MPI_Allgatherv(in, n[rank()], *type, out, n.data(), displs.data(), *type,
                                  comm_),
                   "MPI_Allgatherv");
}

absl::Status MpiContext::Broadcast(void* data, int64_t count, DataType dtype, int root) {
  if (size() == 1) return absl::OkStatus();
  absl::StatusOr<MPI_Datatype> type = MpiType(dtype);
  if (!type.ok()) return type.status();
  absl::StatusOr<int> n = MpiCount(count);
  if (!n.ok()) return n.status();
  return MpiStatus(MPI_Bcast(data, *n, *type, root, comm_), "MPI_Bcast");
}

}  // namespace dflow
