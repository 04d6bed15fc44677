// Builder functions for the old concatenation op Concat (axis first) and ConcatOffset, which
// its gradient and ConcatV2's in TensorFlow-written graphs use.
#ifndef DFLOW_OPS_CONCAT_V1_OPS_H_
#define DFLOW_OPS_CONCAT_V1_OPS_H_

#include <vector>

#include "absl/types/span.h"
#include "graph/graph.h"
#include "ops/scope.h"

namespace dflow {
namespace ops {

// Concatenates two or more tensors along `concat_dim` (an int32 scalar; negative counts from
// the end), given first.
Output Concat(const Scope& scope, Input concat_dim, absl::Span<const Output> values);

// The offset of each of the shapes (1-D, equal but along concat_dim) inside their
// concatenation along concat_dim.
class ConcatOffset {
 public:
  ConcatOffset(const Scope& scope, Input concat_dim, absl::Span<const Output> shape);
  std::vector<Output> offset;
};

}  // namespace ops
}  // namespace dflow

#endif  // DFLOW_OPS_CONCAT_V1_OPS_H_
