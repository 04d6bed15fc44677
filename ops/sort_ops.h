// Builder functions for ops that rank or find elements: TopKV2 and Where.
#ifndef DFLOW_OPS_SORT_OPS_H_
#define DFLOW_OPS_SORT_OPS_H_

#include "graph/graph.h"
#include "ops/scope.h"

namespace dflow {
namespace ops {

// The k largest values along the last dim and their indices (int32), largest first; equal
// values in index order (k: an int32 scalar, at most the last dim's size).
class TopK {
 public:
  struct Attrs {
    Attrs Sorted(bool v) const { Attrs a = *this; a.sorted = v; return a; }
    bool sorted = true;
  };
  static Attrs Sorted(bool v) { return Attrs().Sorted(v); }
  TopK(const Scope& scope, Input input, Input k) : TopK(scope, input, k, Attrs()) {}
  TopK(const Scope& scope, Input input, Input k, const Attrs& attrs);
  Output values, indices;
};

// The coordinates of the true (non-zero) elements of `condition`, in row-major order: an int64
// [count, rank] tensor.
Output Where(const Scope& scope, Input condition);

}  // namespace ops
}  // namespace dflow

#endif  // DFLOW_OPS_SORT_OPS_H_
