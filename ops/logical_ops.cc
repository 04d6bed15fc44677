// Equality, logic and selection: Equal, NotEqual, LogicalAnd, LogicalOr, LogicalNot, Select and
// SelectV2. Op by op: the schema, its shape function, its gradient and its builder.
#include "ops/logical_ops.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "graph/status_macros.h"
#include "ops/array_ops.h"
#include "ops/gradients.h"
#include "ops/op_registry.h"
#include "ops/shape_inference.h"

namespace dflow {
namespace {

absl::Status EqualityShape(InferenceContext* ctx) {
  bool incompatible_shape_error = true;
  DFLOW_RETURN_IF_ERROR(ctx->GetAttr("incompatible_shape_error", &incompatible_shape_error));
  absl::StatusOr<PartialTensorShape> out = BroadcastShapes(ctx->input(0), ctx->input(1));
  if (!out.ok()) {
    if (incompatible_shape_error) return ctx->Error(out.status().message());
    ctx->set_output(0, PartialTensorShape({}));
    return absl::OkStatus();
  }
  // Without the error, shapes found incompatible only at run time make a scalar, so unless
  // both are known the output shape is unknown.
  const bool known = ctx->input(0).IsFullyDefined() && ctx->input(1).IsFullyDefined();
  ctx->set_output(0, incompatible_shape_error || known ? *out : PartialTensorShape::Unknown());
  return absl::OkStatus();
}

}  // namespace

#define DFLOW_EQUALITY_OP(name)                          \
  REGISTER_OP(name)                                      \
      .Input("x: T")                                     \
      .Input("y: T")                                     \
      .Output("z: bool")                                 \
      .Attr("T: {float, double, int32, int64, uint8, bool, string}") \
      .Attr("incompatible_shape_error: bool = true")     \
      .SetShapeFn(EqualityShape)                         \
      .NotDifferentiable()

// ---------------------------------------------------------------------------------------------
// Equal, NotEqual

DFLOW_EQUALITY_OP("Equal");
DFLOW_EQUALITY_OP("NotEqual");

ops::Equal::Equal(const Scope& scope, Input x, Input y, const Attrs& attrs)
    : Output(AddOp(scope, "Equal", {x, y},
                   {{"incompatible_shape_error", MakeAttr(attrs.incompatible_shape_error)}})) {}
ops::NotEqual::NotEqual(const Scope& scope, Input x, Input y, const Attrs& attrs)
    : Output(AddOp(scope, "NotEqual", {x, y},
                   {{"incompatible_shape_error", MakeAttr(attrs.incompatible_shape_error)}})) {}

// ---------------------------------------------------------------------------------------------
// LogicalAnd, LogicalOr, LogicalNot

REGISTER_OP("LogicalAnd")
    .Input("x: bool")
    .Input("y: bool")
    .Output("z: bool")
    .SetShapeFn(BroadcastBinaryShape)
    .NotDifferentiable();
REGISTER_OP("LogicalOr")
    .Input("x: bool")
    .Input("y: bool")
    .Output("z: bool")
    .SetShapeFn(BroadcastBinaryShape)
    .NotDifferentiable();
REGISTER_OP("LogicalNot")
    .Input("x: bool")
    .Output("y: bool")
    .SetShapeFn(UnchangedShape)
    .NotDifferentiable();

Output ops::LogicalAnd(const Scope& scope, Input x, Input y) {
  return AddOp(scope, "LogicalAnd", {x, y});
}
Output ops::LogicalOr(const Scope& scope, Input x, Input y) {
  return AddOp(scope, "LogicalOr", {x, y});
}
Output ops::LogicalNot(const Scope& scope, Input x) { return AddOp(scope, "LogicalNot", {x}); }

// ---------------------------------------------------------------------------------------------
// Select

namespace {

absl::Status SelectShape(InferenceContext* ctx) {
  DFLOW_ASSIGN_OR_RETURN(PartialTensorShape data, MergeInputPair(ctx, 1, 2, [ctx] {
    return absl::StrCat("t ", ctx->input(1).DebugString(), " and e ", ctx->input(2).DebugString(),
                        " must have the same shape");
  }));
  const PartialTensorShape& cond = ctx->input(0);
  ctx->set_output(0, data);
  if (cond.unknown_rank() || data.unknown_rank() || cond.dims() == 0) return absl::OkStatus();
  if (cond.dims() == 1 && data.dims() >= 2) {  // One condition per row.
    const int64_t c = cond.dim_size(0), d = data.dim_size(0);
    if (c >= 0 && d >= 0 && c != d) {
      return ctx->Error(absl::StrCat("condition ", cond.DebugString(),
                                     " must have one value per row of t ", data.DebugString()));
    }
    return absl::OkStatus();
  }
  absl::StatusOr<PartialTensorShape> merged = data.Merge(cond);
  if (!merged.ok()) {
    return ctx->Error(absl::StrCat("condition ", cond.DebugString(), " must be a scalar, of t's ",
                                   "shape ", data.DebugString(), ", or a vector of its first "
                                   "dimension"));
  }
  ctx->set_output(0, *merged);
  return absl::OkStatus();
}

// The gradient goes to t where the condition holds, else to e; none to the condition.
absl::Status SelectGrad(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                        std::vector<Output>* grad_inputs) {
  const Output c = node.input(0), g = grads[0];
  Output zeros = ops::ZerosLike(scope, node.input(1));
  *grad_inputs = {Output(), ops::Select(scope, c, g, zeros), ops::Select(scope, c, zeros, g)};
  return scope.status();
}

}  // namespace

REGISTER_OP("Select")
    .Input("condition: bool")
    .Input("t: T")
    .Input("e: T")
    .Output("output: T")
    .Attr("T: type")  // As TensorFlow: any type, strings included.
    .SetShapeFn(SelectShape);
REGISTER_GRADIENT("Select", SelectGrad);

Output ops::Select(const Scope& scope, Input condition, Input t, Input e) {
  return AddOp(scope, "Select", {condition, t, e});
}

// ---------------------------------------------------------------------------------------------
// SelectV2

namespace {

absl::Status SelectV2Shape(InferenceContext* ctx) {
  absl::StatusOr<PartialTensorShape> te = BroadcastShapes(ctx->input(1), ctx->input(2));
  absl::StatusOr<PartialTensorShape> out =
      te.ok() ? BroadcastShapes(ctx->input(0), *te) : te.status();
  if (!out.ok()) {
    return ctx->Error(absl::StrCat("condition ", ctx->input(0).DebugString(), ", t ",
                                   ctx->input(1).DebugString(), " and e ",
                                   ctx->input(2).DebugString(), " do not broadcast together"));
  }
  ctx->set_output(0, *out);
  return absl::OkStatus();
}

// As Select's, with each gradient summed down to its operand's shape.
absl::Status SelectV2Grad(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                          std::vector<Output>* grad_inputs) {
  const Output c = node.input(0), g = grads[0];
  Output zeros = ops::ZerosLike(scope, g);
  *grad_inputs = {
      Output(), ReduceGradientToShape(scope, ops::SelectV2(scope, c, g, zeros), node.input(1)),
      ReduceGradientToShape(scope, ops::SelectV2(scope, c, zeros, g), node.input(2))};
  return scope.status();
}

}  // namespace

REGISTER_OP("SelectV2")
    .Input("condition: bool")
    .Input("t: T")
    .Input("e: T")
    .Output("output: T")
    .Attr("T: type")  // As TensorFlow: any type, strings included.
    .SetShapeFn(SelectV2Shape);
REGISTER_GRADIENT("SelectV2", SelectV2Grad);

Output ops::SelectV2(const Scope& scope, Input condition, Input t, Input e) {
  return AddOp(scope, "SelectV2", {condition, t, e});
}

#undef DFLOW_EQUALITY_OP

}  // namespace dflow
