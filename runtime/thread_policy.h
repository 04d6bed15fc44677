// How many OpenMP threads a node runs on. Two rules:
//
// - A node with fewer than `min_elements` input elements runs on one thread: forking and joining
//   a team for a few thousand numbers costs more than the work.
// - While the machine is contended (more runnable tasks than CPUs besides our own team), every
//   node runs on one thread: libgomp's barriers spin waiting for a team member the kernel has
//   descheduled, so a 2-thread node can take 100x its time (bench/contention measures it).
//
// Contention is read from /proc/loadavg's count of runnable tasks, at most once per
// `sample_interval_ns`; between samples a call costs one clock read. Callers running on one
// thread never call it. Thread-safe.
#ifndef DFLOW_RUNTIME_THREAD_POLICY_H_
#define DFLOW_RUNTIME_THREAD_POLICY_H_

#include <atomic>
#include <cstdint>

namespace dflow {

class ThreadPolicy {
 public:
  struct Options {
    int64_t min_elements = 16384;  // A team's fork and join: ~1.5 us a primitive on 2 cores.
    int64_t sample_interval_ns = 10'000'000;
    // Consecutive uncontended samples before teams grow again (shrinking takes one sample).
    int quiet_samples_to_grow = 2;
    int cpus = 0;  // 0: the CPUs this process may run on.
    // Off: the size rule alone. Global() has it off when DFLOW_CONTENTION_CHECK=0.
    bool contention_check = true;
  };
  // The monotonic time in ns, and the system's runnable tasks (including the caller), or -1
  // when unknown; injectable for tests.
  using NowFn = int64_t (*)();
  using RunnableFn = int (*)();

  // The process-wide policy on the steady clock and /proc/loadavg.
  static ThreadPolicy& Global();

  ThreadPolicy(const Options& options, NowFn now, RunnableFn runnable);

  // The team size for a node with `elements` input elements in a run asking for `requested`.
  int TeamSize(int requested, int64_t elements) {
    if (requested <= 1 || elements < options_.min_elements) return 1;
    const int allowed = Allowed();
    return requested < allowed ? requested : allowed;
  }

  // The most threads a node may use now (re-samples when the last sample is old).
  int Allowed();

  // Turns Options::contention_check on or off (e.g. off on a dedicated machine).
  void SetContentionCheck(bool on) { check_.store(on, std::memory_order_relaxed); }

  // /proc/loadavg's runnable count (its fourth field's numerator), or -1.
  static int ReadRunnableTasks();

 private:
  // Applies one sample to the state; the caller holds the sampling claim.
  void Update(int runnable);

  const Options options_;
  const NowFn now_;
  const RunnableFn runnable_;
  std::atomic<bool> check_;
  std::atomic<int64_t> next_sample_ns_{0};
  std::atomic<int> allowed_;  // Threads a node may use until the next sample.
  std::atomic<int> quiet_samples_{0};  // Uncontended samples in a row (by the claimer).
};

}  // namespace dflow

#endif  // DFLOW_RUNTIME_THREAD_POLICY_H_
