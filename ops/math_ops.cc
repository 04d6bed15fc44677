// Math ops: MatMul, element-wise arithmetic (Add, AddV2, Sub, Mul, RealDiv, Div, Maximum,
// FloorDiv, FloorMod), comparisons (Less, LessEqual, Greater, GreaterEqual), element-wise
// functions (Log, Exp, Sqrt, Floor, Neg, Square), AddN and Cast. Op by op: the schema, its
// shape function, its gradient and its builder. Reductions are in reduction_ops.cc, Equal and
// the logical ops in logical_ops.cc.
#include "ops/math_ops.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "graph/status_macros.h"
#include "ops/array_ops.h"
#include "ops/binary_op_schema.h"
#include "ops/gradients.h"
#include "ops/op_registry.h"
#include "ops/shape_inference.h"
#include "ops/unary_math_ops.h"

namespace dflow {
namespace {

// For z = op(x, y) with broadcasting: sets grad_inputs to gx and gy summed down to x's and y's
// shapes. `dx`/`dy` build the broadcast-shaped partial gradients from (x, y, g).
template <typename DxFn, typename DyFn>
absl::Status BinaryGrad(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                        std::vector<Output>* grad_inputs, DxFn dx, DyFn dy) {
  grad_inputs->assign(2, Output());
  const Output x = node.input(0), y = node.input(1), g = grads[0];
  (*grad_inputs)[0] = ReduceGradientToShape(scope, dx(x, y, g), x);
  (*grad_inputs)[1] = ReduceGradientToShape(scope, dy(x, y, g), y);
  return scope.status();
}

// For y = f(x): sets grad_inputs[0] = dx(x, y, g).
template <typename DxFn>
absl::Status UnaryGrad(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                       std::vector<Output>* grad_inputs, DxFn dx) {
  grad_inputs->assign(1, Output());
  (*grad_inputs)[0] = dx(node.input(0), OutputOf(node, 0), grads[0]);
  return scope.status();
}

}  // namespace

#define DFLOW_COMPARISON_OP(name)                  \
  REGISTER_OP(name)                                \
      .Input("x: T")                               \
      .Input("y: T")                               \
      .Output("z: bool")                           \
      .Attr("T: {float, int32, int64, uint8}")     \
      .SetShapeFn(BroadcastBinaryShape)            \
      .NotDifferentiable()

// ---------------------------------------------------------------------------------------------
// MatMul

namespace {

absl::Status MatMulShape(InferenceContext* ctx) {
  bool transpose_a = false, transpose_b = false;
  DFLOW_RETURN_IF_ERROR(ctx->GetAttr("transpose_a", &transpose_a));
  DFLOW_RETURN_IF_ERROR(ctx->GetAttr("transpose_b", &transpose_b));
  const PartialTensorShape& a = ctx->input(0);
  const PartialTensorShape& b = ctx->input(1);
  if ((!a.unknown_rank() && a.dims() != 2) || (!b.unknown_rank() && b.dims() != 2)) {
    return ctx->Error(absl::StrCat("inputs must be matrices, got ", a.DebugString(), " x ",
                                   b.DebugString()));
  }
  const PartialTensorShape a2 = a.unknown_rank() ? PartialTensorShape::UnknownDims(2) : a;
  const PartialTensorShape b2 = b.unknown_rank() ? PartialTensorShape::UnknownDims(2) : b;
  const int64_t m = a2.dim_size(transpose_a ? 1 : 0);
  const int64_t ka = a2.dim_size(transpose_a ? 0 : 1);
  const int64_t kb = b2.dim_size(transpose_b ? 1 : 0);
  const int64_t n = b2.dim_size(transpose_b ? 0 : 1);
  if (ka >= 0 && kb >= 0 && ka != kb) {
    return ctx->Error(absl::StrCat("inner dimensions differ: ", a.DebugString(), " x ",
                                   b.DebugString(), " with transpose_a=",
                                   transpose_a ? "true" : "false",
                                   ", transpose_b=", transpose_b ? "true" : "false", " (", ka,
                                   " vs ", kb, ")"));
  }
  ctx->set_output(0, PartialTensorShape({m, n}));
  return absl::OkStatus();
}

// y = op(a) op(b), op a transpose or not: each operand's gradient is g times the other
// operand (transposed to match), per the four cases below.
absl::Status MatMulGrad(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                        std::vector<Output>* grad_inputs) {
  grad_inputs->assign(2, Output());
  bool ta = false, tb = false;
  DFLOW_RETURN_IF_ERROR(GetNodeAttr(node, "transpose_a", &ta));
  DFLOW_RETURN_IF_ERROR(GetNodeAttr(node, "transpose_b", &tb));
  const Output a = node.input(0), b = node.input(1), g = grads[0];
  using M = ops::MatMul;
  Output da, db;
  if (!ta && !tb) {  // y = a b
    da = M(scope, g, b, M::TransposeB(true));
    db = M(scope, a, g, M::TransposeA(true));
  } else if (!ta && tb) {  // y = a b'
    da = M(scope, g, b);
    db = M(scope, g, a, M::TransposeA(true));
  } else if (ta && !tb) {  // y = a' b
    da = M(scope, b, g, M::TransposeB(true));
    db = M(scope, a, g);
  } else {  // y = a' b'
    da = M(scope, b, g, M::TransposeA(true).TransposeB(true));
    db = M(scope, g, a, M::TransposeA(true).TransposeB(true));
  }
  *grad_inputs = {da, db};
  return scope.status();
}

}  // namespace

REGISTER_OP("MatMul")
    .Input("a: T")
    .Input("b: T")
    .Output("product: T")
    .Attr("transpose_a: bool = false")
    .Attr("transpose_b: bool = false")
    .Attr("T: {float}")
    .SetShapeFn(MatMulShape);
REGISTER_GRADIENT("MatMul", MatMulGrad);

ops::MatMul::MatMul(const Scope& scope, Input a, Input b, const Attrs& attrs)
    : Output(AddOp(scope, "MatMul", {a, b},
                   {{"transpose_a", MakeAttr(attrs.transpose_a)},
                    {"transpose_b", MakeAttr(attrs.transpose_b)}})) {}

// ---------------------------------------------------------------------------------------------
// Add, AddV2

namespace {

// z = x + y: dz/dx = dz/dy = 1, each summed down to its operand's shape.
absl::Status AddGrad(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                     std::vector<Output>* grad_inputs) {
  auto pass = [](const Output&, const Output&, const Output& g) { return g; };
  return BinaryGrad(scope, node, grads, grad_inputs, pass, pass);
}

}  // namespace

// Add also concatenates strings (TensorFlow's Add allows string; AddV2 does not).
REGISTER_OP("Add")
    .Input("x: T")
    .Input("y: T")
    .Output("z: T")
    .Attr("T: {float, int32, int64, string}")
    .SetShapeFn(BroadcastBinaryShape);
REGISTER_GRADIENT("Add", AddGrad);
DFLOW_BINARY_OP("AddV2");
REGISTER_GRADIENT("AddV2", AddGrad);

Output ops::Add(const Scope& scope, Input x, Input y) { return AddOp(scope, "Add", {x, y}); }
Output ops::AddV2(const Scope& scope, Input x, Input y) { return AddOp(scope, "AddV2", {x, y}); }

// ---------------------------------------------------------------------------------------------
// Sub

namespace {

// z = x - y: dz/dx = 1, dz/dy = -1.
absl::Status SubGrad(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                     std::vector<Output>* grad_inputs) {
  return BinaryGrad(
      scope, node, grads, grad_inputs,
      [](const Output&, const Output&, const Output& g) { return g; },
      [&](const Output&, const Output&, const Output& g) { return ops::Neg(scope, g); });
}

}  // namespace

DFLOW_BINARY_OP("Sub");
REGISTER_GRADIENT("Sub", SubGrad);

Output ops::Sub(const Scope& scope, Input x, Input y) { return AddOp(scope, "Sub", {x, y}); }

// ---------------------------------------------------------------------------------------------
// Mul

namespace {

// z = x * y: dz/dx = y, dz/dy = x.
absl::Status MulGrad(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                     std::vector<Output>* grad_inputs) {
  return BinaryGrad(
      scope, node, grads, grad_inputs,
      [&](const Output&, const Output& y, const Output& g) { return ops::Mul(scope, g, y); },
      [&](const Output& x, const Output&, const Output& g) { return ops::Mul(scope, x, g); });
}

}  // namespace

DFLOW_BINARY_OP("Mul");
REGISTER_GRADIENT("Mul", MulGrad);

Output ops::Mul(const Scope& scope, Input x, Input y) { return AddOp(scope, "Mul", {x, y}); }

// ---------------------------------------------------------------------------------------------
// RealDiv, Div

namespace {

// z = x / y: dz/dx = 1 / y, dz/dy = -x / y^2.
absl::Status RealDivGrad(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                         std::vector<Output>* grad_inputs) {
  return BinaryGrad(
      scope, node, grads, grad_inputs,
      [&](const Output&, const Output& y, const Output& g) { return ops::RealDiv(scope, g, y); },
      [&](const Output& x, const Output& y, const Output& g) {
        Output x_over_y2 = ops::RealDiv(scope, ops::RealDiv(scope, x, y), y);
        return ops::Neg(scope, ops::Mul(scope, g, x_over_y2));
      });
}

}  // namespace

REGISTER_OP("RealDiv")
    .Input("x: T")
    .Input("y: T")
    .Output("z: T")
    .Attr("T: {float}")
    .SetShapeFn(BroadcastBinaryShape);
REGISTER_GRADIENT("RealDiv", RealDivGrad);
// TensorFlow's older division: RealDiv on floats, C-style truncating division on integers.
REGISTER_OP("Div")
    .Input("x: T")
    .Input("y: T")
    .Output("z: T")
    .Attr("T: {float, int32, int64}")
    .SetShapeFn(BroadcastBinaryShape);
REGISTER_GRADIENT("Div", RealDivGrad);

Output ops::RealDiv(const Scope& scope, Input x, Input y) {
  return AddOp(scope, "RealDiv", {x, y});
}
Output ops::Div(const Scope& scope, Input x, Input y) { return AddOp(scope, "Div", {x, y}); }

// ---------------------------------------------------------------------------------------------
// Maximum

namespace {

// The gradient goes to x where x >= y (where max(x, y) == x), else to y.
absl::Status MaximumGrad(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                         std::vector<Output>* grad_inputs) {
  grad_inputs->assign(2, Output());
  const Output x = node.input(0), y = node.input(1), g = grads[0];
  const Output z = OutputOf(node, 0);
  Output x_mask = ops::Cast(scope, ops::Equal(scope, z, x), x.type());
  Output gx = ops::Mul(scope, g, x_mask);  // Broadcast shape.
  Output gy = ops::Sub(scope, g, gx);
  (*grad_inputs)[0] = ReduceGradientToShape(scope, gx, x);
  (*grad_inputs)[1] = ReduceGradientToShape(scope, gy, y);
  return scope.status();
}

}  // namespace

DFLOW_BINARY_OP("Maximum");
REGISTER_GRADIENT("Maximum", MaximumGrad);

Output ops::Maximum(const Scope& scope, Input x, Input y) {
  return AddOp(scope, "Maximum", {x, y});
}

// ---------------------------------------------------------------------------------------------
// FloorDiv

REGISTER_OP("FloorDiv")
    .Input("x: T")
    .Input("y: T")
    .Output("z: T")
    .Attr("T: {float, int32, int64}")
    .SetShapeFn(BroadcastBinaryShape)
    .NotDifferentiable();  // Piecewise constant; TensorFlow gives it no gradient either.

Output ops::FloorDiv(const Scope& scope, Input x, Input y) {
  return AddOp(scope, "FloorDiv", {x, y});
}

// ---------------------------------------------------------------------------------------------
// FloorMod

namespace {

// z = x - floor(x / y) * y: dz/dx = 1, dz/dy = -floor(x / y) (floor is piecewise constant).
absl::Status FloorModGrad(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                          std::vector<Output>* grad_inputs) {
  return BinaryGrad(
      scope, node, grads, grad_inputs,
      [](const Output&, const Output&, const Output& g) { return g; },
      [&](const Output& x, const Output& y, const Output& g) {
        return ops::Neg(scope, ops::Mul(scope, g, ops::FloorDiv(scope, x, y)));
      });
}

}  // namespace

REGISTER_OP("FloorMod")
    .Input("x: T")
    .Input("y: T")
    .Output("z: T")
    .Attr("T: {float, int32, int64}")
    .SetShapeFn(BroadcastBinaryShape);
REGISTER_GRADIENT("FloorMod", FloorModGrad);

Output ops::FloorMod(const Scope& scope, Input x, Input y) {
  return AddOp(scope, "FloorMod", {x, y});
}

// ---------------------------------------------------------------------------------------------
// Less, LessEqual, Greater, GreaterEqual

DFLOW_COMPARISON_OP("Less");
DFLOW_COMPARISON_OP("LessEqual");
DFLOW_COMPARISON_OP("Greater");
DFLOW_COMPARISON_OP("GreaterEqual");

Output ops::Less(const Scope& scope, Input x, Input y) { return AddOp(scope, "Less", {x, y}); }
Output ops::LessEqual(const Scope& scope, Input x, Input y) {
  return AddOp(scope, "LessEqual", {x, y});
}
Output ops::Greater(const Scope& scope, Input x, Input y) {
  return AddOp(scope, "Greater", {x, y});
}
Output ops::GreaterEqual(const Scope& scope, Input x, Input y) {
  return AddOp(scope, "GreaterEqual", {x, y});
}

// ---------------------------------------------------------------------------------------------
// Log

namespace {

// y = log(x): dy/dx = 1 / x.
absl::Status LogGrad(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                     std::vector<Output>* grad_inputs) {
  return UnaryGrad(scope, node, grads, grad_inputs,
                   [&](const Output& x, const Output&, const Output& g) {
                     return ops::RealDiv(scope, g, x);
                   });
}

}  // namespace

REGISTER_OP("Log").Input("x: T").Output("y: T").Attr("T: {float}").SetShapeFn(UnchangedShape);
REGISTER_GRADIENT("Log", LogGrad);

Output ops::Log(const Scope& scope, Input x) { return AddOp(scope, "Log", {x}); }

// ---------------------------------------------------------------------------------------------
// Exp

namespace {

// y = exp(x): dy/dx = exp(x) = y.
absl::Status ExpGrad(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                     std::vector<Output>* grad_inputs) {
  return UnaryGrad(scope, node, grads, grad_inputs,
                   [&](const Output&, const Output& y, const Output& g) {
                     return ops::Mul(scope, g, y);
                   });
}

}  // namespace

REGISTER_OP("Exp").Input("x: T").Output("y: T").Attr("T: {float}").SetShapeFn(UnchangedShape);
REGISTER_GRADIENT("Exp", ExpGrad);

Output ops::Exp(const Scope& scope, Input x) { return AddOp(scope, "Exp", {x}); }

// ---------------------------------------------------------------------------------------------
// Sqrt

namespace {

// y = sqrt(x): dy/dx = 1 / (2 sqrt(x)) = 1 / (2y), as TensorFlow's SqrtGrad(y, g).
absl::Status SqrtGrad(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                      std::vector<Output>* grad_inputs) {
  return UnaryGrad(scope, node, grads, grad_inputs,
                   [&](const Output&, const Output& y, const Output& g) {
                     return ops::SqrtGrad(scope, y, g);
                   });
}

}  // namespace

REGISTER_OP("Sqrt").Input("x: T").Output("y: T").Attr("T: {float}").SetShapeFn(UnchangedShape);
REGISTER_GRADIENT("Sqrt", SqrtGrad);

Output ops::Sqrt(const Scope& scope, Input x) { return AddOp(scope, "Sqrt", {x}); }

// ---------------------------------------------------------------------------------------------
// Floor

REGISTER_OP("Floor")
    .Input("x: T")
    .Output("y: T")
    .Attr("T: {float, double}")
    .SetShapeFn(UnchangedShape)
    .NotDifferentiable();  // Piecewise constant: TensorFlow's gradient is None too.

Output ops::Floor(const Scope& scope, Input x) { return AddOp(scope, "Floor", {x}); }

// ---------------------------------------------------------------------------------------------
// Neg

namespace {

// y = -x: dy/dx = -1.
absl::Status NegGrad(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                     std::vector<Output>* grad_inputs) {
  return UnaryGrad(scope, node, grads, grad_inputs,
                   [&](const Output&, const Output&, const Output& g) {
                     return ops::Neg(scope, g);
                   });
}

}  // namespace

REGISTER_OP("Neg")
    .Input("x: T")
    .Output("y: T")
    .Attr("T: {float, int32, int64}")
    .SetShapeFn(UnchangedShape);
REGISTER_GRADIENT("Neg", NegGrad);

Output ops::Neg(const Scope& scope, Input x) { return AddOp(scope, "Neg", {x}); }

// ---------------------------------------------------------------------------------------------
// Square

namespace {

// y = x^2: dy/dx = 2x.
absl::Status SquareGrad(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                        std::vector<Output>* grad_inputs) {
  return UnaryGrad(scope, node, grads, grad_inputs,
                   [&](const Output& x, const Output&, const Output& g) {
                     return ops::Mul(scope, g, ops::Add(scope, x, x));  // g * 2x
                   });
}

}  // namespace

REGISTER_OP("Square")
    .Input("x: T")
    .Output("y: T")
    .Attr("T: {float, int32, int64}")
    .SetShapeFn(UnchangedShape);
REGISTER_GRADIENT("Square", SquareGrad);

Output ops::Square(const Scope& scope, Input x) { return AddOp(scope, "Square", {x}); }

// ---------------------------------------------------------------------------------------------
// AddN

namespace {

absl::Status AddNShape(InferenceContext* ctx) {
  PartialTensorShape merged = ctx->input(0);
  for (int i = 1; i < ctx->num_inputs(); ++i) {
    absl::StatusOr<PartialTensorShape> m = merged.Merge(ctx->input(i));
    if (!m.ok()) {
      return ctx->Error(absl::StrCat("inputs must all have the same shape, but input 0 is ",
                                     ctx->input(0).DebugString(), " and input ", i, " is ",
                                     ctx->input(i).DebugString()));
    }
    merged = *m;
  }
  ctx->set_output(0, merged);
  return absl::OkStatus();
}

// y = x_1 + ... + x_n: each input gets the gradient unchanged.
absl::Status AddNGrad(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                      std::vector<Output>* grad_inputs) {
  grad_inputs->assign(node.num_inputs(), Output());
  for (int i = 0; i < node.num_inputs(); ++i) (*grad_inputs)[i] = grads[0];
  return absl::OkStatus();
}

}  // namespace

REGISTER_OP("AddN")
    .Input("inputs: N * T")
    .Output("sum: T")
    .Attr("N: int >= 1")
    .Attr("T: {float, int32, int64}")
    .SetShapeFn(AddNShape);
REGISTER_GRADIENT("AddN", AddNGrad);

Output ops::AddN(const Scope& scope, absl::Span<const Output> inputs) {
  return AddOpWithList(scope, "AddN", inputs, {});
}

// ---------------------------------------------------------------------------------------------
// Cast

namespace {

bool IsFloatingType(DataType t) { return t == DT_FLOAT || t == DT_DOUBLE; }

// y = cast(x): the gradient cast back to x's type.
absl::Status CastGrad(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                      std::vector<Output>* grad_inputs) {
  grad_inputs->assign(1, Output());
  DataType src, dst;
  DFLOW_RETURN_IF_ERROR(GetNodeAttr(node, "SrcT", &src));
  DFLOW_RETURN_IF_ERROR(GetNodeAttr(node, "DstT", &dst));
  // Only between floating-point types does a gradient flow; integers and bools get none.
  if (IsFloatingType(src) && IsFloatingType(dst)) {
    (*grad_inputs)[0] = src == dst ? grads[0] : ops::Cast(scope, grads[0], src);
  }
  return scope.status();
}

}  // namespace

REGISTER_OP("Cast")
    .Input("x: SrcT")
    .Output("y: DstT")
    .Attr("SrcT: {float, double, int32, int64, uint8, bool}")
    .Attr("DstT: {float, double, int32, int64, uint8, bool}")
    .Attr("Truncate: bool = false")
    .SetShapeFn(UnchangedShape);
REGISTER_GRADIENT("Cast", CastGrad);

ops::Cast::Cast(const Scope& scope, Input x, DataType DstT, const Attrs& attrs)
    : Output(AddOp(scope, "Cast", {x},
                   {{"DstT", MakeAttr(DstT)}, {"Truncate", MakeAttr(attrs.truncate)}})) {}

#undef DFLOW_COMPARISON_OP

}  // namespace dflow
