// Array ops: Placeholder, PlaceholderWithDefault, Const, Identity, NoOp, Shape, Rank, Fill,
// ZerosLike, OnesLike, Range, BroadcastGradientArgs and PreventGradient. Op by op: the schema, its shape function, its
// gradient and its builder. The other array families: shape_ops.cc (Reshape, ExpandDims,
// Squeeze, Tile), concat_ops.cc (Pack, ConcatV2, DynamicStitch), strided_slice_ops.cc.
#include "ops/array_ops.h"

#include <cmath>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "graph/status_macros.h"
#include "ops/op_registry.h"
#include "ops/shape_inference.h"

namespace dflow {

absl::StatusOr<int64_t> RangeSize(const Tensor& start, const Tensor& limit, const Tensor& delta) {
  auto error = [](auto... parts) { return absl::InvalidArgumentError(absl::StrCat(parts...)); };
  if (start.dtype() != limit.dtype() || start.dtype() != delta.dtype()) {
    return error("start, limit and delta must have one type");
  }
  if (start.NumElements() != 1 || limit.NumElements() != 1 || delta.NumElements() != 1) {
    return error("start, limit and delta must be scalars");
  }
  constexpr int64_t kMaxSize = std::numeric_limits<int32_t>::max();
  auto check = [&](auto s, auto l, auto d) -> absl::StatusOr<int64_t> {
    using T = decltype(s);
    if (d == T(0)) return error("delta must not be 0");
    if (d > T(0) && s > l) return error("start ", s, " > limit ", l, " with delta ", d, " > 0");
    if (d < T(0) && s < l) return error("start ", s, " < limit ", l, " with delta ", d, " < 0");
    if constexpr (std::is_integral_v<T>) {
      const __int128 span = static_cast<__int128>(l) - static_cast<__int128>(s);
      const __int128 step = static_cast<__int128>(d);
      const __int128 abs_span = span < 0 ? -span : span;
      const __int128 abs_step = step < 0 ? -step : step;
      const __int128 c = (abs_span + abs_step - 1) / abs_step;
      if (c > kMaxSize) return error("the range has more than ", kMaxSize, " values");
      return static_cast<int64_t>(c);
    } else {
      if (!std::isfinite(s) || !std::isfinite(l) || !std::isfinite(d)) {
        return error("start, limit and delta must be finite");
      }
      const long double count = std::ceil(std::fabs((static_cast<long double>(l) - s) / d));
      if (count > kMaxSize) return error("the range has more than ", kMaxSize, " values");
      return static_cast<int64_t>(count);
    }
  };
  switch (start.dtype()) {
    case DT_INT32:
      return check(start.scalar<int32_t>(), limit.scalar<int32_t>(), delta.scalar<int32_t>());
    case DT_INT64:
      return check(start.scalar<int64_t>(), limit.scalar<int64_t>(), delta.scalar<int64_t>());
    case DT_FLOAT:
      return check(start.scalar<float>(), limit.scalar<float>(), delta.scalar<float>());
    case DT_DOUBLE:
      return check(start.scalar<double>(), limit.scalar<double>(), delta.scalar<double>());
    default:
      return error("unsupported Range type ", DataTypeString(start.dtype()));
  }
}

// ---------------------------------------------------------------------------------------------
// Placeholder

namespace {

absl::Status PlaceholderShape(InferenceContext* ctx) {
  PartialTensorShape shape;
  DFLOW_RETURN_IF_ERROR(ctx->GetAttr("shape", &shape));
  ctx->set_output(0, shape);
  return absl::OkStatus();
}

}  // namespace

REGISTER_OP("Placeholder")
    .Output("output: dtype")
    .Attr("dtype: type")
    .Attr("shape: shape = unknown")
    .SetShapeFn(PlaceholderShape)
    .NotDifferentiable();

ops::Placeholder::Placeholder(const Scope& scope, DataType dtype, const Attrs& attrs)
    : Output(AddOp(scope, "Placeholder", {}, {{"dtype", MakeAttr(dtype)},
                                              {"shape", MakeAttr(attrs.shape)}})) {}

// ---------------------------------------------------------------------------------------------
// PlaceholderWithDefault: the fed value, or `input` when nothing is fed.

namespace {

// The declared shape, which the default must fit; not the default's own, which may be more precise
// than what may be fed.
absl::Status PlaceholderWithDefaultShape(InferenceContext* ctx) {
  PartialTensorShape shape;
  DFLOW_RETURN_IF_ERROR(ctx->GetAttr("shape", &shape));
  if (!ctx->input(0).IsCompatibleWith(shape)) {
    return ctx->Error(absl::StrCat("the default input has shape ", ctx->input(0).DebugString(),
                                   ", incompatible with the shape attr ", shape.DebugString()));
  }
  ctx->set_output(0, shape);
  return absl::OkStatus();
}

}  // namespace

REGISTER_OP("PlaceholderWithDefault")
    .Input("input: dtype")
    .Output("output: dtype")
    .Attr("dtype: type")
    .Attr("shape: shape")
    .SetShapeFn(PlaceholderWithDefaultShape);
// d(output)/d(input) = 1 when nothing is fed (as TensorFlow's _IdGrad).
REGISTER_GRADIENT("PlaceholderWithDefault", [](const Scope& scope, const Node& node,
                                               absl::Span<const Output> grad_outputs,
                                               std::vector<Output>* grad_inputs) {
  *grad_inputs = {grad_outputs[0]};
  return absl::OkStatus();
});

Output ops::PlaceholderWithDefault(const Scope& scope, Input input,
                                   const PartialTensorShape& shape) {
  return AddOp(scope, "PlaceholderWithDefault", {input}, {{"shape", MakeAttr(shape)}});
}

// ---------------------------------------------------------------------------------------------
// Const

namespace {

absl::Status ConstShape(InferenceContext* ctx) {
  Tensor value;
  DFLOW_RETURN_IF_ERROR(ctx->GetAttr("value", &value));
  DataType dtype;
  DFLOW_RETURN_IF_ERROR(ctx->GetAttr("dtype", &dtype));
  if (value.dtype() != dtype) {
    return ctx->Error(absl::StrCat("value is ", DataTypeString(value.dtype()), " but dtype is ",
                                   DataTypeString(dtype)));
  }
  ctx->set_output(0, value.shape());
  return absl::OkStatus();
}

}  // namespace

REGISTER_OP("Const")
    .Output("output: dtype")
    .Attr("value: tensor")
    .Attr("dtype: type")
    .SetShapeFn(ConstShape)
    .NotDifferentiable();

Output ops::Const(const Scope& scope, const Input& value) {
  if (!scope.ok()) return Output();
  return value.ToOutput(scope);
}
Output ops::Const(const Scope& scope, float value, const TensorShape& shape) {
  return Const(scope, Tensor::Filled<float>(shape, value));
}

// ---------------------------------------------------------------------------------------------
// Identity

REGISTER_OP("Identity").Input("input: T").Output("output: T").Attr("T: type").SetShapeFn(
    UnchangedShape);
REGISTER_GRADIENT("Identity", [](const Scope& scope, const Node& node,
                                 absl::Span<const Output> grad_outputs,
                                 std::vector<Output>* grad_inputs) {
  *grad_inputs = {grad_outputs[0]};
  return absl::OkStatus();
});

Output ops::Identity(const Scope& scope, Input input) { return AddOp(scope, "Identity", {input}); }

// ---------------------------------------------------------------------------------------------
// NoOp

REGISTER_OP("NoOp").SetShapeFn(NoOutputs).NotDifferentiable();

Operation ops::NoOp(const Scope& scope) { return AddOp(scope, "NoOp", {}); }

// ---------------------------------------------------------------------------------------------
// Shape

namespace {

absl::Status ShapeShape(InferenceContext* ctx) {
  ctx->set_output(0, PartialTensorShape({ctx->input(0).dims()}));  // -1 when rank unknown.
  return absl::OkStatus();
}

}  // namespace

REGISTER_OP("Shape")
    .Input("input: T")
    .Output("output: out_type")
    .Attr("T: type")
    .Attr("out_type: {int32, int64} = int32")
    .SetShapeFn(ShapeShape)
    .NotDifferentiable();

Output ops::Shape(const Scope& scope, Input input) { return AddOp(scope, "Shape", {input}); }
Output ops::Shape(const Scope& scope, Input input, DataType out_type) {
  return AddOp(scope, "Shape", {input}, {{"out_type", MakeAttr(out_type)}});
}

// ---------------------------------------------------------------------------------------------
// Rank

REGISTER_OP("Rank")
    .Input("input: T")
    .Output("output: int32")
    .Attr("T: type")
    .SetShapeFn(ScalarShape)
    .NotDifferentiable();

Output ops::Rank(const Scope& scope, Input input) { return AddOp(scope, "Rank", {input}); }

// ---------------------------------------------------------------------------------------------
// Fill

namespace {

absl::Status FillShape(InferenceContext* ctx) {
  if (ctx->input(1).dims() > 0) return ctx->Error("value must be a scalar");
  const Tensor* dims_t = ctx->input_tensor(0);
  if (dims_t != nullptr) {
    IntList dims = IntValues(*dims_t, "dims").value_or(IntList{});
    for (int64_t d : dims) {
      if (d < 0) return ctx->Error(absl::StrCat("dims has a negative dimension ", d));
    }
    ctx->set_output(0, PartialTensorShape(dims));
    return absl::OkStatus();
  }
  ctx->set_output(0, ShapeOfLength(ctx->input(0)));
  return absl::OkStatus();
}

}  // namespace

REGISTER_OP("Fill")
    .Input("dims: index_type")
    .Input("value: T")
    .Output("output: T")
    .Attr("T: type")
    .Attr("index_type: {int32, int64} = int32")
    .SetShapeFn(FillShape)
    .NotDifferentiable();

Output ops::Fill(const Scope& scope, Input dims, Input value) {
  return AddOp(scope, "Fill", {dims, value});
}

// ---------------------------------------------------------------------------------------------
// ZerosLike, OnesLike

REGISTER_OP("ZerosLike").Input("x: T").Output("y: T").Attr("T: type").SetShapeFn(UnchangedShape)
    .NotDifferentiable();
REGISTER_OP("OnesLike").Input("x: T").Output("y: T").Attr("T: type").SetShapeFn(UnchangedShape)
    .NotDifferentiable();

Output ops::ZerosLike(const Scope& scope, Input x) { return AddOp(scope, "ZerosLike", {x}); }
Output ops::OnesLike(const Scope& scope, Input x) { return AddOp(scope, "OnesLike", {x}); }

// ---------------------------------------------------------------------------------------------
// Range

namespace {

absl::Status RangeShape(InferenceContext* ctx) {
  const char* names[] = {"start", "limit", "delta"};
  for (int i = 0; i < 3; ++i) {
    if (ctx->input(i).dims() > 0) {
      return ctx->Error(absl::StrCat(names[i], " must be a scalar, got shape ",
                                     ctx->input(i).DebugString()));
    }
  }
  const Tensor* t[3] = {ctx->input_tensor(0), ctx->input_tensor(1), ctx->input_tensor(2)};
  if (t[0] == nullptr || t[1] == nullptr || t[2] == nullptr) {
    ctx->set_output(0, PartialTensorShape({-1}));
    return absl::OkStatus();
  }
  absl::StatusOr<int64_t> size = RangeSize(*t[0], *t[1], *t[2]);
  if (!size.ok()) return ctx->Error(size.status().message());
  ctx->set_output(0, PartialTensorShape({*size}));
  return absl::OkStatus();
}

}  // namespace

REGISTER_OP("Range")
    .Input("start: Tidx")
    .Input("limit: Tidx")
    .Input("delta: Tidx")
    .Output("output: Tidx")
    .Attr("Tidx: {float, double, int32, int64} = int32")
    .SetShapeFn(RangeShape)
    .NotDifferentiable();

Output ops::Range(const Scope& scope, Input start, Input limit, Input delta) {
  return AddOp(scope, "Range", {start, limit, delta});
}

// ---------------------------------------------------------------------------------------------
// BroadcastGradientArgs

// Given the shapes of two broadcast operands, the axes each must sum its gradient over.
REGISTER_OP("BroadcastGradientArgs")
    .Input("s0: T")
    .Input("s1: T")
    .Output("r0: T")
    .Output("r1: T")
    .Attr("T: {int32, int64} = int32")
    .SetShapeFn([](InferenceContext* ctx) {
      ctx->set_output(0, PartialTensorShape({-1}));
      ctx->set_output(1, PartialTensorShape({-1}));
      return absl::OkStatus();
    })
    .NotDifferentiable();

ops::BroadcastGradientArgs::BroadcastGradientArgs(const Scope& scope, Input s0, Input s1) {
  Node* node = AddOp(scope, "BroadcastGradientArgs", {s0, s1});
  if (node != nullptr) {
    r0 = Output(node, 0);
    r1 = Output(node, 1);
  }
}

// ---------------------------------------------------------------------------------------------
// PreventGradient

namespace {

// No gradient may flow: differentiating through the node is an error carrying its message.
absl::Status PreventGradientGrad(const Scope& scope, const Node& node,
                                 absl::Span<const Output> grads,
                                 std::vector<Output>* grad_inputs) {
  std::string message;
  GetNodeAttr(node, "message", &message).IgnoreError();
  return absl::InvalidArgumentError(
      absl::StrCat("Gradient explicitly disabled by PreventGradient node '", node.name(),
                   "'. Reason: ", message));
}

}  // namespace

REGISTER_OP("PreventGradient")
    .Input("input: T")
    .Output("output: T")
    .Attr("T: type")
    .Attr("message: string = ''")
    .SetShapeFn(UnchangedShape);
REGISTER_GRADIENT("PreventGradient", PreventGradientGrad);

ops::PreventGradient::PreventGradient(const Scope& scope, Input input, const Attrs& attrs)
    : Output(AddOp(scope, "PreventGradient", {input}, {{"message", MakeAttr(attrs.message)}})) {}

}  // namespace dflow

