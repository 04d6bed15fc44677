// Variables and their updates: VariableV2 (alias Variable), Assign, ApplyGradientDescent.
#include "ops/state_ops.h"

#include "absl/strings/str_cat.h"
#include "ops/op_registry.h"
#include "ops/shape_inference.h"

namespace dflow {
namespace {

absl::Status VariableShape(InferenceContext* ctx) {
  PartialTensorShape shape;
  absl::Status s = ctx->GetAttr("shape", &shape);
  if (!s.ok()) return s;
  ctx->set_output(0, shape);
  return absl::OkStatus();
}

absl::Status AssignShape(InferenceContext* ctx) {
  bool validate = true;
  absl::Status s = ctx->GetAttr("validate_shape", &validate);
  if (!s.ok()) return s;
  if (!validate) {
    ctx->set_output(0, ctx->input(1));
    return absl::OkStatus();
  }
  absl::StatusOr<PartialTensorShape> merged = ctx->input(0).Merge(ctx->input(1));
  if (!merged.ok()) {
    return ctx->Error(absl::StrCat("cannot assign a value of shape ", ctx->input(1).DebugString(),
                                   " to a variable of shape ", ctx->input(0).DebugString()));
  }
  ctx->set_output(0, *merged);
  return absl::OkStatus();
}

absl::Status ApplyGradientDescentShape(InferenceContext* ctx) {
  if (ctx->input(1).dims() > 0) {
    return ctx->Error(absl::StrCat("alpha must be a scalar, got ", ctx->input(1).DebugString()));
  }
  absl::StatusOr<PartialTensorShape> merged = ctx->input(0).Merge(ctx->input(2));
  if (!merged.ok()) {
    return ctx->Error(absl::StrCat("delta of shape ", ctx->input(2).DebugString(),
                                   " does not match var of shape ", ctx->input(0).DebugString()));
  }
  ctx->set_output(0, *merged);
  return absl::OkStatus();
}

}  // namespace

REGISTER_OP("VariableV2")
    .Output("ref: Ref(dtype)")
    .Attr("shape: shape")
    .Attr("dtype: type")
    .Attr("container: string = ''")
    .Attr("shared_name: string = ''")
    .SetShapeFn(VariableShape)
    .SetIsStateful()
    .NotDifferentiable();
REGISTER_OP_ALIAS("Variable", "VariableV2");  // TensorFlow's pre-1.0 name.

REGISTER_OP("Assign")
    .Input("ref: Ref(T)")
    .Input("value: T")
    .Output("output_ref: Ref(T)")
    .Attr("T: type")
    .Attr("validate_shape: bool = true")
    .Attr("use_locking: bool = true")
    .SetShapeFn(AssignShape)
    .SetIsStateful()
    .NotDifferentiable();

REGISTER_OP("ApplyGradientDescent")
    .Input("var: Ref(T)")
    .Input("alpha: T")
    .Input("delta: T")
    .Output("out: Ref(T)")
    .Attr("T: {float}")
    .Attr("use_locking: bool = false")
    .SetShapeFn(ApplyGradientDescentShape)
    .SetIsStateful()
    .NotDifferentiable();

namespace ops {

Output Variable(const Scope& scope, const PartialTensorShape& shape, DataType dtype) {
  return AddOp(scope, "VariableV2", {}, {{"shape", MakeAttr(shape)}, {"dtype", MakeAttr(dtype)}});
}

Assign::Assign(const Scope& scope, Input ref, Input value, const Attrs& attrs)
    : Output(AddOp(scope, "Assign", {ref, value},
                   {{"validate_shape", MakeAttr(attrs.validate_shape)}})) {}

Output ApplyGradientDescent(const Scope& scope, Input var, Input alpha, Input delta) {
  return AddOp(scope, "ApplyGradientDescent", {var, alpha, delta});
}

}  // namespace ops
}  // namespace dflow
