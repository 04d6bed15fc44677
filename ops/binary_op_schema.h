// The schema shared by the broadcasting binary ops z = f(x, y) of math_ops.cc and
// binary_math_ops.cc, so that the two families cannot drift apart.
#ifndef DFLOW_OPS_BINARY_OP_SCHEMA_H_
#define DFLOW_OPS_BINARY_OP_SCHEMA_H_

#include "ops/op_registry.h"
#include "ops/shape_inference.h"

#define DFLOW_BINARY_OP(name)                      \
  REGISTER_OP(name)                                \
      .Input("x: T")                               \
      .Input("y: T")                               \
      .Output("z: T")                              \
      .Attr("T: {float, int32, int64}")            \
      .SetShapeFn(::dflow::BroadcastBinaryShape)

#endif  // DFLOW_OPS_BINARY_OP_SCHEMA_H_
