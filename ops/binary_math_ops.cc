// Element-wise binary math ops with broadcasting: Pow, Minimum, SquaredDifference. Op by op:
// the schema, its shape function, its gradient and its builder.
#include "ops/binary_math_ops.h"

#include <vector>

#include "graph/status_macros.h"
#include "ops/array_ops.h"
#include "ops/binary_op_schema.h"
#include "ops/gradients.h"
#include "ops/logical_ops.h"
#include "ops/math_ops.h"
#include "ops/op_registry.h"
#include "ops/shape_inference.h"

namespace dflow {
namespace {

// grad_inputs = {gx, gy}, each summed down to its operand's shape.
absl::Status SetBroadcastGrads(const Scope& scope, const Node& node, const Output& gx,
                               const Output& gy, std::vector<Output>* grad_inputs) {
  *grad_inputs = {ReduceGradientToShape(scope, gx, node.input(0)),
                  ReduceGradientToShape(scope, gy, node.input(1))};
  return scope.status();
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Pow

namespace {

// z = x^y: dz/dx = y x^(y-1); dz/dy = z log(x), taken as 0 where x <= 0 (as TensorFlow does).
absl::Status PowGrad(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                     std::vector<Output>* grad_inputs) {
  const Output x = node.input(0), y = node.input(1), z = OutputOf(node, 0), g = grads[0];
  Output gx = ops::Mul(scope, g, ops::Mul(scope, y, ops::Pow(scope, x, ops::Sub(scope, y, 1.0f))));
  Output positive = ops::Greater(scope, x, 0.0f);
  Output safe_x = ops::Select(scope, positive, x, ops::OnesLike(scope, x));
  Output log_x = ops::Select(scope, positive, ops::Log(scope, safe_x), ops::ZerosLike(scope, x));
  Output gy = ops::Mul(scope, g, ops::Mul(scope, z, log_x));
  return SetBroadcastGrads(scope, node, gx, gy, grad_inputs);
}

}  // namespace

DFLOW_BINARY_OP("Pow");
REGISTER_GRADIENT("Pow", PowGrad);

Output ops::Pow(const Scope& scope, Input x, Input y) { return AddOp(scope, "Pow", {x, y}); }

// ---------------------------------------------------------------------------------------------
// Minimum

namespace {

// The gradient goes to x where x <= y (where min(x, y) == x), else to y.
absl::Status MinimumGrad(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                         std::vector<Output>* grad_inputs) {
  const Output x = node.input(0), y = node.input(1), g = grads[0];
  Output x_mask = ops::Cast(scope, ops::LessEqual(scope, x, y), g.type());
  Output gx = ops::Mul(scope, g, x_mask);  // Broadcast shape.
  return SetBroadcastGrads(scope, node, gx, ops::Sub(scope, g, gx), grad_inputs);
}

}  // namespace

DFLOW_BINARY_OP("Minimum");
REGISTER_GRADIENT("Minimum", MinimumGrad);

Output ops::Minimum(const Scope& scope, Input x, Input y) {
  return AddOp(scope, "Minimum", {x, y});
}

// ---------------------------------------------------------------------------------------------
// SquaredDifference

namespace {

// z = (x - y)^2: dz/dx = 2 (x - y), dz/dy = -2 (x - y).
absl::Status SquaredDifferenceGrad(const Scope& scope, const Node& node,
                                   absl::Span<const Output> grads,
                                   std::vector<Output>* grad_inputs) {
  const Output x = node.input(0), y = node.input(1), g = grads[0];
  Output d = ops::Sub(scope, x, y);
  Output gx = ops::Mul(scope, g, ops::Add(scope, d, d));  // No float constant: any T.
  return SetBroadcastGrads(scope, node, gx, ops::Neg(scope, gx), grad_inputs);
}

}  // namespace

DFLOW_BINARY_OP("SquaredDifference");
REGISTER_GRADIENT("SquaredDifference", SquaredDifferenceGrad);

Output ops::SquaredDifference(const Scope& scope, Input x, Input y) {
  return AddOp(scope, "SquaredDifference", {x, y});
}

}  // namespace dflow
