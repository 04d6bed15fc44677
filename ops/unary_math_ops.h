// Builder functions for element-wise math functions beyond math_ops.h's (Rsqrt, Reciprocal,
// Abs, Sign, Expm1, Log1p, Round, Ceil, Sin, Cos, Erf) and the gradient ops TensorFlow's
// gradients of Rsqrt, Reciprocal and Sqrt are made of.
//
//   auto inv_std = ops::Rsqrt(scope, ops::Add(scope, variance, 1e-3f));
#ifndef DFLOW_OPS_UNARY_MATH_OPS_H_
#define DFLOW_OPS_UNARY_MATH_OPS_H_

#include "graph/graph.h"
#include "ops/scope.h"

namespace dflow {
namespace ops {

// 1 / sqrt(x) (float).
Output Rsqrt(const Scope& scope, Input x);
// 1 / x (float). TensorFlow's older name "Inv" resolves to it.
Output Reciprocal(const Scope& scope, Input x);
// |x| (float, int32, int64; the integer minimum stays itself, as two's complement wraps).
Output Abs(const Scope& scope, Input x);
// -1, 0 or 1 by the sign of x (float, int32, int64); NaN gives 0, as in TensorFlow 1.x.
Output Sign(const Scope& scope, Input x);
// exp(x) - 1 and log(1 + x), accurate near 0 (float).
Output Expm1(const Scope& scope, Input x);
Output Log1p(const Scope& scope, Input x);
// x rounded to the nearest integer, halves to even (float, double; int32 and int64 unchanged).
Output Round(const Scope& scope, Input x);
// The smallest integer not less than x (float, double).
Output Ceil(const Scope& scope, Input x);
// sin(x), cos(x) and the error function erf(x) (float).
Output Sin(const Scope& scope, Input x);
Output Cos(const Scope& scope, Input x);
Output Erf(const Scope& scope, Input x);

// The gradient ops: y is the forward op's output, dy the incoming gradient.
Output RsqrtGrad(const Scope& scope, Input y, Input dy);       // dy * -0.5 * y^3
Output ReciprocalGrad(const Scope& scope, Input y, Input dy);  // -dy * y^2 ("InvGrad")
Output SqrtGrad(const Scope& scope, Input y, Input dy);        // dy * 0.5 / y

// True where x is neither infinite nor NaN (float, double); a bool tensor of x's shape.
Output IsFinite(const Scope& scope, Input x);

}  // namespace ops
}  // namespace dflow

#endif  // DFLOW_OPS_UNARY_MATH_OPS_H_
