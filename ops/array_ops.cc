// Array ops: Placeholder, Const, Identity, NoOp, Reshape, Shape, Fill, ZerosLike, OnesLike,
// ExpandDims — schemas, shape functions, gradients and builder functions.
#include "ops/array_ops.h"

#include "absl/strings/str_cat.h"
#include "ops/node_builder.h"
#include "ops/op_registry.h"
#include "ops/shape_inference.h"

namespace dflow {
namespace {


absl::Status PlaceholderShape(InferenceContext* ctx) {
  PartialTensorShape shape;
  absl::Status s = ctx->GetAttr("shape", &shape);
  if (!s.ok()) return s;
  ctx->set_output(0, shape);
  return absl::OkStatus();
}

absl::Status ConstShape(InferenceContext* ctx) {
  Tensor value;
  absl::Status s = ctx->GetAttr("value", &value);
  if (!s.ok()) return s;
  DataType dtype;
  s = ctx->GetAttr("dtype", &dtype);
  if (!s.ok()) return s;
  if (value.dtype() != dtype) {
    return ctx->Error(absl::StrCat("value is ", DataTypeString(value.dtype()), " but dtype is ",
                                   DataTypeString(dtype)));
  }
  ctx->set_output(0, value.shape());
  return absl::OkStatus();
}

absl::Status ReshapeShape(InferenceContext* ctx) {
  const PartialTensorShape& in = ctx->input(0);
  const Tensor* shape_t = ctx->input_tensor(1);
  if (shape_t == nullptr) {
    const PartialTensorShape& s = ctx->input(1);
    ctx->set_output(0, s.dims() == 1 && s.dim_size(0) >= 0
                           ? PartialTensorShape::UnknownDims(static_cast<int>(s.dim_size(0)))
                           : PartialTensorShape::Unknown());
    return absl::OkStatus();
  }
  if (shape_t->dims() > 1) return ctx->Error("shape must be a vector");
  std::vector<int64_t> dims = IntValues(*shape_t, "shape").value_or(std::vector<int64_t>{});
  int unknown = -1;
  int64_t known = 1;
  for (size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] == -1) {
      if (unknown >= 0) return ctx->Error("shape has more than one -1");
      unknown = static_cast<int>(i);
    } else if (dims[i] < 0) {
      return ctx->Error(absl::StrCat("shape has a negative dimension ", dims[i]));
    } else {
      known *= dims[i];
    }
  }
  const int64_t n = in.num_elements();
  if (n >= 0) {
    if (unknown >= 0) {
      if (known == 0 || n % known != 0) {
        return ctx->Error(absl::StrCat("cannot reshape ", in.DebugString(), " (", n,
                                       " elements) to a multiple of ", known));
      }
      dims[unknown] = n / known;
    } else if (known != n) {
      return ctx->Error(absl::StrCat("cannot reshape ", in.DebugString(), " (", n,
                                     " elements) to ", PartialTensorShape(dims).DebugString()));
    }
  }
  ctx->set_output(0, PartialTensorShape(dims));
  return absl::OkStatus();
}

absl::Status ShapeShape(InferenceContext* ctx) {
  ctx->set_output(0, PartialTensorShape({ctx->input(0).dims()}));  // -1 when rank unknown.
  return absl::OkStatus();
}

absl::Status FillShape(InferenceContext* ctx) {
  if (ctx->input(1).dims() > 0) return ctx->Error("value must be a scalar");
  const Tensor* dims_t = ctx->input_tensor(0);
  if (dims_t != nullptr) {
    std::vector<int64_t> dims = IntValues(*dims_t, "dims").value_or(std::vector<int64_t>{});
    for (int64_t d : dims) {
      if (d < 0) return ctx->Error(absl::StrCat("dims has a negative dimension ", d));
    }
    ctx->set_output(0, PartialTensorShape(dims));
    return absl::OkStatus();
  }
  const PartialTensorShape& s = ctx->input(0);
  ctx->set_output(0, s.dims() == 1 && s.dim_size(0) >= 0
                         ? PartialTensorShape::UnknownDims(static_cast<int>(s.dim_size(0)))
                         : PartialTensorShape::Unknown());
  return absl::OkStatus();
}

absl::Status ExpandDimsShape(InferenceContext* ctx) {
  const PartialTensorShape& in = ctx->input(0);
  const Tensor* axis_t = ctx->input_tensor(1);
  if (axis_t == nullptr || in.unknown_rank()) {
    ctx->set_output(0, in.unknown_rank() ? in : PartialTensorShape::UnknownDims(in.dims() + 1));
    return absl::OkStatus();
  }
  std::vector<int64_t> axis = IntValues(*axis_t, "dim").value_or(std::vector<int64_t>{});
  if (axis.size() != 1) return ctx->Error("axis must hold one value");
  int64_t a = axis[0];
  const int rank = in.dims();
  if (a < -rank - 1 || a > rank) {
    return ctx->Error(absl::StrCat("axis ", a, " is out of range for rank ", rank));
  }
  if (a < 0) a += rank + 1;
  std::vector<int64_t> dims(in.dim_sizes().begin(), in.dim_sizes().end());
  dims.insert(dims.begin() + a, 1);
  ctx->set_output(0, PartialTensorShape(dims));
  return absl::OkStatus();
}

