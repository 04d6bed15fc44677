// MpiContext's MPI calls: the agreed data collectives (blocking, watched), the point-to-point
// messages with deadlines, and the watchdog that names a lost rank when a blocking call hangs.
#include <sched.h>

#include <array>
#include <csignal>
#include <climits>
#include <cstdio>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "kernels/collective/mpi_context.h"
#include "kernels/collective/mpi_util.h"

namespace dflow {
namespace {

using mpi_util::MpiCount;
using mpi_util::MpiStatus;
using mpi_util::RankList;
using mpi_util::Seconds;

constexpr int kProbeTag = 3;       // A watchdog's "are you there?" (its call number).
constexpr int kProbeReplyTag = 4;  // The answer: the answering rank's call number, in a call.

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

template <typename T>
void ScaleAs(const void* in, void* out, int64_t n, double factor) {
  const T* from = static_cast<const T*>(in);
  T* to = static_cast<T*>(out);
  if (factor == 1.0) {
    if (from != to && n > 0) std::memcpy(to, from, sizeof(T) * n);
    return;
  }
  for (int64_t i = 0; i < n; ++i) to[i] = static_cast<T>(static_cast<double>(from[i]) * factor);
}

}  // namespace

absl::Status ScaleElements(DataType dtype, const void* in, void* out, int64_t n, double factor) {
  switch (dtype) {
    case DT_FLOAT: ScaleAs<float>(in, out, n, factor); return absl::OkStatus();
    case DT_INT32: ScaleAs<int32_t>(in, out, n, factor); return absl::OkStatus();
    case DT_INT64: ScaleAs<int64_t>(in, out, n, factor); return absl::OkStatus();
    default:
      return absl::UnimplementedError(
          absl::StrCat("no collective kernel for dtype ", DataTypeString(dtype)));
  }
}

absl::Status MpiContext::Execute(const CollectiveAction& action, bool insert,
                                 std::atomic<int64_t>* runs) {
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
    Complete(works, absl::Status(action.error_code, action.error));
    return absl::OkStatus();
  }
  for (Pending* p : works) {
    if (p == nullptr) {
      return absl::InternalError(absl::StrCat("rank ", rank(), " was told to run '",
                                              action.names[0], "', which it never submitted"));
    }
  }
  // Every rank caches the same agreed names in the same order, so the bits agree.
  if (insert) {
    for (Pending* p : works) cache_.Insert(p->work->request);
  }
  const CollectiveRequest& first = works[0]->work->request;
  const std::string what =
      absl::StrCat(CollectiveOpName(action.kind), " '", first.name, "'",
                   works.size() > 1 ? absl::StrCat(" (fused with ", works.size() - 1, " more)")
                                    : "");
  {
    std::lock_guard<std::mutex> lock(mu_);
    executing_ = works;
  }
  bool called = false;
  absl::Status status = Collective(action, works, what, &called);
  if (Abandoned()) return status;  // The watchdog completed them; they may be gone.
  {
    std::lock_guard<std::mutex> lock(mu_);
    executing_.clear();
  }
  if (status.ok()) {
    *runs += static_cast<int64_t>(works.size());  // Before the kernels wake and read it.
    Complete(works, status);
    return status;
  }
  // A refusal before MPI (the same on every rank: it depends on what they agreed) fails
  // these works only; a failing MPI call ends the job's collectives.
  status = absl::Status(called ? absl::StatusCode::kUnavailable : status.code(),
                        absl::StrCat(what, ": ", status.message()));
  Complete(works, status);
  return called ? status : absl::OkStatus();
}

