// Tensor: a dtype, a shape and a 64-byte-aligned buffer shared between copies. Copying a Tensor
// is cheap (the buffer is shared); DeepCopy() makes an independent one. A DT_STRING tensor's
// buffer holds std::string elements (flat<std::string>()), constructed empty with the buffer and
// destroyed with it; such buffers are never pooled, and TotalBytes() is 0 for them (no
// plain-bytes copies).
#ifndef DFLOW_GRAPH_TENSOR_H_
#define DFLOW_GRAPH_TENSOR_H_

#include <cassert>
#include <atomic>
#include <cstddef>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "graph/tensor_shape.h"
#include "graph/types.h"
#include "proto/graph.pb.h"

namespace dflow {

class BufferPool;

// Tensor memory limits. Every tensor buffer counts against LiveTensorBytes() while it exists
// (buffers kept by a BufferPool included); an allocation that would take it past the calling
// thread's limit fails instead of being made. The limit is DefaultMemoryLimit() (3/4 of physical
// memory) unless a ScopedMemoryLimit on the thread says otherwise (Session::Run installs its
// SessionOptions::memory_limit_bytes). Checked only for allocations of at least 1 MiB.
int64_t DefaultMemoryLimit();
int64_t LiveTensorBytes();
int64_t CurrentMemoryLimit();
class ScopedMemoryLimit {
 public:
  explicit ScopedMemoryLimit(int64_t bytes);  // 0 or less: DefaultMemoryLimit().
  ~ScopedMemoryLimit();
  ScopedMemoryLimit(const ScopedMemoryLimit&) = delete;
  ScopedMemoryLimit& operator=(const ScopedMemoryLimit&) = delete;

 private:
  int64_t previous_;
};

// Thrown by Tensor's allocating constructors when a shape has too many elements, the memory
// limit would be exceeded or the system refuses the memory. RunKernel turns it into
// ResourceExhausted; code outside kernels uses Tensor::Allocate, which returns the status.
class TensorAllocationError : public std::bad_alloc {
 public:
  explicit TensorAllocationError(std::string message) : message_(std::move(message)) {}
  const char* what() const noexcept override { return message_.c_str(); }

 private:
  std::string message_;
};

class Tensor {
 public:
  static constexpr size_t kAlignment = 64;

  Tensor() = default;  // Uninitialized: dtype DT_INVALID, no buffer.
  // Allocates an uninitialized buffer for `shape` (strings: empty ones); HasStorage(dtype).
  Tensor(DataType dtype, const TensorShape& shape);
  // The same, reusing a buffer `pool` kept from an earlier tensor when one fits (null: allocate).
  Tensor(DataType dtype, const TensorShape& shape, BufferPool* pool);
  // The same, failing with ResourceExhausted (naming the bytes) instead of throwing.
  static absl::StatusOr<Tensor> Allocate(DataType dtype, const TensorShape& shape);

  template <typename T>
  static Tensor Scalar(T value) {
    Tensor t(DataTypeOf<T>::value, TensorShape());
    t.flat<T>()[0] = value;
    return t;
  }
  // A tensor of `shape` holding `values` (row-major); their count must match the shape.
  template <typename T>
  static absl::StatusOr<Tensor> FromVector(absl::Span<const T> values, const TensorShape& shape);
  // A tensor of `shape` with every element `value`.
  template <typename T>
  static Tensor Filled(const TensorShape& shape, T value) {
    Tensor t(DataTypeOf<T>::value, shape);
    for (T& v : t.flat<T>()) v = value;
    return t;
  }

  // Parses tensor_content or the typed *_val fields (one value is repeated to fill the shape).
  // Strings: string_val, or tensor_content as TensorFlow encodes string lists (all lengths as
  // varint32s, then all bytes).
  static absl::StatusOr<Tensor> FromProto(const TensorProto& proto);
  // Writes dtype, shape and all values as tensor_content (strings: as string_val).
  void ToProto(TensorProto* proto) const;

  bool IsInitialized() const { return dtype_ != DT_INVALID; }
  DataType dtype() const { return dtype_; }
  const TensorShape& shape() const { return shape_; }
  int dims() const { return shape_.dims(); }
  int64_t dim_size(int d) const { return shape_.dim_size(d); }
  int64_t NumElements() const { return num_elements_; }
  size_t TotalBytes() const { return static_cast<size_t>(num_elements_) * DataTypeSize(dtype_); }

