// Builder functions for StridedSlice and StridedSliceGrad, and the slice-spec arithmetic shared
// by their shape functions and kernels.
#ifndef DFLOW_OPS_STRIDED_SLICE_OPS_H_
#define DFLOW_OPS_STRIDED_SLICE_OPS_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "graph/graph.h"
#include "ops/scope.h"

namespace dflow {
namespace ops {

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

}  // namespace ops

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

}  // namespace dflow

#endif  // DFLOW_OPS_STRIDED_SLICE_OPS_H_
