#include "kernels/collective/mpi_context.h"

#include <sched.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace dflow {
namespace {

constexpr int kMessageTag = 1;   // A rank's CycleMessage to rank 0.
constexpr int kResponseTag = 2;  // Rank 0's CycleResponse.
constexpr char kCoordinatorShutDown[] =
    "rank 0 (the coordinator) shut down: its program ended or failed";

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

absl::StatusOr<MPI_Op> MpiOp(int64_t reduce_op) {
  switch (static_cast<ReduceOp>(reduce_op)) {
    case ReduceOp::kAverage:  // Summed here; the kernel divides.
    case ReduceOp::kSum: return MPI_SUM;
    case ReduceOp::kMin: return MPI_MIN;
    case ReduceOp::kMax: return MPI_MAX;
    case ReduceOp::kProduct: return MPI_PROD;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("reduce_op ", reduce_op, " is not an MPI reduction"));
  }
}

absl::StatusOr<int> MpiCount(int64_t count) {
  if (count < 0 || count > INT_MAX) {
    return absl::InvalidArgumentError(
        absl::StrCat("a collective of ", count, " elements exceeds MPI's int count"));
  }
  return static_cast<int>(count);
}

std::string Seconds(absl::Duration d) { return absl::FormatDuration(d); }

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
  absl::StatusOr<CoordinatorOptions> options = CoordinatorOptions::FromEnv();
  if (!options.ok()) return options.status();
  options_ = *options;
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
  for (MPI_Comm* comm : {&comm_, &control_, &exit_comm_}) {
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
  if (size > 1) {
    if (rank == 0) coordinator_ = std::make_unique<Coordinator>(size, options_);
    thread_ = std::thread([this] { Loop(); });
  }
  return absl::OkStatus();
}

MpiContext::~MpiContext() {
  if (thread_.joinable()) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    queued_cv_.notify_all();
    thread_.join();
  }
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (finalized || !initialized_mpi_ || exit_comm_ == MPI_COMM_NULL) return;
  if (absl::IsUnavailable(broken_)) {  // A rank is lost: no barrier or MPI_Finalize can finish.
    std::fprintf(stderr, "dflow: rank %d: exiting without MPI_Finalize (%s)\n", world_.rank,
                 std::string(broken_.message()).c_str());
    return;
  }
  int timeout_seconds = 60;
  if (const char* env = std::getenv("DFLOW_MPI_EXIT_TIMEOUT_SECONDS")) {
    if (!absl::SimpleAtoi(env, &timeout_seconds)) timeout_seconds = 60;
  }
  MPI_Request request;
  bool all_exiting = MPI_Ibarrier(exit_comm_, &request) == MPI_SUCCESS &&
                     Wait(&request, absl::Now() + absl::Seconds(timeout_seconds)).ok();
  if (!all_exiting) {
    std::fprintf(stderr,
                 "dflow: rank %d: the other ranks did not reach exit within %d s "
                 "(DFLOW_MPI_EXIT_TIMEOUT_SECONDS); exiting without MPI_Finalize, so mpirun "
                 "ends the job\n",
                 world_.rank, timeout_seconds);
    return;
  }
  MPI_Comm_free(&comm_);
  MPI_Comm_free(&control_);
  MPI_Comm_free(&exit_comm_);
  MPI_Finalize();
}

absl::Status MpiContext::RunAll(absl::Span<CollectiveWork* const> works) {
  for (CollectiveWork* work : works) {
    if (!work->local.ok()) work->request.error = std::string(work->local.message());
  }
  if (size() == 1) {  // Every collective of one rank is the identity, an allgather a copy.
    for (CollectiveWork* work : works) {
      if (!work->local.ok()) return work->local;
      if (work->request.kind == CollectiveKind::kAllgather) {
        work->dim0s = {work->request.dims.empty() ? 0 : work->request.dims[0]};
        const size_t bytes = work->count * DataTypeSize(work->request.dtype);
        work->gathered.resize(bytes);
        if (bytes > 0) std::memcpy(work->gathered.data(), work->send, bytes);
      }
    }
    return absl::OkStatus();
  }
  std::vector<Pending> pending;
  pending.reserve(works.size());
  for (CollectiveWork* work : works) pending.push_back(Pending{work});
  std::unique_lock<std::mutex> lock(mu_);
  if (!broken_.ok()) return broken_;
  if (stopping_) return absl::CancelledError("MPI is shutting down: the program is exiting");
  for (Pending& p : pending) queue_.push_back(&p);  // Under one lock: one cycle takes them all.
  queued_cv_.notify_all();
  done_cv_.wait(lock, [&] {
    for (const Pending& p : pending) {
      if (!p.done) return false;
    }
    return true;
  });
  for (const Pending& p : pending) {
    if (!p.status.ok()) return p.status;
  }
  return absl::OkStatus();
}

