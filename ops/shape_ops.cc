// Ops that rearrange a tensor's elements into another shape: Reshape, ExpandDims, Squeeze and
// Tile. Op by op: the schema, its shape function, its gradient and its builder.
#include "ops/shape_ops.h"

#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "graph/status_macros.h"
#include "ops/array_ops.h"
#include "ops/math_ops.h"
#include "ops/op_registry.h"
#include "ops/shape_inference.h"

namespace dflow {
namespace {

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

// ---------------------------------------------------------------------------------------------
// Reshape

namespace {

absl::Status ReshapeShape(InferenceContext* ctx) {
  const PartialTensorShape& in = ctx->input(0);
  const Tensor* shape_t = ctx->input_tensor(1);
  if (shape_t == nullptr) {
    ctx->set_output(0, ShapeOfLength(ctx->input(1)));
    return absl::OkStatus();
  }
  if (shape_t->dims() > 1) return ctx->Error("shape must be a vector");
  IntList dims = IntValues(*shape_t, "shape").value_or(IntList{});
  int unknown = -1;
  std::vector<int64_t> known_dims;
  for (size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] == -1) {
      if (unknown >= 0) return ctx->Error("shape has more than one -1");
      unknown = static_cast<int>(i);
    } else if (dims[i] < 0) {
      return ctx->Error(absl::StrCat("shape has a negative dimension ", dims[i]));
    } else {
      known_dims.push_back(dims[i]);
    }
  }
  const int64_t known = CheckedNumElements(known_dims);
  if (known < 0) return ctx->Error("shape has too many elements");
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

}  // namespace

REGISTER_OP("Reshape")
    .Input("tensor: T")
    .Input("shape: Tshape")
    .Output("output: T")
    .Attr("T: type")
    .Attr("Tshape: {int32, int64} = int32")
    .SetShapeFn(ReshapeShape);
REGISTER_GRADIENT("Reshape", ReshapeBackGrad);

Output ops::Reshape(const Scope& scope, Input tensor, Input shape) {
  return AddOp(scope, "Reshape", {tensor, shape});
}

// ---------------------------------------------------------------------------------------------
// ExpandDims

namespace {

absl::Status ExpandDimsShape(InferenceContext* ctx) {
  const PartialTensorShape& in = ctx->input(0);
  const Tensor* axis_t = ctx->input_tensor(1);
  if (axis_t == nullptr || in.unknown_rank()) {
    ctx->set_output(0, in.unknown_rank() ? in : PartialTensorShape::UnknownDims(in.dims() + 1));
    return absl::OkStatus();
  }
  IntList axis = IntValues(*axis_t, "dim").value_or(IntList{});
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

}  // namespace

REGISTER_OP("ExpandDims")
    .Input("input: T")
    .Input("dim: Tdim")
    .Output("output: T")
    .Attr("T: type")
    .Attr("Tdim: {int32, int64} = int32")
    .SetShapeFn(ExpandDimsShape);
REGISTER_GRADIENT("ExpandDims", ReshapeBackGrad);

Output ops::ExpandDims(const Scope& scope, Input input, Input axis) {
  return AddOp(scope, "ExpandDims", {input, axis});
}

// ---------------------------------------------------------------------------------------------
// Squeeze

namespace {

absl::Status SqueezeShape(InferenceContext* ctx) {
  std::vector<int64_t> axes;
  DFLOW_RETURN_IF_ERROR(ctx->GetAttr("squeeze_dims", &axes));
  const PartialTensorShape& in = ctx->input(0);
  if (in.unknown_rank()) {
    ctx->set_output(0, PartialTensorShape::Unknown());
    return absl::OkStatus();
  }
  const int rank = in.dims();
  std::vector<bool> squeeze(rank, false);
  for (int64_t a : axes) {
    if (a < -rank || a >= rank) {
      return ctx->Error(absl::StrCat("squeeze dim ", a, " is out of range for shape ",
                                     in.DebugString()));
    }
    const int d = static_cast<int>(a < 0 ? a + rank : a);
    if (in.dim_size(d) >= 0 && in.dim_size(d) != 1) {
      return ctx->Error(absl::StrCat("cannot squeeze dim ", d, " of shape ", in.DebugString(),
                                     ": its size is not 1"));
    }
    squeeze[d] = true;
  }
  std::vector<int64_t> dims;
  for (int d = 0; d < rank; ++d) {
    const int64_t size = in.dim_size(d);
    if (axes.empty()) {
      if (size < 0) {  // It may or may not be 1.
        ctx->set_output(0, PartialTensorShape::Unknown());
        return absl::OkStatus();
      }
      if (size != 1) dims.push_back(size);
    } else if (!squeeze[d]) {
      dims.push_back(size);
    }
  }
  ctx->set_output(0, PartialTensorShape(dims));
  return absl::OkStatus();
}

}  // namespace

REGISTER_OP("Squeeze")
    .Input("input: T")
    .Output("output: T")
    .Attr("T: type")
    .Attr("squeeze_dims: list(int) >= 0 = []")
    .SetShapeFn(SqueezeShape);
REGISTER_GRADIENT("Squeeze", ReshapeBackGrad);

ops::Squeeze::Squeeze(const Scope& scope, Input input, const Attrs& attrs)
    : Output(AddOp(scope, "Squeeze", {input}, {{"squeeze_dims", MakeAttr(attrs.squeeze_dims)}})) {}

// ---------------------------------------------------------------------------------------------
// Tile

namespace {

absl::Status TileShape(InferenceContext* ctx) {
  const PartialTensorShape& in = ctx->input(0);
  const PartialTensorShape& m_shape = ctx->input(1);
  if (m_shape.dims() > 1 || m_shape.dims() == 0) {
    return ctx->Error(absl::StrCat("multiples must be a vector, got shape ",
                                   m_shape.DebugString()));
  }
  if (!in.unknown_rank() && m_shape.dims() == 1 && m_shape.dim_size(0) >= 0 &&
      m_shape.dim_size(0) != in.dims()) {
    return ctx->Error(absl::StrCat("multiples has ", m_shape.dim_size(0),
                                   " values but the input ", in.DebugString(), " has rank ",
                                   in.dims()));
  }
  std::optional<std::vector<int64_t>> m = ConstInts(ctx, 1);
  if (!m) {
    if (!in.unknown_rank()) {
      ctx->set_output(0, PartialTensorShape::UnknownDims(in.dims()));
    } else if (m_shape.dims() == 1 && m_shape.dim_size(0) >= 0) {
      ctx->set_output(0, PartialTensorShape::UnknownDims(static_cast<int>(m_shape.dim_size(0))));
    } else {
      ctx->set_output(0, PartialTensorShape::Unknown());
    }
    return absl::OkStatus();
  }
  for (int64_t v : *m) {
    if (v < 0) return ctx->Error(absl::StrCat("multiples has a negative value ", v));
  }
  std::vector<int64_t> dims(m->size(), -1);
  for (size_t d = 0; d < m->size(); ++d) {
    if (!in.unknown_rank() && in.dim_size(static_cast<int>(d)) >= 0) {
      if (__builtin_mul_overflow(in.dim_size(static_cast<int>(d)), (*m)[d], &dims[d])) {
        return ctx->Error("tiling by these multiples overflows");
      }
    } else if ((*m)[d] == 0) {
      dims[d] = 0;
    }
  }
  ctx->set_output(0, PartialTensorShape(dims));
  return absl::OkStatus();
}

// y = Tile(x, m) seen as [m0, d0, m1, d1, ...] (row-major: tile index before element index
// in each dim); dx sums the gradient over the tile axes 0, 2, 4, ...
absl::Status TileGrad(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                      std::vector<Output>* grad_inputs) {
  grad_inputs->assign(2, Output());
  const Output x = node.input(0), multiples = node.input(1);
  Output pairs = ops::Pack(scope, {multiples, ops::Shape(scope, x, multiples.type())},
                           ops::Pack::Axis(1));  // [[m0, d0], [m1, d1], ...]
  Output split = ops::Reshape(scope, grads[0], ops::Reshape(scope, pairs, {-1}));
  Output tile_axes = ops::Range(scope, 0, ops::Mul(scope, ops::Rank(scope, x), 2), 2);
  Output summed = ops::Sum(scope, split, tile_axes);
  (*grad_inputs)[0] = ops::Reshape(scope, summed, ops::Shape(scope, x));
  return scope.status();
}

}  // namespace

REGISTER_OP("Tile")
    .Input("input: T")
    .Input("multiples: Tmultiples")
    .Output("output: T")
    .Attr("T: type")
    .Attr("Tmultiples: {int32, int64} = int32")
    .SetShapeFn(TileShape);
REGISTER_GRADIENT("Tile", TileGrad);

Output ops::Tile(const Scope& scope, Input input, Input multiples) {
  return AddOp(scope, "Tile", {input, multiples});
}

}  // namespace dflow
