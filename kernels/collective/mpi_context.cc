#include "kernels/collective/mpi_context.h"

#include <sched.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "kernels/collective/mpi_util.h"

namespace dflow {
namespace {

using mpi_util::MpiStatus;
using mpi_util::Seconds;

constexpr int kMessageTag = 1;   // A rank's CycleMessage to rank 0.
constexpr int kResponseTag = 2;  // Rank 0's CycleResponse.
constexpr char kCoordinatorShutDown[] =
    "rank 0 (the coordinator) shut down: its program ended or failed";
constexpr char kControlCall[] = "the cycle's control allreduce (cache bits)";

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
  int provided = 0;
  if (!initialized) {
    // Open MPI busy-polls in blocking calls. A rank's background thread that waits in an idle
    // cycle's control allreduce for a slower rank then takes half its core from the rank's own
    // kernels (under --bind-to core they share one core). Yield in the poll unless the user
    // set the parameter (-mca mpi_yield_when_idle 0 or the environment variable).
    setenv("OMPI_MCA_mpi_yield_when_idle", "1", /*overwrite=*/0);
    absl::Status s =
        MpiStatus(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &provided),
                  "MPI_Init_thread");
    if (!s.ok()) return s;
    initialized_mpi_ = true;
  } else {
    MPI_Query_thread(&provided);
  }
  if (provided < MPI_THREAD_MULTIPLE) {
    return absl::FailedPreconditionError(
        "MPI is not initialized with MPI_THREAD_MULTIPLE, which dflow's collectives need (the "
        "watchdog calls MPI while a collective runs)");
  }
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  for (MPI_Comm* comm : {&comm_, &control_, &exit_comm_, &probe_}) {
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
  if (const char* env = std::getenv("DFLOW_MPI_NONBLOCKING")) {
    nonblocking_ = std::string(env) == "1";
  }
  if (const char* env = std::getenv("DFLOW_MPI_TEST_DIE_IN")) {
    const std::string prefix = absl::StrCat(rank, ":");
    if (absl::StartsWith(env, prefix)) die_in_ = std::string(env).substr(prefix.size());
  }
  if (size > 1) {
    if (rank == 0) coordinator_ = std::make_unique<Coordinator>(size, options_);
    cache_ = ResponseCache(options_.cache_capacity);
    negotiate_only_ = options_.cache_capacity == 0;
    changed_ = BitSet(cache_.words());
    watchdog_ = std::thread([this] { WatchLoop(); });
    thread_ = std::thread([this] { Loop(); });
  }
  return absl::OkStatus();
}

MpiContext::~MpiContext() {
  if (thread_.joinable()) {
    std::unique_lock<std::mutex> lock(mu_);
    stopping_ = true;
    queued_cv_.notify_all();
    // A thread stuck in MPI (a lost rank) never ends: the watchdog gives up on it.
    exit_cv_.wait(lock, [&] { return loop_done_ || abandoned_; });
    const bool done = loop_done_;
    lock.unlock();
    if (done) {
      thread_.join();
    } else {
      thread_.detach();
    }
  }
  if (watchdog_.joinable()) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      watch_stop_ = true;
    }
    watch_cv_.notify_all();
    watchdog_.join();
  }
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (finalized || !initialized_mpi_ || exit_comm_ == MPI_COMM_NULL) return;
  if (abandoned_ || absl::IsUnavailable(broken_)) {
    // A rank is lost: no barrier or MPI_Finalize can finish.
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
  for (MPI_Comm* comm : {&comm_, &control_, &exit_comm_, &probe_}) MPI_Comm_free(comm);
  MPI_Finalize();
}

absl::Status MpiContext::RunAll(absl::Span<CollectiveWork* const> works) {
  for (CollectiveWork* work : works) {
    if (!work->local.ok()) work->request.error = std::string(work->local.message());
  }
  if (size() == 1) {  // Every collective of one rank is the identity, an allgather a copy.
    for (CollectiveWork* work : works) {
      if (!work->local.ok()) return work->local;
      if (work->request.kind == CollectiveKind::kAllreduce) {
        absl::Status s =
            ScaleElements(work->request.dtype, work->send != nullptr ? work->send : work->buffer,
                          work->buffer, work->count, work->scale);
        if (!s.ok()) return s;
      }
      if (work->request.kind == CollectiveKind::kAllgather) {
        work->dim0s = {work->request.dims.empty() ? 0 : work->request.dims[0]};
        const size_t bytes = work->count * DataTypeSize(work->request.dtype);
        work->gathered.resize(bytes);
        if (bytes > 0) std::memcpy(work->gathered.data(), work->send, bytes);
      }
    }
    return absl::OkStatus();
  }
  const size_t n = works.size();
  std::unique_ptr<Pending[]> pending(new Pending[n]);  // Not movable (atomic): an array.
  for (size_t i = 0; i < n; ++i) pending[i].work = works[i];
  auto all_done = [&] {
    for (size_t i = 0; i < n; ++i) {
      if (!pending[i].done.load(std::memory_order_acquire)) return false;
    }
    return true;
  };
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!broken_.ok()) return broken_;
    if (stopping_) return absl::CancelledError("MPI is shutting down: the program is exiting");
    // Under one lock: one cycle takes them all.
    for (size_t i = 0; i < n; ++i) queue_.push_back(&pending[i]);
    submitted_.fetch_add(1, std::memory_order_release);
    wake = loop_blocked_;  // Else it is busy: it looks next cycle.
  }
  // Outside the lock: the background thread, woken on this core, would preempt this thread
  // and block on mu_ at once (two more context switches).
  if (wake) queued_cv_.notify_all();
  if (!all_done()) {
    std::unique_lock<std::mutex> lock(mu_);
    ++waiters_;
    done_cv_.wait(lock, all_done);
    --waiters_;
  }
  for (size_t i = 0; i < n; ++i) {
    if (!pending[i].status.ok()) return pending[i].status;
  }
  return absl::OkStatus();
}

