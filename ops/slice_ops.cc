// Ops that cut a tensor into pieces: Slice, Split, SplitV and Unpack. Op by op: the schema, its
// shape function, its gradient and its builder.
#include "ops/slice_ops.h"

#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "graph/status_macros.h"
#include "ops/array_ops.h"
#include "ops/math_ops.h"
#include "ops/op_registry.h"
#include "ops/pad_ops.h"
#include "ops/shape_inference.h"

namespace dflow {
namespace {

// The outputs of a node with a list output, or none when it was not built.
std::vector<Output> OutputsOf(Node* node) {
  std::vector<Output> outputs;
  if (node == nullptr) return outputs;
  for (int i = 0; i < node->num_outputs(); ++i) outputs.push_back(Output(node, i));
  return outputs;
}

// The axis of input `i` (a scalar) resolved against `rank` when both are known at graph time;
// nullopt when not, an error when out of [-rank, rank).
absl::StatusOr<std::optional<int>> ConstAxis(InferenceContext* ctx, int i, int rank) {
  if (ctx->input(i).dims() > 0) {
    return ctx->Error(absl::StrCat("axis must be a scalar, got shape ",
                                   ctx->input(i).DebugString()));
  }
  std::optional<std::vector<int64_t>> v = ConstInts(ctx, i);
  if (!v || rank < 0) return std::optional<int>();
  if (v->size() != 1) return ctx->Error("axis must hold one value");
  const int64_t a = (*v)[0];
  if (a < -rank || a >= rank) {
    return ctx->Error(absl::StrCat("axis ", a, " is out of range [", -rank, ", ", rank, ")"));
  }
  return std::optional<int>(static_cast<int>(a < 0 ? a + rank : a));
}

// The gradient of a split: the pieces' gradients joined back along the axis (input `axis_input`
// of the node) into input `value_input`'s gradient.
absl::Status SplitGradImpl(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                           int value_input, int axis_input, std::vector<Output>* grad_inputs) {
  grad_inputs->assign(node.num_inputs(), Output());
  if (grads.empty()) {
    (*grad_inputs)[value_input] = ops::ZerosLike(scope, node.input(value_input));
  } else if (grads.size() == 1) {
    (*grad_inputs)[value_input] = grads[0];
  } else {
    (*grad_inputs)[value_input] = ops::ConcatV2(scope, grads, node.input(axis_input));
  }
  return scope.status();
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Slice

namespace {

absl::Status SliceShape(InferenceContext* ctx) {
  const PartialTensorShape& in = ctx->input(0);
  for (int i = 1; i <= 2; ++i) {
    const PartialTensorShape& s = ctx->input(i);
    const char* what = i == 1 ? "begin" : "size";
    if (s.dims() >= 0 && s.dims() != 1) {
      return ctx->Error(absl::StrCat(what, " must be a vector, got shape ", s.DebugString()));
    }
    if (in.dims() >= 0 && s.dims() == 1 && s.dim_size(0) >= 0 && s.dim_size(0) != in.dims()) {
      return ctx->Error(absl::StrCat(what, " has ", s.dim_size(0), " values but the input ",
                                     in.DebugString(), " has rank ", in.dims()));
    }
  }
  std::optional<std::vector<int64_t>> begin = ConstInts(ctx, 1);
  std::optional<std::vector<int64_t>> size = ConstInts(ctx, 2);
  int rank = in.dims();
  if (rank < 0 && begin) rank = static_cast<int>(begin->size());
  if (rank < 0 && size) rank = static_cast<int>(size->size());
  if (rank < 0) {
    ctx->set_output(0, ShapeOfLength(ctx->input(1)).unknown_rank() ? ShapeOfLength(ctx->input(2))
                                                                   : ShapeOfLength(ctx->input(1)));
    return absl::OkStatus();
  }
  if ((begin && static_cast<int>(begin->size()) != rank) ||
      (size && static_cast<int>(size->size()) != rank)) {
    return ctx->Error(absl::StrCat("begin and size must each hold ", rank, " values"));
  }
  std::vector<int64_t> dims(rank, -1);
  for (int d = 0; d < rank; ++d) {
    const int64_t in_d = in.unknown_rank() ? -1 : in.dim_size(d);
    const int64_t b = begin ? (*begin)[d] : -1;
    const int64_t s = size ? (*size)[d] : -2;
    if (begin && (b < 0 || (in_d >= 0 && b > in_d))) {
      return ctx->Error(absl::StrCat("begin[", d, "] = ", b, " is out of range [0, ", in_d,
                                     "] for the input ", in.DebugString()));
    }
    if (size && s < -1) {
      return ctx->Error(absl::StrCat("size[", d, "] = ", s, " must be -1 or non-negative"));
    }
    if (s >= 0) {
      if (begin && in_d >= 0 && b + s > in_d) {
        return ctx->Error(absl::StrCat("begin[", d, "] + size[", d, "] = ", b + s,
                                       " exceeds the dim's size ", in_d, " in ",
                                       in.DebugString()));
      }
      dims[d] = s;
    } else if (s == -1 && begin && in_d >= 0) {
      dims[d] = in_d - b;
    }
  }
  ctx->set_output(0, PartialTensorShape(dims));
  return absl::OkStatus();
}

// dx is dy padded back to x's shape: begin before each dim, shape(x) - shape(y) - begin after.
absl::Status SliceGrad(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                       std::vector<Output>* grad_inputs) {
  grad_inputs->assign(3, Output());
  const Output x = node.input(0), begin = node.input(1);
  const DataType index_type = begin.type();
  Output column = ops::Pack(scope, {ops::Rank(scope, x), ops::Const(scope, 1)});
  Output before = ops::Reshape(scope, begin, column);
  Output after_values = ops::Sub(scope, ops::Sub(scope, ops::Shape(scope, x, index_type),
                                                 ops::Shape(scope, OutputOf(node, 0), index_type)),
                                 begin);
  Output after = ops::Reshape(scope, after_values, column);
  Output paddings = ops::ConcatV2(scope, {before, after}, 1);
  (*grad_inputs)[0] = ops::Pad(scope, grads[0], paddings);
  return scope.status();
}

}  // namespace

REGISTER_OP("Slice")
    .Input("input: T")
    .Input("begin: Index")
    .Input("size: Index")
    .Output("output: T")
    .Attr("T: type")
    .Attr("Index: {int32, int64}")
    .SetShapeFn(SliceShape);
REGISTER_GRADIENT("Slice", SliceGrad);

Output ops::Slice(const Scope& scope, Input input, Input begin, Input size) {
  return AddOp(scope, "Slice", {input, begin, size});
}

// ---------------------------------------------------------------------------------------------
// Split

namespace {

absl::Status SplitShape(InferenceContext* ctx) {
  int64_t num_split = 0;
  DFLOW_RETURN_IF_ERROR(ctx->GetAttr("num_split", &num_split));
  if (num_split < 1) return ctx->Error("num_split must be at least 1");
  const PartialTensorShape& in = ctx->input(1);
  DFLOW_ASSIGN_OR_RETURN(std::optional<int> axis, ConstAxis(ctx, 0, in.dims()));
  PartialTensorShape out = in.unknown_rank() ? in : PartialTensorShape::UnknownDims(in.dims());
  if (axis) {
    std::vector<int64_t> dims(in.dim_sizes().begin(), in.dim_sizes().end());
    if (dims[*axis] >= 0) {
      if (dims[*axis] % num_split != 0) {
        return ctx->Error(absl::StrCat(
            "Number of ways to split should evenly divide the split dimension, but got split_dim ",
            *axis, " (size = ", dims[*axis], ") and num_split ", num_split));
      }
      dims[*axis] /= num_split;
    }
    out = PartialTensorShape(dims);
  }
  for (int i = 0; i < ctx->num_outputs(); ++i) ctx->set_output(i, out);
  return absl::OkStatus();
}

// dvalue = ConcatV2(dy_0, ..., dy_n-1, split_dim).
absl::Status SplitGrad(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                       std::vector<Output>* grad_inputs) {
  return SplitGradImpl(scope, node, grads, 1, 0, grad_inputs);
}

}  // namespace

REGISTER_OP("Split")
    .Input("split_dim: int32")
    .Input("value: T")
    .Output("output: num_split * T")
    .Attr("num_split: int >= 1")
    .Attr("T: type")
    .SetShapeFn(SplitShape);
REGISTER_GRADIENT("Split", SplitGrad);

ops::Split::Split(const Scope& scope, Input axis, Input value, int64_t num_split)
    : output(OutputsOf(AddOp(scope, "Split", {axis, value},
                             {{"num_split", MakeAttr(num_split)}}))) {}

// ---------------------------------------------------------------------------------------------
// SplitV

namespace {

absl::Status SplitVShape(InferenceContext* ctx) {
  int64_t num_split = 0;
  DFLOW_RETURN_IF_ERROR(ctx->GetAttr("num_split", &num_split));
  if (num_split < 1) return ctx->Error("num_split must be at least 1");
  const PartialTensorShape& in = ctx->input(0);
  const PartialTensorShape& sizes_shape = ctx->input(1);
  if (sizes_shape.dims() >= 0 && sizes_shape.dims() != 1) {
    return ctx->Error(absl::StrCat("size_splits must be a vector, got shape ",
                                   sizes_shape.DebugString()));
  }
  if (sizes_shape.dims() == 1 && sizes_shape.dim_size(0) >= 0 &&
      sizes_shape.dim_size(0) != num_split) {
    return ctx->Error(absl::StrCat("size_splits has ", sizes_shape.dim_size(0),
                                   " values but num_split is ", num_split));
  }
  DFLOW_ASSIGN_OR_RETURN(std::optional<int> axis, ConstAxis(ctx, 2, in.dims()));
  std::optional<std::vector<int64_t>> sizes = ConstInts(ctx, 1);
  const PartialTensorShape unknown =
      in.unknown_rank() ? in : PartialTensorShape::UnknownDims(in.dims());
  if (!axis) {
    for (int i = 0; i < ctx->num_outputs(); ++i) ctx->set_output(i, unknown);
    return absl::OkStatus();
  }
  std::vector<int64_t> dims(in.dim_sizes().begin(), in.dim_sizes().end());
  if (!sizes) {
    dims[*axis] = -1;
    for (int i = 0; i < ctx->num_outputs(); ++i) ctx->set_output(i, PartialTensorShape(dims));
    return absl::OkStatus();
  }
  int inferred = -1;
  int64_t total = 0;
  for (int i = 0; i < static_cast<int>(sizes->size()); ++i) {
    const int64_t s = (*sizes)[i];
    if (s == -1) {
      if (inferred >= 0) return ctx->Error("size_splits may hold only one -1");
      inferred = i;
    } else if (s < 0) {
      return ctx->Error(absl::StrCat("size_splits[", i, "] = ", s, " is negative"));
    } else {
      total += s;
    }
  }
  const int64_t dim = in.dim_size(*axis);
  if (dim >= 0) {
    if ((inferred < 0 && total != dim) || (inferred >= 0 && total > dim)) {
      return ctx->Error(absl::StrCat("the size_splits sum to ", total,
                                     " but the split dimension has size ", dim));
    }
  }
  for (int i = 0; i < ctx->num_outputs(); ++i) {
    int64_t s = (*sizes)[i];
    if (i == inferred) s = dim >= 0 ? dim - total : -1;
    dims[*axis] = s;
    ctx->set_output(i, PartialTensorShape(dims));
  }
  return absl::OkStatus();
}

// dvalue = ConcatV2(dy_0, ..., dy_n-1, split_dim).
absl::Status SplitVGrad(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                        std::vector<Output>* grad_inputs) {
  return SplitGradImpl(scope, node, grads, 0, 2, grad_inputs);
}

}  // namespace

REGISTER_OP("SplitV")
    .Input("value: T")
    .Input("size_splits: Tlen")
    .Input("split_dim: int32")
    .Output("output: num_split * T")
    .Attr("num_split: int >= 1")
    .Attr("T: type")
    .Attr("Tlen: {int32, int64} = DT_INT64")
    .SetShapeFn(SplitVShape);
REGISTER_GRADIENT("SplitV", SplitVGrad);

ops::SplitV::SplitV(const Scope& scope, Input value, Input size_splits, Input axis,
                    int64_t num_split)
    : output(OutputsOf(AddOp(scope, "SplitV", {value, size_splits, axis},
                             {{"num_split", MakeAttr(num_split)}}))) {}

// ---------------------------------------------------------------------------------------------
// Unpack

namespace {

absl::Status UnpackShape(InferenceContext* ctx) {
  int64_t num = 0, axis = 0;
  DFLOW_RETURN_IF_ERROR(ctx->GetAttr("num", &num));
  DFLOW_RETURN_IF_ERROR(ctx->GetAttr("axis", &axis));
  const PartialTensorShape& in = ctx->input(0);
  PartialTensorShape out = in;
  if (!in.unknown_rank()) {
    const int rank = in.dims();
    if (axis < -rank || axis >= rank) {
      return ctx->Error(absl::StrCat("axis ", axis, " is out of range [", -rank, ", ", rank,
                                     ") for the input ", in.DebugString()));
    }
    if (axis < 0) axis += rank;
    std::vector<int64_t> dims(in.dim_sizes().begin(), in.dim_sizes().end());
    if (dims[axis] >= 0 && dims[axis] != num) {
      return ctx->Error(absl::StrCat("the input ", in.DebugString(), " has ", dims[axis],
                                     " values along axis ", axis, " but num is ", num));
    }
    dims.erase(dims.begin() + axis);
    out = PartialTensorShape(dims);
  }
  for (int i = 0; i < ctx->num_outputs(); ++i) ctx->set_output(i, out);
  return absl::OkStatus();
}

// dvalue = Pack(dy_0, ..., dy_num-1, axis).
absl::Status UnpackGrad(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                        std::vector<Output>* grad_inputs) {
  int64_t axis = 0;
  DFLOW_RETURN_IF_ERROR(GetNodeAttr(node, "axis", &axis));
  grad_inputs->assign(1, Output());
  (*grad_inputs)[0] = grads.empty() ? ops::ZerosLike(scope, node.input(0))
                                    : ops::Pack(scope, grads, ops::Pack::Axis(axis));
  return scope.status();
}

}  // namespace

REGISTER_OP("Unpack")
    .Input("value: T")
    .Output("output: num * T")
    .Attr("num: int >= 0")
    .Attr("T: type")
    .Attr("axis: int = 0")
    .SetShapeFn(UnpackShape);
REGISTER_GRADIENT("Unpack", UnpackGrad);

ops::Unstack::Unstack(const Scope& scope, Input value, int64_t num, const Attrs& attrs)
    : output(OutputsOf(AddOp(scope, "Unpack", {value},
                             {{"num", MakeAttr(num)}, {"axis", MakeAttr(attrs.axis)}}))) {}

}  // namespace dflow
