// Activation ops: Sigmoid, Tanh, Relu6, Elu, Selu, LeakyRelu, Softplus, Softsign, and their
// gradient ops (SigmoidGrad, TanhGrad, Relu6Grad, EluGrad, SeluGrad, LeakyReluGrad, SoftplusGrad,
// SoftsignGrad) with TensorFlow's names, inputs and second-order gradients. Op by op: the
// schema, its shape function, its gradient and its builder.
#include "ops/activation_ops.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "graph/status_macros.h"
#include "ops/array_ops.h"
#include "ops/logical_ops.h"
#include "ops/math_ops.h"
#include "ops/op_registry.h"
#include "ops/shape_inference.h"
#include "ops/unary_math_ops.h"

namespace dflow {
namespace {

// The two inputs of a gradient op, merged: they must have one shape.
absl::Status GradOpShape(InferenceContext* ctx) {
  DFLOW_ASSIGN_OR_RETURN(PartialTensorShape merged, MergeInputPair(ctx, 0, 1, [ctx] {
    return absl::StrCat("both inputs must have the same shape, got ", ctx->input(0).DebugString(),
                        " and ", ctx->input(1).DebugString());
  }));
  ctx->set_output(0, merged);
  return absl::OkStatus();
}

// grad_inputs = {dx} for a one-input op.
absl::Status SetOne(const Scope& scope, std::vector<Output>* grad_inputs, Output dx) {
  *grad_inputs = {dx};
  return scope.status();
}

// grad_inputs = {da, db} for a two-input op (an empty Output: no gradient).
absl::Status SetTwo(const Scope& scope, std::vector<Output>* grad_inputs, Output da, Output db) {
  *grad_inputs = {da, db};
  return scope.status();
}

// where(y < 0, v, 0), for the second-order gradients of EluGrad and SeluGrad.
Output WhereNegative(const Scope& scope, const Output& y, const Output& v) {
  return ops::Select(scope, ops::Less(scope, y, 0.0f), v, ops::ZerosLike(scope, v));
}

}  // namespace

#define DFLOW_ACTIVATION_OP(name, input, output)   \
  REGISTER_OP(name)                                \
      .Input(input ": T")                          \
      .Output(output ": T")                        \
      .Attr("T: {float}")                          \
      .SetShapeFn(UnchangedShape)

#define DFLOW_ACTIVATION_GRAD_OP(name, in0, in1, output) \
  REGISTER_OP(name)                                      \
      .Input(in0 ": T")                                  \
      .Input(in1 ": T")                                  \
      .Output(output ": T")                              \
      .Attr("T: {float}")                                \
      .SetShapeFn(GradOpShape)

// ---------------------------------------------------------------------------------------------
// Sigmoid, SigmoidGrad

namespace {

// y = sigmoid(x): dy/dx = y (1 - y), from the output (SigmoidGrad(y, g)).
absl::Status SigmoidGradFn(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                           std::vector<Output>* grad_inputs) {
  return SetOne(scope, grad_inputs, ops::SigmoidGrad(scope, OutputOf(node, 0), grads[0]));
}

// z = dy y (1 - y): dz/dy = dy (1 - 2y), dz/d(dy) = y (1 - y).
absl::Status SigmoidGradGrad(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                             std::vector<Output>* grad_inputs) {
  const Output y = node.input(0), dy = node.input(1), g = grads[0];
  Output gdy = ops::Mul(scope, g, dy);
  return SetTwo(scope, grad_inputs,
                ops::Sub(scope, gdy, ops::Mul(scope, ops::Mul(scope, gdy, 2.0f), y)),
                ops::SigmoidGrad(scope, y, g));
}

}  // namespace

DFLOW_ACTIVATION_OP("Sigmoid", "x", "y");
REGISTER_GRADIENT("Sigmoid", SigmoidGradFn);
DFLOW_ACTIVATION_GRAD_OP("SigmoidGrad", "y", "dy", "z");
REGISTER_GRADIENT("SigmoidGrad", SigmoidGradGrad);

Output ops::Sigmoid(const Scope& scope, Input x) { return AddOp(scope, "Sigmoid", {x}); }
Output ops::SigmoidGrad(const Scope& scope, Input y, Input dy) {
  return AddOp(scope, "SigmoidGrad", {y, dy});
}

// ---------------------------------------------------------------------------------------------
// Tanh, TanhGrad

namespace {

// y = tanh(x): dy/dx = 1 - y^2, from the output (TanhGrad(y, g)).
absl::Status TanhGradFn(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                        std::vector<Output>* grad_inputs) {
  return SetOne(scope, grad_inputs, ops::TanhGrad(scope, OutputOf(node, 0), grads[0]));
}

// z = dy (1 - y^2): dz/dy = -2 y dy, dz/d(dy) = 1 - y^2.
absl::Status TanhGradGrad(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                          std::vector<Output>* grad_inputs) {
  const Output y = node.input(0), dy = node.input(1), g = grads[0];
  return SetTwo(scope, grad_inputs,
                ops::Mul(scope, ops::Mul(scope, ops::Mul(scope, g, dy), -2.0f), y),
                ops::TanhGrad(scope, y, g));
}

}  // namespace

DFLOW_ACTIVATION_OP("Tanh", "x", "y");
REGISTER_GRADIENT("Tanh", TanhGradFn);
DFLOW_ACTIVATION_GRAD_OP("TanhGrad", "y", "dy", "z");
REGISTER_GRADIENT("TanhGrad", TanhGradGrad);

Output ops::Tanh(const Scope& scope, Input x) { return AddOp(scope, "Tanh", {x}); }
Output ops::TanhGrad(const Scope& scope, Input y, Input dy) {
  return AddOp(scope, "TanhGrad", {y, dy});
}

// ---------------------------------------------------------------------------------------------
// Relu6, Relu6Grad

namespace {

// y = min(max(x, 0), 6): dy/dx = 1 inside (0, 6), else 0. From the output, as TensorFlow 2
// does (relu6(x) is strictly inside (0, 6) exactly where x is).
absl::Status Relu6GradFn(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                         std::vector<Output>* grad_inputs) {
  return SetOne(scope, grad_inputs, ops::Relu6Grad(scope, grads[0], OutputOf(node, 0)));
}

// Linear in the gradient, piecewise constant in the features.
absl::Status Relu6GradGrad(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                           std::vector<Output>* grad_inputs) {
  return SetTwo(scope, grad_inputs, ops::Relu6Grad(scope, grads[0], node.input(1)), Output());
}

}  // namespace

DFLOW_ACTIVATION_OP("Relu6", "features", "activations");
REGISTER_GRADIENT("Relu6", Relu6GradFn);
DFLOW_ACTIVATION_GRAD_OP("Relu6Grad", "gradients", "features", "backprops");
REGISTER_GRADIENT("Relu6Grad", Relu6GradGrad);

Output ops::Relu6(const Scope& scope, Input features) {
  return AddOp(scope, "Relu6", {features});
}
Output ops::Relu6Grad(const Scope& scope, Input gradients, Input features) {
  return AddOp(scope, "Relu6Grad", {gradients, features});
}

// ---------------------------------------------------------------------------------------------
// Elu, EluGrad

namespace {

// y = x < 0 ? exp(x) - 1 : x: dy/dx = y + 1 where y < 0, else 1 (EluGrad from the output).
absl::Status EluGradFn(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                       std::vector<Output>* grad_inputs) {
  return SetOne(scope, grad_inputs, ops::EluGrad(scope, grads[0], OutputOf(node, 0)));
}

// z = y < 0 ? g (y + 1) : g: dz/dg = EluGrad, dz/dy = g where y < 0, else 0.
absl::Status EluGradGrad(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                         std::vector<Output>* grad_inputs) {
  const Output g_in = node.input(0), y = node.input(1), g = grads[0];
  return SetTwo(scope, grad_inputs, ops::EluGrad(scope, g, y),
                WhereNegative(scope, y, ops::Mul(scope, g, g_in)));
}

}  // namespace

DFLOW_ACTIVATION_OP("Elu", "features", "activations");
REGISTER_GRADIENT("Elu", EluGradFn);
DFLOW_ACTIVATION_GRAD_OP("EluGrad", "gradients", "outputs", "backprops");
REGISTER_GRADIENT("EluGrad", EluGradGrad);

Output ops::Elu(const Scope& scope, Input features) { return AddOp(scope, "Elu", {features}); }
Output ops::EluGrad(const Scope& scope, Input gradients, Input outputs) {
  return AddOp(scope, "EluGrad", {gradients, outputs});
}

// ---------------------------------------------------------------------------------------------
// Selu, SeluGrad

namespace {

// y = scale (x < 0 ? alpha (exp(x) - 1) : x): dy/dx = y + scale alpha where y < 0, else scale.
absl::Status SeluGradFn(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                        std::vector<Output>* grad_inputs) {
  return SetOne(scope, grad_inputs, ops::SeluGrad(scope, grads[0], OutputOf(node, 0)));
}

// z = y < 0 ? g (y + scale alpha) : g scale: dz/dg = SeluGrad, dz/dy = g where y < 0, else 0.
absl::Status SeluGradGrad(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                          std::vector<Output>* grad_inputs) {
  const Output g_in = node.input(0), y = node.input(1), g = grads[0];
  return SetTwo(scope, grad_inputs, ops::SeluGrad(scope, g, y),
                WhereNegative(scope, y, ops::Mul(scope, g, g_in)));
}

}  // namespace

DFLOW_ACTIVATION_OP("Selu", "features", "activations");
REGISTER_GRADIENT("Selu", SeluGradFn);
DFLOW_ACTIVATION_GRAD_OP("SeluGrad", "gradients", "outputs", "backprops");
REGISTER_GRADIENT("SeluGrad", SeluGradGrad);

Output ops::Selu(const Scope& scope, Input features) { return AddOp(scope, "Selu", {features}); }
Output ops::SeluGrad(const Scope& scope, Input gradients, Input outputs) {
  return AddOp(scope, "SeluGrad", {gradients, outputs});
}

// ---------------------------------------------------------------------------------------------
// LeakyRelu, LeakyReluGrad

namespace {

// y = x > 0 ? x : alpha x: dy/dx = 1 where x > 0, else alpha (LeakyReluGrad from the input).
absl::Status LeakyReluGradFn(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                             std::vector<Output>* grad_inputs) {
  float alpha = 0.2f;
  DFLOW_RETURN_IF_ERROR(GetNodeAttr(node, "alpha", &alpha));
  return SetOne(scope, grad_inputs,
                ops::LeakyReluGrad(scope, grads[0], node.input(0),
                                   ops::LeakyRelu::Alpha(alpha)));
}

// Linear in the gradient, piecewise constant in the features.
absl::Status LeakyReluGradGrad(const Scope& scope, const Node& node,
                               absl::Span<const Output> grads, std::vector<Output>* grad_inputs) {
  float alpha = 0.2f;
  DFLOW_RETURN_IF_ERROR(GetNodeAttr(node, "alpha", &alpha));
  return SetTwo(scope, grad_inputs,
                ops::LeakyReluGrad(scope, grads[0], node.input(1), ops::LeakyRelu::Alpha(alpha)),
                Output());
}

}  // namespace

REGISTER_OP("LeakyRelu")
    .Input("features: T")
    .Output("activations: T")
    .Attr("alpha: float = 0.2")
    .Attr("T: {float} = DT_FLOAT")
    .SetShapeFn(UnchangedShape);
REGISTER_GRADIENT("LeakyRelu", LeakyReluGradFn);
REGISTER_OP("LeakyReluGrad")
    .Input("gradients: T")
    .Input("features: T")
    .Output("backprops: T")
    .Attr("alpha: float = 0.2")
    .Attr("T: {float} = DT_FLOAT")
    .SetShapeFn(GradOpShape);
REGISTER_GRADIENT("LeakyReluGrad", LeakyReluGradGrad);

ops::LeakyRelu::LeakyRelu(const Scope& scope, Input features, const Attrs& attrs)
    : Output(AddOp(scope, "LeakyRelu", {features}, {{"alpha", MakeAttr(attrs.alpha)}})) {}
ops::LeakyReluGrad::LeakyReluGrad(const Scope& scope, Input gradients, Input features,
                                  const Attrs& attrs)
    : Output(AddOp(scope, "LeakyReluGrad", {gradients, features},
                   {{"alpha", MakeAttr(attrs.alpha)}})) {}

// ---------------------------------------------------------------------------------------------
// Softplus, SoftplusGrad

namespace {

// y = log(1 + exp(x)): dy/dx = sigmoid(x) (SoftplusGrad from the input).
absl::Status SoftplusGradFn(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                            std::vector<Output>* grad_inputs) {
  return SetOne(scope, grad_inputs, ops::SoftplusGrad(scope, grads[0], node.input(0)));
}

// z = g sigmoid(x): dz/dg = sigmoid(x), dz/dx = g sigmoid(x) (1 - sigmoid(x)).
absl::Status SoftplusGradGrad(const Scope& scope, const Node& node,
                              absl::Span<const Output> grads, std::vector<Output>* grad_inputs) {
  const Output g_in = node.input(0), x = node.input(1), g = grads[0];
  return SetTwo(scope, grad_inputs, ops::SoftplusGrad(scope, g, x),
                ops::SigmoidGrad(scope, ops::Sigmoid(scope, x), ops::Mul(scope, g, g_in)));
}

}  // namespace

DFLOW_ACTIVATION_OP("Softplus", "features", "activations");
REGISTER_GRADIENT("Softplus", SoftplusGradFn);
DFLOW_ACTIVATION_GRAD_OP("SoftplusGrad", "gradients", "features", "backprops");
REGISTER_GRADIENT("SoftplusGrad", SoftplusGradGrad);

Output ops::Softplus(const Scope& scope, Input features) {
  return AddOp(scope, "Softplus", {features});
}
Output ops::SoftplusGrad(const Scope& scope, Input gradients, Input features) {
  return AddOp(scope, "SoftplusGrad", {gradients, features});
}

// ---------------------------------------------------------------------------------------------
// Softsign, SoftsignGrad

namespace {

// y = x / (1 + |x|): dy/dx = 1 / (1 + |x|)^2 (SoftsignGrad from the input).
absl::Status SoftsignGradFn(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                            std::vector<Output>* grad_inputs) {
  return SetOne(scope, grad_inputs, ops::SoftsignGrad(scope, grads[0], node.input(0)));
}

// z = g / (1 + |x|)^2: dz/dg = 1 / (1 + |x|)^2, dz/dx = -2 g sign(x) / (1 + |x|)^3.
absl::Status SoftsignGradGrad(const Scope& scope, const Node& node,
                              absl::Span<const Output> grads, std::vector<Output>* grad_inputs) {
  const Output g_in = node.input(0), x = node.input(1), g = grads[0];
  Output d = ops::Add(scope, ops::Abs(scope, x), 1.0f);
  Output d3 = ops::Mul(scope, ops::Square(scope, d), d);
  Output num = ops::Mul(scope, ops::Mul(scope, ops::Mul(scope, g, g_in), -2.0f),
                        ops::Sign(scope, x));
  return SetTwo(scope, grad_inputs, ops::SoftsignGrad(scope, g, x), ops::RealDiv(scope, num, d3));
}

}  // namespace

DFLOW_ACTIVATION_OP("Softsign", "features", "activations");
REGISTER_GRADIENT("Softsign", SoftsignGradFn);
DFLOW_ACTIVATION_GRAD_OP("SoftsignGrad", "gradients", "features", "backprops");
REGISTER_GRADIENT("SoftsignGrad", SoftsignGradGrad);

Output ops::Softsign(const Scope& scope, Input features) {
  return AddOp(scope, "Softsign", {features});
}
Output ops::SoftsignGrad(const Scope& scope, Input gradients, Input features) {
  return AddOp(scope, "SoftsignGrad", {gradients, features});
}

#undef DFLOW_ACTIVATION_OP
#undef DFLOW_ACTIVATION_GRAD_OP

}  // namespace dflow
