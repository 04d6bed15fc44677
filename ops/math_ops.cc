// Math ops: MatMul, element-wise arithmetic (Add, AddV2, Sub, Mul, RealDiv, Maximum, FloorDiv,
// FloorMod), comparisons (Less, LessEqual, Greater, GreaterEqual), element-wise
// functions (Log, Exp, Neg, Square, Sqrt, Floor), reductions (Sum, Mean, Prod), AddN, ArgMax,
// Equal, Cast and the gradient helper ReducedShape — schemas, shape functions, gradients and
// builders.
#include "ops/math_ops.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "graph/status_macros.h"
#include "ops/array_ops.h"
#include "ops/gradients.h"
#include "ops/op_registry.h"
#include "ops/shape_inference.h"

namespace dflow {
namespace {

// ---------------------------------------------------------------------------------------------
// Shape functions.

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

absl::Status EqualShape(InferenceContext* ctx) {
  bool incompatible_shape_error = true;
  DFLOW_RETURN_IF_ERROR(ctx->GetAttr("incompatible_shape_error", &incompatible_shape_error));
  absl::StatusOr<PartialTensorShape> out = BroadcastShapes(ctx->input(0), ctx->input(1));
  if (!out.ok()) {
    if (incompatible_shape_error) return ctx->Error(out.status().message());
    ctx->set_output(0, PartialTensorShape({}));
    return absl::OkStatus();
  }
  // Without the error, shapes found incompatible only at run time make a scalar, so unless
  // both are known the output shape is unknown.
  const bool known = ctx->input(0).IsFullyDefined() && ctx->input(1).IsFullyDefined();
  ctx->set_output(0, incompatible_shape_error || known ? *out : PartialTensorShape::Unknown());
  return absl::OkStatus();
}

// Validates constant reduction axes against a known rank; fills `reduced` (one flag per dim).
absl::Status CheckAxes(InferenceContext* ctx, const std::vector<int64_t>& axes, int rank,
                       const PartialTensorShape& input, std::vector<bool>* reduced) {
  reduced->assign(rank, false);
  for (int64_t a : axes) {
    if (a < -rank || a >= rank) {
      return ctx->Error(absl::StrCat("reduction axis ", a, " is out of range for input shape ",
                                     input.DebugString()));
    }
    (*reduced)[a < 0 ? a + rank : a] = true;
  }
  return absl::OkStatus();
}

absl::Status ReductionShape(InferenceContext* ctx) {
  bool keep_dims = false;
  DFLOW_RETURN_IF_ERROR(ctx->GetAttr("keep_dims", &keep_dims));
  const PartialTensorShape& in = ctx->input(0);
  const PartialTensorShape& axes_shape = ctx->input(1);
  if (axes_shape.dims() > 1) {
    return ctx->Error(absl::StrCat("reduction axes must be a scalar or a vector, got shape ",
                                   axes_shape.DebugString()));
  }
  const Tensor* axes_t = ctx->input_tensor(1);
  if (in.unknown_rank()) {
    ctx->set_output(0, PartialTensorShape::Unknown());
    return absl::OkStatus();
  }
  const int rank = in.dims();
  if (axes_t == nullptr) {
    if (keep_dims) {
      ctx->set_output(0, PartialTensorShape::UnknownDims(rank));
    } else if (axes_shape.dims() == 0) {
      if (rank == 0) return ctx->Error("cannot reduce a scalar over an axis");
      ctx->set_output(0, PartialTensorShape::UnknownDims(rank - 1));
    } else if (axes_shape.dims() == 1 && axes_shape.dim_size(0) == 0) {
      ctx->set_output(0, in);
    } else {
      ctx->set_output(0, PartialTensorShape::Unknown());  // Duplicate axes are allowed.
    }
    return absl::OkStatus();
  }
  std::vector<bool> reduced;
  const IntList axes_list =
      IntValues(*axes_t, "reduction_indices").value_or(IntList{});
  const std::vector<int64_t> axes(axes_list.begin(), axes_list.end());
  DFLOW_RETURN_IF_ERROR(CheckAxes(ctx, axes, rank, in, &reduced));
  std::vector<int64_t> dims;
  for (int d = 0; d < rank; ++d) {
    if (!reduced[d]) {
      dims.push_back(in.dim_size(d));
    } else if (keep_dims) {
      dims.push_back(1);
    }
  }
  ctx->set_output(0, PartialTensorShape(dims));
  return absl::OkStatus();
}

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

absl::Status ArgMaxShape(InferenceContext* ctx) {
  const PartialTensorShape& in = ctx->input(0);
  const PartialTensorShape& dim_shape = ctx->input(1);
  if (dim_shape.dims() > 1 || (dim_shape.dims() == 1 && dim_shape.dim_size(0) > 1)) {
    return ctx->Error(absl::StrCat("dimension must be a scalar, got shape ",
                                   dim_shape.DebugString()));
  }
  if (in.unknown_rank()) {
    ctx->set_output(0, PartialTensorShape::Unknown());
    return absl::OkStatus();
  }
  const int rank = in.dims();
  if (rank == 0) return ctx->Error("input must have rank >= 1, got a scalar");
  const Tensor* dim_t = ctx->input_tensor(1);
  if (dim_t == nullptr) {
    ctx->set_output(0, PartialTensorShape::UnknownDims(rank - 1));
    return absl::OkStatus();
  }
  IntList dim = IntValues(*dim_t, "dimension").value_or(IntList{});
  if (dim.size() != 1) return ctx->Error("dimension must hold exactly one value");
  if (dim[0] < -rank || dim[0] >= rank) {
    return ctx->Error(absl::StrCat("dimension ", dim[0], " is out of range for input shape ",
                                   in.DebugString()));
  }
  const int axis = static_cast<int>(dim[0] < 0 ? dim[0] + rank : dim[0]);
  std::vector<int64_t> dims(in.dim_sizes().begin(), in.dim_sizes().end());
  dims.erase(dims.begin() + axis);
  ctx->set_output(0, PartialTensorShape(dims));
  return absl::OkStatus();
}

absl::Status ReducedShapeShape(InferenceContext* ctx) {
  const PartialTensorShape& shape = ctx->input(0);
  if (shape.dims() > 1 || shape.dims() == 0) {
    return ctx->Error(absl::StrCat("input_shape must be a vector, got shape ",
                                   shape.DebugString()));
  }
  if (ctx->input(1).dims() > 1) {
    return ctx->Error(absl::StrCat("axes must be a scalar or a vector, got shape ",
                                   ctx->input(1).DebugString()));
  }
  ctx->set_output(0, shape.unknown_rank() ? PartialTensorShape::UnknownDims(1) : shape);
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Gradients.

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

absl::Status AddGrad(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                     std::vector<Output>* grad_inputs) {
  auto pass = [](const Output&, const Output&, const Output& g) { return g; };
  return BinaryGrad(scope, node, grads, grad_inputs, pass, pass);
}

absl::Status SubGrad(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                     std::vector<Output>* grad_inputs) {
  return BinaryGrad(
      scope, node, grads, grad_inputs,
      [](const Output&, const Output&, const Output& g) { return g; },
      [&](const Output&, const Output&, const Output& g) { return ops::Neg(scope, g); });
}

absl::Status MulGrad(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                     std::vector<Output>* grad_inputs) {
  return BinaryGrad(
      scope, node, grads, grad_inputs,
      [&](const Output&, const Output& y, const Output& g) { return ops::Mul(scope, g, y); },
      [&](const Output& x, const Output&, const Output& g) { return ops::Mul(scope, x, g); });
}

absl::Status RealDivGrad(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                         std::vector<Output>* grad_inputs) {
  // z = x / y: dz/dx = 1 / y, dz/dy = -x / y^2.
  return BinaryGrad(
      scope, node, grads, grad_inputs,
      [&](const Output&, const Output& y, const Output& g) { return ops::RealDiv(scope, g, y); },
      [&](const Output& x, const Output& y, const Output& g) {
        Output x_over_y2 = ops::RealDiv(scope, ops::RealDiv(scope, x, y), y);
        return ops::Neg(scope, ops::Mul(scope, g, x_over_y2));
      });
}

absl::Status MaximumGrad(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                         std::vector<Output>* grad_inputs) {
  // The gradient goes to x where x >= y (where max(x, y) == x), else to y.
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

// For y = f(x): sets grad_inputs[0] = dx(x, y, g).
template <typename DxFn>
absl::Status UnaryGrad(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                       std::vector<Output>* grad_inputs, DxFn dx) {
  grad_inputs->assign(1, Output());
  (*grad_inputs)[0] = dx(node.input(0), OutputOf(node, 0), grads[0]);
  return scope.status();
}

absl::Status LogGrad(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                     std::vector<Output>* grad_inputs) {
  return UnaryGrad(scope, node, grads, grad_inputs,
                   [&](const Output& x, const Output&, const Output& g) {
                     return ops::RealDiv(scope, g, x);
                   });
}

absl::Status ExpGrad(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                     std::vector<Output>* grad_inputs) {
  return UnaryGrad(scope, node, grads, grad_inputs,
                   [&](const Output&, const Output& y, const Output& g) {
                     return ops::Mul(scope, g, y);
                   });
}

absl::Status NegGrad(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                     std::vector<Output>* grad_inputs) {
  return UnaryGrad(scope, node, grads, grad_inputs,
                   [&](const Output&, const Output&, const Output& g) {
                     return ops::Neg(scope, g);
                   });
}

absl::Status SquareGrad(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                        std::vector<Output>* grad_inputs) {
  return UnaryGrad(scope, node, grads, grad_inputs,
                   [&](const Output& x, const Output&, const Output& g) {
                     return ops::Mul(scope, g, ops::Add(scope, x, x));  // g * 2x
                   });
}

absl::Status SqrtGrad(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                      std::vector<Output>* grad_inputs) {
  return UnaryGrad(scope, node, grads, grad_inputs,
                   [&](const Output&, const Output& y, const Output& g) {
                     return ops::RealDiv(scope, g, ops::Add(scope, y, y));  // g / (2 sqrt(x))
                   });
}

// d(Sum(x, axes))/dx: the gradient reshaped to the keep_dims shape and broadcast back to x.
// `scale`, if given, divides the gradient first (Mean).
Output BroadcastReductionGrad(const Scope& scope, const Node& node, const Output& g,
                              bool divide_by_count) {
  const Output x = node.input(0), axes = node.input(1);
  Output grad = g;
  if (divide_by_count) {
    // count = |x| / |y|, from the run-time shapes.
    Output x_size = ops::Prod(scope, ops::Shape(scope, x), 0);
    Output y_size = ops::Prod(scope, ops::Shape(scope, OutputOf(node, 0)), 0);
    Output count = ops::RealDiv(scope, ops::Cast(scope, x_size, x.type()),
                                ops::Cast(scope, y_size, x.type()));
    grad = ops::RealDiv(scope, grad, count);
  }
  Output keep_dims_shape = ops::ReducedShape(scope, ops::Shape(scope, x), axes);
  return ops::Mul(scope, ops::Reshape(scope, grad, keep_dims_shape), ops::OnesLike(scope, x));
}

absl::Status SumGrad(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                     std::vector<Output>* grad_inputs) {
  grad_inputs->assign(2, Output());
  (*grad_inputs)[0] = BroadcastReductionGrad(scope, node, grads[0], /*divide_by_count=*/false);
  return scope.status();
}

absl::Status MeanGrad(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                      std::vector<Output>* grad_inputs) {
  grad_inputs->assign(2, Output());
  (*grad_inputs)[0] = BroadcastReductionGrad(scope, node, grads[0], /*divide_by_count=*/true);
  return scope.status();
}

absl::Status ProdGrad(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                      std::vector<Output>* grad_inputs) {
  // dy/dx_i is the product of the other elements of x_i's group. Without cumulative products,
  // it is built from z, the count of zeros in the group, and P, the product of its non-zero
  // elements: P / x_i when z == 0; P for the zero itself when z == 1; else 0.
  grad_inputs->assign(2, Output());
  const Output x = node.input(0), axes = node.input(1);
  if (x.type() != DT_FLOAT) {
    return absl::InvalidArgumentError(
        absl::StrCat("the gradient of Prod node '", node.name(), "' needs float input, not ",
                     DataTypeString(x.type())));
  }
  const Scope& s = scope;
  Output is_zero = ops::Cast(s, ops::Equal(s, x, 0.0f), DT_FLOAT);
  Output nonzero_x = ops::Add(s, x, is_zero);  // Zeros replaced by ones.
  Output zeros = ops::Sum(s, is_zero, axes, ops::Sum::KeepDims(true));
  Output product = ops::Prod(s, nonzero_x, axes, ops::Prod::KeepDims(true));
  Output no_zero = ops::Cast(s, ops::Equal(s, zeros, 0.0f), DT_FLOAT);
  Output one_zero = ops::Cast(s, ops::Equal(s, zeros, 1.0f), DT_FLOAT);
  Output local = ops::Add(s, ops::Mul(s, no_zero, ops::RealDiv(s, product, nonzero_x)),
                          ops::Mul(s, ops::Mul(s, one_zero, product), is_zero));
  Output keep_dims_shape = ops::ReducedShape(s, ops::Shape(s, x), axes);
  (*grad_inputs)[0] = ops::Mul(s, ops::Reshape(s, grads[0], keep_dims_shape), local);
  return scope.status();
}

absl::Status AddNGrad(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                      std::vector<Output>* grad_inputs) {
  grad_inputs->assign(node.num_inputs(), Output());
  for (int i = 0; i < node.num_inputs(); ++i) (*grad_inputs)[i] = grads[0];
  return absl::OkStatus();
}

bool IsFloatingType(DataType t) { return t == DT_FLOAT || t == DT_DOUBLE; }

absl::Status FloorModGrad(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                          std::vector<Output>* grad_inputs) {
  // z = x - floor(x / y) * y: dz/dx = 1, dz/dy = -floor(x / y) (floor is piecewise constant).
  return BinaryGrad(
      scope, node, grads, grad_inputs,
      [](const Output&, const Output&, const Output& g) { return g; },
      [&](const Output& x, const Output& y, const Output& g) {
        return ops::Neg(scope, ops::Mul(scope, g, ops::FloorDiv(scope, x, y)));
      });
}

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

// ---------------------------------------------------------------------------------------------
// Registrations.

REGISTER_OP("MatMul")
    .Input("a: T")
    .Input("b: T")
    .Output("product: T")
    .Attr("transpose_a: bool = false")
    .Attr("transpose_b: bool = false")
    .Attr("T: {float}")
    .SetShapeFn(MatMulShape);
REGISTER_GRADIENT("MatMul", MatMulGrad);

#define DFLOW_BINARY_OP(name)                      \
  REGISTER_OP(name)                                \
      .Input("x: T")                               \
      .Input("y: T")                               \
      .Output("z: T")                              \
      .Attr("T: {float, int32, int64}")            \
      .SetShapeFn(BroadcastBinaryShape)

DFLOW_BINARY_OP("Add");
REGISTER_GRADIENT("Add", AddGrad);
DFLOW_BINARY_OP("AddV2");
REGISTER_GRADIENT("AddV2", AddGrad);
DFLOW_BINARY_OP("Sub");
REGISTER_GRADIENT("Sub", SubGrad);
DFLOW_BINARY_OP("Mul");
REGISTER_GRADIENT("Mul", MulGrad);
DFLOW_BINARY_OP("Maximum");
REGISTER_GRADIENT("Maximum", MaximumGrad);
#undef DFLOW_BINARY_OP

REGISTER_OP("FloorDiv")
    .Input("x: T")
    .Input("y: T")
    .Output("z: T")
    .Attr("T: {float, int32, int64}")
    .SetShapeFn(BroadcastBinaryShape)
    .NotDifferentiable();  // Piecewise constant; TensorFlow gives it no gradient either.
REGISTER_OP("FloorMod")
    .Input("x: T")
    .Input("y: T")
    .Output("z: T")
    .Attr("T: {float, int32, int64}")
    .SetShapeFn(BroadcastBinaryShape);
REGISTER_GRADIENT("FloorMod", FloorModGrad);

#define DFLOW_COMPARISON_OP(name)                  \
  REGISTER_OP(name)                                \
      .Input("x: T")                               \
      .Input("y: T")                               \
      .Output("z: bool")                           \
      .Attr("T: {float, int32, int64, uint8}")     \
      .SetShapeFn(BroadcastBinaryShape)            \
      .NotDifferentiable()

DFLOW_COMPARISON_OP("Less");
DFLOW_COMPARISON_OP("LessEqual");
DFLOW_COMPARISON_OP("Greater");
DFLOW_COMPARISON_OP("GreaterEqual");
#undef DFLOW_COMPARISON_OP

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

REGISTER_OP("Log").Input("x: T").Output("y: T").Attr("T: {float}").SetShapeFn(UnchangedShape);
REGISTER_GRADIENT("Log", LogGrad);
REGISTER_OP("Exp").Input("x: T").Output("y: T").Attr("T: {float}").SetShapeFn(UnchangedShape);
REGISTER_GRADIENT("Exp", ExpGrad);
REGISTER_OP("Sqrt").Input("x: T").Output("y: T").Attr("T: {float}").SetShapeFn(UnchangedShape);
REGISTER_GRADIENT("Sqrt", SqrtGrad);
REGISTER_OP("Floor")
    .Input("x: T")
    .Output("y: T")
    .Attr("T: {float, double}")
    .SetShapeFn(UnchangedShape)
    .NotDifferentiable();  // Piecewise constant: TensorFlow's gradient is None too.
REGISTER_OP("Neg")
    .Input("x: T")
    .Output("y: T")
    .Attr("T: {float, int32, int64}")
    .SetShapeFn(UnchangedShape);
REGISTER_GRADIENT("Neg", NegGrad);
REGISTER_OP("Square")
    .Input("x: T")
    .Output("y: T")
    .Attr("T: {float, int32, int64}")
    .SetShapeFn(UnchangedShape);
REGISTER_GRADIENT("Square", SquareGrad);

#define DFLOW_REDUCTION_OP(name)                   \
  REGISTER_OP(name)                                \
      .Input("input: T")                           \
      .Input("reduction_indices: Tidx")            \
      .Output("output: T")                         \
      .Attr("keep_dims: bool = false")             \
      .Attr("T: {float, int32, int64}")            \
      .Attr("Tidx: {int32, int64} = DT_INT32")     \
      .SetShapeFn(ReductionShape)

DFLOW_REDUCTION_OP("Sum");
REGISTER_GRADIENT("Sum", SumGrad);
DFLOW_REDUCTION_OP("Mean");
REGISTER_GRADIENT("Mean", MeanGrad);
DFLOW_REDUCTION_OP("Prod");
REGISTER_GRADIENT("Prod", ProdGrad);
#undef DFLOW_REDUCTION_OP

REGISTER_OP("AddN")
    .Input("inputs: N * T")
    .Output("sum: T")
    .Attr("N: int >= 1")
    .Attr("T: {float, int32, int64}")
    .SetShapeFn(AddNShape);
REGISTER_GRADIENT("AddN", AddNGrad);

REGISTER_OP("ArgMax")
    .Input("input: T")
    .Input("dimension: Tidx")
    .Output("output: output_type")
    .Attr("T: {float, int32, int64, uint8}")
    .Attr("Tidx: {int32, int64} = DT_INT32")
    .Attr("output_type: {int32, int64} = DT_INT64")
    .SetShapeFn(ArgMaxShape)
    .NotDifferentiable();

REGISTER_OP("Equal")
    .Input("x: T")
    .Input("y: T")
    .Output("z: bool")
    .Attr("T: {float, int32, int64, uint8, bool}")
    .Attr("incompatible_shape_error: bool = true")
    .SetShapeFn(EqualShape)
    .NotDifferentiable();

REGISTER_OP("Cast")
    .Input("x: SrcT")
    .Output("y: DstT")
    .Attr("SrcT: {float, double, int32, int64, uint8, bool}")
    .Attr("DstT: {float, double, int32, int64, uint8, bool}")
    .Attr("Truncate: bool = false")
    .SetShapeFn(UnchangedShape);
REGISTER_GRADIENT("Cast", CastGrad);

REGISTER_OP("ReducedShape")
    .Input("input_shape: int32")
    .Input("axes: Tidx")
    .Output("output: int32")
    .Attr("Tidx: {int32, int64} = DT_INT32")
    .SetShapeFn(ReducedShapeShape)
    .NotDifferentiable();

// ---------------------------------------------------------------------------------------------
// Builder functions.

namespace ops {

MatMul::MatMul(const Scope& scope, Input a, Input b, const Attrs& attrs)
    : Output(AddOp(scope, "MatMul", {a, b},
                   {{"transpose_a", MakeAttr(attrs.transpose_a)},
                    {"transpose_b", MakeAttr(attrs.transpose_b)}})) {}

Output Add(const Scope& scope, Input x, Input y) { return AddOp(scope, "Add", {x, y}); }
Output AddV2(const Scope& scope, Input x, Input y) { return AddOp(scope, "AddV2", {x, y}); }
Output Sub(const Scope& scope, Input x, Input y) { return AddOp(scope, "Sub", {x, y}); }
Output Mul(const Scope& scope, Input x, Input y) { return AddOp(scope, "Mul", {x, y}); }
Output RealDiv(const Scope& scope, Input x, Input y) { return AddOp(scope, "RealDiv", {x, y}); }
Output Div(const Scope& scope, Input x, Input y) { return AddOp(scope, "Div", {x, y}); }
Output Maximum(const Scope& scope, Input x, Input y) { return AddOp(scope, "Maximum", {x, y}); }
Output FloorDiv(const Scope& scope, Input x, Input y) { return AddOp(scope, "FloorDiv", {x, y}); }
Output FloorMod(const Scope& scope, Input x, Input y) { return AddOp(scope, "FloorMod", {x, y}); }
Output Less(const Scope& scope, Input x, Input y) { return AddOp(scope, "Less", {x, y}); }
Output LessEqual(const Scope& scope, Input x, Input y) {
  return AddOp(scope, "LessEqual", {x, y});
}
Output Greater(const Scope& scope, Input x, Input y) { return AddOp(scope, "Greater", {x, y}); }
Output GreaterEqual(const Scope& scope, Input x, Input y) {
  return AddOp(scope, "GreaterEqual", {x, y});
}

Output Log(const Scope& scope, Input x) { return AddOp(scope, "Log", {x}); }
Output Exp(const Scope& scope, Input x) { return AddOp(scope, "Exp", {x}); }
Output Neg(const Scope& scope, Input x) { return AddOp(scope, "Neg", {x}); }
Output Square(const Scope& scope, Input x) { return AddOp(scope, "Square", {x}); }
Output Sqrt(const Scope& scope, Input x) { return AddOp(scope, "Sqrt", {x}); }
Output Floor(const Scope& scope, Input x) { return AddOp(scope, "Floor", {x}); }

Sum::Sum(const Scope& scope, Input input, Input axis, const Attrs& attrs)
    : Output(AddOp(scope, "Sum", {input, axis}, {{"keep_dims", MakeAttr(attrs.keep_dims)}})) {}
Mean::Mean(const Scope& scope, Input input, Input axis, const Attrs& attrs)
    : Output(AddOp(scope, "Mean", {input, axis}, {{"keep_dims", MakeAttr(attrs.keep_dims)}})) {}
Prod::Prod(const Scope& scope, Input input, Input axis, const Attrs& attrs)
    : Output(AddOp(scope, "Prod", {input, axis}, {{"keep_dims", MakeAttr(attrs.keep_dims)}})) {}

Output AddN(const Scope& scope, absl::Span<const Output> inputs) {
  return AddOpWithList(scope, "AddN", inputs, {});
}

ArgMax::ArgMax(const Scope& scope, Input input, Input dimension, const Attrs& attrs)
    : Output(AddOp(scope, "ArgMax", {input, dimension},
                   {{"output_type", MakeAttr(attrs.output_type)}})) {}

Equal::Equal(const Scope& scope, Input x, Input y, const Attrs& attrs)
    : Output(AddOp(scope, "Equal", {x, y},
                   {{"incompatible_shape_error", MakeAttr(attrs.incompatible_shape_error)}})) {}

Cast::Cast(const Scope& scope, Input x, DataType DstT, const Attrs& attrs)
    : Output(AddOp(scope, "Cast", {x},
                   {{"DstT", MakeAttr(DstT)}, {"Truncate", MakeAttr(attrs.truncate)}})) {}

Output ReducedShape(const Scope& scope, Input input_shape, Input axes) {
  return AddOp(scope, "ReducedShape", {input_shape, axes});
}

}  // namespace ops
}  // namespace dflow
