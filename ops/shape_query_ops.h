// Builder functions for ops on shapes: ShapeN, Size and BroadcastTo.
#ifndef DFLOW_OPS_SHAPE_QUERY_OPS_H_
#define DFLOW_OPS_SHAPE_QUERY_OPS_H_

#include <vector>

#include "absl/types/span.h"
#include "graph/graph.h"
#include "ops/scope.h"

namespace dflow {
namespace ops {

// The shapes of several tensors at once, as 1-D int32 tensors (or out_type int64).
class ShapeN {
 public:
  ShapeN(const Scope& scope, absl::Span<const Output> input, DataType out_type = DT_INT32);
  std::vector<Output> output;
};

// The element count of `input` as an int32 scalar (or out_type int64).
Output Size(const Scope& scope, Input input, DataType out_type = DT_INT32);

// `input` broadcast (numpy rules) to `shape` (1-D int32/int64).
Output BroadcastTo(const Scope& scope, Input input, Input shape);

}  // namespace ops
}  // namespace dflow

#endif  // DFLOW_OPS_SHAPE_QUERY_OPS_H_
