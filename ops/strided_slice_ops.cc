// StridedSlice and its gradient op StridedSliceGrad: the slice-spec arithmetic their shape
// functions and kernels share, then op by op the schema, its shape function, its gradient and
// its builder.
#include "ops/strided_slice_ops.h"

#include <algorithm>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "graph/status_macros.h"
#include "ops/array_ops.h"
#include "ops/op_registry.h"
#include "ops/shape_inference.h"

namespace dflow {

absl::Status GetStridedSliceAttrs(const AttrMap& attrs, ops::StridedSliceAttrs* masks) {
  DFLOW_RETURN_IF_ERROR(GetAttr(attrs, "begin_mask", &masks->begin_mask));
  DFLOW_RETURN_IF_ERROR(GetAttr(attrs, "end_mask", &masks->end_mask));
  DFLOW_RETURN_IF_ERROR(GetAttr(attrs, "ellipsis_mask", &masks->ellipsis_mask));
  DFLOW_RETURN_IF_ERROR(GetAttr(attrs, "new_axis_mask", &masks->new_axis_mask));
  return GetAttr(attrs, "shrink_axis_mask", &masks->shrink_axis_mask);
}

absl::Status ResolveStridedSlice(absl::Span<const int64_t> input_dims, int64_t spec_length,
                                 const std::vector<int64_t>* begin,
                                 const std::vector<int64_t>* end,
                                 const std::vector<int64_t>* strides,
                                 const ops::StridedSliceAttrs& masks,
                                 StridedSliceResolved* out) {
  auto bit = [](int64_t mask, int64_t i) { return i < 63 && ((mask >> i) & 1) != 0; };
  auto error = [](auto... parts) { return absl::InvalidArgumentError(absl::StrCat(parts...)); };
  const int64_t n = spec_length;
  const bool known = begin != nullptr && end != nullptr && strides != nullptr;
  if (known && (static_cast<int64_t>(begin->size()) != n ||
                static_cast<int64_t>(end->size()) != n ||
                static_cast<int64_t>(strides->size()) != n)) {
    return error("begin, end and strides must have the same length");
  }
  int ellipses = 0;
  int64_t new_axes_after_ellipsis = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (ellipses > 0 && bit(masks.new_axis_mask, i)) ++new_axes_after_ellipsis;
    if (bit(masks.ellipsis_mask, i)) ++ellipses;
  }
  if (ellipses > 1) return error("a slice spec may hold only one ellipsis");
  // Without an ellipsis, one is implied after the last entry: the remaining dims are whole.
  const int64_t entries = ellipses == 1 ? n : n + 1;

  // The spec expanded to one entry per input dim ("dense"), and where each output dim comes
  // from: an input dim, a new axis (kNewAxis) or nothing (a shrunk dim, not listed).
  constexpr int64_t kNewAxis = -1;
  struct Dense {
    int64_t begin = 0, end = 0, stride = 1;
    bool begin_masked = true, end_masked = true, shrink = false;
  };
  const int64_t rank = static_cast<int64_t>(input_dims.size());
  std::vector<Dense> dense(rank);
  std::vector<int64_t> gather;
  int64_t full = 0;
  for (int64_t i = 0; i < entries; ++i) {
    if (i == n || bit(masks.ellipsis_mask, i)) {
      const int64_t next = std::min(rank - (entries - i) + 1 + new_axes_after_ellipsis, rank);
      for (; full < next; ++full) {
        dense[full] = Dense();
        gather.push_back(full);
      }
    } else if (bit(masks.new_axis_mask, i)) {
      gather.push_back(kNewAxis);
    } else {
      if (full >= rank) {
        return error("slice spec entry ", i, " is out of range: the input has rank ", rank);
      }
      Dense& d = dense[full];
      d.begin = known ? (*begin)[i] : 0;
      d.end = known ? (*end)[i] : 0;
      d.stride = known ? (*strides)[i] : 1;
      d.begin_masked = bit(masks.begin_mask, i);
      d.end_masked = bit(masks.end_mask, i);
      d.shrink = bit(masks.shrink_axis_mask, i);
      if (!d.shrink) gather.push_back(full);
      ++full;
    }
  }