absl::Status MpiContext::Collective(const CollectiveAction& action,
                                    const std::vector<Pending*>& works, const std::string& what,
                                    bool* called) {
  const CollectiveRequest& first = works[0]->work->request;
  if (!die_in_.empty() && first.name == die_in_) std::raise(SIGKILL);  // Tests only.
  absl::StatusOr<MPI_Datatype> type = MpiType(first.dtype);
  if (!type.ok()) return type.status();
  const size_t elem = DataTypeSize(first.dtype);
  int64_t total = 0;
  for (Pending* p : works) total += p->work->count;
  // The refusals below depend only on what every rank agreed, so every rank refuses alike.
  int code = MPI_SUCCESS;
  if (action.kind == CollectiveKind::kAllreduce) {
    absl::StatusOr<MPI_Op> op = MpiOp(first.attr);
    if (!op.ok()) return op.status();
    absl::StatusOr<int> n = MpiCount(total);
    if (!n.ok()) return n.status();
    // A lone tensor is reduced from its input (if apart) straight into its output; fused ones
    // are copied from their inputs into the fusion buffer and scaled on the way back out, so
    // that each byte is copied once each way and the kernel copies nothing.
    CollectiveWork* lone = works[0]->work;
    void* data = lone->buffer;
    const void* send = works.size() == 1 && lone->send != nullptr ? lone->send : MPI_IN_PLACE;
    if (works.size() > 1) {
      fusion_.resize(total * elem);
      size_t offset = 0;
      for (Pending* p : works) {
        const void* from = p->work->send != nullptr ? p->work->send : p->work->buffer;
        if (p->work->count > 0) std::memcpy(fusion_.data() + offset, from, p->work->count * elem);
        offset += p->work->count * elem;
      }
      data = fusion_.data();
      fused_tensors_ += static_cast<int64_t>(works.size());
    }
    ++allreduce_calls_;
    *called = true;
    Enter(what);
    if (nonblocking_) {
      MPI_Request request;
      code = MPI_Iallreduce(send, data, *n, *type, *op, comm_, &request);
      if (code == MPI_SUCCESS) code = Poll(&request);
    } else {
      code = MPI_Allreduce(send, data, *n, *type, *op, comm_);
    }
    if (!Leave()) return absl::CancelledError("abandoned");
    if (code != MPI_SUCCESS) return MpiStatus(code, "MPI_Allreduce");
    if (works.size() == 1) {
      return ScaleElements(first.dtype, lone->buffer, lone->buffer, lone->count, lone->scale);
    }
    size_t offset = 0;
    for (Pending* p : works) {
      absl::Status s = ScaleElements(first.dtype, fusion_.data() + offset, p->work->buffer,
                                     p->work->count, p->work->scale);
      if (!s.ok()) return s;
      offset += p->work->count * elem;
    }
    return absl::OkStatus();
  }
  if (action.kind == CollectiveKind::kBroadcast) {
    absl::StatusOr<int> n = MpiCount(total);
    if (!n.ok()) return n.status();
    *called = true;
    Enter(what);
    const int root = static_cast<int>(first.attr);
    if (nonblocking_) {
      MPI_Request request;
      code = MPI_Ibcast(works[0]->work->buffer, *n, *type, root, comm_, &request);
      if (code == MPI_SUCCESS) code = Poll(&request);
    } else {
      code = MPI_Bcast(works[0]->work->buffer, *n, *type, root, comm_);
    }
    if (!Leave()) return absl::CancelledError("abandoned");
    return MpiStatus(code, "MPI_Bcast");
  }
  CollectiveWork* w = works[0]->work;
  std::vector<int> counts(size()), displs(size());
  int64_t offset = 0;
  for (int r = 0; r < size(); ++r) {
    absl::StatusOr<int> c = MpiCount(action.dim0s[r] * w->inner);
    if (!c.ok()) return c.status();
    absl::StatusOr<int> d = MpiCount(offset);
    if (!d.ok()) return d.status();
    counts[r] = *c;
    displs[r] = *d;
    offset += counts[r];
  }
  w->dim0s = action.dim0s;
  w->gathered.resize(offset * elem);
  *called = true;
  Enter(what);
  if (nonblocking_) {
    MPI_Request request;
    code = MPI_Iallgatherv(w->send, counts[rank()], *type, w->gathered.data(), counts.data(),
                           displs.data(), *type, comm_, &request);
    if (code == MPI_SUCCESS) code = Poll(&request);
  } else {
    code = MPI_Allgatherv(w->send, counts[rank()], *type, w->gathered.data(), counts.data(),
                          displs.data(), *type, comm_);
  }
  if (!Leave()) return absl::CancelledError("abandoned");
  return MpiStatus(code, "MPI_Allgatherv");
}

