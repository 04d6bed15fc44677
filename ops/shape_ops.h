// Builder functions for ops that rearrange a tensor into another shape.
#ifndef DFLOW_OPS_SHAPE_OPS_H_
#define DFLOW_OPS_SHAPE_OPS_H_

#include <vector>

#include "graph/graph.h"
#include "ops/scope.h"

namespace dflow {
namespace ops {

// `shape` may hold one -1, inferred from the element count.
Output Reshape(const Scope& scope, Input tensor, Input shape);
// Inserts a dimension of size 1 at `axis` (negative counts from the end).
Output ExpandDims(const Scope& scope, Input input, Input axis);

// Removes dims of size 1: those listed in Axis (negative counts from the end), or every one.
class Squeeze : public Output {
 public:
  struct Attrs {
    Attrs Axis(const std::vector<int>& v) const { Attrs a = *this; a.squeeze_dims = v; return a; }
    std::vector<int> squeeze_dims;
  };
  static Attrs Axis(const std::vector<int>& v) { return Attrs().Axis(v); }
  Squeeze(const Scope& scope, Input input) : Squeeze(scope, input, Attrs()) {}
  Squeeze(const Scope& scope, Input input, const Attrs& attrs);
};

// Repeats `input` multiples[i] times along dim i (multiples: 1-D int32/int64, one per dim).
Output Tile(const Scope& scope, Input input, Input multiples);

}  // namespace ops
}  // namespace dflow

#endif  // DFLOW_OPS_SHAPE_OPS_H_