template <typename Pred>
void MpiContext::WaitForWork(std::unique_lock<std::mutex>& lock, absl::Duration timeout,
                             Pred woken) {
  if (woken()) return;
  loop_blocked_ = true;
  queued_cv_.wait_for(lock, absl::ToChronoNanoseconds(timeout), woken);
  loop_blocked_ = false;
}

void MpiContext::Complete(const std::vector<Pending*>& works, const absl::Status& status) {
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (Pending* p : works) {
      if (p == nullptr) continue;
      p->status = p->work->local.ok() ? status : p->work->local;
      // Its waiter may return (and free `p`) as soon as it sees this: touch `p` no more.
      p->done.store(true, std::memory_order_release);
    }
    wake = waiters_ > 0;  // A waiter not yet blocked sees `done` before it blocks.
  }
  if (wake) done_cv_.notify_all();  // Once for them all, outside the lock: they wake once.
}

void MpiContext::FailAll(const absl::Status& status) {
  std::lock_guard<std::mutex> lock(mu_);
  FailAllLocked(status);
}

void MpiContext::FailAllLocked(const absl::Status& status) {
  if (broken_.ok()) broken_ = status;
  for (auto& [name, p] : pending_) {
    p->status = p->work->local.ok() ? status : p->work->local;
    p->done = true;
  }
  pending_.clear();
  unsent_.clear();
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
    (*it)->sent = true;
    message->requests.push_back((*it)->work->request);
    it = queue_.erase(it);
  }
}

void MpiContext::SortQueued() {
  seen_ = submitted_.load(std::memory_order_acquire);
  for (auto it = queue_.begin(); it != queue_.end();) {
    Pending* p = *it;
    if (pending_.count(p->work->request.name) > 0) {  // The same node twice: after the first.
      ++it;
      continue;
    }
    pending_[p->work->request.name] = p;
    progressed_ = true;
    int bit = -1;
    switch (cache_.Find(p->work->request, &bit)) {
      case ResponseCache::Lookup::kHit:
        p->bit = bit;
        break;
      case ResponseCache::Lookup::kChanged:  // Every rank drops the bit; rank 0 checks anew.
        changed_.Set(bit);
        unsent_.push_back(p);
        break;
      case ResponseCache::Lookup::kMiss:
        unsent_.push_back(p);
        break;
    }
    it = queue_.erase(it);
  }
}

void MpiContext::Loop() {
  for (;;) {
    if (!(negotiate_only_ ? NegotiatedCycle() : CachedCycle())) break;
  }
  std::lock_guard<std::mutex> lock(mu_);
  loop_done_ = true;
  exit_cv_.notify_all();
}

