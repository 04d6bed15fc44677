// Builders for the Horovod-compatible collectives (Horovod's TensorFlow op names and attrs, so a
// graph built with horovod.tensorflow loads and runs). Kernels: kernels/collective; how to run
// under mpirun and what is not supported yet: docs/distributed.md.
#ifndef DFLOW_OPS_COLLECTIVE_HOROVOD_OPS_H_
#define DFLOW_OPS_COLLECTIVE_HOROVOD_OPS_H_

#include <cstdint>
#include <vector>

#include "absl/types/span.h"
#include "graph/graph.h"
#include "ops/scope.h"

namespace dflow {
namespace ops {

// Horovod's reduce_op values.
inline constexpr int64_t kHorovodAverage = 0;
inline constexpr int64_t kHorovodSum = 1;
inline constexpr int64_t kHorovodAdasum = 2;  // Not supported: the kernel fails.
inline constexpr int64_t kHorovodMin = 3;
inline constexpr int64_t kHorovodMax = 4;
inline constexpr int64_t kHorovodProduct = 5;

// Reduces `tensor` (same shape on every rank) elementwise across ranks:
// postscale * reduce_op over ranks of (prescale * tensor), divided by the size for average.
class HorovodAllreduce : public Output {
 public:
  struct Attrs {
    Attrs ReduceOp(int64_t v) const { Attrs a = *this; a.reduce_op = v; return a; }
    Attrs PrescaleFactor(float v) const { Attrs a = *this; a.prescale_factor = v; return a; }
    Attrs PostscaleFactor(float v) const { Attrs a = *this; a.postscale_factor = v; return a; }
    int64_t reduce_op = kHorovodSum;
    float prescale_factor = 1.0f;
    float postscale_factor = 1.0f;
  };
  static Attrs ReduceOp(int64_t v) { return Attrs().ReduceOp(v); }
  HorovodAllreduce(const Scope& scope, Input tensor) : HorovodAllreduce(scope, tensor, Attrs()) {}
  HorovodAllreduce(const Scope& scope, Input tensor, const Attrs& attrs);
};

// Horovod's HorovodGroupedAllreduce: each of `tensors` (one dtype) reduced as HorovodAllreduce
// with `attrs` would be, all handed to the coordinator at once, so that one step's gradients are
// negotiated in one round and fused into one MPI allreduce (up to HOROVOD_FUSION_THRESHOLD).
// Across ranks tensor i is matched by the name "<node>_<i+1>of<n>", as Horovod names it.
class HorovodGroupedAllreduce {
 public:
  HorovodGroupedAllreduce(const Scope& scope, absl::Span<const Output> tensors,
                          const HorovodAllreduce::Attrs& attrs);
  std::vector<Output> sum;
};

// Every rank gets root_rank's `tensor` (the same shape on every rank).
Output HorovodBroadcast(const Scope& scope, Input tensor, int64_t root_rank);

// The ranks' tensors concatenated along dimension 0, rank by rank; they may differ only there.
Output HorovodAllgather(const Scope& scope, Input tensor);

}  // namespace ops
}  // namespace dflow

#endif  // DFLOW_OPS_COLLECTIVE_HOROVOD_OPS_H_