  // Mutable access ends a buffer's immutability (MarkImmutable), for every Tensor sharing it.
  void* data() {
    if (buffer_ == nullptr) return nullptr;
    // Relaxed: concurrent runs read the flag of a shared Const buffer while another may clear it.
    if (buffer_->immutable.load(std::memory_order_relaxed)) {
      buffer_->immutable.store(false, std::memory_order_relaxed);
    }
    return buffer_->data;
  }
  const void* data() const { return buffer_ ? buffer_->data : nullptr; }

  template <typename T>
  absl::Span<T> flat() {
    assert(DataTypeOf<T>::value == dtype_);
    return absl::Span<T>(static_cast<T*>(data()), num_elements_);
  }
  template <typename T>
  absl::Span<const T> flat() const {
    assert(DataTypeOf<T>::value == dtype_);
    return absl::Span<const T>(static_cast<const T*>(data()), num_elements_);
  }
  template <typename T>
  T scalar() const {
    return flat<T>()[0];
  }

  Tensor DeepCopy() const;
  // The same buffer seen with another shape of equal element count.
  absl::StatusOr<Tensor> Reshaped(const TensorShape& shape) const;
  bool SharesBufferWith(const Tensor& other) const {
    return buffer_ != nullptr && buffer_ == other.buffer_;
  }
  // True when no other Tensor shares this buffer, so it may be written in place.
  bool BufferIsExclusive() const { return buffer_ != nullptr && buffer_.use_count() == 1; }
  // A buffer marked immutable (a Const kernel's value) keeps its contents until someone asks
  // for mutable access (data(), flat()), so a kernel may cache what it derives from it (a filter
  // reordered for oneDNN) for as long as it is the same buffer and still immutable.
  void MarkImmutable() {
    if (buffer_ != nullptr) buffer_->immutable.store(true, std::memory_order_relaxed);
  }
  bool IsImmutable() const {
    return buffer_ != nullptr && buffer_->immutable.load(std::memory_order_relaxed);
  }

  // "float [2,3] {1, 2, 3, 4, 5, 6}", eliding after `max_values` values.
  std::string DebugString(int max_values = 10) const;

 private:
  friend class BufferPool;
  struct Buffer {
    explicit Buffer(size_t bytes);  // Rounds up to a multiple of kAlignment.
    ~Buffer();
    Buffer(const Buffer&) = delete;
    Buffer& operator=(const Buffer&) = delete;
    static size_t RoundedSize(size_t bytes);
    // A new buffer whose reference counts lie on cache lines of their own: copies of a tensor
    // on two threads write them, and must not write other data's lines.
    static std::shared_ptr<Buffer> Make(size_t bytes);
    void* data = nullptr;
    size_t capacity = 0;
    int64_t strings = 0;  // std::string elements constructed in data, destroyed with it.
    std::atomic<bool> immutable{false};
  };

  DataType dtype_ = DT_INVALID;
  TensorShape shape_;
  int64_t num_elements_ = 0;
  std::shared_ptr<Buffer> buffer_;
};

// The values of a scalar or 1-D int32/int64 tensor (shapes, axes), widened to int64. Fails, naming
// `what`, for another type or rank.
// Inline for up to 8 values, so that kernels reading axes or small shapes do not allocate.
using IntList = absl::InlinedVector<int64_t, 8>;
absl::StatusOr<IntList> IntValues(const Tensor& t, absl::string_view what);

template <typename T>
absl::StatusOr<Tensor> Tensor::FromVector(absl::Span<const T> values, const TensorShape& shape) {
  if (static_cast<int64_t>(values.size()) != shape.num_elements()) {
    return absl::InvalidArgumentError("value count " + std::to_string(values.size()) +
                                      " does not match shape " + shape.DebugString());
  }
  Tensor t(DataTypeOf<T>::value, shape);
  std::copy(values.begin(), values.end(), t.flat<T>().begin());
  return t;
}

}  // namespace dflow

#endif  // DFLOW_GRAPH_TENSOR_H_
