// Builder functions for array ops: graph inputs, constants and shapes. The other array
// families' headers are included: shape_ops.h (Reshape, ExpandDims, Squeeze, Tile),
// concat_ops.h (Pack, ConcatV2, DynamicStitch) and strided_slice_ops.h.
#ifndef DFLOW_OPS_ARRAY_OPS_H_
#define DFLOW_OPS_ARRAY_OPS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "graph/graph.h"
#include "graph/tensor.h"
#include "ops/concat_ops.h"
#include "ops/scope.h"
#include "ops/shape_ops.h"
#include "ops/strided_slice_ops.h"

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

// `input` unless a value is fed for it; a fed value must fit `shape`, which `input` must fit too.
Output PlaceholderWithDefault(const Scope& scope, Input input, const PartialTensorShape& shape);

// A constant tensor: Const(scope, Tensor), or a literal (Const(scope, 0.5f), Const(scope, {1, 2})).
Output Const(const Scope& scope, const Input& value);
// A constant of `shape` with every element `value`.
Output Const(const Scope& scope, float value, const TensorShape& shape);

Output Identity(const Scope& scope, Input input);
// Does nothing; with scope.WithControlDependencies it groups other ops into one target.
Operation NoOp(const Scope& scope);

// The shape of `input` as a 1-D int32 tensor, or of `out_type` (int32 or int64).
Output Shape(const Scope& scope, Input input);
Output Shape(const Scope& scope, Input input, DataType out_type);
// A tensor of shape `dims` (1-D int32) filled with the scalar `value`.
Output Fill(const Scope& scope, Input dims, Input value);
Output ZerosLike(const Scope& scope, Input x);
Output OnesLike(const Scope& scope, Input x);
// For the gradients of broadcasting ops: given the shapes s0 and s1 of two operands, the axes
// each one was broadcast along (r0, r1), which its gradient must be summed over.
class BroadcastGradientArgs {
 public:
  BroadcastGradientArgs(const Scope& scope, Input s0, Input s1);
  Output r0, r1;
};

// [start, start + delta, ...) up to but excluding `limit` (scalars of int32, int64 or float).
Output Range(const Scope& scope, Input start, Input limit, Input delta);

// The rank of `input` as an int32 scalar.
Output Rank(const Scope& scope, Input input);

// Identity whose gradient is an error carrying `message`.
class PreventGradient : public Output {
 public:
  struct Attrs {
    Attrs Message(const std::string& m) const { Attrs a = *this; a.message = m; return a; }
    std::string message;
  };
  static Attrs Message(const std::string& m) { return Attrs().Message(m); }
  PreventGradient(const Scope& scope, Input input) : PreventGradient(scope, input, Attrs()) {}
  PreventGradient(const Scope& scope, Input input, const Attrs& attrs);
};

// Identity in the forward pass; no gradient flows back through it.
Output StopGradient(const Scope& scope, Input input);

// The distinct values of the 1-D x in order of first appearance (y) and, for each element of
// x, the position of its value in y (idx, int32 or int64 by out_idx): x[i] == y[idx[i]].
class Unique {
 public:
  Unique(const Scope& scope, Input x, DataType out_idx = DT_INT32);
  Operation operation;
  Output y;
  Output idx;
};

}  // namespace ops

// The element count of Range(start, limit, delta) (scalars of one type: int32, int64 or float);
// fails for a zero or non-finite delta, a delta pointing away from limit, or a huge count.
absl::StatusOr<int64_t> RangeSize(const Tensor& start, const Tensor& limit, const Tensor& delta);
}  // namespace dflow

#endif  // DFLOW_OPS_ARRAY_OPS_H_
