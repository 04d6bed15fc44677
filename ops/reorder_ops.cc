// Ops that reorder elements: ReverseV2, ReverseSequence, DepthToSpace and SpaceToDepth. Op by
// op: the schema, its shape function, its gradient and its builder.
#include "ops/reorder_ops.h"

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "graph/status_macros.h"
#include "ops/op_registry.h"
#include "ops/shape_inference.h"

namespace dflow {

// ---------------------------------------------------------------------------------------------
// ReverseV2

namespace {

absl::Status ReverseV2Shape(InferenceContext* ctx) {
  const PartialTensorShape& in = ctx->input(0);
  const PartialTensorShape& axis_shape = ctx->input(1);
  if (axis_shape.dims() >= 0 && axis_shape.dims() != 1) {
    return ctx->Error(absl::StrCat("axis must be a vector, got shape ", axis_shape.DebugString()));
  }
  std::optional<std::vector<int64_t>> axis = ConstInts(ctx, 1);
  if (axis && !in.unknown_rank()) {
    const int rank = in.dims();
    std::vector<bool> seen(rank, false);
    for (int64_t a : *axis) {
      if (a < -rank || a >= rank) {
        return ctx->Error(absl::StrCat("'axis'[] = ", a, " is out of valid range [", -rank, ", ",
                                       rank - 1, "]"));
      }
      const int64_t d = a < 0 ? a + rank : a;
      if (seen[d]) return ctx->Error(absl::StrCat("axis ", d, " specified more than once"));
      seen[d] = true;
    }
  }
  ctx->set_output(0, in);
  return absl::OkStatus();
}

// Reversing is its own inverse: dx = ReverseV2(dy, axis).
absl::Status ReverseV2Grad(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                           std::vector<Output>* grad_inputs) {
  grad_inputs->assign(2, Output());
  (*grad_inputs)[0] = ops::ReverseV2(scope, grads[0], node.input(1));
  return scope.status();
}

}  // namespace

REGISTER_OP("ReverseV2")
    .Input("tensor: T")
    .Input("axis: Tidx")
    .Output("output: T")
    .Attr("Tidx: {int32, int64} = int32")
    .Attr("T: type")
    .SetShapeFn(ReverseV2Shape);
REGISTER_GRADIENT("ReverseV2", ReverseV2Grad);

Output ops::ReverseV2(const Scope& scope, Input tensor, Input axis) {
  return AddOp(scope, "ReverseV2", {tensor, axis});
}

// ---------------------------------------------------------------------------------------------
// ReverseSequence

namespace {

absl::Status ReverseSequenceShape(InferenceContext* ctx) {
  int64_t seq_dim = 0, batch_dim = 0;
  DFLOW_RETURN_IF_ERROR(ctx->GetAttr("seq_dim", &seq_dim));
  DFLOW_RETURN_IF_ERROR(ctx->GetAttr("batch_dim", &batch_dim));
  DFLOW_ASSIGN_OR_RETURN(PartialTensorShape lens, ctx->WithRank(1, 1));
  const PartialTensorShape& in = ctx->input(0);
  if (seq_dim < 0 || batch_dim < 0) {
    return ctx->Error(absl::StrCat("seq_dim and batch_dim must be non-negative, got ", seq_dim,
                                   " and ", batch_dim));
  }
  if (seq_dim == batch_dim) return ctx->Error(absl::StrCat("batch_dim == seq_dim == ", seq_dim));
  if (in.unknown_rank()) {
    ctx->set_output(0, in);
    return absl::OkStatus();
  }
  const int rank = in.dims();
  if (batch_dim >= rank) {
    return ctx->Error(absl::StrCat("batch_dim must be < input rank: ", batch_dim, " vs. ", rank));
  }
  if (seq_dim >= rank) {
    return ctx->Error(absl::StrCat("seq_dim must be < input rank: ", seq_dim, " vs. ", rank));
  }
  std::vector<int64_t> dims(in.dim_sizes().begin(), in.dim_sizes().end());
  const int64_t n = lens.dim_size(0);
  if (dims[batch_dim] >= 0 && n >= 0 && dims[batch_dim] != n) {
    return ctx->Error(absl::StrCat("seq_lengths has ", n, " values but dim ", batch_dim,
                                   " of the input ", in.DebugString(), " is ", dims[batch_dim]));
  }
  if (dims[batch_dim] < 0) dims[batch_dim] = n;
  ctx->set_output(0, PartialTensorShape(dims));
  return absl::OkStatus();
}

// Its own inverse for fixed lengths: dx = ReverseSequence(dy, seq_lengths).
absl::Status ReverseSequenceGrad(const Scope& scope, const Node& node,
                                 absl::Span<const Output> grads,
                                 std::vector<Output>* grad_inputs) {
  int64_t seq_dim = 0, batch_dim = 0;
  DFLOW_RETURN_IF_ERROR(GetNodeAttr(node, "seq_dim", &seq_dim));
  DFLOW_RETURN_IF_ERROR(GetNodeAttr(node, "batch_dim", &batch_dim));
  grad_inputs->assign(2, Output());
  (*grad_inputs)[0] = ops::ReverseSequence(scope, grads[0], node.input(1), seq_dim,
                                           ops::ReverseSequence::BatchDim(batch_dim));
  return scope.status();
}

}  // namespace

REGISTER_OP("ReverseSequence")
    .Input("input: T")
    .Input("seq_lengths: Tlen")
    .Output("output: T")
    .Attr("seq_dim: int")
    .Attr("batch_dim: int = 0")
    .Attr("T: type")
    .Attr("Tlen: {int32, int64} = DT_INT64")
    .SetShapeFn(ReverseSequenceShape);
REGISTER_GRADIENT("ReverseSequence", ReverseSequenceGrad);

ops::ReverseSequence::ReverseSequence(const Scope& scope, Input input, Input seq_lengths,
                                      int64_t seq_dim, const Attrs& attrs)
    : Output(AddOp(scope, "ReverseSequence", {input, seq_lengths},
                   {{"seq_dim", MakeAttr(seq_dim)}, {"batch_dim", MakeAttr(attrs.batch_dim)}})) {}

// ---------------------------------------------------------------------------------------------
// DepthToSpace, SpaceToDepth

namespace {

// to_space: DepthToSpace, else SpaceToDepth; NHWC only.
absl::Status BlockShape(InferenceContext* ctx, bool to_space) {
  int64_t b = 0;
  std::string format;
  DFLOW_RETURN_IF_ERROR(ctx->GetAttr("block_size", &b));
  DFLOW_RETURN_IF_ERROR(ctx->GetAttr("data_format", &format));
  if (b < 2) return ctx->Error(absl::StrCat("block_size must be at least 2, got ", b));
  if (format != "NHWC") {
    return ctx->Error(absl::StrCat("data_format ", format, " is not supported (only NHWC)"));
  }
  DFLOW_ASSIGN_OR_RETURN(PartialTensorShape in, ctx->WithRank(0, 4));
  std::vector<int64_t> d(in.dim_sizes().begin(), in.dim_sizes().end());
  auto scale = [](int64_t v, int64_t f) { return v < 0 ? -1 : v * f; };
  if (to_space) {
    if (d[3] >= 0 && d[3] % (b * b) != 0) {
      return ctx->Error(absl::StrCat("Dimension size must be evenly divisible by ", b * b,
                                     " but is ", d[3]));
    }
    d = {d[0], scale(d[1], b), scale(d[2], b), d[3] < 0 ? -1 : d[3] / (b * b)};
  } else {
    for (int i = 1; i <= 2; ++i) {
      if (d[i] >= 0 && d[i] % b != 0) {
        return ctx->Error(absl::StrCat("Dimension size must be evenly divisible by ", b,
                                       " but is ", d[i]));
      }
    }
    d = {d[0], d[1] < 0 ? -1 : d[1] / b, d[2] < 0 ? -1 : d[2] / b, scale(d[3], b * b)};
  }
  ctx->set_output(0, PartialTensorShape(d));
  return absl::OkStatus();
}

// The two are inverse permutations of elements, so each one's gradient is the other.
absl::Status BlockGrad(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                       std::vector<Output>* grad_inputs) {
  int64_t b = 0;
  DFLOW_RETURN_IF_ERROR(GetNodeAttr(node, "block_size", &b));
  grad_inputs->assign(1, Output());
  (*grad_inputs)[0] = node.op() == "DepthToSpace" ? ops::SpaceToDepth(scope, grads[0], b)
                                                  : ops::DepthToSpace(scope, grads[0], b);
  return scope.status();
}

}  // namespace

REGISTER_OP("DepthToSpace")
    .Input("input: T")
    .Output("output: T")
    .Attr("T: type")
    .Attr("block_size: int >= 2")
    .Attr("data_format: string = 'NHWC'")
    .SetShapeFn([](InferenceContext* ctx) { return BlockShape(ctx, true); });
REGISTER_GRADIENT("DepthToSpace", BlockGrad);

REGISTER_OP("SpaceToDepth")
    .Input("input: T")
    .Output("output: T")
    .Attr("T: type")
    .Attr("block_size: int >= 2")
    .Attr("data_format: string = 'NHWC'")
    .SetShapeFn([](InferenceContext* ctx) { return BlockShape(ctx, false); });
REGISTER_GRADIENT("SpaceToDepth", BlockGrad);

Output ops::DepthToSpace(const Scope& scope, Input input, int64_t block_size) {
  return AddOp(scope, "DepthToSpace", {input}, {{"block_size", MakeAttr(block_size)}});
}
Output ops::SpaceToDepth(const Scope& scope, Input input, int64_t block_size) {
  return AddOp(scope, "SpaceToDepth", {input}, {{"block_size", MakeAttr(block_size)}});
}

}  // namespace dflow
