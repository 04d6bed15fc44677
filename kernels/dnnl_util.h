// What every oneDNN kernel shares: dflow tensors as oneDNN memory, primitives made with a
// per-thread scratchpad and run without per-call allocation, and a thread-safe per-shape cache.
#ifndef DFLOW_KERNELS_DNNL_UTIL_H_
#define DFLOW_KERNELS_DNNL_UTIL_H_

#include <atomic>
#include <cstddef>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

#include "graph/graph.h"
#include "graph/tensor.h"
#include "oneapi/dnnl/dnnl.hpp"

extern "C" {  // libgomp, which oneDNN's CPU runtime uses (its team size is per calling thread).
int omp_get_max_threads(void);
void omp_set_num_threads(int num_threads);
}

namespace dflow {

// The process-wide CPU engine (thread-safe, created on first use).
const dnnl::engine& CpuEngine();

// oneDNN's element type for `dtype`, if it has one (f32, s32, s8, u8).
std::optional<dnnl::memory::data_type> ToDnnlType(DataType dtype);

// Dims of `shape`; a scalar becomes {1} since oneDNN has no rank-0 memory.
dnnl::memory::dims ToDnnlDims(const TensorShape& shape);

// Dense row-major descriptor for `shape` padded on the left with 1s to `rank` (>= shape rank).
dnnl::memory::desc PlainDesc(const TensorShape& shape, dnnl::memory::data_type type, int rank = 0);

// A primitive cache key: shapes and flags, inline so that building one never allocates.
using CacheKey = absl::InlinedVector<int64_t, 16>;

// A key made of the given shapes (rank-prefixed so that different splits never collide).
CacheKey ShapeKey(std::initializer_list<const TensorShape*> shapes);

// One argument of RunPrimitive: the memory object the primitive was made with and the buffer it
// should see in this call (null: the memory keeps its own, e.g. weights in oneDNN's layout).
struct BoundArg {
  int id;  // DNNL_ARG_*
  dnnl::memory& memory;
  const void* buffer;
};

// The attributes every kernel primitive is made with: `attr` plus a user-managed scratchpad.
// oneDNN 2.6 as Debian builds it (without DNNL_ENABLE_CONCURRENT_EXEC) shares one
// library-managed scratchpad among the primitives of a thread, which primitives running on two
// threads at once could corrupt; RunPrimitive instead binds a buffer of the calling thread.
dnnl::primitive_attr KernelAttr(dnnl::primitive_attr attr = dnnl::primitive_attr());

// A primitive made from a descriptor created with KernelAttr, with its scratchpad's size (queried
// once) and the memory object through which RunPrimitive binds it. Throws dnnl::error for a
// descriptor with a library-managed scratchpad.
class Primitive {
 public:
  Primitive() = default;
  explicit Primitive(const dnnl::primitive_desc_base& pd);

  const dnnl::primitive& get() const { return prim_; }

 private:
  friend void RunPrimitive(const Primitive& prim, dnnl::stream& stream,
                           absl::Span<const BoundArg> args);
  dnnl::primitive prim_;
  dnnl::memory scratchpad_;
  size_t scratchpad_bytes_ = 0;
};

// Points each argument's memory at its buffer and the primitive's scratchpad (if any) at this
// thread's scratchpad buffer, runs `prim` through oneDNN's C API (which, unlike
// dnnl::primitive::execute, builds no std::unordered_map of arguments) and waits for it. The
// memory objects must be the caller's alone for the call (a ShapeCache lease). Throws
// dnnl::error.
void RunPrimitive(const Primitive& prim, dnnl::stream& stream, absl::Span<const BoundArg> args);

// 64-byte-aligned scratch memory of at least `bytes` for the calling thread, valid until its next
// call on this thread; it grows to the largest request and is then reused, never shrunk.
void* ThreadScratchpad(size_t bytes);

// A 2-D product op(a) x op(b) = [m, k] x [k, n], where op transposes when asked.
struct MatMulDims {
  int64_t m = 0, k = 0, n = 0;
  bool transpose_a = false, transpose_b = false;

  // Row-major descriptors of op(a), op(b) and the product; a transpose is swapped strides, so
  // nothing is copied.
  dnnl::memory::desc A() const;
  dnnl::memory::desc B() const;
  dnnl::memory::desc C() const;
};

// The dims of op(a) x op(b); fails naming both shapes unless a and b are float matrices whose
// inner dimensions agree.
absl::StatusOr<MatMulDims> MatMulDimsOf(const Tensor& a, const Tensor& b, bool transpose_a,
                                        bool transpose_b);

// Reads a MatMul-like node's transpose_a and transpose_b attrs, stopping at the first failure.
absl::Status GetTransposeAttrs(const Node& node, bool* transpose_a, bool* transpose_b);

// A spin lock: a kernel's cache is locked twice per call, almost always uncontended, for a few
// instructions (absl::Mutex, as Debian builds it, checks for deadlocks on every lock).
class SpinLock {
 public:
  void Lock() {
    while (locked_.exchange(true, std::memory_order_acquire)) {
      while (locked_.load(std::memory_order_relaxed)) std::this_thread::yield();
    }
  }
  void Unlock() { locked_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> locked_{false};
};

class SpinLockHolder {
 public:
  explicit SpinLockHolder(SpinLock* lock) : lock_(lock) { lock_->Lock(); }
  ~SpinLockHolder() { lock_->Unlock(); }
  SpinLockHolder(const SpinLockHolder&) = delete;
  SpinLockHolder& operator=(const SpinLockHolder&) = delete;