void MpiContext::Complete(Pending* p, absl::Status status) {
  std::lock_guard<std::mutex> lock(mu_);
  p->status = p->work->local.ok() ? std::move(status) : p->work->local;
  p->done = true;
  done_cv_.notify_all();
}

void MpiContext::FailAll(const absl::Status& status) {
  std::lock_guard<std::mutex> lock(mu_);
  if (broken_.ok()) broken_ = status;
  for (auto& [name, p] : pending_) {
    p->status = p->work->local.ok() ? status : p->work->local;
    p->done = true;
  }
  pending_.clear();
  for (Pending* p : queue_) {
    p->status = status;
    p->done = true;
  }
  queue_.clear();
  done_cv_.notify_all();
}

void MpiContext::TakeQueued(CycleMessage* message) {
  for (auto it = queue_.begin(); it != queue_.end();) {
    const std::string& name = (*it)->work->request.name;
    if (pending_.count(name) > 0) {  // The same node run twice at once: after the first.
      ++it;
      continue;
    }
    pending_[name] = *it;
    message->requests.push_back((*it)->work->request);
    it = queue_.erase(it);
  }
}

void MpiContext::Loop() {
  for (;;) {
    CycleMessage mine;
    {
      std::unique_lock<std::mutex> lock(mu_);
      // Rank 0 is paced by the others' messages; the others wake on work or every cycle.
      if (rank() != 0) {
        queued_cv_.wait_for(lock, absl::ToChronoNanoseconds(options_.cycle),
                            [&] { return !queue_.empty() || stopping_; });
      }
      mine.shutdown = stopping_;
    }
    bool stop = mine.shutdown;
    absl::StatusOr<CycleResponse> response = Exchange(mine, &stop);
    if (!response.ok()) {
      FailAll(response.status());
      return;
    }
    for (const CollectiveAction& action : response->actions) {
      absl::Status s = Execute(action);
      if (!s.ok()) {
        FailAll(s);
        return;
      }
    }
    if (!response->fatal.empty()) {
      // Unavailable only for a lost rank: the exit then skips MPI_Finalize, which cannot finish.
      FailAll(response->fatal == kCoordinatorShutDown ? absl::AbortedError(response->fatal)
                                                      : absl::UnavailableError(response->fatal));
      return;
    }
    if (stop) {
      FailAll(absl::CancelledError("MPI is shutting down: the program is exiting"));
      return;
    }
  }
}

absl::StatusOr<CycleResponse> MpiContext::Exchange(const CycleMessage& mine, bool* stop) {
  const absl::Duration lost_after = options_.stall_shutdown;
  if (rank() != 0) {
    CycleMessage message = mine;
    {
      std::lock_guard<std::mutex> lock(mu_);
      TakeQueued(&message);
    }
    absl::Status s = Send(SerializeCycleMessage(message), 0, kMessageTag,
                          absl::Now() + lost_after);
    if (message.shutdown) return CycleResponse();  // Rank 0 sends no more to a rank leaving.
    absl::StatusOr<std::string> bytes;
    if (s.ok()) {
      // Longer than rank 0 waits for a lost rank, so its report naming that rank arrives first.
      bytes = Receive(0, kResponseTag, absl::Now() + lost_after * 1.5 + absl::Seconds(5));
    }
    if (!s.ok() || !bytes.ok()) {
      const absl::Status& why = s.ok() ? bytes.status() : s;
      return absl::UnavailableError(absl::StrCat(
          "rank ", rank(), ": rank 0 (the coordinator) lost: no answer from it (", why.message(),
          "); it died or hung"));
    }
    return ParseCycleResponse(*bytes);
  }
  // Rank 0: every other live rank's message of this cycle, then its own queue, then decide.
  std::string fatal;
  bool any_live = false;
  for (int r = 1; r < size() && fatal.empty(); ++r) {
    if (coordinator_->shut_down(r)) continue;
    any_live = true;
    absl::StatusOr<std::string> bytes = Receive(r, kMessageTag, absl::Now() + lost_after);
    absl::StatusOr<CycleMessage> message =
        bytes.ok() ? ParseCycleMessage(*bytes) : absl::StatusOr<CycleMessage>(bytes.status());
    if (!message.ok()) {
      fatal = absl::StrCat("rank ", r, " lost: no message from it for ", Seconds(lost_after),
                           " (HOROVOD_STALL_SHUTDOWN_TIME_SECONDS; ", message.status().message(),
                           "): it died, was killed, or its process hung");
      break;
    }
    coordinator_->Add(r, *message, absl::Now());
  }
  if (!fatal.empty()) {  // Nothing more runs: a collective would wait for the lost rank.
    std::fprintf(stderr, "dflow: rank 0: %s\n", fatal.c_str());
    CycleResponse lost;
    lost.fatal = fatal;
    const std::string bytes = SerializeCycleResponse(lost);
    for (int r = 1; r < size(); ++r) {
      if (!coordinator_->shut_down(r)) {
        Send(bytes, r, kResponseTag, absl::Now() + absl::Seconds(1)).IgnoreError();
      }
    }
    return lost;
  }
  CycleMessage own = mine;
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (!any_live) {  // Nobody paces rank 0: wait for its own work.
      queued_cv_.wait_for(lock, absl::ToChronoNanoseconds(options_.cycle),
                          [&] { return !queue_.empty() || stopping_; });
    }
    own.shutdown = stopping_;
    TakeQueued(&own);
  }
  *stop = own.shutdown;
  coordinator_->Add(0, own, absl::Now());
  std::vector<std::string> warnings;
  CycleResponse response = coordinator_->Decide(absl::Now(), &warnings);
  for (const std::string& w : warnings) std::fprintf(stderr, "dflow: rank 0: %s\n", w.c_str());
  if (own.shutdown) {
    response.fatal = kCoordinatorShutDown;
  }
  const std::string bytes = SerializeCycleResponse(response);
  for (int r = 1; r < size(); ++r) {
    if (coordinator_->shut_down(r)) continue;
    // A rank that cannot take the answer is lost; the next cycle reports it.
    Send(bytes, r, kResponseTag, absl::Now() + lost_after).IgnoreError();
  }
  return response;
}