int MpiContext::Poll(MPI_Request* request) {
  // As Wait, without a deadline: the watchdog watches the call.
  absl::Status s = Wait(request, absl::InfiniteFuture());
  return s.ok() ? MPI_SUCCESS : MPI_ERR_OTHER;
}

// ---- The watchdog.

void MpiContext::Enter(const std::string& what) {
  std::lock_guard<std::mutex> lock(mu_);
  ++calls_;
  in_call_ = true;
  call_start_ = absl::Now();
  call_what_ = what;
}

bool MpiContext::Leave() {
  std::lock_guard<std::mutex> lock(mu_);
  in_call_ = false;
  return !abandoned_;
}

bool MpiContext::Abandoned() {
  std::lock_guard<std::mutex> lock(mu_);
  return abandoned_;
}

void MpiContext::WatchLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  int64_t watched = -1;  // The call being watched, and when to look at it next.
  absl::Time next_check, next_warning;
  std::vector<int64_t> behind_before;
  while (!watch_stop_) {
    watch_cv_.wait_for(lock, std::chrono::milliseconds(20), [&] { return watch_stop_; });
    if (watch_stop_) break;
    lock.unlock();
    AnswerProbes();
    lock.lock();
    if (!in_call_ || abandoned_) continue;
    if (calls_ != watched) {
      watched = calls_;
      next_check = call_start_ + options_.stall_shutdown;
      next_warning = call_start_ + options_.stall_check;
      behind_before.clear();
    }
    const absl::Time now = absl::Now();
    if (now >= next_warning && now < next_check) {
      std::fprintf(stderr,
                   "dflow: rank %d: stall: %s has waited %s for the other ranks (a rank may be "
                   "lost; checked after %s, HOROVOD_STALL_SHUTDOWN_TIME_SECONDS)\n",
                   rank(), call_what_.c_str(),
                   Seconds(absl::Trunc(now - call_start_, absl::Seconds(1))).c_str(),
                   Seconds(options_.stall_shutdown).c_str());
      next_warning = now + options_.stall_check;
    }
    if (now < next_check) continue;
    const std::string what = call_what_;
    const absl::Duration waited = absl::Now() - call_start_;
    lock.unlock();
    std::vector<int64_t> behind;
    absl::Status s = Diagnose(watched, what, &behind);
    lock.lock();
    if (!in_call_ || calls_ != watched) continue;  // It finished meanwhile.
    if (s.ok()) {
      // Every rank answers. One that is still short of this call since the last look is stuck.
      std::vector<int> stuck;
      for (int r = 0; r < size(); ++r) {
        if (behind[r] >= 0 && !behind_before.empty() && behind_before[r] == behind[r]) {
          stuck.push_back(r);
        }
      }
      if (stuck.empty()) {
        std::fprintf(stderr,
                     "dflow: rank %d: %s has run for %s; every rank answers, still waiting\n",
                     rank(), what.c_str(), Seconds(absl::Trunc(waited, absl::Seconds(1))).c_str());
        behind_before = behind;
        next_check = absl::Now() + options_.stall_shutdown;
        continue;
      }
      s = absl::UnavailableError(absl::StrCat(
          RankList(stuck), " stuck: it answers but has not reached ", what, " for ",
          Seconds(absl::Trunc(waited, absl::Seconds(1))), " (HOROVOD_STALL_SHUTDOWN_TIME_SECONDS)"));
    }
    Abandon(s);
  }
}