// d(Reshape(x))/dx and d(ExpandDims(x))/dx: reshape the gradient back to x's run-time shape.
absl::Status ReshapeBackGrad(const Scope& scope, const Node& node,
                             absl::Span<const Output> grad_outputs,
                             std::vector<Output>* grad_inputs) {
  Output x = node.input(0);
  grad_inputs->assign(node.num_inputs(), Output());
  (*grad_inputs)[0] = ops::Reshape(scope, grad_outputs[0], ops::Shape(scope, x));
  return scope.status();
}

}  // namespace

REGISTER_OP("Placeholder")
    .Output("output: dtype")
    .Attr("dtype: type")
    .Attr("shape: shape = unknown")
    .SetShapeFn(PlaceholderShape)
    .NotDifferentiable();

REGISTER_OP("Const")
    .Output("output: dtype")
    .Attr("value: tensor")
    .Attr("dtype: type")
    .SetShapeFn(ConstShape)
    .NotDifferentiable();

REGISTER_OP("Identity").Input("input: T").Output("output: T").Attr("T: type").SetShapeFn(
    UnchangedShape);
REGISTER_GRADIENT("Identity", [](const Scope& scope, const Node& node,
                                 absl::Span<const Output> grad_outputs,
                                 std::vector<Output>* grad_inputs) {
  *grad_inputs = {grad_outputs[0]};
  return absl::OkStatus();
});

REGISTER_OP("NoOp").SetShapeFn(NoOutputs).NotDifferentiable();

REGISTER_OP("Reshape")
    .Input("tensor: T")
    .Input("shape: Tshape")
    .Output("output: T")
    .Attr("T: type")
    .Attr("Tshape: {int32, int64} = int32")
    .SetShapeFn(ReshapeShape);
REGISTER_GRADIENT("Reshape", ReshapeBackGrad);

REGISTER_OP("Shape")
    .Input("input: T")
    .Output("output: out_type")
    .Attr("T: type")
    .Attr("out_type: {int32, int64} = int32")
    .SetShapeFn(ShapeShape)
    .NotDifferentiable();

REGISTER_OP("Fill")
    .Input("dims: index_type")
    .Input("value: T")
    .Output("output: T")
    .Attr("T: type")
    .Attr("index_type: {int32, int64} = int32")
    .SetShapeFn(FillShape)
    .NotDifferentiable();

REGISTER_OP("ZerosLike").Input("x: T").Output("y: T").Attr("T: type").SetShapeFn(UnchangedShape)
    .NotDifferentiable();
REGISTER_OP("OnesLike").Input("x: T").Output("y: T").Attr("T: type").SetShapeFn(UnchangedShape)
    .NotDifferentiable();

REGISTER_OP("ExpandDims")
    .Input("input: T")
    .Input("dim: Tdim")
    .Output("output: T")
    .Attr("T: type")
    .Attr("Tdim: {int32, int64} = int32")
    .SetShapeFn(ExpandDimsShape);
REGISTER_GRADIENT("ExpandDims", ReshapeBackGrad);

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

namespace ops {

Placeholder::Placeholder(const Scope& scope, DataType dtype, const Attrs& attrs)
    : Output(AddOp(scope, "Placeholder", {}, {{"dtype", MakeAttr(dtype)},
                                              {"shape", MakeAttr(attrs.shape)}})) {}

Output Const(const Scope& scope, const Input& value) {
  if (!scope.ok()) return Output();
  return value.ToOutput(scope);
}

Output Const(const Scope& scope, float value, const TensorShape& shape) {
  return Const(scope, Tensor::Filled<float>(shape, value));
}

Output Identity(const Scope& scope, Input input) { return AddOp(scope, "Identity", {input}); }

Operation NoOp(const Scope& scope) { return AddOp(scope, "NoOp", {}); }

Output Reshape(const Scope& scope, Input tensor, Input shape) {
  return AddOp(scope, "Reshape", {tensor, shape});
}

Output Shape(const Scope& scope, Input input) { return AddOp(scope, "Shape", {input}); }

Output Fill(const Scope& scope, Input dims, Input value) {
  return AddOp(scope, "Fill", {dims, value});
}

Output ZerosLike(const Scope& scope, Input x) { return AddOp(scope, "ZerosLike", {x}); }
Output OnesLike(const Scope& scope, Input x) { return AddOp(scope, "OnesLike", {x}); }

Output ExpandDims(const Scope& scope, Input input, Input axis) {
  return AddOp(scope, "ExpandDims", {input, axis});
}

}  // namespace ops
}  // namespace dflow
