// The shape-function steps ConcatV2 (concat_ops.cc) and the old Concat (concat_v1_ops.cc) share:
// the values are inputs [first, first + n) of the node, whichever end holds the axis.
#ifndef DFLOW_OPS_CONCAT_SHAPE_H_
#define DFLOW_OPS_CONCAT_SHAPE_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace dflow {

class InferenceContext;

namespace concat {

// The values' common rank (-1 when none is known); an error naming the first value whose known
// rank differs from the others'.
absl::StatusOr<int> ValuesRank(InferenceContext* ctx, int first, int n);

// Sets output 0 to the values joined along `axis` (in [0, rank)): its size the sum of theirs
// (-1 when one is unknown), every other dim merged; an error naming the first that differs.
absl::Status SetJoinedShape(InferenceContext* ctx, int first, int n, int rank, int64_t axis);

}  // namespace concat
}  // namespace dflow

#endif  // DFLOW_OPS_CONCAT_SHAPE_H_
