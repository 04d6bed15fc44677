// Per-thread striping for the caches every run touches (a Session's plan lookup, a plan's idle
// run states): each thread that asks gets the lowest of kThreadSlots indices no live thread
// holds, and gives it back when it exits, so that up to that many concurrent client threads each
// find their entry on a cache line no other thread writes, however many threads came and went
// before (a server's or a benchmark's short-lived workers). Threads beyond that share slots,
// which stays correct (each use is guarded) but may contend.
#ifndef DFLOW_RUNTIME_THREAD_SLOTS_H_
#define DFLOW_RUNTIME_THREAD_SLOTS_H_

#include <atomic>

namespace dflow {

inline constexpr int kThreadSlots = 8;

namespace thread_slots_internal {

inline std::atomic<unsigned> held{0};      // Bit s: a live thread holds slot s.
inline std::atomic<unsigned> overflow{0};  // Spreads threads beyond kThreadSlots.

class Holder {
 public:
  Holder() {
    constexpr unsigned kAll = (1u << kThreadSlots) - 1;
    unsigned bits = held.load(std::memory_order_relaxed);
    while (bits != kAll) {
      const int s = __builtin_ctz(~bits);
      if (held.compare_exchange_weak(bits, bits | (1u << s), std::memory_order_acq_rel)) {
        slot_ = s;
        return;
      }
    }
    owned_ = false;
    slot_ = static_cast<int>(overflow.fetch_add(1, std::memory_order_relaxed) % kThreadSlots);
  }
  ~Holder() {
    if (owned_) held.fetch_and(~(1u << slot_), std::memory_order_acq_rel);
  }
  Holder(const Holder&) = delete;
  Holder& operator=(const Holder&) = delete;
  int slot() const { return slot_; }

 private:
  int slot_ = 0;
  bool owned_ = true;
};

}  // namespace thread_slots_internal

// This thread's slot in [0, kThreadSlots), the same for the thread's whole life.
inline int ThisThreadSlot() {
  thread_local const thread_slots_internal::Holder holder;
  return holder.slot();
}

}  // namespace dflow

#endif  // DFLOW_RUNTIME_THREAD_SLOTS_H_
