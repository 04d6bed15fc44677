// Small helpers for wrapping dflow tensors in oneDNN memory.
#ifndef DFLOW_KERNELS_DNNL_UTIL_H_
#define DFLOW_KERNELS_DNNL_UTIL_H_

#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"

#include "graph/tensor.h"
#include "oneapi/dnnl/dnnl.hpp"

namespace dflow {

// The process-wide CPU engine (thread-safe, created on first use).
const dnnl::engine& CpuEngine();

// oneDNN's element type for `dtype`, if it has one (f32, s32, s8, u8).
std::optional<dnnl::memory::data_type> ToDnnlType(DataType dtype);

// Dims of `shape`; a scalar becomes {1} since oneDNN has no rank-0 memory.
dnnl::memory::dims ToDnnlDims(const TensorShape& shape);

// Dense row-major descriptor for `shape` padded on the left with 1s to `rank` (>= shape rank).
dnnl::memory::desc PlainDesc(const TensorShape& shape, dnnl::memory::data_type type, int rank = 0);

// A key made of the given shapes (rank-prefixed so that different splits never collide).
std::vector<int64_t> ShapeKey(std::initializer_list<const TensorShape*> shapes);

// The status for a oneDNN exception.
absl::Status DnnlError(const dnnl::error& e);

// A kernel's oneDNN primitives (with their memory objects) per input shapes, built once per
// shape. Bounded: a kernel fed ever-changing shapes drops its cache rather than growing.
template <typename Entry>
class ShapeCache {
 public:
  Entry* Find(const std::vector<int64_t>& key) {
    auto it = entries_.find(key);
    return it == entries_.end() ? nullptr : it->second.get();
  }
  Entry* Insert(std::vector<int64_t> key, std::unique_ptr<Entry> entry) {
    if (entries_.size() >= kMaxEntries) entries_.clear();
    Entry* raw = entry.get();
    entries_[std::move(key)] = std::move(entry);
    return raw;
  }
  // The entry for `key`, made by `make()` (returning unique_ptr<Entry>) on first use.
  template <typename Make>
  Entry* Get(const std::vector<int64_t>& key, Make make) {
    Entry* e = Find(key);
    return e != nullptr ? e : Insert(key, make());
  }

 private:
  static constexpr size_t kMaxEntries = 32;
  std::map<std::vector<int64_t>, std::unique_ptr<Entry>> entries_;
};

// A primitive that reads one source and writes one destination of the same descriptor
// (eltwise, softmax, logsoftmax), built once per shape key. Thread-safe.
class SrcDstPrimitive {
 public:
  // Runs src -> dst through the primitive `make(md, engine)` returns, waiting for it to finish.
  template <typename Make>
  absl::Status Run(const std::vector<int64_t>& key, const dnnl::memory::desc& md,
                   const void* src, void* dst, const dnnl::engine& engine, dnnl::stream& stream,
                   Make make) {
    try {
      absl::MutexLock lock(&mu_);
      Entry* e = cache_.Get(key, [&] {
        auto entry = std::make_unique<Entry>();
        entry->prim = make(md, engine);
        entry->src = dnnl::memory(md, engine, nullptr);
        entry->dst = dnnl::memory(md, engine, nullptr);
        return entry;
      });
      e->src.set_data_handle(const_cast<void*>(src));
      e->dst.set_data_handle(dst);
      e->prim.execute(stream, {{DNNL_ARG_SRC, e->src}, {DNNL_ARG_DST, e->dst}});
      stream.wait();
    } catch (const dnnl::error& err) {
      return DnnlError(err);
    }
    return absl::OkStatus();
  }

 private:
  struct Entry {
    dnnl::primitive prim;
    dnnl::memory src, dst;
  };
  absl::Mutex mu_;
  ShapeCache<Entry> cache_ ABSL_GUARDED_BY(mu_);
};

}  // namespace dflow

#endif  // DFLOW_KERNELS_DNNL_UTIL_H_
