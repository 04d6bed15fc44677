// Reductions: Sum, Mean, Prod, Max, Min, All, Any, ArgMax, ArgMin and Cumsum, and
// ReducedShape, the helper their gradients use.
// Op by op: the schema, its shape function, its gradient and its builder.
#include "ops/reduction_ops.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "graph/status_macros.h"
#include "ops/array_ops.h"
#include "ops/logical_ops.h"
#include "ops/math_ops.h"
#include "ops/op_registry.h"
#include "ops/shape_inference.h"

namespace dflow {
namespace {

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

}  // namespace

namespace {

// A reduction node of `op` over `axis`, as every reduction's builder adds it.
Output AddReduction(const Scope& scope, absl::string_view op, Input input, Input axis,
                    bool keep_dims) {
  return AddOp(scope, op, {input, axis}, {{"keep_dims", MakeAttr(keep_dims)}});
}

// Prod's and Max/Min's gradients are built for float inputs only.
absl::Status CheckFloatGradInput(const Node& node, const Output& x) {
  if (x.type() == DT_FLOAT) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("the gradient of ", node.op(), " node '",
                                                 node.name(), "' needs float input, not ",
                                                 DataTypeString(x.type())));
}

}  // namespace

#define DFLOW_REDUCTION_OP(name)                   \
  REGISTER_OP(name)                                \
      .Input("input: T")                           \
      .Input("reduction_indices: Tidx")            \
      .Output("output: T")                         \
      .Attr("keep_dims: bool = false")             \
      .Attr("T: {float, int32, int64}")            \
      .Attr("Tidx: {int32, int64} = DT_INT32")     \
      .SetShapeFn(ReductionShape)

// ---------------------------------------------------------------------------------------------
// Sum

namespace {

// y = sum (kMean: mean) of x over axes: dx = g broadcast back over the reduced axes (kMean:
// divided by the count averaged over).
template <bool kMean>
absl::Status SumOrMeanGrad(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                           std::vector<Output>* grad_inputs) {
  grad_inputs->assign(2, Output());
  (*grad_inputs)[0] = BroadcastReductionGrad(scope, node, grads[0], /*divide_by_count=*/kMean);
  return scope.status();
}

}  // namespace

DFLOW_REDUCTION_OP("Sum");
REGISTER_GRADIENT("Sum", SumOrMeanGrad<false>);

ops::Sum::Sum(const Scope& scope, Input input, Input axis, const Attrs& attrs)
    : Output(AddReduction(scope, "Sum", input, axis, attrs.keep_dims)) {}

// ---------------------------------------------------------------------------------------------
// Mean

DFLOW_REDUCTION_OP("Mean");
REGISTER_GRADIENT("Mean", SumOrMeanGrad<true>);

ops::Mean::Mean(const Scope& scope, Input input, Input axis, const Attrs& attrs)
    : Output(AddReduction(scope, "Mean", input, axis, attrs.keep_dims)) {}

// ---------------------------------------------------------------------------------------------
// Prod