absl::Status MpiContext::Diagnose(int64_t call, const std::string& what,
                                  std::vector<int64_t>* behind) {
  const int n = size();
  probe_ask_ = call;
  probe_replies_.assign(2 * n, -1);
  std::vector<MPI_Request> sends(n, MPI_REQUEST_NULL), receives(n, MPI_REQUEST_NULL);
  std::vector<bool> answered(n, false);
  answered[rank()] = true;
  for (int r = 0; r < n; ++r) {
    if (r == rank()) continue;
    if (MPI_Irecv(&probe_replies_[2 * r], 2, MPI_INT64_T, r, kProbeReplyTag, probe_,
                  &receives[r]) != MPI_SUCCESS) {
      receives[r] = MPI_REQUEST_NULL;  // Never answered: named lost.
      continue;
    }
    if (MPI_Isend(&probe_ask_, 1, MPI_INT64_T, r, kProbeTag, probe_, &sends[r]) != MPI_SUCCESS) {
      sends[r] = MPI_REQUEST_NULL;
    }
  }
  const absl::Duration patience = std::min(options_.stall_shutdown, absl::Seconds(10));
  const absl::Time deadline = absl::Now() + patience;
  for (;;) {
    bool all = true;
    for (int r = 0; r < n; ++r) {
      if (answered[r] || receives[r] == MPI_REQUEST_NULL) {
        all = all && answered[r];
        continue;
      }
      int done = 0;
      if (MPI_Test(&receives[r], &done, MPI_STATUS_IGNORE) == MPI_SUCCESS && done) {
        answered[r] = true;
      }
      all = all && answered[r];
    }
    if (all || absl::Now() >= deadline) break;
    AnswerProbes();  // The others probe at the same time: answer them while waiting.
    absl::SleepFor(absl::Milliseconds(1));
  }
  std::vector<int> lost;
  behind->assign(n, -1);
  for (int r = 0; r < n; ++r) {
    if (sends[r] != MPI_REQUEST_NULL) MPI_Request_free(&sends[r]);
    if (!answered[r]) {
      lost.push_back(r);
      if (receives[r] != MPI_REQUEST_NULL) {
        MPI_Cancel(&receives[r]);
        MPI_Request_free(&receives[r]);
      }
    } else if (r != rank() && probe_replies_[2 * r] < call) {
      (*behind)[r] = probe_replies_[2 * r];
    }
  }
  if (lost.empty()) return absl::OkStatus();
  return absl::UnavailableError(absl::StrCat(
      RankList(lost), " lost: no answer from ", lost.size() == 1 ? "it" : "them", " within ",
      Seconds(patience), " while ", what, " waited for ", Seconds(options_.stall_shutdown),
      " (HOROVOD_STALL_SHUTDOWN_TIME_SECONDS): it died, was killed, or its process hung"));
}

void MpiContext::AnswerProbes() {
  for (;;) {
    int flag = 0;
    MPI_Message message;
    MPI_Status status;
    if (MPI_Improbe(MPI_ANY_SOURCE, kProbeTag, probe_, &flag, &message, &status) !=
            MPI_SUCCESS ||
        !flag) {
      break;
    }
    int64_t ask = 0;
    if (MPI_Mrecv(&ask, 1, MPI_INT64_T, &message, MPI_STATUS_IGNORE) != MPI_SUCCESS) break;
    auto reply = std::make_unique<int64_t[]>(2);
    {
      std::lock_guard<std::mutex> lock(mu_);
      reply[0] = calls_;
      reply[1] = in_call_ ? 1 : 0;
    }
    MPI_Request request;
    if (MPI_Isend(reply.get(), 2, MPI_INT64_T, status.MPI_SOURCE, kProbeReplyTag, probe_,
                  &request) == MPI_SUCCESS) {
      answers_.emplace_back(std::move(reply), request);
    }
  }
  for (auto it = answers_.begin(); it != answers_.end();) {
    int done = 0;
    if (MPI_Test(&it->second, &done, MPI_STATUS_IGNORE) != MPI_SUCCESS || done) {
      it = answers_.erase(it);
    } else {
      ++it;
    }
  }
}

void MpiContext::Abandon(const absl::Status& status) {
  std::fprintf(stderr, "dflow: rank %d: %s\n", rank(), std::string(status.message()).c_str());
  abandoned_ = true;
  for (Pending* p : executing_) {
    // Leaked on purpose: the stuck call may write them until the process ends (a moved
    // vector keeps its heap buffer).
    new std::vector<Tensor>(std::move(p->work->keep_alive));
    new std::vector<char>(std::move(p->work->gathered));
    p->status = p->work->local.ok() ? status : p->work->local;
    p->done = true;
  }
  executing_.clear();
  FailAllLocked(status);
  exit_cv_.notify_all();
}

// ---- Point-to-point with deadlines (rank 0's negotiation) and the exit barrier.

absl::Status MpiContext::Wait(MPI_Request* request, absl::Time deadline) {
  // MPI progresses non-blocking calls only inside MPI_Test: spin (yielding) through any call
  // that is moving data, back off only once it looks stalled (a second).
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
