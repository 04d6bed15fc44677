#include "graph/buffer_pool.h"

#include <utility>

namespace dflow {

std::shared_ptr<Tensor::Buffer> BufferPool::Get(size_t bytes) {
  const size_t size = Tensor::Buffer::RoundedSize(bytes);
  auto it = free_.find(size);
  if (it != free_.end() && !it->second.empty()) {
    std::shared_ptr<Tensor::Buffer> buffer = std::move(it->second.back());
    it->second.pop_back();  // Keeps the vector's capacity for the buffer's return.
    free_bytes_ -= size;
    return buffer;
  }
  return Tensor::Buffer::Make(size);
}

void BufferPool::Recycle(Tensor* t) {
  std::shared_ptr<Tensor::Buffer> buffer = std::move(t->buffer_);
  *t = Tensor();
  if (buffer == nullptr || buffer.use_count() != 1) return;
  if (buffer->strings > 0) return;  // Holds std::strings: freed (and destroyed) on return.
  if (free_bytes_ + buffer->capacity > max_free_bytes_) return;  // Freed on return.
  free_bytes_ += buffer->capacity;
  free_[buffer->capacity].push_back(std::move(buffer));
}

void BufferPool::ReserveFor(const Tensor& t) {
  if (t.buffer_ == nullptr) return;
  FreeList& list = free_[t.buffer_->capacity];
  list.reserve(list.size() + 1);
}

}  // namespace dflow
