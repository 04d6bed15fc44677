// Builder functions for ops that pick or scatter elements by index: Gather, GatherV2, GatherNd,
// ScatterNd, OneHot and UnsortedSegmentSum.
#ifndef DFLOW_OPS_GATHER_OPS_H_
#define DFLOW_OPS_GATHER_OPS_H_

#include <cstdint>

#include "graph/graph.h"
#include "ops/scope.h"

namespace dflow {
namespace ops {

// params[indices] along dim 0: shape indices.shape + params.shape[1:] (the old op Gather).
Output Gather(const Scope& scope, Input params, Input indices);

// Slices of `params` along `axis` (a scalar; negative counts from the end) picked by `indices`:
// shape params.shape[:axis] + indices.shape[batch_dims:] + params.shape[axis + 1:]; the first
// batch_dims dims of params and indices are batch dims they share.
class GatherV2 : public Output {
 public:
  struct Attrs {
    Attrs BatchDims(int64_t v) const { Attrs a = *this; a.batch_dims = v; return a; }
    int64_t batch_dims = 0;
  };
  static Attrs BatchDims(int64_t v) { return Attrs().BatchDims(v); }
  GatherV2(const Scope& scope, Input params, Input indices, Input axis)
      : GatherV2(scope, params, indices, axis, Attrs()) {}
  GatherV2(const Scope& scope, Input params, Input indices, Input axis, const Attrs& attrs);
};

// params[indices[..., :]]: the last dim of indices indexes the leading dims of params; shape
// indices.shape[:-1] + params.shape[indices.shape[-1]:].
Output GatherNd(const Scope& scope, Input params, Input indices);

// Zeros of `shape` with each update added at its index (GatherNd's adjoint; duplicates sum).
Output ScatterNd(const Scope& scope, Input indices, Input updates, Input shape);

// out[..., indices[...] (at `axis`), ...] = on_value, else off_value; indices outside
// [0, depth) give a row of off_value (axis -1: the new dim is last).
class OneHot : public Output {
 public:
  struct Attrs {
    Attrs Axis(int64_t v) const { Attrs a = *this; a.axis = v; return a; }
    int64_t axis = -1;
  };
  static Attrs Axis(int64_t v) { return Attrs().Axis(v); }
  OneHot(const Scope& scope, Input indices, Input depth, Input on_value, Input off_value)
      : OneHot(scope, indices, depth, on_value, off_value, Attrs()) {}
  OneHot(const Scope& scope, Input indices, Input depth, Input on_value, Input off_value,
         const Attrs& attrs);
};

// out[k, ...] = sum of data[i..., ...] over the i where segment_ids[i...] == k, for k in
// [0, num_segments); negative ids are dropped.
Output UnsortedSegmentSum(const Scope& scope, Input data, Input segment_ids, Input num_segments);

}  // namespace ops
}  // namespace dflow

#endif  // DFLOW_OPS_GATHER_OPS_H_
