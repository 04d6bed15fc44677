// Builder functions for equality tests, logical ops and selection: Equal, NotEqual,
// LogicalAnd, LogicalOr, LogicalNot (numpy broadcasting of binary operands), Select (TensorFlow
// 1.x's where) and SelectV2 (broadcasting where).
//
//   auto correct = ops::Equal(scope, ops::ArgMax(scope, logits, 1), labels);
//   auto clipped = ops::SelectV2(scope, ops::Greater(scope, x, 0.0f), x, 0.0f);
#ifndef DFLOW_OPS_LOGICAL_OPS_H_
#define DFLOW_OPS_LOGICAL_OPS_H_

#include "graph/graph.h"
#include "ops/scope.h"

namespace dflow {
namespace ops {

// The attrs of Equal and NotEqual: with IncompatibleShapeError(false), shapes that cannot be
// broadcast give a scalar (false for Equal, true for NotEqual) instead of an error.
struct EqualityAttrs {
  EqualityAttrs IncompatibleShapeError(bool v) const {
    EqualityAttrs a = *this;
    a.incompatible_shape_error = v;
    return a;
  }
  bool incompatible_shape_error = true;
};

// x == y element-wise with broadcasting; a bool tensor.
class Equal : public Output {
 public:
  using Attrs = EqualityAttrs;
  static Attrs IncompatibleShapeError(bool v) { return Attrs().IncompatibleShapeError(v); }
  Equal(const Scope& scope, Input x, Input y) : Equal(scope, x, y, Attrs()) {}
  Equal(const Scope& scope, Input x, Input y, const Attrs& attrs);
};

// x != y element-wise with broadcasting; a bool tensor.
class NotEqual : public Output {
 public:
  using Attrs = EqualityAttrs;
  static Attrs IncompatibleShapeError(bool v) { return Attrs().IncompatibleShapeError(v); }
  NotEqual(const Scope& scope, Input x, Input y) : NotEqual(scope, x, y, Attrs()) {}
  NotEqual(const Scope& scope, Input x, Input y, const Attrs& attrs);
};

// Element-wise logic on bool tensors, broadcasting x and y.
Output LogicalAnd(const Scope& scope, Input x, Input y);
Output LogicalOr(const Scope& scope, Input x, Input y);
Output LogicalNot(const Scope& scope, Input x);

// condition ? t : e, TensorFlow 1.x's Select: t and e of one shape; condition a scalar (picks
// all of t or all of e), of t's shape (per element), or a vector of t's first dimension (per
// row, for t of rank >= 2).
Output Select(const Scope& scope, Input condition, Input t, Input e);
// condition ? t : e with numpy broadcasting of all three.
Output SelectV2(const Scope& scope, Input condition, Input t, Input e);

}  // namespace ops
}  // namespace dflow

#endif  // DFLOW_OPS_LOGICAL_OPS_H_
