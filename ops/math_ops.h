// Builder functions for math ops: matrix multiplication, element-wise arithmetic with numpy
// broadcasting, element-wise functions, comparisons and casts; reductions (Sum, Mean, Prod,
// ArgMax, ...) are declared in reduction_ops.h and Equal, NotEqual, the logical ops and Select in
// logical_ops.h, both included here.
//
//   auto logits = ops::Add(scope, ops::MatMul(scope, x, w), b);
//   auto loss = ops::Mean(scope, ops::Square(scope, ops::Sub(scope, logits, y)), {0, 1});
//   auto pred = ops::ArgMax(scope, logits, 1);  // int64
#ifndef DFLOW_OPS_MATH_OPS_H_
#define DFLOW_OPS_MATH_OPS_H_

#include "absl/types/span.h"
#include "graph/graph.h"
#include "graph/types.h"
#include "ops/logical_ops.h"
#include "ops/reduction_ops.h"
#include "ops/scope.h"

namespace dflow {
namespace ops {

// product = a x b, with either operand optionally transposed first. Both must be rank 2.
class MatMul : public Output {
 public:
  struct Attrs {
    Attrs TransposeA(bool v) const { Attrs a = *this; a.transpose_a = v; return a; }
    Attrs TransposeB(bool v) const { Attrs a = *this; a.transpose_b = v; return a; }
    bool transpose_a = false;
    bool transpose_b = false;
  };
  static Attrs TransposeA(bool v) { return Attrs().TransposeA(v); }
  static Attrs TransposeB(bool v) { return Attrs().TransposeB(v); }
  MatMul(const Scope& scope, Input a, Input b)
      : MatMul(scope, a, b, Attrs()) {}
  MatMul(const Scope& scope, Input a, Input b, const Attrs& attrs);
};

// Element-wise binary ops with numpy broadcasting of both operands.
Output Add(const Scope& scope, Input x, Input y);
Output AddV2(const Scope& scope, Input x, Input y);
Output Sub(const Scope& scope, Input x, Input y);
Output Mul(const Scope& scope, Input x, Input y);
Output RealDiv(const Scope& scope, Input x, Input y);
// TensorFlow's older division: RealDiv on floats, truncation toward zero on integers.
Output Div(const Scope& scope, Input x, Input y);
Output Maximum(const Scope& scope, Input x, Input y);
// Floor division and its remainder (TensorFlow semantics): integers round toward -infinity
// (-7 // 2 == -4) and the remainder takes the sign of y (-7 mod 2 == 1); dividing an integer by
// zero is an error. Floats: floor(x / y), and x - floor(x / y) * y computed as an fmod.
Output FloorDiv(const Scope& scope, Input x, Input y);
Output FloorMod(const Scope& scope, Input x, Input y);

// Element-wise comparisons with broadcasting; bool tensors.
Output Less(const Scope& scope, Input x, Input y);
Output LessEqual(const Scope& scope, Input x, Input y);
Output Greater(const Scope& scope, Input x, Input y);
Output GreaterEqual(const Scope& scope, Input x, Input y);

// Element-wise unary ops.
Output Log(const Scope& scope, Input x);
Output Exp(const Scope& scope, Input x);
Output Neg(const Scope& scope, Input x);
Output Square(const Scope& scope, Input x);
Output Sqrt(const Scope& scope, Input x);
// The largest integer not greater than x, element-wise (float or double). No gradient flows
// through it (piecewise constant), as in TensorFlow.
Output Floor(const Scope& scope, Input x);

// The element-wise sum of one or more tensors of the same shape and type.
Output AddN(const Scope& scope, absl::Span<const Output> inputs);

// Converts `x` to `DstT` (float, double, int32, int64, uint8, bool). Float to integer rounds
// toward zero and saturates (NaN becomes 0); to bool is x != 0. Gradients flow only between
// floating-point types.
class Cast : public Output {
 public:
  struct Attrs {
    Attrs Truncate(bool v) const { Attrs a = *this; a.truncate = v; return a; }
    bool truncate = false;
  };
  static Attrs Truncate(bool v) { return Attrs().Truncate(v); }
  Cast(const Scope& scope, Input x, DataType DstT)
      : Cast(scope, x, DstT, Attrs()) {}
  Cast(const Scope& scope, Input x, DataType DstT, const Attrs& attrs);
};

}  // namespace ops
}  // namespace dflow

#endif  // DFLOW_OPS_MATH_OPS_H_