namespace dflow {

// ---------------------------------------------------------------------------------------------
// StopGradient (Identity through which no gradient flows)

REGISTER_OP("StopGradient")
    .Input("input: T")
    .Output("output: T")
    .Attr("T: type")
    .SetShapeFn(UnchangedShape)
    .NotDifferentiable();

Output ops::StopGradient(const Scope& scope, Input input) {
  return AddOp(scope, "StopGradient", {input});
}

// ---------------------------------------------------------------------------------------------
// Unique (not differentiable, as in TensorFlow)

REGISTER_OP("Unique")
    .Input("x: T")
    .Output("y: T")
    .Output("idx: out_idx")
    .Attr("T: type")
    .Attr("out_idx: {int32, int64} = DT_INT32")
    .SetShapeFn([](InferenceContext* ctx) -> absl::Status {
      DFLOW_ASSIGN_OR_RETURN(PartialTensorShape x, ctx->WithRank(0, 1));
      ctx->set_output(0, PartialTensorShape({-1}));
      ctx->set_output(1, x);
      return absl::OkStatus();
    })
    .NotDifferentiable();

ops::Unique::Unique(const Scope& scope, Input x, DataType out_idx) {
  Node* node = AddOp(scope, "Unique", {x}, {{"out_idx", MakeAttr(out_idx)}});
  if (node == nullptr) return;
  operation = Operation(node);
  y = Output(node, 0);
  idx = Output(node, 1);
}

}  // namespace dflow
