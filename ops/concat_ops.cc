// Ops that join tensors: Pack, ConcatV2 and DynamicStitch. Op by op: the schema, its shape
// function, its gradient and its builder.
#include "ops/concat_ops.h"

#include <algorithm>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "graph/status_macros.h"
#include "ops/array_ops.h"
#include "ops/concat_shape.h"
#include "ops/math_ops.h"
#include "ops/node_builder.h"
#include "ops/op_registry.h"
#include "ops/shape_inference.h"

namespace dflow {
namespace {

// Every input merged into one shape (N * T lists of equal shapes).
absl::StatusOr<PartialTensorShape> MergeInputs(InferenceContext* ctx, int first, int count) {
  PartialTensorShape merged = ctx->input(first);
  for (int i = first + 1; i < first + count; ++i) {
    absl::StatusOr<PartialTensorShape> m = merged.Merge(ctx->input(i));
    if (!m.ok()) {
      return ctx->Error(absl::StrCat("values must all have the same shape, but value 0 is ",
                                     ctx->input(first).DebugString(), " and value ", i - first,
                                     " is ", ctx->input(i).DebugString()));
    }
    merged = *m;
  }
  return merged;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Pack

namespace {

// A 1-D int32 constant.
Output IntVector(const Scope& scope, const std::vector<int32_t>& v) {
  return ops::Const(scope, *Tensor::FromVector<int32_t>(
                               v, TensorShape({static_cast<int64_t>(v.size())})));
}

absl::Status PackShape(InferenceContext* ctx) {
  int64_t axis = 0;
  DFLOW_RETURN_IF_ERROR(ctx->GetAttr("axis", &axis));
  DFLOW_ASSIGN_OR_RETURN(PartialTensorShape merged, MergeInputs(ctx, 0, ctx->num_inputs()));
  if (merged.unknown_rank()) {
    ctx->set_output(0, PartialTensorShape::Unknown());
    return absl::OkStatus();
  }
  const int out_rank = merged.dims() + 1;
  if (axis < -out_rank || axis >= out_rank) {
    return ctx->Error(absl::StrCat("axis ", axis, " is out of range [", -out_rank, ", ", out_rank,
                                   ") for values of shape ", merged.DebugString()));
  }
  if (axis < 0) axis += out_rank;
  std::vector<int64_t> dims(merged.dim_sizes().begin(), merged.dim_sizes().end());
  dims.insert(dims.begin() + axis, ctx->num_inputs());
  ctx->set_output(0, PartialTensorShape(dims));
  return absl::OkStatus();
}

// Unstacks the gradient: input i gets g[..., i, ...] (the axis removed) through a
// StridedSlice that does not need the rank: "[:, ..., :, i]" for axis >= 0 and
// "[..., i, :, ..., :]" for a negative axis.
absl::Status PackGrad(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                      std::vector<Output>* grad_inputs) {
  const int n = node.num_inputs();
  grad_inputs->assign(n, Output());
  int64_t axis = 0;
  DFLOW_RETURN_IF_ERROR(GetNodeAttr(node, "axis", &axis));
  for (int i = 0; i < n; ++i) {
    std::vector<int32_t> begin, end;
    ops::StridedSliceAttrs a;
    if (axis >= 0) {
      begin.assign(axis + 1, 0);
      end.assign(axis + 1, 0);
      begin[axis] = i;
      end[axis] = i + 1;
      a = a.BeginMask((int64_t{1} << axis) - 1).EndMask((int64_t{1} << axis) - 1)
              .ShrinkAxisMask(int64_t{1} << axis);
    } else {
      const int64_t len = 1 - axis;  // The ellipsis, the index, then -axis - 1 full slices.
      begin.assign(len, 0);
      end.assign(len, 0);
      begin[1] = i;
      end[1] = i + 1;
      const int64_t full = ((int64_t{1} << len) - 1) & ~int64_t{3};
      a = a.EllipsisMask(1).ShrinkAxisMask(2).BeginMask(full).EndMask(full);
    }
    std::vector<int32_t> strides(begin.size(), 1);
    (*grad_inputs)[i] = ops::StridedSlice(scope, grads[0], IntVector(scope, begin),
                                          IntVector(scope, end), IntVector(scope, strides), a);
  }
  return scope.status();
}

}  // namespace

REGISTER_OP("Pack")
    .Input("values: N * T")
    .Output("output: T")
    .Attr("N: int >= 1")
    .Attr("T: type")
    .Attr("axis: int = 0")
    .SetShapeFn(PackShape);
REGISTER_GRADIENT("Pack", PackGrad);

ops::Pack::Pack(const Scope& scope, absl::Span<const Output> values, const Attrs& attrs)
    : Output(AddOpWithList(scope, "Pack", values, {}, {{"axis", MakeAttr(attrs.axis)}})) {}

// ---------------------------------------------------------------------------------------------
// ConcatV2

namespace {

absl::Status ConcatV2Shape(InferenceContext* ctx) {
  const int n = ctx->num_inputs() - 1;
  const PartialTensorShape& axis_shape = ctx->input(n);
  if (axis_shape.dims() > 0) {
    return ctx->Error(absl::StrCat("axis must be a scalar, got shape ", axis_shape.DebugString()));
  }
  DFLOW_ASSIGN_OR_RETURN(const int rank, concat::ValuesRank(ctx, 0, n));
  if (rank == 0) return ctx->Error("cannot concatenate scalars (use Pack)");
  std::optional<std::vector<int64_t>> axis = ConstInts(ctx, n);
  if (rank < 0 || !axis) {
    ctx->set_output(0, rank < 0 ? PartialTensorShape::Unknown()
                                : PartialTensorShape::UnknownDims(rank));
    return absl::OkStatus();
  }
  if (axis->size() != 1) return ctx->Error("axis must hold one value");
  int64_t a = (*axis)[0];
  if (a < -rank || a >= rank) {
    return ctx->Error(absl::StrCat("axis ", a, " is out of range for rank ", rank));
  }
  if (a < 0) a += rank;
  return concat::SetJoinedShape(ctx, 0, n, rank, a);
}

// Input i gets g[offset_i : offset_i + shape_i], where offset_i is zero except along the axis,
// where it is the sum of the earlier inputs' sizes; all computed at run time.
absl::Status ConcatV2Grad(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                          std::vector<Output>* grad_inputs) {
  const int n = node.num_inputs() - 1;
  grad_inputs->assign(n + 1, Output());
  const Scope& s = scope;
  const Output axis = ops::Cast(s, node.input(n), DT_INT32);
  const Output rank = ops::Rank(s, node.input(0));
  const Output axis_n = ops::FloorMod(s, axis, rank);  // Negative axes counted from the end.
  const Output on_axis =
      ops::Cast(s, ops::Equal(s, ops::Range(s, 0, rank, 1), axis_n), DT_INT32);
  std::vector<Output> shapes;
  for (int i = 0; i < n; ++i) shapes.push_back(ops::Shape(s, node.input(i)));
  Output offset = ops::ZerosLike(s, shapes[0]);
  for (int i = 0; i < n; ++i) {
    Output end = ops::Add(s, offset, shapes[i]);
    (*grad_inputs)[i] =
        ops::StridedSlice(s, grads[0], offset, end, ops::OnesLike(s, offset));
    if (i + 1 < n) offset = ops::Add(s, offset, ops::Mul(s, on_axis, shapes[i]));
  }
  return scope.status();
}

}  // namespace

REGISTER_OP("ConcatV2")
    .Input("values: N * T")
    .Input("axis: Tidx")
    .Output("output: T")
    .Attr("N: int >= 2")
    .Attr("T: type")
    .Attr("Tidx: {int32, int64} = int32")
    .SetShapeFn(ConcatV2Shape);
REGISTER_GRADIENT("ConcatV2", ConcatV2Grad);

Output ops::ConcatV2(const Scope& scope, absl::Span<const Output> values, Input axis) {
  return AddOpWithList(scope, "ConcatV2", values, {axis});
}

// ---------------------------------------------------------------------------------------------
// DynamicStitch

namespace {

absl::Status DynamicStitchShape(InferenceContext* ctx) {
  const int n = ctx->num_inputs() / 2;
  int64_t first = 0;  // max index + 1, or -1 when not known.
  for (int m = 0; m < n && first >= 0; ++m) {
    const Tensor* t = ctx->input_tensor(m);
    if (t == nullptr) {
      first = -1;
      break;
    }
    const int32_t* p = t->flat<int32_t>().data();
    for (int64_t k = 0; k < t->NumElements(); ++k) {
      if (p[k] < 0) return ctx->Error(absl::StrCat("indices ", m, " holds a negative index ", p[k]));
      first = std::max<int64_t>(first, int64_t{p[k]} + 1);
    }
  }
  // The dims after each indices[m]'s rank in data[m] are common to all.
  std::optional<PartialTensorShape> tail;
  for (int m = 0; m < n; ++m) {
    const PartialTensorShape& idx = ctx->input(m);
    const PartialTensorShape& data = ctx->input(n + m);
    if (idx.unknown_rank() || data.unknown_rank()) continue;
    if (data.dims() < idx.dims()) {
      return ctx->Error(absl::StrCat("data ", m, " of shape ", data.DebugString(),
                                     " must start with the shape of indices ", m, " ",
                                     idx.DebugString()));
    }
    for (int d = 0; d < idx.dims(); ++d) {
      if (idx.dim_size(d) >= 0 && data.dim_size(d) >= 0 && idx.dim_size(d) != data.dim_size(d)) {
        return ctx->Error(absl::StrCat("data ", m, " of shape ", data.DebugString(),
                                       " must start with the shape of indices ", m, " ",
                                       idx.DebugString()));
      }
    }
    PartialTensorShape t(absl::MakeConstSpan(data.dim_sizes()).subspan(idx.dims()));
    if (!tail) {
      tail = t;
    } else {
      absl::StatusOr<PartialTensorShape> merged = tail->Merge(t);
      if (!merged.ok()) {
        return ctx->Error(absl::StrCat("the data shapes disagree after the indices' dims: ",
                                       tail->DebugString(), " vs ", t.DebugString()));
      }
      tail = *merged;
    }
  }
  if (!tail) {
    ctx->set_output(0, PartialTensorShape::Unknown());
    return absl::OkStatus();
  }
  std::vector<int64_t> dims = {first};
  dims.insert(dims.end(), tail->dim_sizes().begin(), tail->dim_sizes().end());
  ctx->set_output(0, PartialTensorShape(dims));
  return absl::OkStatus();
}

}  // namespace

REGISTER_OP("DynamicStitch")
    .Input("indices: N * int32")
    .Input("data: N * T")
    .Output("merged: T")
    .Attr("N: int >= 1")
    .Attr("T: type")
    .SetShapeFn(DynamicStitchShape)
    .NotDifferentiable();

Output ops::DynamicStitch(const Scope& scope, absl::Span<const Output> indices,
                          absl::Span<const Output> data) {
  if (!scope.ok()) return Output();
  for (const Output& o : indices) {
    if (o.node() == nullptr) {
      scope.UpdateStatus(absl::InvalidArgumentError("DynamicStitch: an indices input is null"));
      return Output();
    }
  }
  for (const Output& o : data) {
    if (o.node() == nullptr) {
      scope.UpdateStatus(absl::InvalidArgumentError("DynamicStitch: a data input is null"));
      return Output();
    }
  }
  NodeBuilder builder(scope.GetUniqueNameForOp("DynamicStitch"), "DynamicStitch");
  builder.Input(std::vector<Output>(indices.begin(), indices.end()));
  builder.Input(std::vector<Output>(data.begin(), data.end()));
  Node* node = scope.Finalize(builder);
  return node ? Output(node, 0) : Output();
}

}  // namespace dflow
