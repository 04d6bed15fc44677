// Small helpers for wrapping dflow tensors in oneDNN memory.
#ifndef DFLOW_KERNELS_DNNL_UTIL_H_
#define DFLOW_KERNELS_DNNL_UTIL_H_

#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

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

// A primitive cache key: shapes and flags, inline so that building one never allocates.
using CacheKey = absl::InlinedVector<int64_t, 16>;

// A key made of the given shapes (rank-prefixed so that different splits never collide).
CacheKey ShapeKey(std::initializer_list<const TensorShape*> shapes);

// Runs `prim` through oneDNN's C API, which, unlike dnnl::primitive::execute, builds no
// std::unordered_map of arguments. Throws dnnl::error like the C++ API.
void Execute(const dnnl::primitive& prim, dnnl::stream& stream,
             absl::Span<const dnnl_exec_arg_t> args);

// One argument of RunPrimitive: the memory object the primitive was made with and the buffer it
// should see in this call (null: the memory keeps its own, e.g. weights in oneDNN's layout).
struct BoundArg {
  int id;  // DNNL_ARG_*
  dnnl::memory& memory;
  const void* buffer;
};

// Points each argument's memory at its buffer, runs `prim` and waits for it. Throws dnnl::error.
void RunPrimitive(const dnnl::primitive& prim, dnnl::stream& stream,
                  absl::Span<const BoundArg> args);

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

// The status for a oneDNN exception.
absl::Status DnnlError(const dnnl::error& e);

// A kernel's oneDNN primitives (with their memory objects) per input shapes, built once per
// shape. Bounded: a kernel fed ever-changing shapes drops its cache rather than growing.
template <typename Entry>
class ShapeCache {
 public:
  Entry* Find(const CacheKey& key) {
    auto it = entries_.find(key);
    return it == entries_.end() ? nullptr : it->second.get();
  }
  Entry* Insert(CacheKey key, std::unique_ptr<Entry> entry) {
    if (entries_.size() >= kMaxEntries) entries_.clear();
    Entry* raw = entry.get();
    entries_[std::move(key)] = std::move(entry);
    return raw;
  }
  // The entry for `key`, made by `make()` (returning unique_ptr<Entry>) on first use.
  template <typename Make>
  Entry* Get(const CacheKey& key, Make make) {
    Entry* e = Find(key);
    return e != nullptr ? e : Insert(key, make());
  }

 private:
  static constexpr size_t kMaxEntries = 32;
  std::map<CacheKey, std::unique_ptr<Entry>> entries_;
};

// A primitive that reads one source and writes one destination of the same dense f32 layout
// (eltwise, softmax, logsoftmax), built once per dims.
class SrcDstPrimitive {
 public:
  // Runs src -> dst, both dense row-major f32 of `dims`, through the primitive
  // `make(md, engine)` returns, waiting for it to finish.
  template <typename Make>
  absl::Status Run(const CacheKey& dims, const void* src, void* dst, const dnnl::engine& engine,
                   dnnl::stream& stream, Make make) {
    try {
      Entry* e = cache_.Get(dims, [&] {
        const dnnl::memory::desc md = PlainDesc(TensorShape(dims), dnnl::memory::data_type::f32);
        auto entry = std::make_unique<Entry>();
        entry->prim = make(md, engine);
        entry->src = dnnl::memory(md, engine, nullptr);
        entry->dst = dnnl::memory(md, engine, nullptr);
        return entry;
      });
      RunPrimitive(e->prim, stream, {{DNNL_ARG_SRC, e->src, src}, {DNNL_ARG_DST, e->dst, dst}});
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
  ShapeCache<Entry> cache_;
};

}  // namespace dflow

#endif  // DFLOW_KERNELS_DNNL_UTIL_H_
