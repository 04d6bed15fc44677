// Ops that pick or scatter elements by index: Gather, GatherV2, GatherNd, ScatterNd, OneHot
// and UnsortedSegmentSum. Op by op: the schema, its shape function, its gradient and its
// builder.
#include "ops/gather_ops.h"

#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "graph/status_macros.h"
#include "ops/array_ops.h"
#include "ops/math_ops.h"
#include "ops/op_registry.h"
#include "ops/reduction_ops.h"
#include "ops/shape_inference.h"
#include "ops/slice_ops.h"
#include "ops/transpose_ops.h"

namespace dflow {
namespace {

std::vector<int64_t> DimsOf(const PartialTensorShape& s, int begin, int end) {
  return std::vector<int64_t>(s.dim_sizes().begin() + begin, s.dim_sizes().begin() + end);
}

// The shape of GatherV2(params = input 0, indices = input 1) along `axis` (nullopt: unknown)
// with `batch_dims`.
absl::Status GatherShapeImpl(InferenceContext* ctx, std::optional<int64_t> axis,
                             int64_t batch_dims) {
  const PartialTensorShape& params = ctx->input(0);
  const PartialTensorShape& indices = ctx->input(1);
  const int rp = params.dims(), ri = indices.dims();
  if (ri >= 0) {
    if (batch_dims < 0) batch_dims += ri;
    if (batch_dims < 0 || batch_dims > ri) {
      return ctx->Error(absl::StrCat("batch_dims must be in [", -ri, ", ", ri,
                                     "] for indices of rank ", ri));
    }
  }
  if (rp >= 0 && axis) {
    if (*axis < -rp || *axis >= rp) {
      return ctx->Error(absl::StrCat("axis ", *axis, " is out of range [", -rp, ", ", rp,
                                     ") for params ", params.DebugString()));
    }
    if (*axis < 0) *axis += rp;
  }
  if (batch_dims > 0 && axis && *axis < batch_dims) {
    return ctx->Error(absl::StrCat("batch_dims (", batch_dims,
                                   ") must be less than or equal to axis (", *axis, ")"));
  }
  if (rp >= 0 && ri >= 0 && batch_dims > 0) {
    if (batch_dims >= rp) {
      return ctx->Error(absl::StrCat("batch_dims (", batch_dims,
                                     ") must be less than rank(params) (", rp, ")"));
    }
    for (int d = 0; d < batch_dims; ++d) {
      const int64_t a = params.dim_size(d), b = indices.dim_size(d);
      if (a >= 0 && b >= 0 && a != b) {
        return ctx->Error(absl::StrCat("params ", params.DebugString(), " and indices ",
                                       indices.DebugString(), " differ in batch dim ", d));
      }
    }
  }
  if (rp < 0 || ri < 0) {
    ctx->set_output(0, PartialTensorShape::Unknown());
    return absl::OkStatus();
  }
  if (rp == 0) return ctx->Error("params must be at least 1-D");
  if (!axis) {
    ctx->set_output(0, PartialTensorShape::UnknownDims(rp + ri - 1 - static_cast<int>(batch_dims)));
    return absl::OkStatus();
  }
  const int a = static_cast<int>(*axis);
  std::vector<int64_t> dims = DimsOf(params, 0, a);
  for (int64_t d : DimsOf(indices, static_cast<int>(batch_dims), ri)) dims.push_back(d);
  for (int64_t d : DimsOf(params, a + 1, rp)) dims.push_back(d);
  ctx->set_output(0, PartialTensorShape(dims));
  return absl::OkStatus();
}

// Element i (an int32 scalar Output) of the 1-D `v`, as a scalar.
Output ElementAt(const Scope& scope, const Output& v, Input i) {
  return ops::GatherV2(scope, v, i, 0);
}

// The gradient of params[indices] along dim 0: the gradient rows, one per index, summed into
// their rows of params (TensorFlow's IndexedSlices made dense by UnsortedSegmentSum).
Output GatherAxis0Grad(const Scope& scope, const Output& params, const Output& indices,
                       const Output& grad) {
  Output params_shape = ops::Shape(scope, params);
  Output inner = ops::Slice(scope, params_shape, {1}, {-1});
  Output values =
      ops::Reshape(scope, grad, ops::ConcatV2(scope, {ops::Const(scope, {-1}), inner}, 0));
  return ops::UnsortedSegmentSum(scope, values, ops::Reshape(scope, indices, {-1}),
                                 ElementAt(scope, params_shape, 0));
}

// The gradient along any axis a: dy reshaped to [params[:a], -1, params[a+1:]], the index dim
// moved first, summed into params' rows as along dim 0, and moved back.
Output GatherAnyAxisGrad(const Scope& scope, const Output& params, const Output& indices,
                         const Output& axis, const Output& grad) {
  Output params_shape = ops::Shape(scope, params);
  Output rank = ops::Rank(scope, params);
  Output a = ops::FloorMod(scope, ops::Cast(scope, axis, DT_INT32), rank);
  Output a1 = ops::Add(scope, a, 1);
  Output a_vec = ops::Reshape(scope, a, {1});
  Output outer = ops::Slice(scope, params_shape, {0}, a_vec);
  Output inner = ops::Slice(scope, params_shape, ops::Reshape(scope, a1, {1}), {-1});
  Output values = ops::Reshape(
      scope, grad, ops::ConcatV2(scope, {outer, ops::Const(scope, {-1}), inner}, 0));
  Output after = ops::Range(scope, a1, rank, 1);
  Output perm = ops::ConcatV2(scope, {a_vec, ops::Range(scope, 0, a, 1), after}, 0);
  Output summed = ops::UnsortedSegmentSum(scope, ops::Transpose(scope, values, perm),
                                          ops::Reshape(scope, indices, {-1}),
                                          ElementAt(scope, params_shape, a));
  Output inverse =
      ops::ConcatV2(scope, {ops::Range(scope, 1, a1, 1), ops::Const(scope, {0}), after}, 0);
  return ops::Transpose(scope, summed, inverse);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Gather

namespace {

// dparams = UnsortedSegmentSum(dy rows, indices, params.shape[0]); none for indices.
absl::Status GatherGrad(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                        std::vector<Output>* grad_inputs) {
  grad_inputs->assign(2, Output());
  (*grad_inputs)[0] = GatherAxis0Grad(scope, node.input(0), node.input(1), grads[0]);
  return scope.status();
}

}  // namespace

REGISTER_OP("Gather")
    .Input("params: Tparams")
    .Input("indices: Tindices")
    .Output("output: Tparams")
    .Attr("validate_indices: bool = true")
    .Attr("Tparams: type")
    .Attr("Tindices: {int32, int64}")
    .SetShapeFn([](InferenceContext* ctx) { return GatherShapeImpl(ctx, 0, 0); });
REGISTER_GRADIENT("Gather", GatherGrad);

Output ops::Gather(const Scope& scope, Input params, Input indices) {
  return AddOp(scope, "Gather", {params, indices});
}

// ---------------------------------------------------------------------------------------------
// GatherV2

namespace {

absl::Status GatherV2Shape(InferenceContext* ctx) {
  int64_t batch_dims = 0;
  DFLOW_RETURN_IF_ERROR(ctx->GetAttr("batch_dims", &batch_dims));
  if (ctx->input(2).dims() > 0) {
    return ctx->Error(absl::StrCat("axis must be a scalar, got shape ",
                                   ctx->input(2).DebugString()));
  }
  std::optional<std::vector<int64_t>> axis = ConstInts(ctx, 2);
  std::optional<int64_t> a;
  if (axis && axis->size() == 1) a = (*axis)[0];
  return GatherShapeImpl(ctx, a, batch_dims);
}

// dparams: dy's slices summed into the rows of params they were gathered from, along the axis
// (GatherAnyAxisGrad); none for indices and axis.
absl::Status GatherV2Grad(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                          std::vector<Output>* grad_inputs) {
  int64_t batch_dims = 0;
  DFLOW_RETURN_IF_ERROR(GetNodeAttr(node, "batch_dims", &batch_dims));
  grad_inputs->assign(3, Output());
  const Output params = node.input(0), indices = node.input(1);
  if (batch_dims == 0) {
    (*grad_inputs)[0] = GatherAnyAxisGrad(scope, params, indices, node.input(2), grads[0]);
    return scope.status();
  }
  // With batch dims, the case TensorFlow's Keras graphs use: axis == batch_dims.
  const int ri = indices.shape().dims(), rp = params.shape().dims();
  if (batch_dims < 0 && ri >= 0) batch_dims += ri;
  Tensor axis_t;
  std::optional<int64_t> axis;
  if (node.input(2).node()->op() == "Const" &&
      GetAttr(node.input(2).node()->attrs(), "value", &axis_t).ok()) {
    absl::StatusOr<IntList> v = IntValues(axis_t, "axis");
    if (v.ok() && v->size() == 1) axis = (*v)[0] < 0 && rp >= 0 ? (*v)[0] + rp : (*v)[0];
  }
  if (batch_dims < 0 || !axis || *axis != batch_dims) {
    return absl::UnimplementedError(absl::StrCat(
        "the gradient of GatherV2 node '", node.name(), "' with batch_dims ", batch_dims,
        " is implemented only for a constant axis equal to batch_dims"));
  }
  // Batch b's indices are offset by b * N into params seen as [B * N, inner...].
  const int b = static_cast<int>(batch_dims);
  Output params_shape = ops::Shape(scope, params);
  Output batch = ops::Prod(scope, ops::Slice(scope, params_shape, {0}, {b}), 0);
  Output n = ElementAt(scope, params_shape, b);
  Output inner = ops::Slice(scope, params_shape, {b + 1}, {-1});
  Output ids = ops::Reshape(scope, ops::Cast(scope, indices, DT_INT32),
                            ops::Pack(scope, {batch, ops::Const(scope, -1)}));
  Output starts = ops::Reshape(scope, ops::Mul(scope, ops::Range(scope, 0, batch, 1), n), {-1, 1});
  Output flat_ids = ops::Reshape(scope, ops::Add(scope, ids, starts), {-1});
  Output values = ops::Reshape(
      scope, grads[0], ops::ConcatV2(scope, {ops::Const(scope, {-1}), inner}, 0));
  Output summed =
      ops::UnsortedSegmentSum(scope, values, flat_ids, ops::Mul(scope, batch, n));
  (*grad_inputs)[0] = ops::Reshape(scope, summed, params_shape);
  return scope.status();
}

}  // namespace

REGISTER_OP("GatherV2")
    .Input("params: Tparams")
    .Input("indices: Tindices")
    .Input("axis: Taxis")
    .Output("output: Tparams")
    .Attr("batch_dims: int = 0")
    .Attr("Tparams: type")
    .Attr("Tindices: {int32, int64}")
    .Attr("Taxis: {int32, int64}")
    .SetShapeFn(GatherV2Shape);
REGISTER_GRADIENT("GatherV2", GatherV2Grad);

ops::GatherV2::GatherV2(const Scope& scope, Input params, Input indices, Input axis,
                        const Attrs& attrs)
    : Output(AddOp(scope, "GatherV2", {params, indices, axis},
                   {{"batch_dims", MakeAttr(attrs.batch_dims)}})) {}

// ---------------------------------------------------------------------------------------------
// GatherNd

namespace {

absl::Status GatherNdShape(InferenceContext* ctx) {
  const PartialTensorShape& params = ctx->input(0);
  const PartialTensorShape& indices = ctx->input(1);
  if (indices.dims() == 0) return ctx->Error("indices must be at least 1-D");
  if (indices.unknown_rank() || indices.dim_size(indices.dims() - 1) < 0 ||
      params.unknown_rank()) {
    ctx->set_output(0, PartialTensorShape::Unknown());
    return absl::OkStatus();
  }
  const int64_t nd = indices.dim_size(indices.dims() - 1);
  if (nd > params.dims()) {
    return ctx->Error(absl::StrCat("indices ", indices.DebugString(), " index ", nd,
                                   " dims but params ", params.DebugString(), " has rank ",
                                   params.dims()));
  }
  std::vector<int64_t> dims = DimsOf(indices, 0, indices.dims() - 1);
  for (int64_t d : DimsOf(params, static_cast<int>(nd), params.dims())) dims.push_back(d);
  ctx->set_output(0, PartialTensorShape(dims));
  return absl::OkStatus();
}

// dparams = ScatterNd(indices, dy, shape(params)): each gathered slice's gradient added back.
absl::Status GatherNdGrad(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                          std::vector<Output>* grad_inputs) {
  grad_inputs->assign(2, Output());
  const Output indices = node.input(1);
  (*grad_inputs)[0] = ops::ScatterNd(scope, indices, grads[0],
                                     ops::Shape(scope, node.input(0), indices.type()));
  return scope.status();
}

}  // namespace

REGISTER_OP("GatherNd")
    .Input("params: Tparams")
    .Input("indices: Tindices")
    .Output("output: Tparams")
    .Attr("Tparams: type")
    .Attr("Tindices: {int32, int64}")
    .SetShapeFn(GatherNdShape);
REGISTER_GRADIENT("GatherNd", GatherNdGrad);

Output ops::GatherNd(const Scope& scope, Input params, Input indices) {
  return AddOp(scope, "GatherNd", {params, indices});
}

// ---------------------------------------------------------------------------------------------
// ScatterNd

namespace {

absl::Status ScatterNdShape(InferenceContext* ctx) {
  const PartialTensorShape& indices = ctx->input(0);
  const PartialTensorShape& updates = ctx->input(1);
  if (indices.dims() == 0) return ctx->Error("indices must be at least 1-D");
  std::optional<std::vector<int64_t>> shape = ConstInts(ctx, 2);
  if (!shape) {
    ctx->set_output(0, ShapeOfLength(ctx->input(2)));
    return absl::OkStatus();
  }
  for (int64_t d : *shape) {
    if (d < 0) return ctx->Error(absl::StrCat("shape has a negative dim ", d));
  }
  if (indices.dims() > 0 && updates.dims() >= 0) {
    const int64_t nd = indices.dim_size(indices.dims() - 1);
    const int outer = indices.dims() - 1;
    if (nd > static_cast<int64_t>(shape->size())) {
      return ctx->Error(absl::StrCat("indices index ", nd, " dims of a rank-", shape->size(),
                                     " output"));
    }
    if (nd >= 0) {
      std::vector<int64_t> want = DimsOf(indices, 0, outer);
      want.insert(want.end(), shape->begin() + nd, shape->end());
      if (!PartialTensorShape(want).IsCompatibleWith(updates)) {
        return ctx->Error(absl::StrCat("updates ", updates.DebugString(), " must have shape ",
                                       PartialTensorShape(want).DebugString()));
      }
    }
  }
  ctx->set_output(0, PartialTensorShape(*shape));
  return absl::OkStatus();
}

// dupdates = GatherNd(dy, indices); none for indices and shape.
absl::Status ScatterNdGrad(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                           std::vector<Output>* grad_inputs) {
  grad_inputs->assign(3, Output());
  (*grad_inputs)[1] = ops::GatherNd(scope, grads[0], node.input(0));
  return scope.status();
}

}  // namespace

REGISTER_OP("ScatterNd")
    .Input("indices: Tindices")
    .Input("updates: T")
    .Input("shape: Tindices")
    .Output("output: T")
    .Attr("T: {float, double, int32, int64, uint8}")
    .Attr("Tindices: {int32, int64}")
    .SetShapeFn(ScatterNdShape);
REGISTER_GRADIENT("ScatterNd", ScatterNdGrad);

Output ops::ScatterNd(const Scope& scope, Input indices, Input updates, Input shape) {
  return AddOp(scope, "ScatterNd", {indices, updates, shape});
}

// ---------------------------------------------------------------------------------------------
// OneHot

namespace {

absl::Status OneHotShape(InferenceContext* ctx) {
  int64_t axis = -1;
  DFLOW_RETURN_IF_ERROR(ctx->GetAttr("axis", &axis));
  const PartialTensorShape& indices = ctx->input(0);
  for (int i = 1; i <= 3; ++i) {
    if (ctx->input(i).dims() > 0) {
      const char* names[] = {"", "depth", "on_value", "off_value"};
      return ctx->Error(absl::StrCat(names[i], " must be a scalar, got shape ",
                                     ctx->input(i).DebugString()));
    }
  }
  if (axis < -1) return ctx->Error(absl::StrCat("axis must be >= -1, got ", axis));
  int64_t depth = -1;
  std::optional<std::vector<int64_t>> d = ConstInts(ctx, 1);
  if (d && d->size() == 1) {
    depth = (*d)[0];
    if (depth < 0) return ctx->Error(absl::StrCat("depth must be non-negative, got: ", depth));
  }
  if (indices.unknown_rank()) {
    ctx->set_output(0, PartialTensorShape::Unknown());
    return absl::OkStatus();
  }
  const int rank = indices.dims();
  if (axis > rank) {
    return ctx->Error(absl::StrCat("axis ", axis, " is out of range [-1, ", rank, "]"));
  }
  std::vector<int64_t> dims(indices.dim_sizes().begin(), indices.dim_sizes().end());
  dims.insert(dims.begin() + (axis == -1 ? rank : axis), depth);
  ctx->set_output(0, PartialTensorShape(dims));
  return absl::OkStatus();
}

}  // namespace

REGISTER_OP("OneHot")
    .Input("indices: TI")
    .Input("depth: int32")
    .Input("on_value: T")
    .Input("off_value: T")
    .Output("output: T")
    .Attr("axis: int = -1")
    .Attr("T: type")
    .Attr("TI: {uint8, int32, int64} = DT_INT64")
    .SetShapeFn(OneHotShape)
    .NotDifferentiable();

ops::OneHot::OneHot(const Scope& scope, Input indices, Input depth, Input on_value,
                    Input off_value, const Attrs& attrs)
    : Output(AddOp(scope, "OneHot", {indices, depth, on_value, off_value},
                   {{"axis", MakeAttr(attrs.axis)}})) {}

// ---------------------------------------------------------------------------------------------
// UnsortedSegmentSum

namespace {

absl::Status UnsortedSegmentSumShape(InferenceContext* ctx) {
  const PartialTensorShape& data = ctx->input(0);
  const PartialTensorShape& ids = ctx->input(1);
  if (ctx->input(2).dims() > 0) {
    return ctx->Error(absl::StrCat("num_segments must be a scalar, got shape ",
                                   ctx->input(2).DebugString()));
  }
  int64_t n = -1;
  std::optional<std::vector<int64_t>> v = ConstInts(ctx, 2);
  if (v && v->size() == 1) {
    n = (*v)[0];
    if (n < 0) return ctx->Error(absl::StrCat("num_segments must be non-negative, got ", n));
  }
  if (data.unknown_rank() || ids.unknown_rank()) {
    ctx->set_output(0, PartialTensorShape::Unknown());
    return absl::OkStatus();
  }
  if (ids.dims() > data.dims() ||
      !PartialTensorShape(DimsOf(data, 0, ids.dims())).IsCompatibleWith(ids)) {
    return ctx->Error(absl::StrCat("segment_ids ", ids.DebugString(),
                                   " must be a prefix of data's shape ", data.DebugString()));
  }
  std::vector<int64_t> dims = {n};
  for (int64_t d : DimsOf(data, ids.dims(), data.dims())) dims.push_back(d);
  ctx->set_output(0, PartialTensorShape(dims));
  return absl::OkStatus();
}

// ddata[i...] = dy[segment_ids[i...]], zero where the id is negative (dropped): a gather of
// the clipped ids times a 0/1 mask (TensorFlow's _GatherDropNegatives).
absl::Status UnsortedSegmentSumGrad(const Scope& scope, const Node& node,
                                    absl::Span<const Output> grads,
                                    std::vector<Output>* grad_inputs) {
  grad_inputs->assign(3, Output());
  const Output ids = node.input(1);
  const Output zeros = ops::ZerosLike(scope, ids);
  Output gathered = ops::GatherV2(scope, grads[0], ops::Maximum(scope, ids, zeros), 0);
  Output kept = ops::Cast(scope, ops::GreaterEqual(scope, ids, zeros), grads[0].type());
  Output ones = ops::Fill(
      scope, ops::Reshape(scope, ops::Sub(scope, ops::Rank(scope, gathered), ops::Rank(scope, ids)),
                          {1}),
      1);
  Output mask = ops::Reshape(scope, kept, ops::ConcatV2(scope, {ops::Shape(scope, ids), ones}, 0));
  (*grad_inputs)[0] = ops::Mul(scope, gathered, mask);
  return scope.status();
}

}  // namespace

REGISTER_OP("UnsortedSegmentSum")
    .Input("data: T")
    .Input("segment_ids: Tindices")
    .Input("num_segments: Tnumsegments")
    .Output("output: T")
    .Attr("T: {float, double, int32, int64, uint8}")
    .Attr("Tindices: {int32, int64}")
    .Attr("Tnumsegments: {int32, int64} = int32")
    .SetShapeFn(UnsortedSegmentSumShape);
REGISTER_GRADIENT("UnsortedSegmentSum", UnsortedSegmentSumGrad);

Output ops::UnsortedSegmentSum(const Scope& scope, Input data, Input segment_ids,
                               Input num_segments) {
  return AddOp(scope, "UnsortedSegmentSum", {data, segment_ids, num_segments});
}

}  // namespace dflow