  out->begin.assign(rank, 0);
  out->stride.assign(rank, 1);
  out->size.assign(rank, -1);
  for (int64_t i = 0; i < rank; ++i) {
    const Dense& d = dense[i];
    const int64_t dim = input_dims[i];
    if (known && d.stride == 0) return error("strides[", i, "] must be non-zero");
    if (known && d.shrink && d.stride < 0) {
      return error("a shrunk (single index) dim needs a positive stride, got ", d.stride);
    }
    if (d.shrink) out->size[i] = 1;
    if (!known || dim < 0) continue;
    if (d.shrink) {
      const int64_t index = d.begin < 0 ? dim + d.begin : d.begin;
      if (index < 0 || index >= dim) {
        return error("index ", d.begin, " of dim ", i, " is out of bounds for size ", dim);
      }
      out->begin[i] = index;
      continue;
    }
    out->stride[i] = d.stride;
    // Valid positions: [0, dim] going forward, [-1, dim - 1] going backward.
    const int64_t lo = d.stride > 0 ? 0 : -1;
    const int64_t hi = d.stride > 0 ? dim : dim - 1;
    auto canonical = [&](int64_t x, bool masked, bool is_end) {
      if (masked) return (d.stride > 0) == is_end ? hi : lo;
      const int64_t fwd = x < 0 ? dim + x : x;
      return std::min(std::max(fwd, lo), hi);
    };
    const int64_t b = canonical(d.begin, d.begin_masked, false);
    const int64_t e = canonical(d.end, d.end_masked, true);
    out->begin[i] = b;
    const int64_t interval = e - b;
    if (interval == 0 || (interval < 0) != (d.stride < 0)) {
      out->size[i] = 0;
    } else {
      out->size[i] = interval / d.stride + (interval % d.stride != 0 ? 1 : 0);
    }
  }
  out->output_dims.clear();
  for (int64_t g : gather) out->output_dims.push_back(g == kNewAxis ? 1 : out->size[g]);
  return absl::OkStatus();
}

namespace {

// The output shape of StridedSlice of an input of shape `in` given the spec inputs
// begin_index.. (begin, end, strides).
absl::Status StridedSliceOutputShape(InferenceContext* ctx, const PartialTensorShape& in,
                                     int begin_index) {
  ops::StridedSliceAttrs masks;
  DFLOW_RETURN_IF_ERROR(ctx->GetAttr("begin_mask", &masks.begin_mask));
  DFLOW_RETURN_IF_ERROR(ctx->GetAttr("end_mask", &masks.end_mask));
  DFLOW_RETURN_IF_ERROR(ctx->GetAttr("ellipsis_mask", &masks.ellipsis_mask));
  DFLOW_RETURN_IF_ERROR(ctx->GetAttr("new_axis_mask", &masks.new_axis_mask));
  DFLOW_RETURN_IF_ERROR(ctx->GetAttr("shrink_axis_mask", &masks.shrink_axis_mask));
  int64_t length = -1;
  for (int k = 0; k < 3; ++k) {
    const PartialTensorShape& spec = ctx->input(begin_index + k);
    if (spec.unknown_rank()) continue;
    if (spec.dims() != 1) {
      return ctx->Error(absl::StrCat("begin, end and strides must be vectors, got shape ",
                                     spec.DebugString()));
    }
    const int64_t n = spec.dim_size(0);
    if (n < 0) continue;
    if (length >= 0 && n != length) {
      return ctx->Error("begin, end and strides must have the same length");
    }
    length = n;
  }
  if (in.unknown_rank() || length < 0) {
    ctx->set_output(0, PartialTensorShape::Unknown());
    return absl::OkStatus();
  }
  std::optional<std::vector<int64_t>> begin = ConstInts(ctx, begin_index);
  std::optional<std::vector<int64_t>> end = ConstInts(ctx, begin_index + 1);
  std::optional<std::vector<int64_t>> strides = ConstInts(ctx, begin_index + 2);
  const bool known = begin && end && strides;
  StridedSliceResolved r;
  absl::Status s =
      ResolveStridedSlice(in.dim_sizes(), length, known ? &*begin : nullptr,
                          known ? &*end : nullptr, known ? &*strides : nullptr, masks, &r);
  if (!s.ok()) return ctx->Error(s.message());
  ctx->set_output(0, PartialTensorShape(r.output_dims));
  return absl::OkStatus();
}

AttrMap StridedSliceAttrMap(const ops::StridedSliceAttrs& a) {
  return {{"begin_mask", MakeAttr(a.begin_mask)},
          {"end_mask", MakeAttr(a.end_mask)},
          {"ellipsis_mask", MakeAttr(a.ellipsis_mask)},
          {"new_axis_mask", MakeAttr(a.new_axis_mask)},
          {"shrink_axis_mask", MakeAttr(a.shrink_axis_mask)}};
}

}  // namespace