namespace {

// dy/dx_i is the product of the other elements of x_i's group. Without cumulative products,
// it is built from z, the count of zeros in the group, and P, the product of its non-zero
// elements: P / x_i when z == 0; P for the zero itself when z == 1; else 0.
absl::Status ProdGrad(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                      std::vector<Output>* grad_inputs) {
  grad_inputs->assign(2, Output());
  const Output x = node.input(0), axes = node.input(1);
  DFLOW_RETURN_IF_ERROR(CheckFloatGradInput(node, x));
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

}  // namespace

DFLOW_REDUCTION_OP("Prod");
REGISTER_GRADIENT("Prod", ProdGrad);

ops::Prod::Prod(const Scope& scope, Input input, Input axis, const Attrs& attrs)
    : Output(AddReduction(scope, "Prod", input, axis, attrs.keep_dims)) {}

// ---------------------------------------------------------------------------------------------
// Max, Min

namespace {

// y = max (or min) of x over axes: the gradient is shared evenly among the elements equal to
// their group's result (TensorFlow's rule for ties).
absl::Status MinOrMaxGrad(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                          std::vector<Output>* grad_inputs) {
  grad_inputs->assign(2, Output());
  const Output x = node.input(0), axes = node.input(1);
  DFLOW_RETURN_IF_ERROR(CheckFloatGradInput(node, x));
  Output keep_dims_shape = ops::ReducedShape(scope, ops::Shape(scope, x), axes);
  Output y = ops::Reshape(scope, OutputOf(node, 0), keep_dims_shape);
  Output g = ops::Reshape(scope, grads[0], keep_dims_shape);
  Output indicators = ops::Cast(scope, ops::Equal(scope, y, x), DT_FLOAT);
  Output count = ops::Reshape(scope, ops::Sum(scope, indicators, axes), keep_dims_shape);
  (*grad_inputs)[0] = ops::Mul(scope, ops::RealDiv(scope, indicators, count), g);
  return scope.status();
}

}  // namespace

DFLOW_REDUCTION_OP("Max");
REGISTER_GRADIENT("Max", MinOrMaxGrad);
DFLOW_REDUCTION_OP("Min");
REGISTER_GRADIENT("Min", MinOrMaxGrad);

ops::Max::Max(const Scope& scope, Input input, Input axis, const Attrs& attrs)
    : Output(AddReduction(scope, "Max", input, axis, attrs.keep_dims)) {}
ops::Min::Min(const Scope& scope, Input input, Input axis, const Attrs& attrs)
    : Output(AddReduction(scope, "Min", input, axis, attrs.keep_dims)) {}

// ---------------------------------------------------------------------------------------------
// All, Any

#define DFLOW_BOOL_REDUCTION_OP(name)              \
  REGISTER_OP(name)                                \
      .Input("input: bool")                        \
      .Input("reduction_indices: Tidx")            \
      .Output("output: bool")                      \
      .Attr("keep_dims: bool = false")             \
      .Attr("Tidx: {int32, int64} = DT_INT32")     \
      .SetShapeFn(ReductionShape)                  \
      .NotDifferentiable()

DFLOW_BOOL_REDUCTION_OP("All");
DFLOW_BOOL_REDUCTION_OP("Any");

ops::All::All(const Scope& scope, Input input, Input axis, const Attrs& attrs)
    : Output(AddReduction(scope, "All", input, axis, attrs.keep_dims)) {}
ops::Any::Any(const Scope& scope, Input input, Input axis, const Attrs& attrs)
    : Output(AddReduction(scope, "Any", input, axis, attrs.keep_dims)) {}

#undef DFLOW_BOOL_REDUCTION_OP

// ---------------------------------------------------------------------------------------------
// ArgMax, ArgMin

namespace {

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

}  // namespace

// ArgMax's and ArgMin's schema: they differ only in the comparison.
#define DFLOW_ARG_REDUCTION_OP(name)                    \
  REGISTER_OP(name)                                     \
      .Input("input: T")                                \
      .Input("dimension: Tidx")                         \
      .Output("output: output_type")                    \
      .Attr("T: {float, int32, int64, uint8}")          \
      .Attr("Tidx: {int32, int64} = DT_INT32")          \
      .Attr("output_type: {int32, int64} = DT_INT64")   \
      .SetShapeFn(ArgMaxShape)                          \
      .NotDifferentiable()

DFLOW_ARG_REDUCTION_OP("ArgMax");
DFLOW_ARG_REDUCTION_OP("ArgMin");

ops::ArgMax::ArgMax(const Scope& scope, Input input, Input dimension, const Attrs& attrs)
    : Output(AddOp(scope, "ArgMax", {input, dimension},
                   {{"output_type", MakeAttr(attrs.output_type)}})) {}
ops::ArgMin::ArgMin(const Scope& scope, Input input, Input dimension, const Attrs& attrs)
    : Output(AddOp(scope, "ArgMin", {input, dimension},
                   {{"output_type", MakeAttr(attrs.output_type)}})) {}

// ---------------------------------------------------------------------------------------------
// Cumsum

namespace {

absl::Status CumsumShape(InferenceContext* ctx) {
  if (ctx->input(1).dims() > 0) {
    return ctx->Error(absl::StrCat("axis must be a scalar, got shape ",
                                   ctx->input(1).DebugString()));
  }
  return UnchangedShape(ctx);
}

// y = cumsum(x): each x_i feeds every y_j at or after it (before it, when reversed), so
// dx = cumsum(g) in the opposite direction, exclusive as the forward op.
absl::Status CumsumGrad(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                        std::vector<Output>* grad_inputs) {
  bool exclusive = false, reverse = false;
  DFLOW_RETURN_IF_ERROR(GetNodeAttr(node, "exclusive", &exclusive));
  DFLOW_RETURN_IF_ERROR(GetNodeAttr(node, "reverse", &reverse));
  *grad_inputs = {ops::Cumsum(scope, grads[0], node.input(1),
                              ops::Cumsum::Exclusive(exclusive).Reverse(!reverse)),
                  Output()};
  return scope.status();
}

}  // namespace

REGISTER_OP("Cumsum")
    .Input("x: T")
    .Input("axis: Tidx")
    .Output("out: T")
    .Attr("exclusive: bool = false")
    .Attr("reverse: bool = false")
    .Attr("T: {float, int32, int64}")
    .Attr("Tidx: {int32, int64} = DT_INT32")
    .SetShapeFn(CumsumShape);
REGISTER_GRADIENT("Cumsum", CumsumGrad);

ops::Cumsum::Cumsum(const Scope& scope, Input x, Input axis, const Attrs& attrs)
    : Output(AddOp(scope, "Cumsum", {x, axis},
                   {{"exclusive", MakeAttr(attrs.exclusive)},
                    {"reverse", MakeAttr(attrs.reverse)}})) {}

// ---------------------------------------------------------------------------------------------
// ReducedShape

namespace {

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

}  // namespace

REGISTER_OP("ReducedShape")
    .Input("input_shape: int32")
    .Input("axes: Tidx")
    .Output("output: int32")
    .Attr("Tidx: {int32, int64} = DT_INT32")
    .SetShapeFn(ReducedShapeShape)
    .NotDifferentiable();

Output ops::ReducedShape(const Scope& scope, Input input_shape, Input axes) {
  return AddOp(scope, "ReducedShape", {input_shape, axes});
}

#undef DFLOW_REDUCTION_OP

}  // namespace dflow
