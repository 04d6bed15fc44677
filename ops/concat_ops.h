// Builder functions for ops that join tensors.
#ifndef DFLOW_OPS_CONCAT_OPS_H_
#define DFLOW_OPS_CONCAT_OPS_H_

#include <cstdint>

#include "absl/types/span.h"
#include "graph/graph.h"
#include "ops/scope.h"

namespace dflow {
namespace ops {

// Stacks N tensors of one shape into a tensor of rank + 1 along `axis` (Pack; negative counts
// from the end of the output's dims).
class Pack : public Output {
 public:
  struct Attrs {
    Attrs Axis(int64_t v) const { Attrs a = *this; a.axis = v; return a; }
    int64_t axis = 0;
  };
  static Attrs Axis(int64_t v) { return Attrs().Axis(v); }
  Pack(const Scope& scope, absl::Span<const Output> values) : Pack(scope, values, Attrs()) {}
  Pack(const Scope& scope, absl::Span<const Output> values, const Attrs& attrs);
};

// Concatenates two or more tensors along `axis` (a scalar int32/int64; negative counts from the
// end); the other dims must match.
Output ConcatV2(const Scope& scope, absl::Span<const Output> values, Input axis);

// merged[indices[m][i...], ...] = data[m][i..., ...]; later entries win; the first dim is the
// largest index + 1 (indices: int32, data[m].shape = indices[m].shape + a common tail).
Output DynamicStitch(const Scope& scope, absl::Span<const Output> indices,
                     absl::Span<const Output> data);

}  // namespace ops
}  // namespace dflow

#endif  // DFLOW_OPS_CONCAT_OPS_H_
