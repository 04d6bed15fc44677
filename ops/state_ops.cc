// Variables and their updates: VariableV2 (alias Variable), Assign, AssignAdd, AssignSub,
// ApplyGradientDescent, ApplyAdam, ApplyMomentum. Op by op: the schema, its shape function and
// its builder (none has a gradient).
#include "ops/state_ops.h"

#include <initializer_list>

#include "absl/strings/str_cat.h"
#include "graph/status_macros.h"
#include "ops/op_registry.h"
#include "ops/shape_inference.h"

namespace dflow {
namespace {

// The shape function of an Apply* op: inputs `same` (the variables and the gradient, by index)
// share one shape, inputs `scalars` are scalars; the output has the variables' shape.
absl::Status ApplyShape(InferenceContext* ctx, std::initializer_list<int> same,
                        std::initializer_list<int> scalars) {
  for (int i : scalars) {
    if (!ctx->input(i).unknown_rank() && ctx->input(i).dims() != 0) {
      return ctx->Error(absl::StrCat("input ", i, " must be a scalar, got ",
                                     ctx->input(i).DebugString()));
    }
  }
  PartialTensorShape merged = ctx->input(0);
  for (int i : same) {
    absl::StatusOr<PartialTensorShape> m = merged.Merge(ctx->input(i));
    if (!m.ok()) {
      return ctx->Error(absl::StrCat("input ", i, " of shape ", ctx->input(i).DebugString(),
                                     " does not match var of shape ",
                                     ctx->input(0).DebugString()));
    }
    merged = *m;
  }
  ctx->set_output(0, merged);
  return absl::OkStatus();
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// VariableV2

namespace {

absl::Status VariableShape(InferenceContext* ctx) {
  PartialTensorShape shape;
  DFLOW_RETURN_IF_ERROR(ctx->GetAttr("shape", &shape));
  ctx->set_output(0, shape);
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

Output ops::Variable(const Scope& scope, const PartialTensorShape& shape, DataType dtype) {
  return AddOp(scope, "VariableV2", {}, {{"shape", MakeAttr(shape)}, {"dtype", MakeAttr(dtype)}});
}

// ---------------------------------------------------------------------------------------------
// Assign

namespace {

absl::Status AssignShape(InferenceContext* ctx) {
  bool validate = true;
  DFLOW_RETURN_IF_ERROR(ctx->GetAttr("validate_shape", &validate));
  if (!validate) {
    ctx->set_output(0, ctx->input(1));
    return absl::OkStatus();
  }
  DFLOW_ASSIGN_OR_RETURN(PartialTensorShape merged, MergeInputPair(ctx, 0, 1, [ctx] {
    return absl::StrCat("cannot assign a value of shape ", ctx->input(1).DebugString(),
                        " to a variable of shape ", ctx->input(0).DebugString());
  }));
  ctx->set_output(0, merged);
  return absl::OkStatus();
}

}  // namespace

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

ops::Assign::Assign(const Scope& scope, Input ref, Input value, const Attrs& attrs)
    : Output(AddOp(scope, "Assign", {ref, value},
                   {{"validate_shape", MakeAttr(attrs.validate_shape)}})) {}

// ---------------------------------------------------------------------------------------------
// AssignAdd, AssignSub

namespace {

absl::Status AssignUpdateShape(InferenceContext* ctx) {
  DFLOW_ASSIGN_OR_RETURN(PartialTensorShape merged, MergeInputPair(ctx, 0, 1, [ctx] {
    return absl::StrCat("value of shape ", ctx->input(1).DebugString(),
                        " does not match variable of shape ", ctx->input(0).DebugString());
  }));
  ctx->set_output(0, merged);
  return absl::OkStatus();
}

}  // namespace

// AssignAdd's and AssignSub's schema: they differ only in their arithmetic.
#define DFLOW_ASSIGN_UPDATE_OP(name)          \
  REGISTER_OP(name)                           \
      .Input("ref: Ref(T)")                   \
      .Input("value: T")                      \
      .Output("output_ref: Ref(T)")           \
      .Attr("T: {float, int32, int64}")       \
      .Attr("use_locking: bool = false")      \
      .SetShapeFn(AssignUpdateShape)          \
      .SetIsStateful()                        \
      .NotDifferentiable()

DFLOW_ASSIGN_UPDATE_OP("AssignAdd");
DFLOW_ASSIGN_UPDATE_OP("AssignSub");

Output ops::AssignAdd(const Scope& scope, Input ref, Input value) {
  return AddOp(scope, "AssignAdd", {ref, value});
}
Output ops::AssignSub(const Scope& scope, Input ref, Input value) {
  return AddOp(scope, "AssignSub", {ref, value});
}

// ---------------------------------------------------------------------------------------------
// ApplyGradientDescent

namespace {

absl::Status ApplyGradientDescentShape(InferenceContext* ctx) {
  if (ctx->input(1).dims() > 0) {
    return ctx->Error(absl::StrCat("alpha must be a scalar, got ", ctx->input(1).DebugString()));
  }
  DFLOW_ASSIGN_OR_RETURN(PartialTensorShape merged, MergeInputPair(ctx, 0, 2, [ctx] {
    return absl::StrCat("delta of shape ", ctx->input(2).DebugString(),
                        " does not match var of shape ", ctx->input(0).DebugString());
  }));
  ctx->set_output(0, merged);
  return absl::OkStatus();
}

}  // namespace

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

Output ops::ApplyGradientDescent(const Scope& scope, Input var, Input alpha, Input delta) {
  return AddOp(scope, "ApplyGradientDescent", {var, alpha, delta});
}

// ---------------------------------------------------------------------------------------------
// ApplyAdam

namespace {

absl::Status ApplyAdamShape(InferenceContext* ctx) {
  // var, m, v, beta1_power, beta2_power, lr, beta1, beta2, epsilon, grad.
  return ApplyShape(ctx, {1, 2, 9}, {3, 4, 5, 6, 7, 8});
}

}  // namespace

REGISTER_OP("ApplyAdam")
    .Input("var: Ref(T)")
    .Input("m: Ref(T)")
    .Input("v: Ref(T)")
    .Input("beta1_power: T")
    .Input("beta2_power: T")
    .Input("lr: T")
    .Input("beta1: T")
    .Input("beta2: T")
    .Input("epsilon: T")
    .Input("grad: T")
    .Output("out: Ref(T)")
    .Attr("T: {float}")
    .Attr("use_locking: bool = false")
    .Attr("use_nesterov: bool = false")
    .SetShapeFn(ApplyAdamShape)
    .SetIsStateful()
    .NotDifferentiable();

ops::ApplyAdam::ApplyAdam(const Scope& scope, Input var, Input m, Input v, Input beta1_power,
                          Input beta2_power, Input lr, Input beta1, Input beta2, Input epsilon,
                          Input grad, const Attrs& attrs)
    : Output(AddOp(scope, "ApplyAdam",
                   {var, m, v, beta1_power, beta2_power, lr, beta1, beta2, epsilon, grad},
                   {{"use_locking", MakeAttr(attrs.use_locking)},
                    {"use_nesterov", MakeAttr(attrs.use_nesterov)}})) {}

// ---------------------------------------------------------------------------------------------
// ApplyMomentum

namespace {

absl::Status ApplyMomentumShape(InferenceContext* ctx) {
  // var, accum, lr, grad, momentum.
  return ApplyShape(ctx, {1, 3}, {2, 4});
}

}  // namespace

REGISTER_OP("ApplyMomentum")
    .Input("var: Ref(T)")
    .Input("accum: Ref(T)")
    .Input("lr: T")
    .Input("grad: T")
    .Input("momentum: T")
    .Output("out: Ref(T)")
    .Attr("T: {float}")
    .Attr("use_locking: bool = false")
    .Attr("use_nesterov: bool = false")
    .SetShapeFn(ApplyMomentumShape)
    .SetIsStateful()
    .NotDifferentiable();

ops::ApplyMomentum::ApplyMomentum(const Scope& scope, Input var, Input accum, Input lr, Input grad,
                                  Input momentum, const Attrs& attrs)
    : Output(AddOp(scope, "ApplyMomentum", {var, accum, lr, grad, momentum},
                   {{"use_locking", MakeAttr(attrs.use_locking)},
                    {"use_nesterov", MakeAttr(attrs.use_nesterov)}})) {}

}  // namespace dflow
