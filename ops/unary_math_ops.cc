// Element-wise math functions: Rsqrt, Reciprocal (alias Inv), Abs, Sign, Expm1, Log1p, Round,
// Ceil, Sin, Cos, Erf, and the gradient ops RsqrtGrad, ReciprocalGrad (alias InvGrad) and
// SqrtGrad. Op by op: the schema, its shape function, its gradient and its builder.
#include "ops/unary_math_ops.h"

#include <cmath>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "graph/status_macros.h"
#include "ops/array_ops.h"
#include "ops/math_ops.h"
#include "ops/op_registry.h"
#include "ops/shape_inference.h"

namespace dflow {
namespace {

absl::Status GradOpShape(InferenceContext* ctx) {
  DFLOW_ASSIGN_OR_RETURN(PartialTensorShape merged, MergeInputPair(ctx, 0, 1, [ctx] {
    return absl::StrCat("y ", ctx->input(0).DebugString(), " and dy ", ctx->input(1).DebugString(),
                        " must have the same shape");
  }));
  ctx->set_output(0, merged);
  return absl::OkStatus();
}

// For y = f(x): grad_inputs = {dx(x, y, g)}.
template <typename DxFn>
absl::Status UnaryGrad(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                       std::vector<Output>* grad_inputs, DxFn dx) {
  *grad_inputs = {dx(node.input(0), OutputOf(node, 0), grads[0])};
  return scope.status();
}

}  // namespace

#define DFLOW_UNARY_OP(name, types) \
  REGISTER_OP(name).Input("x: T").Output("y: T").Attr("T: " types).SetShapeFn(UnchangedShape)

#define DFLOW_UNARY_GRAD_OP(name)                 \
  REGISTER_OP(name)                               \
      .Input("y: T")                              \
      .Input("dy: T")                             \
      .Output("z: T")                             \
      .Attr("T: {float}")                         \
      .SetShapeFn(GradOpShape)

// ---------------------------------------------------------------------------------------------
// Rsqrt, RsqrtGrad

namespace {

// y = x^-1/2: dy/dx = -y^3 / 2 (RsqrtGrad from the output).
absl::Status RsqrtGradFn(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                         std::vector<Output>* grad_inputs) {
  return UnaryGrad(scope, node, grads, grad_inputs,
                   [&](const Output&, const Output& y, const Output& g) {
                     return ops::RsqrtGrad(scope, y, g);
                   });
}

// z = -dy y^3 / 2: dz/dy = -1.5 dy y^2, dz/d(dy) = -y^3 / 2.
absl::Status RsqrtGradGrad(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                           std::vector<Output>* grad_inputs) {
  const Output y = node.input(0), dy = node.input(1), g = grads[0];
  Output gy = ops::Mul(scope, ops::Mul(scope, ops::Mul(scope, g, dy), -1.5f), ops::Square(scope, y));
  *grad_inputs = {gy, ops::RsqrtGrad(scope, y, g)};
  return scope.status();
}

}  // namespace

DFLOW_UNARY_OP("Rsqrt", "{float}");
REGISTER_GRADIENT("Rsqrt", RsqrtGradFn);
DFLOW_UNARY_GRAD_OP("RsqrtGrad");
REGISTER_GRADIENT("RsqrtGrad", RsqrtGradGrad);

Output ops::Rsqrt(const Scope& scope, Input x) { return AddOp(scope, "Rsqrt", {x}); }
Output ops::RsqrtGrad(const Scope& scope, Input y, Input dy) {
  return AddOp(scope, "RsqrtGrad", {y, dy});
}

// ---------------------------------------------------------------------------------------------
// Reciprocal, ReciprocalGrad (and TensorFlow's older names Inv, InvGrad)

namespace {

// y = 1 / x: dy/dx = -y^2 (ReciprocalGrad from the output).
absl::Status ReciprocalGradFn(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                              std::vector<Output>* grad_inputs) {
  return UnaryGrad(scope, node, grads, grad_inputs,
                   [&](const Output&, const Output& y, const Output& g) {
                     return ops::ReciprocalGrad(scope, y, g);
                   });
}

// z = -dy y^2: dz/dy = -2 dy y, dz/d(dy) = -y^2.
absl::Status ReciprocalGradGrad(const Scope& scope, const Node& node,
                                absl::Span<const Output> grads, std::vector<Output>* grad_inputs) {
  const Output y = node.input(0), dy = node.input(1), g = grads[0];
  Output gy = ops::Mul(scope, ops::Mul(scope, ops::Mul(scope, g, dy), -2.0f), y);
  *grad_inputs = {gy, ops::ReciprocalGrad(scope, y, g)};
  return scope.status();
}

}  // namespace

DFLOW_UNARY_OP("Reciprocal", "{float}");
REGISTER_GRADIENT("Reciprocal", ReciprocalGradFn);
REGISTER_OP_ALIAS("Inv", "Reciprocal");
DFLOW_UNARY_GRAD_OP("ReciprocalGrad");
REGISTER_GRADIENT("ReciprocalGrad", ReciprocalGradGrad);
REGISTER_OP_ALIAS("InvGrad", "ReciprocalGrad");

Output ops::Reciprocal(const Scope& scope, Input x) { return AddOp(scope, "Reciprocal", {x}); }
Output ops::ReciprocalGrad(const Scope& scope, Input y, Input dy) {
  return AddOp(scope, "ReciprocalGrad", {y, dy});
}

// ---------------------------------------------------------------------------------------------
// SqrtGrad (Sqrt itself is in math_ops.cc; its gradient builds SqrtGrad)

namespace {

// z = dy / (2y): dz/dy = -z / y, dz/d(dy) = 1 / (2y).
absl::Status SqrtGradGrad(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                          std::vector<Output>* grad_inputs) {
  const Output y = node.input(0), z = OutputOf(node, 0);
  Output g_over_y = ops::RealDiv(scope, grads[0], y);
  *grad_inputs = {ops::Neg(scope, ops::Mul(scope, g_over_y, z)), ops::Mul(scope, g_over_y, 0.5f)};
  return scope.status();
}

}  // namespace

DFLOW_UNARY_GRAD_OP("SqrtGrad");
REGISTER_GRADIENT("SqrtGrad", SqrtGradGrad);

Output ops::SqrtGrad(const Scope& scope, Input y, Input dy) {
  return AddOp(scope, "SqrtGrad", {y, dy});
}

// ---------------------------------------------------------------------------------------------
// Abs

namespace {

// y = |x|: dy/dx = sign(x).
absl::Status AbsGrad(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                     std::vector<Output>* grad_inputs) {
  return UnaryGrad(scope, node, grads, grad_inputs,
                   [&](const Output& x, const Output&, const Output& g) {
                     return ops::Mul(scope, g, ops::Sign(scope, x));
                   });
}

}  // namespace

DFLOW_UNARY_OP("Abs", "{float, int32, int64}");
REGISTER_GRADIENT("Abs", AbsGrad);

Output ops::Abs(const Scope& scope, Input x) { return AddOp(scope, "Abs", {x}); }

// ---------------------------------------------------------------------------------------------
// Sign

namespace {

// Piecewise constant: TensorFlow's gradient is zeros of x's shape.
absl::Status SignGrad(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                      std::vector<Output>* grad_inputs) {
  return UnaryGrad(scope, node, grads, grad_inputs,
                   [&](const Output& x, const Output&, const Output&) {
                     return ops::ZerosLike(scope, x);
                   });
}

}  // namespace

DFLOW_UNARY_OP("Sign", "{float, int32, int64}");
REGISTER_GRADIENT("Sign", SignGrad);

Output ops::Sign(const Scope& scope, Input x) { return AddOp(scope, "Sign", {x}); }

// ---------------------------------------------------------------------------------------------
// Expm1

namespace {

// y = exp(x) - 1: dy/dx = exp(x).
absl::Status Expm1Grad(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                       std::vector<Output>* grad_inputs) {
  return UnaryGrad(scope, node, grads, grad_inputs,
                   [&](const Output& x, const Output&, const Output& g) {
                     return ops::Mul(scope, g, ops::Exp(scope, x));
                   });
}

}  // namespace

DFLOW_UNARY_OP("Expm1", "{float}");
REGISTER_GRADIENT("Expm1", Expm1Grad);

Output ops::Expm1(const Scope& scope, Input x) { return AddOp(scope, "Expm1", {x}); }

// ---------------------------------------------------------------------------------------------
// Log1p

namespace {

// y = log(1 + x): dy/dx = 1 / (1 + x).
absl::Status Log1pGrad(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                       std::vector<Output>* grad_inputs) {
  return UnaryGrad(scope, node, grads, grad_inputs,
                   [&](const Output& x, const Output&, const Output& g) {
                     return ops::Mul(scope, g, ops::Reciprocal(scope, ops::Add(scope, x, 1.0f)));
                   });
}

}  // namespace

DFLOW_UNARY_OP("Log1p", "{float}");
REGISTER_GRADIENT("Log1p", Log1pGrad);

Output ops::Log1p(const Scope& scope, Input x) { return AddOp(scope, "Log1p", {x}); }

// ---------------------------------------------------------------------------------------------
// Round, Ceil: piecewise constant; TensorFlow's gradients are None.

DFLOW_UNARY_OP("Round", "{float, double, int32, int64}").NotDifferentiable();
DFLOW_UNARY_OP("Ceil", "{float, double}").NotDifferentiable();

Output ops::Round(const Scope& scope, Input x) { return AddOp(scope, "Round", {x}); }
Output ops::Ceil(const Scope& scope, Input x) { return AddOp(scope, "Ceil", {x}); }

// ---------------------------------------------------------------------------------------------
// Sin, Cos

namespace {

// y = sin(x): dy/dx = cos(x).
absl::Status SinGrad(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                     std::vector<Output>* grad_inputs) {
  return UnaryGrad(scope, node, grads, grad_inputs,
                   [&](const Output& x, const Output&, const Output& g) {
                     return ops::Mul(scope, g, ops::Cos(scope, x));
                   });
}

// y = cos(x): dy/dx = -sin(x).
absl::Status CosGrad(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                     std::vector<Output>* grad_inputs) {
  return UnaryGrad(scope, node, grads, grad_inputs,
                   [&](const Output& x, const Output&, const Output& g) {
                     return ops::Neg(scope, ops::Mul(scope, g, ops::Sin(scope, x)));
                   });
}

}  // namespace

DFLOW_UNARY_OP("Sin", "{float}");
REGISTER_GRADIENT("Sin", SinGrad);
DFLOW_UNARY_OP("Cos", "{float}");
REGISTER_GRADIENT("Cos", CosGrad);

Output ops::Sin(const Scope& scope, Input x) { return AddOp(scope, "Sin", {x}); }
Output ops::Cos(const Scope& scope, Input x) { return AddOp(scope, "Cos", {x}); }

// ---------------------------------------------------------------------------------------------
// Erf

namespace {

// y = erf(x): dy/dx = 2 / sqrt(pi) * exp(-x^2).
absl::Status ErfGrad(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                     std::vector<Output>* grad_inputs) {
  const float two_over_root_pi = static_cast<float>(2.0 / std::sqrt(M_PI));
  return UnaryGrad(scope, node, grads, grad_inputs,
                   [&](const Output& x, const Output&, const Output& g) {
                     Output e = ops::Exp(scope, ops::Neg(scope, ops::Square(scope, x)));
                     return ops::Mul(scope, ops::Mul(scope, g, two_over_root_pi), e);
                   });
}

}  // namespace

DFLOW_UNARY_OP("Erf", "{float}");
REGISTER_GRADIENT("Erf", ErfGrad);

Output ops::Erf(const Scope& scope, Input x) { return AddOp(scope, "Erf", {x}); }

#undef DFLOW_UNARY_OP
#undef DFLOW_UNARY_GRAD_OP

}  // namespace dflow

namespace dflow {

// ---------------------------------------------------------------------------------------------
// IsFinite (TensorFlow registers it as not differentiable)

REGISTER_OP("IsFinite")
    .Input("x: T")
    .Output("y: bool")
    .Attr("T: {float, double}")
    .SetShapeFn(UnchangedShape)
    .NotDifferentiable();

Output ops::IsFinite(const Scope& scope, Input x) { return AddOp(scope, "IsFinite", {x}); }

}  // namespace dflow
