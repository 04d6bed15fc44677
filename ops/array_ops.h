// Builder functions for array ops: graph inputs, constants and shape manipulation.
#ifndef DFLOW_OPS_ARRAY_OPS_H_
#define DFLOW_OPS_ARRAY_OPS_H_

#include <vector>

#include "graph/graph.h"
#include "graph/tensor.h"
#include "ops/scope.h"

namespace dflow {
namespace ops {

// A value fed at run time. Shape defaults to unknown; use Shape({-1, 784}) for [?,784].
class Placeholder : public Output {
 public:
  struct Attrs {
    Attrs Shape(const PartialTensorShape& s) const { Attrs a = *this; a.shape = s; return a; }
    PartialTensorShape shape;
  };
  static Attrs Shape(const PartialTensorShape& s) { return Attrs().Shape(s); }
  Placeholder(const Scope& scope, DataType dtype, const Attrs& attrs = Attrs());
};

// A constant tensor: Const(scope, Tensor), or a literal (Const(scope, 0.5f), Const(scope, {1, 2})).
Output Const(const Scope& scope, const Input& value);
// A constant of `shape` with every element `value`.
Output Const(const Scope& scope, float value, const TensorShape& shape);

Output Identity(const Scope& scope, Input input);
// Does nothing; with scope.WithControlDependencies it groups other ops into one target.
Operation NoOp(const Scope& scope);

// `shape` may hold one -1, inferred from the element count.
Output Reshape(const Scope& scope, Input tensor, Input shape);
// The shape of `input` as a 1-D int32 tensor.
Output Shape(const Scope& scope, Input input);
// A tensor of shape `dims` (1-D int32) filled with the scalar `value`.
Output Fill(const Scope& scope, Input dims, Input value);
Output ZerosLike(const Scope& scope, Input x);
Output OnesLike(const Scope& scope, Input x);
// Inserts a dimension of size 1 at `axis` (negative counts from the end).
Output ExpandDims(const Scope& scope, Input input, Input axis);

}  // namespace ops
}  // namespace dflow

#endif  // DFLOW_OPS_ARRAY_OPS_H_
