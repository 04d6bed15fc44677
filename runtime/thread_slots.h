// Per-thread striping for the caches every run touches (a Session's plan lookup, a plan's idle
// run states): each thread that asks gets the next of kThreadSlots indices, so that up to that
// many client threads each find their entry on a cache line no other thread writes. Threads
// beyond that share slots, which stays correct (each use is guarded) but may contend.
#ifndef DFLOW_RUNTIME_THREAD_SLOTS_H_
#define DFLOW_RUNTIME_THREAD_SLOTS_H_

#include <atomic>

namespace dflow {

inline constexpr int kThreadSlots = 8;

// This thread's slot in [0, kThreadSlots): 0, 1, 2, ... in the order threads first ask.
inline int ThisThreadSlot() {
  static std::atomic<int> next{0};
  thread_local const int slot = next.fetch_add(1, std::memory_order_relaxed) % kThreadSlots;
  return slot;
}

}  // namespace dflow

#endif  // DFLOW_RUNTIME_THREAD_SLOTS_H_
