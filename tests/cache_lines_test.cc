// The two mechanisms that keep concurrent clients of one plan off each other's cache lines:
// CacheLineAllocator's blocks, and thread slots that a live thread never shares.
#include <cstdint>
#include <set>
#include <thread>
#include <vector>

#include "graph/cache_line_allocator.h"
#include "gtest/gtest.h"
#include "runtime/thread_slots.h"

namespace dflow {
namespace {

TEST(CacheLineAllocator, BlocksStartOnALineAndFillWholeLines) {
  EXPECT_EQ(CacheLineAllocator<char>::Bytes(1), 64u);
  EXPECT_EQ(CacheLineAllocator<char>::Bytes(64), 64u);
  EXPECT_EQ(CacheLineAllocator<int64_t>::Bytes(9), 128u);
  for (int n : {1, 3, 17, 1000}) {
    CacheLineVector<char> v(n);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(v.data()) % kCacheLine, 0u) << n;
  }
}

TEST(ThreadSlots, LiveThreadsNeverShareASlot) {
  const int mine = ThisThreadSlot();
  // One short-lived thread after another: with slots dealt round-robin, the kThreadSlots-th
  // would get this thread's slot.
  for (int i = 0; i < 3 * kThreadSlots; ++i) {
    int theirs = -1;
    std::thread([&theirs] { theirs = ThisThreadSlot(); }).join();
    EXPECT_NE(theirs, mine) << "thread " << i;
    EXPECT_GE(theirs, 0);
    EXPECT_LT(theirs, kThreadSlots);
  }
  EXPECT_EQ(ThisThreadSlot(), mine);
}

TEST(ThreadSlots, ConcurrentThreadsGetDistinctSlots) {
  constexpr int kThreads = kThreadSlots - 1;  // With this one, every slot is held.
  std::vector<int> slots(kThreads, -1);
  std::vector<std::thread> threads;
  std::atomic<int> arrived{0};
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      slots[i] = ThisThreadSlot();
      arrived.fetch_add(1);
      while (arrived.load() < kThreads) std::this_thread::yield();  // All alive at once.
    });
  }
  for (std::thread& t : threads) t.join();
  std::set<int> distinct(slots.begin(), slots.end());
  distinct.insert(ThisThreadSlot());
  EXPECT_EQ(distinct.size(), static_cast<size_t>(kThreadSlots));
}

}  // namespace
}  // namespace dflow