 private:
  SpinLock* lock_;
};

// A kernel's oneDNN primitives (with their memory objects) per input shapes, built once per
// shape. Thread-safe: Get hands out an exclusive lease on an entry, since a call points the
// entry's memory objects at its own buffers; a caller finding every entry of its key leased
// builds another, kept for later calls. Bounded: a kernel fed ever-changing shapes drops its idle
// entries rather than growing (leased ones live until released).
//
//   ShapeCache<Entry>::Lease e = cache_.Get(key, [&] { return std::make_unique<Entry>(...); });
//   RunPrimitive(e->prim, ctx->stream(), {{DNNL_ARG_SRC, e->src, x.data()}, ...});
template <typename Entry>
class ShapeCache {
  struct Slot {
    std::unique_ptr<Entry> entry;
    int threads;  // The OpenMP team size the entry's primitives were made for.
    bool leased = false;
  };

 public:
  // Exclusive use of one entry until destroyed.
  class Lease {
   public:
    Lease(Lease&& other) noexcept : cache_(other.cache_), slot_(other.slot_) {
      other.slot_ = nullptr;
    }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (slot_ != nullptr) cache_->Release(slot_);
    }
    Entry* get() const { return slot_->entry.get(); }
    Entry* operator->() const { return get(); }
    Entry& operator*() const { return *get(); }

   private:
    friend class ShapeCache;
    Lease(ShapeCache* cache, Slot* slot) : cache_(cache), slot_(slot) {}
    ShapeCache* cache_;
    Slot* slot_;
  };

  // A lease on an idle entry for `key`, made by `make()` (returning unique_ptr<Entry>) when there
  // is none. `make` runs unlocked; if it throws, nothing is kept.
  // Entries are also keyed by the caller's OpenMP team size: oneDNN fixes a primitive's thread
  // count when it creates it, so one made for two threads would keep forking two.
  template <typename Make>
  Lease Get(const CacheKey& key, Make make) {
    const int threads = omp_get_max_threads();
    {
      SpinLockHolder hold(&lock_);
      auto [it, end] = slots_.equal_range(key);
      for (; it != end; ++it) {
        if (!it->second.leased && it->second.threads == threads) {
          it->second.leased = true;
          return Lease(this, &it->second);
        }
      }
    }
    std::unique_ptr<Entry> entry = make();
    SpinLockHolder hold(&lock_);
    if (slots_.size() >= kMaxEntries) DropIdle();
    auto it = slots_.emplace(key, Slot{std::move(entry), threads, true});
    return Lease(this, &it->second);
  }

 private:
  static constexpr size_t kMaxEntries = 32;

  void Release(Slot* slot) {
    SpinLockHolder hold(&lock_);
    slot->leased = false;
  }
  void DropIdle() {
    for (auto it = slots_.begin(); it != slots_.end();) {
      it = it->second.leased ? std::next(it) : slots_.erase(it);
    }
  }

  SpinLock lock_;
  std::multimap<CacheKey, Slot> slots_;  // Nodes never move: leases point into them.
};

// A primitive that reads one source and writes one destination of the same dense f32 layout
// (eltwise, softmax, logsoftmax), built once per dims.
class SrcDstPrimitive {
 public:
  // Runs src -> dst, both dense row-major f32 of `dims`, through the primitive whose descriptor
  // `make(md, engine)` returns (created with KernelAttr()), waiting for it to finish.
  template <typename Make>
  void Run(const CacheKey& dims, const void* src, void* dst, const dnnl::engine& engine,
           dnnl::stream& stream, Make make) {
    typename ShapeCache<Entry>::Lease e = cache_.Get(dims, [&] {
      const dnnl::memory::desc md = PlainDesc(TensorShape(dims), dnnl::memory::data_type::f32);
      auto entry = std::make_unique<Entry>();
      entry->prim = Primitive(make(md, engine));
      entry->src = dnnl::memory(md, engine, nullptr);
      entry->dst = dnnl::memory(md, engine, nullptr);
      return entry;
    });
    RunPrimitive(e->prim, stream, {{DNNL_ARG_SRC, e->src, src}, {DNNL_ARG_DST, e->dst, dst}});
  }

 private:
  struct Entry {
    Primitive prim;
    dnnl::memory src, dst;
  };
  ShapeCache<Entry> cache_;
};

}  // namespace dflow

#endif  // DFLOW_KERNELS_DNNL_UTIL_H_