absl::Status MpiContext::Execute(const CollectiveAction& action) {
  std::vector<Pending*> works;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const std::string& name : action.names) {
      auto it = pending_.find(name);
      if (it == pending_.end()) {
        works.push_back(nullptr);
        continue;
      }
      works.push_back(it->second);
      pending_.erase(it);
    }
  }
  if (action.error_code != absl::StatusCode::kOk) {
    for (Pending* p : works) {
      if (p != nullptr) Complete(p, absl::Status(action.error_code, action.error));
    }
    return absl::OkStatus();
  }
  for (Pending* p : works) {
    if (p == nullptr) {
      return absl::InternalError(absl::StrCat("rank ", rank(), " was told to run '",
                                              action.names[0], "', which it never submitted"));
    }
  }
  const CollectiveRequest& first = works[0]->work->request;
  const std::string what =
      absl::StrCat(CollectiveOpName(action.kind), " '", first.name, "'",
                   works.size() > 1 ? absl::StrCat(" (fused with ", works.size() - 1, " more)")
                                    : "");
  absl::StatusOr<MPI_Datatype> type = MpiType(first.dtype);
  absl::Status status = type.status();
  MPI_Request request = MPI_REQUEST_NULL;
  const size_t elem = DataTypeSize(first.dtype);
  int64_t total = 0;
  for (Pending* p : works) total += p->work->count;
  if (status.ok() && action.kind == CollectiveKind::kAllreduce) {
    absl::StatusOr<MPI_Op> op = MpiOp(first.attr);
    absl::StatusOr<int> n = MpiCount(total);
    status = !op.ok() ? op.status() : n.status();
    void* data = works[0]->work->buffer;
    if (status.ok() && works.size() > 1) {
      fusion_.resize(total * elem);
      size_t offset = 0;
      for (Pending* p : works) {
        std::memcpy(fusion_.data() + offset, p->work->buffer, p->work->count * elem);
        offset += p->work->count * elem;
      }
      data = fusion_.data();
      fused_tensors_ += static_cast<int64_t>(works.size());
    }
    if (status.ok()) {
      ++allreduce_calls_;
      status = MpiStatus(MPI_Iallreduce(MPI_IN_PLACE, data, *n, *type, *op, comm_, &request),
                         "MPI_Iallreduce");
    }
  } else if (status.ok() && action.kind == CollectiveKind::kBroadcast) {
    absl::StatusOr<int> n = MpiCount(total);
    status = n.status();
    if (status.ok()) {
      status = MpiStatus(MPI_Ibcast(works[0]->work->buffer, *n, *type,
                                    static_cast<int>(first.attr), comm_, &request),
                         "MPI_Ibcast");
    }
  } else if (status.ok()) {
    CollectiveWork* w = works[0]->work;
    std::vector<int> counts(size()), displs(size());
    int64_t offset = 0;
    for (int r = 0; r < size() && status.ok(); ++r) {
      absl::StatusOr<int> c = MpiCount(action.dim0s[r] * w->inner);
      absl::StatusOr<int> d = MpiCount(offset);
      status = !c.ok() ? c.status() : d.status();
      if (!status.ok()) break;
      counts[r] = *c;
      displs[r] = *d;
      offset += counts[r];
    }
    w->dim0s = action.dim0s;
    w->gathered.resize(offset * elem);
    if (status.ok()) {
      status = MpiStatus(MPI_Iallgatherv(w->send, counts[rank()], *type, w->gathered.data(),
                                         counts.data(), displs.data(), *type, comm_, &request),
                         "MPI_Iallgatherv");
    }
  }
  // The refusals above depend only on what rank 0 checked, so every rank refuses alike.
  if (status.ok()) {
    status = Wait(&request, absl::Now() + options_.stall_shutdown);
    if (absl::IsDeadlineExceeded(status)) {
      return absl::UnavailableError(absl::StrCat(
          what, " did not finish within ", Seconds(options_.stall_shutdown),
          " (HOROVOD_STALL_SHUTDOWN_TIME_SECONDS): a rank was lost during it"));
    }
    if (!status.ok()) return absl::UnavailableError(absl::StrCat(what, ": ", status.message()));
  }
  if (status.ok() && works.size() > 1) {
    size_t offset = 0;
    for (Pending* p : works) {
      std::memcpy(p->work->buffer, fusion_.data() + offset, p->work->count * elem);
      offset += p->work->count * elem;
    }
  }
  for (Pending* p : works) {
    Complete(p, status.ok() ? status
                            : absl::Status(status.code(), absl::StrCat(what, ": ",
                                                                       status.message())));
  }
  return absl::OkStatus();
}

