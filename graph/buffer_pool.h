// BufferPool: tensor buffers kept for reuse. An executor hands each intermediate tensor back when
// its last reader is done; if no other tensor shares the buffer, the pool keeps it for the next
// allocation of the same rounded size. Once a run's sequence of sizes has been seen, further runs
// of it allocate no tensor memory. Not thread-safe: each execution plan owns one and uses it
// under its own lock (a lock here would be taken twice per node).
#ifndef DFLOW_GRAPH_BUFFER_POOL_H_
#define DFLOW_GRAPH_BUFFER_POOL_H_

#include <cstddef>
#include <memory>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "graph/cache_line_allocator.h"
#include "graph/tensor.h"

namespace dflow {

class BufferPool {
 public:
  // Keeps at most `max_free_bytes` of unused buffers; beyond that, released buffers are freed.
  explicit BufferPool(size_t max_free_bytes = size_t{1} << 30) : max_free_bytes_(max_free_bytes) {}
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;

  // Resets *t, keeping its buffer when *t was the buffer's only holder.
  void Recycle(Tensor* t);
  // Makes room to keep t's buffer later without allocating (for tensors handed to a caller).
  void ReserveFor(const Tensor& t);
  size_t free_bytes() const { return free_bytes_; }  // Kept, unused buffers.

 private:
  friend class Tensor;
  // A kept buffer of exactly this rounded size, or a new one.
  std::shared_ptr<Tensor::Buffer> Get(size_t bytes);

  // On lines of their own (graph/cache_line_allocator.h): each run writes them.
  using FreeList = CacheLineVector<std::shared_ptr<Tensor::Buffer>>;
  const size_t max_free_bytes_;
  absl::flat_hash_map<size_t, FreeList, absl::Hash<size_t>, std::equal_to<size_t>,
                      CacheLineAllocator<std::pair<const size_t, FreeList>>>
      free_;
  size_t free_bytes_ = 0;
};

}  // namespace dflow

#endif  // DFLOW_GRAPH_BUFFER_POOL_H_
