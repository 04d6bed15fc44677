// Ops that pad a tensor: Pad, PadV2, MirrorPad and MirrorPadGrad. Op by op: the schema, its
// shape function, its gradient and its builder.
#include "ops/pad_ops.h"

#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "graph/status_macros.h"
#include "ops/array_ops.h"
#include "ops/op_registry.h"
#include "ops/shape_inference.h"
#include "ops/slice_ops.h"

namespace dflow {
namespace {

// The padded (sign = 1) or unpadded (sign = -1) shape of input 0 by paddings (input 1). A mirror
// mode limits each padding to the dim's size (SYMMETRIC) or size - 1 (REFLECT).
absl::Status PaddedShape(InferenceContext* ctx, int sign, const std::string& mode) {
  const PartialTensorShape& in = ctx->input(0);
  const PartialTensorShape& p_shape = ctx->input(1);
  if (p_shape.dims() >= 0 && (p_shape.dims() != 2 || (p_shape.dim_size(1) >= 0 &&
                                                      p_shape.dim_size(1) != 2))) {
    return ctx->Error(absl::StrCat("paddings must be a matrix with 2 columns, got shape ",
                                   p_shape.DebugString()));
  }
  int rank = in.dims();
  if (rank < 0 && p_shape.dims() == 2) rank = static_cast<int>(p_shape.dim_size(0));
  if (in.dims() >= 0 && p_shape.dims() == 2 && p_shape.dim_size(0) >= 0 &&
      p_shape.dim_size(0) != in.dims()) {
    return ctx->Error(absl::StrCat("the input ", in.DebugString(), " has rank ", in.dims(),
                                   " but paddings has shape ", p_shape.DebugString()));
  }
  if (!mode.empty() && mode != "REFLECT" && mode != "SYMMETRIC") {
    return ctx->Error(absl::StrCat("mode must be REFLECT or SYMMETRIC, got '", mode, "'"));
  }
  // paddings is a matrix: read its values through a 1-D view.
  std::optional<std::vector<int64_t>> p;
  if (const Tensor* t = ctx->input_tensor(1); t != nullptr) {
    absl::StatusOr<Tensor> flat = t->Reshaped(TensorShape({t->NumElements()}));
    if (flat.ok()) {
      absl::StatusOr<IntList> v = IntValues(*flat, "paddings");
      if (v.ok()) p = std::vector<int64_t>(v->begin(), v->end());
    }
  }
  if (!p || rank < 0) {
    ctx->set_output(0, rank < 0 ? PartialTensorShape::Unknown()
                                : PartialTensorShape::UnknownDims(rank));
    return absl::OkStatus();
  }
  if (static_cast<int>(p->size()) != 2 * rank) {
    return ctx->Error(absl::StrCat("paddings must hold ", 2 * rank, " values"));
  }
  std::vector<int64_t> dims(rank, -1);
  for (int d = 0; d < rank; ++d) {
    const int64_t before = (*p)[2 * d], after = (*p)[2 * d + 1];
    if (before < 0 || after < 0) {
      return ctx->Error(absl::StrCat("paddings must be non-negative: ", before, " ", after));
    }
    const int64_t in_d = in.unknown_rank() ? -1 : in.dim_size(d);
    if (in_d < 0) continue;
    dims[d] = in_d + sign * (before + after);
    if (!mode.empty()) {
      const int64_t limit = (sign > 0 ? in_d : dims[d]) - (mode == "REFLECT" ? 1 : 0);
      if (before > limit || after > limit) {
        return ctx->Error(absl::StrCat("paddings must be no greater than the dimension size",
                                       mode == "REFLECT" ? " - 1" : "", ": ", before, ", ",
                                       after, " greater than ", limit, " in dim ", d));
      }
    }
    if (dims[d] < 0) {
      return ctx->Error(absl::StrCat("dim ", d, " of size ", in_d,
                                     " is smaller than its paddings"));
    }
  }
  ctx->set_output(0, PartialTensorShape(dims));
  return absl::OkStatus();
}

absl::Status PadShape(InferenceContext* ctx) {
  if (ctx->num_inputs() == 3 && ctx->input(2).dims() > 0) {
    return ctx->Error(absl::StrCat("constant_values must be a scalar, got shape ",
                                   ctx->input(2).DebugString()));
  }
  return PaddedShape(ctx, 1, "");
}

absl::Status MirrorPadShape(InferenceContext* ctx, int sign) {
  std::string mode;
  DFLOW_RETURN_IF_ERROR(ctx->GetAttr("mode", &mode));
  return PaddedShape(ctx, sign, mode);
}

// dx is dy with the padding cut off: Slice(dy, paddings[:, 0], shape(x)). No gradient flows
// to paddings or to constant_values (as in TensorFlow).
absl::Status PadGrad(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                     std::vector<Output>* grad_inputs) {
  grad_inputs->assign(node.num_inputs(), Output());
  const Output x = node.input(0), paddings = node.input(1);
  Output before = ops::Slice(scope, paddings, {0, 0},
                             ops::Pack(scope, {ops::Rank(scope, x), ops::Const(scope, 1)}));
  Output begin = ops::Reshape(scope, before, {-1});
  (*grad_inputs)[0] = ops::Slice(scope, grads[0], begin, ops::Shape(scope, x, paddings.type()));
  return scope.status();
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Pad

REGISTER_OP("Pad")
    .Input("input: T")
    .Input("paddings: Tpaddings")
    .Output("output: T")
    .Attr("T: type")
    .Attr("Tpaddings: {int32, int64} = int32")
    .SetShapeFn(PadShape);
REGISTER_GRADIENT("Pad", PadGrad);

Output ops::Pad(const Scope& scope, Input input, Input paddings) {
  return AddOp(scope, "Pad", {input, paddings});
}

// ---------------------------------------------------------------------------------------------
// PadV2

REGISTER_OP("PadV2")
    .Input("input: T")
    .Input("paddings: Tpaddings")
    .Input("constant_values: T")
    .Output("output: T")
    .Attr("T: type")
    .Attr("Tpaddings: {int32, int64} = int32")
    .SetShapeFn(PadShape);
REGISTER_GRADIENT("PadV2", PadGrad);

Output ops::PadV2(const Scope& scope, Input input, Input paddings, Input constant_values) {
  return AddOp(scope, "PadV2", {input, paddings, constant_values});
}

// ---------------------------------------------------------------------------------------------
// MirrorPad

namespace {

// dx = MirrorPadGrad(dy, paddings, mode): each padded element's gradient goes to its mirror.
absl::Status MirrorPadGradient(const Scope& scope, const Node& node,
                               absl::Span<const Output> grads, std::vector<Output>* grad_inputs) {
  std::string mode;
  DFLOW_RETURN_IF_ERROR(GetNodeAttr(node, "mode", &mode));
  grad_inputs->assign(2, Output());
  (*grad_inputs)[0] = ops::MirrorPadGrad(scope, grads[0], node.input(1), mode);
  return scope.status();
}

}  // namespace

REGISTER_OP("MirrorPad")
    .Input("input: T")
    .Input("paddings: Tpaddings")
    .Output("output: T")
    .Attr("T: type")
    .Attr("Tpaddings: {int32, int64} = int32")
    .Attr("mode: string")
    .SetShapeFn([](InferenceContext* ctx) { return MirrorPadShape(ctx, 1); });
REGISTER_GRADIENT("MirrorPad", MirrorPadGradient);

Output ops::MirrorPad(const Scope& scope, Input input, Input paddings, const std::string& mode) {
  return AddOp(scope, "MirrorPad", {input, paddings}, {{"mode", MakeAttr(mode)}});
}

// ---------------------------------------------------------------------------------------------
// MirrorPadGrad

namespace {

// MirrorPadGrad is linear and MirrorPad is its adjoint: dx = MirrorPad(dy, paddings, mode).
absl::Status MirrorPadGradGradient(const Scope& scope, const Node& node,
                                   absl::Span<const Output> grads,
                                   std::vector<Output>* grad_inputs) {
  std::string mode;
  DFLOW_RETURN_IF_ERROR(GetNodeAttr(node, "mode", &mode));
  grad_inputs->assign(2, Output());
  (*grad_inputs)[0] = ops::MirrorPad(scope, grads[0], node.input(1), mode);
  return scope.status();
}

}  // namespace

REGISTER_OP("MirrorPadGrad")
    .Input("input: T")
    .Input("paddings: Tpaddings")
    .Output("output: T")
    .Attr("T: {float, double, int32, int64, uint8}")
    .Attr("Tpaddings: {int32, int64} = int32")
    .Attr("mode: string")
    .SetShapeFn([](InferenceContext* ctx) { return MirrorPadShape(ctx, -1); });
REGISTER_GRADIENT("MirrorPadGrad", MirrorPadGradGradient);

Output ops::MirrorPadGrad(const Scope& scope, Input input, Input paddings,
                          const std::string& mode) {
  return AddOp(scope, "MirrorPadGrad", {input, paddings}, {{"mode", MakeAttr(mode)}});
}

}  // namespace dflow