#define DFLOW_STRIDED_SLICE_MASK_ATTRS                        \
  Attr("Index: {int32, int64}")                               \
      .Attr("begin_mask: int = 0")                            \
      .Attr("end_mask: int = 0")                              \
      .Attr("ellipsis_mask: int = 0")                         \
      .Attr("new_axis_mask: int = 0")                         \
      .Attr("shrink_axis_mask: int = 0")

// ---------------------------------------------------------------------------------------------
// StridedSlice

namespace {

absl::Status StridedSliceShape(InferenceContext* ctx) {
  return StridedSliceOutputShape(ctx, ctx->input(0), 1);
}

// y = x[spec]: dx is zeros of x's shape with g written where the slice read
// (StridedSliceGrad).
absl::Status StridedSliceGradFn(const Scope& scope, const Node& node,
                                absl::Span<const Output> grads,
                                std::vector<Output>* grad_inputs) {
  grad_inputs->assign(4, Output());
  ops::StridedSliceAttrs masks;
  DFLOW_RETURN_IF_ERROR(GetStridedSliceAttrs(node.attrs(), &masks));
  const Output x = node.input(0);
  Output shape = ops::Shape(scope, x, node.input(1).type());
  (*grad_inputs)[0] = ops::StridedSliceGrad(scope, shape, node.input(1), node.input(2),
                                            node.input(3), grads[0], masks);
  return scope.status();
}

}  // namespace

REGISTER_OP("StridedSlice")
    .Input("input: T")
    .Input("begin: Index")
    .Input("end: Index")
    .Input("strides: Index")
    .Output("output: T")
    .Attr("T: type")
    .DFLOW_STRIDED_SLICE_MASK_ATTRS
    .SetShapeFn(StridedSliceShape);
REGISTER_GRADIENT("StridedSlice", StridedSliceGradFn);

ops::StridedSlice::StridedSlice(const Scope& scope, Input input, Input begin, Input end,
                                Input strides, const Attrs& attrs)
    : Output(AddOp(scope, "StridedSlice", {input, begin, end, strides},
                   StridedSliceAttrMap(attrs))) {}

// ---------------------------------------------------------------------------------------------
// StridedSliceGrad

namespace {

absl::Status StridedSliceGradShape(InferenceContext* ctx) {
  // The output has the shape given by input 0 (the sliced tensor's shape).
  std::optional<std::vector<int64_t>> shape = ConstInts(ctx, 0);
  if (shape) {
    for (int64_t d : *shape) {
      if (d < 0) return ctx->Error(absl::StrCat("shape has a negative dimension ", d));
    }
    ctx->set_output(0, PartialTensorShape(*shape));
    return absl::OkStatus();
  }
  ctx->set_output(0, ShapeOfLength(ctx->input(0)));
  return absl::OkStatus();
}

// StridedSliceGrad is linear in dy: its gradient slices the incoming gradient.
absl::Status StridedSliceGradGrad(const Scope& scope, const Node& node,
                                  absl::Span<const Output> grads,
                                  std::vector<Output>* grad_inputs) {
  grad_inputs->assign(5, Output());
  ops::StridedSliceAttrs masks;
  DFLOW_RETURN_IF_ERROR(GetStridedSliceAttrs(node.attrs(), &masks));
  (*grad_inputs)[4] = ops::StridedSlice(scope, grads[0], node.input(1), node.input(2),
                                        node.input(3), masks);
  return scope.status();
}

}  // namespace

REGISTER_OP("StridedSliceGrad")
    .Input("shape: Index")
    .Input("begin: Index")
    .Input("end: Index")
    .Input("strides: Index")
    .Input("dy: T")
    .Output("output: T")
    .Attr("T: type")
    .DFLOW_STRIDED_SLICE_MASK_ATTRS
    .SetShapeFn(StridedSliceGradShape);
REGISTER_GRADIENT("StridedSliceGrad", StridedSliceGradGrad);

ops::StridedSliceGrad::StridedSliceGrad(const Scope& scope, Input shape, Input begin, Input end,
                                        Input strides, Input dy, const Attrs& attrs)
    : Output(AddOp(scope, "StridedSliceGrad", {shape, begin, end, strides, dy},
                   StridedSliceAttrMap(attrs))) {}

#undef DFLOW_STRIDED_SLICE_MASK_ATTRS

}  // namespace dflow
