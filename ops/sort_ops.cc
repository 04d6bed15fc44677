// Ops that rank or find elements: TopKV2 and Where. Op by op: the schema, its shape function,
// its gradient and its builder.
#include "ops/sort_ops.h"

#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "graph/status_macros.h"
#include "ops/array_ops.h"
#include "ops/gather_ops.h"
#include "ops/math_ops.h"
#include "ops/op_registry.h"
#include "ops/shape_inference.h"
#include "ops/shape_query_ops.h"

namespace dflow {

// ---------------------------------------------------------------------------------------------
// TopKV2

namespace {

absl::Status TopKShape(InferenceContext* ctx) {
  const PartialTensorShape& in = ctx->input(0);
  if (ctx->input(1).dims() > 0) {
    return ctx->Error(absl::StrCat("k must be a scalar, got shape ", ctx->input(1).DebugString()));
  }
  if (in.dims() == 0) return ctx->Error("input must be at least 1-D");
  int64_t k = -1;
  std::optional<std::vector<int64_t>> kv = ConstInts(ctx, 1);
  if (kv && kv->size() == 1) {
    k = (*kv)[0];
    if (k < 0) return ctx->Error(absl::StrCat("Need k >= 0, got ", k));
  }
  if (in.unknown_rank()) {
    ctx->set_output(0, in);
    ctx->set_output(1, in);
    return absl::OkStatus();
  }
  std::vector<int64_t> dims(in.dim_sizes().begin(), in.dim_sizes().end());
  if (k >= 0 && dims.back() >= 0 && dims.back() < k) {
    return ctx->Error(absl::StrCat("input must have last dimension >= k = ", k, " but is ",
                                   dims.back()));
  }
  dims.back() = k;
  ctx->set_output(0, PartialTensorShape(dims));
  ctx->set_output(1, PartialTensorShape(dims));
  return absl::OkStatus();
}

// Each value's gradient goes back to the element it came from: the indices, offset by row into
// the flattened input, scatter dvalues into zeros of the input's shape.
absl::Status TopKGrad(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                      std::vector<Output>* grad_inputs) {
  grad_inputs->assign(2, Output());
  const Output x = node.input(0);
  const Output k = ops::Cast(scope, node.input(1), DT_INT32);
  const Output indices = ops::Cast(scope, OutputOf(node, 1), DT_INT32);
  Output in_shape = ops::Shape(scope, x);
  Output last = ops::GatherV2(scope, in_shape, ops::Sub(scope, ops::Rank(scope, x), 1), 0);
  Output ind_2d = ops::Reshape(scope, indices, ops::Pack(scope, {ops::Const(scope, -1), k}));
  Output rows = ops::GatherV2(scope, ops::Shape(scope, ind_2d), 0, 0);
  Output row_starts =
      ops::ExpandDims(scope, ops::Range(scope, 0, ops::Mul(scope, rows, last), last), -1);
  Output flat = ops::Reshape(scope, ops::Add(scope, ind_2d, row_starts), {-1});
  Output scattered =
      ops::ScatterNd(scope, ops::ExpandDims(scope, flat, -1), ops::Reshape(scope, grads[0], {-1}),
                     ops::Reshape(scope, ops::Size(scope, x), {1}));
  (*grad_inputs)[0] = ops::Reshape(scope, scattered, in_shape);
  return scope.status();
}

}  // namespace

REGISTER_OP("TopKV2")
    .Input("input: T")
    .Input("k: Tk")
    .Output("values: T")
    .Output("indices: index_type")
    .Attr("sorted: bool = true")
    .Attr("T: {float, double, int32, int64, uint8}")
    .Attr("Tk: {int32, int64} = int32")
    .Attr("index_type: {int32, int64} = int32")
    .SetShapeFn(TopKShape);
REGISTER_GRADIENT("TopKV2", TopKGrad);

ops::TopK::TopK(const Scope& scope, Input input, Input k, const Attrs& attrs) {
  Node* node = AddOp(scope, "TopKV2", {input, k}, {{"sorted", MakeAttr(attrs.sorted)}});
  if (node != nullptr) {
    values = Output(node, 0);
    indices = Output(node, 1);
  }
}

// ---------------------------------------------------------------------------------------------
// Where

REGISTER_OP("Where")
    .Input("input: T")
    .Output("index: int64")
    .Attr("T: {float, double, int32, int64, uint8, bool} = DT_BOOL")
    .SetShapeFn([](InferenceContext* ctx) {
      ctx->set_output(0, PartialTensorShape({-1, ctx->input(0).dims()}));
      return absl::OkStatus();
    })
    .NotDifferentiable();

Output ops::Where(const Scope& scope, Input condition) {
  return AddOp(scope, "Where", {condition});
}

}  // namespace dflow
