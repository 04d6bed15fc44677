// Builder functions for ops that reorder elements: ReverseV2, ReverseSequence, DepthToSpace and
// SpaceToDepth.
#ifndef DFLOW_OPS_REORDER_OPS_H_
#define DFLOW_OPS_REORDER_OPS_H_

#include <cstdint>

#include "graph/graph.h"
#include "ops/scope.h"

namespace dflow {
namespace ops {

// `tensor` reversed along each dim in `axis` (1-D int32/int64; negative counts from the end).
Output ReverseV2(const Scope& scope, Input tensor, Input axis);

// For each b along batch_dim, the first seq_lengths[b] elements along seq_dim reversed, the
// rest kept.
class ReverseSequence : public Output {
 public:
  struct Attrs {
    Attrs BatchDim(int64_t v) const { Attrs a = *this; a.batch_dim = v; return a; }
    int64_t batch_dim = 0;
  };
  static Attrs BatchDim(int64_t v) { return Attrs().BatchDim(v); }
  ReverseSequence(const Scope& scope, Input input, Input seq_lengths, int64_t seq_dim)
      : ReverseSequence(scope, input, seq_lengths, seq_dim, Attrs()) {}
  ReverseSequence(const Scope& scope, Input input, Input seq_lengths, int64_t seq_dim,
                  const Attrs& attrs);
};

// NHWC [n, h, w, c] -> [n, h * b, w * b, c / (b * b)]: each pixel's channels spread over a
// b x b block (row-major in the block, then channel).
Output DepthToSpace(const Scope& scope, Input input, int64_t block_size);
// The inverse: [n, h, w, c] -> [n, h / b, w / b, c * b * b].
Output SpaceToDepth(const Scope& scope, Input input, int64_t block_size);

}  // namespace ops
}  // namespace dflow

#endif  // DFLOW_OPS_REORDER_OPS_H_
