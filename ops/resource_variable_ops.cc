// Resource variables: VarHandleOp, ReadVariableOp, AssignVariableOp, AssignAddVariableOp,
// AssignSubVariableOp, VarIsInitializedOp, ResourceGather, and the optimizer updates
// ResourceApplyGradientDescent, ResourceApplyMomentum, ResourceApplyAdam. Op by op: the schema,
// its shape function, its gradient and its builder. A handle is a DT_RESOURCE scalar, as in
// TensorFlow; a handle carries no shape, so reads have an unknown shape at graph time.
#include "ops/resource_variable_ops.h"

#include <initializer_list>
#include <vector>

#include "absl/strings/str_cat.h"
#include "graph/status_macros.h"
#include "ops/op_registry.h"
#include "ops/shape_inference.h"

namespace dflow {
namespace {

absl::Status HandleInput(InferenceContext* ctx, int i) {
  return ctx->WithRank(i, 0).status();
}

// Inputs `handles` are handles, `scalars` scalars; no outputs.
absl::Status ApplyShape(InferenceContext* ctx, std::initializer_list<int> handles,
                        std::initializer_list<int> scalars) {
  for (int i : handles) DFLOW_RETURN_IF_ERROR(HandleInput(ctx, i));
  for (int i : scalars) DFLOW_RETURN_IF_ERROR(ctx->WithRank(i, 0).status());
  return absl::OkStatus();
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// VarHandleOp

REGISTER_OP("VarHandleOp")
    .Output("resource: resource")
    .Attr("container: string = ''")
    .Attr("shared_name: string = ''")
    .Attr("dtype: type")
    .Attr("shape: shape")
    .Attr("allowed_devices: list(string) = []")
    .SetShapeFn(ScalarShape)
    .SetIsStateful()
    .NotDifferentiable();

Output ops::VarHandleOp(const Scope& scope, DataType dtype, const PartialTensorShape& shape,
                        const std::string& shared_name) {
  return AddOp(scope, "VarHandleOp", {},
               {{"dtype", MakeAttr(dtype)},
                {"shape", MakeAttr(shape)},
                {"shared_name", MakeAttr(shared_name)}});
}

// ---------------------------------------------------------------------------------------------
// ReadVariableOp

namespace {

// y = read(handle): the gradient flows to the handle unchanged, as TensorFlow's _ReadGrad (an
// optimizer applies it to the variable the handle names).
absl::Status ReadVariableGrad(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                              std::vector<Output>* grad_inputs) {
  *grad_inputs = {grads[0]};
  return scope.status();
}

}  // namespace

REGISTER_OP("ReadVariableOp")
    .Input("resource: resource")
    .Output("value: dtype")
    .Attr("dtype: type")
    .SetShapeFn([](InferenceContext* ctx) -> absl::Status {
      DFLOW_RETURN_IF_ERROR(HandleInput(ctx, 0));
      ctx->set_output(0, PartialTensorShape());
      return absl::OkStatus();
    })
    .SetIsStateful();
REGISTER_GRADIENT("ReadVariableOp", ReadVariableGrad);

Output ops::ReadVariableOp(const Scope& scope, Input resource, DataType dtype) {
  return AddOp(scope, "ReadVariableOp", {resource}, {{"dtype", MakeAttr(dtype)}});
}

// ---------------------------------------------------------------------------------------------
// AssignVariableOp, AssignAddVariableOp, AssignSubVariableOp

REGISTER_OP("AssignVariableOp")
    .Input("resource: resource")
    .Input("value: dtype")
    .Attr("dtype: type")
    .Attr("validate_shape: bool = false")
    .SetShapeFn([](InferenceContext* ctx) { return ApplyShape(ctx, {0}, {}); })
    .SetIsStateful()
    .NotDifferentiable();
// AssignAddVariableOp's and AssignSubVariableOp's schema: they differ only in their arithmetic.
#define DFLOW_ASSIGN_UPDATE_VARIABLE_OP(name)                                         \
  REGISTER_OP(name)                                                                   \
      .Input("resource: resource")                                                    \
      .Input("value: dtype")                                                          \
      .Attr("dtype: type")                                                            \
      .SetShapeFn([](InferenceContext* ctx) { return ApplyShape(ctx, {0}, {}); })     \
      .SetIsStateful()                                                                \
      .NotDifferentiable()

DFLOW_ASSIGN_UPDATE_VARIABLE_OP("AssignAddVariableOp");
DFLOW_ASSIGN_UPDATE_VARIABLE_OP("AssignSubVariableOp");

Operation ops::AssignVariableOp(const Scope& scope, Input resource, Input value) {
  return AddOp(scope, "AssignVariableOp", {resource, value});
}
Operation ops::AssignAddVariableOp(const Scope& scope, Input resource, Input value) {
  return AddOp(scope, "AssignAddVariableOp", {resource, value});
}
Operation ops::AssignSubVariableOp(const Scope& scope, Input resource, Input value) {
  return AddOp(scope, "AssignSubVariableOp", {resource, value});
}

// ---------------------------------------------------------------------------------------------
// VarIsInitializedOp

REGISTER_OP("VarIsInitializedOp")
    .Input("resource: resource")
    .Output("is_initialized: bool")
    .SetShapeFn([](InferenceContext* ctx) -> absl::Status {
      DFLOW_RETURN_IF_ERROR(HandleInput(ctx, 0));
      ctx->set_output(0, PartialTensorShape({}));
      return absl::OkStatus();
    })
    .SetIsStateful()
    .NotDifferentiable();

Output ops::VarIsInitializedOp(const Scope& scope, Input resource) {
  return AddOp(scope, "VarIsInitializedOp", {resource});
}

// ---------------------------------------------------------------------------------------------
// ResourceGather (TensorFlow's gradient is an IndexedSlices, which dflow has not: none here)

REGISTER_OP("ResourceGather")
    .Input("resource: resource")
    .Input("indices: Tindices")
    .Output("output: dtype")
    .Attr("batch_dims: int = 0")
    .Attr("validate_indices: bool = true")
    .Attr("dtype: type")
    .Attr("Tindices: {int32, int64}")
    .SetShapeFn([](InferenceContext* ctx) -> absl::Status {
      DFLOW_RETURN_IF_ERROR(HandleInput(ctx, 0));
      ctx->set_output(0, PartialTensorShape());
      return absl::OkStatus();
    })
    .SetIsStateful()
    .NotDifferentiable();

Output ops::ResourceGather(const Scope& scope, Input resource, Input indices, DataType dtype) {
  return AddOp(scope, "ResourceGather", {resource, indices}, {{"dtype", MakeAttr(dtype)}});
}

// ---------------------------------------------------------------------------------------------
// ResourceApplyGradientDescent, ResourceApplyMomentum, ResourceApplyAdam

REGISTER_OP("ResourceApplyGradientDescent")
    .Input("var: resource")
    .Input("alpha: T")
    .Input("delta: T")
    .Attr("T: {float}")
    .Attr("use_locking: bool = false")
    .SetShapeFn([](InferenceContext* ctx) { return ApplyShape(ctx, {0}, {1}); })
    .SetIsStateful()
    .NotDifferentiable();
REGISTER_OP("ResourceApplyMomentum")
    .Input("var: resource")
    .Input("accum: resource")
    .Input("lr: T")
    .Input("grad: T")
    .Input("momentum: T")
    .Attr("T: {float}")
    .Attr("use_locking: bool = false")
    .Attr("use_nesterov: bool = false")
    .SetShapeFn([](InferenceContext* ctx) { return ApplyShape(ctx, {0, 1}, {2, 4}); })
    .SetIsStateful()
    .NotDifferentiable();
REGISTER_OP("ResourceApplyAdam")
    .Input("var: resource")
    .Input("m: resource")
    .Input("v: resource")
    .Input("beta1_power: T")
    .Input("beta2_power: T")
    .Input("lr: T")
    .Input("beta1: T")
    .Input("beta2: T")
    .Input("epsilon: T")
    .Input("grad: T")
    .Attr("T: {float}")
    .Attr("use_locking: bool = false")
    .Attr("use_nesterov: bool = false")
    .SetShapeFn([](InferenceContext* ctx) {
      return ApplyShape(ctx, {0, 1, 2}, {3, 4, 5, 6, 7, 8});
    })
    .SetIsStateful()
    .NotDifferentiable();

Operation ops::ResourceApplyGradientDescent(const Scope& scope, Input var, Input alpha,
                                            Input delta) {
  return AddOp(scope, "ResourceApplyGradientDescent", {var, alpha, delta});
}
Operation ops::ResourceApplyMomentum(const Scope& scope, Input var, Input accum, Input lr,
                                     Input grad, Input momentum, bool use_nesterov) {
  return AddOp(scope, "ResourceApplyMomentum", {var, accum, lr, grad, momentum},
               {{"use_nesterov", MakeAttr(use_nesterov)}});
}
Operation ops::ResourceApplyAdam(const Scope& scope, Input var, Input m, Input v,
                                 Input beta1_power, Input beta2_power, Input lr, Input beta1,
                                 Input beta2, Input epsilon, Input grad, bool use_nesterov) {
  return AddOp(scope, "ResourceApplyAdam",
               {var, m, v, beta1_power, beta2_power, lr, beta1, beta2, epsilon, grad},
               {{"use_nesterov", MakeAttr(use_nesterov)}});
}

}  // namespace dflow
