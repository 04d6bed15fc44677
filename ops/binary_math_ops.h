// Builder functions for element-wise binary math ops beyond math_ops.h's, with numpy
// broadcasting of both operands: Pow, Minimum, SquaredDifference.
//
//   auto mse = ops::Mean(scope, ops::SquaredDifference(scope, pred, label), {0, 1});
#ifndef DFLOW_OPS_BINARY_MATH_OPS_H_
#define DFLOW_OPS_BINARY_MATH_OPS_H_

#include "graph/graph.h"
#include "ops/scope.h"

namespace dflow {
namespace ops {

// x^y (float, int32, int64). An integer to a negative integer power is an error.
Output Pow(const Scope& scope, Input x, Input y);
// min(x, y) (float, int32, int64). As with Maximum, a NaN operand need not give NaN on float
// (oneDNN's min decides; TensorFlow 1.x did not define it either).
Output Minimum(const Scope& scope, Input x, Input y);
// (x - y)^2 (float, int32, int64).
Output SquaredDifference(const Scope& scope, Input x, Input y);

}  // namespace ops
}  // namespace dflow

#endif  // DFLOW_OPS_BINARY_MATH_OPS_H_