absl::Status MpiContext::Wait(MPI_Request* request, absl::Time deadline) {
  // MPI progresses non-blocking collectives only inside MPI_Test: spin (yielding) through any
  // collective that is moving data, back off only once it looks stalled (a second).
  const absl::Time start = absl::Now();
  absl::Duration nap = absl::Microseconds(50);
  for (;;) {
    int done = 0;
    absl::Status s = MpiStatus(MPI_Test(request, &done, MPI_STATUS_IGNORE), "MPI_Test");
    if (!s.ok() || done) return s;
    const absl::Time now = absl::Now();
    if (now >= deadline) return absl::DeadlineExceededError("timed out");
    if (now - start < absl::Seconds(1)) {
      sched_yield();
    } else {
      absl::SleepFor(nap);
      nap = std::min(nap * 2, absl::Milliseconds(1));
    }
  }
}

absl::StatusOr<std::string> MpiContext::Receive(int source, int tag, absl::Time deadline) {
  const absl::Time start = absl::Now();
  absl::Duration nap = absl::Microseconds(20);
  for (;;) {
    int flag = 0;
    MPI_Message message;
    MPI_Status status;
    absl::Status s = MpiStatus(MPI_Improbe(source, tag, control_, &flag, &message, &status),
                               "MPI_Improbe");
    if (!s.ok()) return s;
    if (flag) {
      int count = 0;
      MPI_Get_count(&status, MPI_BYTE, &count);
      std::string bytes(count, '\0');
      MPI_Request request;
      s = MpiStatus(MPI_Imrecv(bytes.data(), count, MPI_BYTE, &message, &request), "MPI_Imrecv");
      if (s.ok()) s = Wait(&request, deadline);
      if (!s.ok()) return s;
      return bytes;
    }
    const absl::Time now = absl::Now();
    if (now >= deadline) return absl::DeadlineExceededError("timed out");
    // A cycle message is due within a cycle: short naps keep the answer's latency low.
    if (now - start < absl::Microseconds(200)) {
      sched_yield();
    } else {
      absl::SleepFor(nap);
      nap = std::min(nap * 2, absl::Microseconds(100));
    }
  }
}

absl::Status MpiContext::Send(const std::string& bytes, int dest, int tag, absl::Time deadline) {
  if (bytes.size() > static_cast<size_t>(INT_MAX)) {
    return absl::InvalidArgumentError("a cycle message over 2 GiB");
  }
  MPI_Request request;
  absl::Status s = MpiStatus(MPI_Isend(bytes.data(), static_cast<int>(bytes.size()), MPI_BYTE,
                                       dest, tag, control_, &request),
                             "MPI_Isend");
  if (!s.ok()) return s;
  return Wait(&request, deadline);
}

}  // namespace dflow
