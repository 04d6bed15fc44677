#include "runtime/thread_policy.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>

namespace dflow {
namespace {

int64_t SteadyNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int UsableCpus() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1L, sysconf(_SC_NPROCESSORS_ONLN));
}

ThreadPolicy::Options GlobalOptions() {
  ThreadPolicy::Options o;
  const char* check = std::getenv("DFLOW_CONTENTION_CHECK");
  o.contention_check = check == nullptr || check[0] != '0';
  return o;
}

}  // namespace

ThreadPolicy& ThreadPolicy::Global() {
  static ThreadPolicy policy(GlobalOptions(), SteadyNowNs, ReadRunnableTasks);  // No destructor.
  return policy;
}

ThreadPolicy::ThreadPolicy(const Options& options, NowFn now, RunnableFn runnable)
    : options_([&options] {
        Options o = options;
        if (o.cpus <= 0) o.cpus = UsableCpus();
        return o;
      }()),
      now_(now),
      runnable_(runnable),
      check_(options_.contention_check),
      allowed_(options_.cpus) {}

int ThreadPolicy::Allowed() {
  if (!check_.load(std::memory_order_relaxed)) return options_.cpus;
  const int64_t now = now_();
  int64_t next = next_sample_ns_.load(std::memory_order_relaxed);
  // One caller claims each sample; the others keep the current answer meanwhile.
  if (now >= next && next_sample_ns_.compare_exchange_strong(
                         next, now + options_.sample_interval_ns, std::memory_order_relaxed)) {
    Update(runnable_());
  }
  return allowed_.load(std::memory_order_relaxed);
}

void ThreadPolicy::Update(int runnable) {
  const int current = allowed_.load(std::memory_order_relaxed);
  int target = options_.cpus;
  if (runnable >= 0) {
    // Our own runnable threads are at most the team in use; the rest belong to others.
    const int others = std::max(0, runnable - current);
    target = std::clamp(options_.cpus - others, 1, options_.cpus);
  }
  const int quiet = target > current ? quiet_samples_.load(std::memory_order_relaxed) + 1 : 0;
  const bool change = target < current || quiet >= options_.quiet_samples_to_grow;
  quiet_samples_.store(change ? 0 : quiet, std::memory_order_relaxed);
  if (change) allowed_.store(target, std::memory_order_relaxed);
}

int ThreadPolicy::ReadRunnableTasks() {
  static const int fd = open("/proc/loadavg", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  char buf[128];
  // "0.47 0.82 0.43 2/345 7199": the fourth field is runnable/total scheduling entities.
  const ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
  if (n <= 0) return -1;
  buf[n] = '\0';
  const char* p = buf;
  for (int field = 0; field < 3; ++field) {
    while (*p != '\0' && *p != ' ') ++p;
    while (*p == ' ') ++p;
  }
  char* end = nullptr;
  const long runnable = std::strtol(p, &end, 10);
  return end != p && *end == '/' ? static_cast<int>(runnable) : -1;
}

}  // namespace dflow
