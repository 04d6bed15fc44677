// Builder functions for array ops: graph inputs, constants and shape manipulation.
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

// For the gradients of broadcasting ops: given the shapes s0 and s1 of two operands, the axes
// each one was broadcast along (r0, r1), which its gradient must be summed over.
class BroadcastGradientArgs {
 public:
  BroadcastGradientArgs(const Scope& scope, Input s0, Input s1);
  Output r0, r1;
};

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

// The masks of StridedSlice and StridedSliceGrad (bit i refers to entry i of begin/end/strides).
struct StridedSliceAttrs {
  StridedSliceAttrs BeginMask(int64_t v) const { auto a = *this; a.begin_mask = v; return a; }
  StridedSliceAttrs EndMask(int64_t v) const { auto a = *this; a.end_mask = v; return a; }
  StridedSliceAttrs EllipsisMask(int64_t v) const { auto a = *this; a.ellipsis_mask = v; return a; }
  StridedSliceAttrs NewAxisMask(int64_t v) const { auto a = *this; a.new_axis_mask = v; return a; }
  StridedSliceAttrs ShrinkAxisMask(int64_t v) const {
    auto a = *this;
    a.shrink_axis_mask = v;
    return a;
  }
  int64_t begin_mask = 0;
  int64_t end_mask = 0;
  int64_t ellipsis_mask = 0;
  int64_t new_axis_mask = 0;
  int64_t shrink_axis_mask = 0;
};

// input[begin:end:strides] with numpy/TensorFlow semantics: 1-D int32/int64 begin, end and
// strides of equal length; negative indices count from the end; a set begin_mask / end_mask bit
// ignores that begin / end (full range); ellipsis_mask marks the entry standing for all
// remaining dims; new_axis_mask entries insert a dim of size 1; shrink_axis_mask entries take the
// single index `begin` and remove the dim.
class StridedSlice : public Output {
 public:
  using Attrs = StridedSliceAttrs;
  static Attrs BeginMask(int64_t v) { return Attrs().BeginMask(v); }
  static Attrs EndMask(int64_t v) { return Attrs().EndMask(v); }
  static Attrs EllipsisMask(int64_t v) { return Attrs().EllipsisMask(v); }
  static Attrs NewAxisMask(int64_t v) { return Attrs().NewAxisMask(v); }
  static Attrs ShrinkAxisMask(int64_t v) { return Attrs().ShrinkAxisMask(v); }
  StridedSlice(const Scope& scope, Input input, Input begin, Input end, Input strides)
      : StridedSlice(scope, input, begin, end, strides, Attrs()) {}
  StridedSlice(const Scope& scope, Input input, Input begin, Input end, Input strides,
               const Attrs& attrs);
};

// The gradient of StridedSlice: zeros of `shape` (1-D, the sliced input's shape) with `dy`
// written where the slice read.
class StridedSliceGrad : public Output {
 public:
  using Attrs = StridedSliceAttrs;
  StridedSliceGrad(const Scope& scope, Input shape, Input begin, Input end, Input strides,
                   Input dy)
      : StridedSliceGrad(scope, shape, begin, end, strides, dy, Attrs()) {}
  StridedSliceGrad(const Scope& scope, Input shape, Input begin, Input end, Input strides,
                   Input dy, const Attrs& attrs);
};

// Repeats `input` multiples[i] times along dim i (multiples: 1-D int32/int64, one per dim).
Output Tile(const Scope& scope, Input input, Input multiples);

// [start, start + delta, ...) up to but excluding `limit` (scalars of int32, int64 or float).
Output Range(const Scope& scope, Input start, Input limit, Input delta);

// The rank of `input` as an int32 scalar.
Output Rank(const Scope& scope, Input input);

// merged[indices[m][i...], ...] = data[m][i..., ...]; later entries win; the first dim is the
// largest index + 1 (indices: int32, data[m].shape = indices[m].shape + a common tail).
Output DynamicStitch(const Scope& scope, absl::Span<const Output> indices,
                     absl::Span<const Output> data);

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

// Concatenates two or more tensors along `axis` (a scalar int32/int64; negative counts from the
// end); the other dims must match.
Output ConcatV2(const Scope& scope, absl::Span<const Output> values, Input axis);

}  // namespace ops

// ---------------------------------------------------------------------------------------------
// StridedSlice's index arithmetic, shared by its shape function and its kernels.

// A StridedSlice spec resolved against an input shape: per input dim, the first index, the
// step and the number of elements taken (-1 when unknown at graph time), and the output dims.
struct StridedSliceResolved {
  std::vector<int64_t> begin;
  std::vector<int64_t> stride;
  std::vector<int64_t> size;
  std::vector<int64_t> output_dims;
};

// Resolves begin/end/strides (one value per spec entry; null when not known) with the masks
// against `input_dims` (-1 for unknown dims). Fails on malformed specs or out-of-bounds
// shrink indices, with TensorFlow's conditions.
absl::Status ResolveStridedSlice(absl::Span<const int64_t> input_dims, int64_t spec_length,
                                 const std::vector<int64_t>* begin,
                                 const std::vector<int64_t>* end,
                                 const std::vector<int64_t>* strides,
                                 const ops::StridedSliceAttrs& masks,
                                 StridedSliceResolved* out);
absl::Status GetStridedSliceAttrs(const AttrMap& attrs, ops::StridedSliceAttrs* masks);

// The element count of Range(start, limit, delta) (scalars of one type: int32, int64 or float);
// fails for a zero or non-finite delta, a delta pointing away from limit, or a huge count.
absl::StatusOr<int64_t> RangeSize(const Tensor& start, const Tensor& limit, const Tensor& delta);

namespace ops {

}  // namespace ops
}  // namespace dflow

#endif  // DFLOW_OPS_ARRAY_OPS_H_