bool MpiContext::CachedCycle() {
  // Only the words of bits in use (the same on every rank: the caches are identical), so the
  // control allreduce of a few cached names is a few words, not the capacity's.
  const int words = cache_.used_words();
  ControlVector mine(words);
  {
    std::unique_lock<std::mutex> lock(mu_);
    auto woken = [&] { return submitted_.load() != seen_ || stopping_; };
    const absl::Time now = absl::Now();
    if (progressed_) last_progress_ = now;
    if (pending_.empty() && queue_.empty()) {
      // Idle: every rank takes part in a cycle every HOROVOD_CYCLE_TIME.
      WaitForWork(lock, options_.cycle, woken);
    } else if (!progressed_ && now - last_progress_ > absl::Milliseconds(1)) {
      // Waiting for other ranks: they enter the next cycle when they submit, so wait in it
      // (in the control allreduce, straight away: a pause here would delay a rank that
      // submits just after an idle cycle). Only a stall past a millisecond pauses, so that it
      // does not spin through cycles.
      WaitForWork(lock, std::min(options_.cycle, absl::Microseconds(500)),
                  woken);
    }
    progressed_ = false;
    SortQueued();
    mine.shutdown = stopping_;
    for (const auto& [name, p] : pending_) {
      if (p->bit >= 0) mine.hits.Set(p->bit);
    }
    mine.need_negotiation =
        !unsent_.empty() || (coordinator_ != nullptr && coordinator_->tracking());
  }
  for (int i = 0; i < words; ++i) mine.invalid.words()[i] = changed_.words()[i];
  for (int bit : stalled_) mine.invalid.Set(bit);
  changed_ = BitSet(cache_.words());
  stalled_.clear();
  control_out_ = mine.Encode();
  control_in_.assign(control_out_.size(), 0);
  Enter(kControlCall);
  const int code = MPI_Allreduce(control_out_.data(), control_in_.data(),
                                 static_cast<int>(control_out_.size()), MPI_UINT64_T, MPI_BAND,
                                 control_);
  if (!Leave()) return false;
  if (code != MPI_SUCCESS) {
    FailAll(MpiStatus(code, "MPI_Allreduce (control)"));
    return false;
  }
  const ControlResult result = ControlResult::Decode(control_in_, words);
  if (coordinator_ != nullptr) {
    stalled_ = partial_.Update(result, absl::Now(),
                               std::min(options_.stall_check, absl::Seconds(1)));
  }
  BitSet run(words);
  for (int bit : result.all_hits.Bits()) {
    if (!result.any_invalid.Get(bit)) run.Set(bit);
  }
  {
    // Invalidated bits (and, once a rank leaves, every waiting hit) go to rank 0 instead.
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [name, p] : pending_) {
      if (p->bit < 0 || run.Get(p->bit)) continue;
      if (result.any_invalid.Get(p->bit) || result.any_shutdown) {
        p->bit = -1;
        unsent_.push_back(p);
      }
    }
  }
  const std::vector<CollectiveAction> actions = cache_.Actions(run, options_.fusion_threshold);
  for (int bit : result.any_invalid.Bits()) cache_.Erase(bit);
  for (const CollectiveAction& action : actions) {
    absl::Status s = Execute(action, /*insert=*/false, &cached_runs_);
    if (Abandoned()) return false;
    if (!s.ok()) {
      FailAll(s);
      return false;
    }
    progressed_ = true;
  }
  const bool leaving = result.any_shutdown;
  if (leaving) {  // The collective path needs every rank: from now on, rank 0 only.
    negotiate_only_ = true;
    cache_.Clear();
  }
  if (!result.any_negotiation && !leaving && !result.any_invalid.Any()) return true;
  CycleMessage message;
  message.shutdown = mine.shutdown;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (Pending* p : unsent_) {
      p->sent = true;
      message.requests.push_back(p->work->request);
    }
    unsent_.clear();
  }
  bool stop = message.shutdown;
  absl::StatusOr<CycleResponse> response = Exchange(message, /*take_queue=*/false, &stop);
  return RunResponse(response, stop, /*insert=*/!leaving);
}

bool MpiContext::NegotiatedCycle() {
  CycleMessage mine;
  {
    std::unique_lock<std::mutex> lock(mu_);
    // Rank 0 is paced by the others' messages; the others wake on work or every cycle.
    if (rank() != 0) {
      WaitForWork(lock, options_.cycle,
                  [&] { return !queue_.empty() || stopping_; });
    }
    mine.shutdown = stopping_;
  }
  bool stop = mine.shutdown;
  absl::StatusOr<CycleResponse> response = Exchange(mine, /*take_queue=*/true, &stop);
  return RunResponse(response, stop, /*insert=*/false);
}

bool MpiContext::RunResponse(const absl::StatusOr<CycleResponse>& response, bool stop,
                             bool insert) {
  if (!response.ok()) {
    FailAll(response.status());
    return false;
  }
  for (const CollectiveAction& action : response->actions) {
    absl::Status s = Execute(action, insert, &negotiated_runs_);
    if (Abandoned()) return false;
    if (!s.ok()) {
      FailAll(s);
      return false;
    }
    progressed_ = true;
  }
  if (!response->fatal.empty()) {
    // Unavailable only for a lost rank: the exit then skips MPI_Finalize, which cannot finish.
    FailAll(response->fatal == kCoordinatorShutDown ? absl::AbortedError(response->fatal)
                                                    : absl::UnavailableError(response->fatal));
    return false;
  }
  if (stop) {
    FailAll(absl::CancelledError("MPI is shutting down: the program is exiting"));
    return false;
  }
  return true;
}

absl::StatusOr<CycleResponse> MpiContext::Exchange(const CycleMessage& mine, bool take_queue,
                                                   bool* stop) {
  const absl::Duration lost_after = options_.stall_shutdown;
  if (rank() != 0) {
    CycleMessage message = mine;
    if (take_queue) {
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
  if (take_queue) {
    std::unique_lock<std::mutex> lock(mu_);
    if (!any_live) {  // Nobody paces rank 0: wait for its own work.
      WaitForWork(lock, options_.cycle,
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

}  // namespace dflow
