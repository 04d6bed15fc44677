// CacheLineAllocator: a standard allocator whose blocks start on a cache line and fill whole
// lines, so that data one thread writes every run (a run state's vectors, a buffer pool's free
// lists, reference counts) never shares a line with data other threads read or write. Two
// clients of one plan on two cores otherwise pass lines back and forth on every step (false
// sharing), which cost a quarter of the 2-client throughput at batch 1. Stateless; thread-safe
// as operator new is.
#ifndef DFLOW_GRAPH_CACHE_LINE_ALLOCATOR_H_
#define DFLOW_GRAPH_CACHE_LINE_ALLOCATOR_H_

#include <cstddef>
#include <new>
#include <vector>

namespace dflow {

inline constexpr size_t kCacheLine = 64;

template <typename T>
struct CacheLineAllocator {
  using value_type = T;

  CacheLineAllocator() = default;
  template <typename U>
  CacheLineAllocator(const CacheLineAllocator<U>&) {}  // NOLINT: rebinding is implicit.

  static size_t Bytes(size_t n) {
    return (n * sizeof(T) + kCacheLine - 1) / kCacheLine * kCacheLine;
  }
  T* allocate(size_t n) {
    return static_cast<T*>(::operator new(Bytes(n), std::align_val_t(kCacheLine)));
  }
  void deallocate(T* p, size_t n) {
    ::operator delete(p, Bytes(n), std::align_val_t(kCacheLine));
  }
  template <typename U>
  bool operator==(const CacheLineAllocator<U>&) const { return true; }
  template <typename U>
  bool operator!=(const CacheLineAllocator<U>&) const { return false; }
};

template <typename T>
using CacheLineVector = std::vector<T, CacheLineAllocator<T>>;

}  // namespace dflow

#endif  // DFLOW_GRAPH_CACHE_LINE_ALLOCATOR_H_
