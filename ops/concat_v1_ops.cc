// The old concatenation op Concat (axis first) and ConcatOffset. Op by op: the schema, its shape
// function, its gradient and its builder.
#include "ops/concat_v1_ops.h"

#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "graph/status_macros.h"
#include "ops/array_ops.h"
#include "ops/concat_shape.h"
#include "ops/node_builder.h"
#include "ops/op_registry.h"
#include "ops/shape_inference.h"
#include "ops/slice_ops.h"

namespace dflow {

// ---------------------------------------------------------------------------------------------
// Concat

namespace {

absl::Status ConcatShape(InferenceContext* ctx) {
  const int n = ctx->num_inputs() - 1;
  if (ctx->input(0).dims() > 0) {
    return ctx->Error(absl::StrCat("concat_dim must be a scalar, got shape ",
                                   ctx->input(0).DebugString()));
  }
  DFLOW_ASSIGN_OR_RETURN(const int rank, concat::ValuesRank(ctx, 1, n));
  if (rank == 0) return ctx->Error("cannot concatenate scalars (use Pack)");
  std::optional<std::vector<int64_t>> axis = ConstInts(ctx, 0);
  if (rank < 0 || !axis || axis->size() != 1) {
    ctx->set_output(0, rank < 0 ? PartialTensorShape::Unknown()
                                : PartialTensorShape::UnknownDims(rank));
    return absl::OkStatus();
  }
  int64_t a = (*axis)[0];
  if (a < -rank || a >= rank) {
    return ctx->Error(absl::StrCat("concat_dim ", a, " is out of range [", -rank, ", ", rank,
                                   ")"));
  }
  if (a < 0) a += rank;
  return concat::SetJoinedShape(ctx, 1, n, rank, a);
}

// Value i gets Slice(dy, offset_i, shape_i), the offsets from ConcatOffset (as TensorFlow).
absl::Status ConcatGrad(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                        std::vector<Output>* grad_inputs) {
  const int n = node.num_inputs() - 1;
  grad_inputs->assign(n + 1, Output());
  std::vector<Output> shapes;
  for (int i = 1; i <= n; ++i) shapes.push_back(ops::Shape(scope, node.input(i)));
  ops::ConcatOffset offsets(scope, node.input(0), shapes);
  if (!scope.ok()) return scope.status();
  for (int i = 0; i < n; ++i) {
    (*grad_inputs)[i + 1] = ops::Slice(scope, grads[0], offsets.offset[i], shapes[i]);
  }
  return scope.status();
}

}  // namespace

REGISTER_OP("Concat")
    .Input("concat_dim: int32")
    .Input("values: N * T")
    .Output("output: T")
    .Attr("N: int >= 2")
    .Attr("T: type")
    .SetShapeFn(ConcatShape);
REGISTER_GRADIENT("Concat", ConcatGrad);

Output ops::Concat(const Scope& scope, Input concat_dim, absl::Span<const Output> values) {
  if (!scope.ok()) return Output();
  Output axis = concat_dim.ToOutput(scope);
  for (const Output& o : values) {
    if (o.node() == nullptr || axis.node() == nullptr) {
      scope.UpdateStatus(absl::InvalidArgumentError("Concat: an input is null"));
      return Output();
    }
  }
  NodeBuilder builder(scope.GetUniqueNameForOp("Concat"), "Concat");
  builder.Input(axis);
  builder.Input(std::vector<Output>(values.begin(), values.end()));
  Node* node = scope.Finalize(builder);
  return node ? Output(node, 0) : Output();
}

// ---------------------------------------------------------------------------------------------
// ConcatOffset

REGISTER_OP("ConcatOffset")
    .Input("concat_dim: int32")
    .Input("shape: N * shape_type")
    .Output("offset: N * shape_type")
    .Attr("N: int >= 2")
    .Attr("shape_type: {int32, int64} = int32")
    .SetShapeFn([](InferenceContext* ctx) {
      for (int i = 0; i < ctx->num_outputs(); ++i) ctx->set_output(i, ctx->input(i + 1));
      return absl::OkStatus();
    })
    .NotDifferentiable();

ops::ConcatOffset::ConcatOffset(const Scope& scope, Input concat_dim,
                                absl::Span<const Output> shape) {
  if (!scope.ok()) return;
  Output axis = concat_dim.ToOutput(scope);
  for (const Output& o : shape) {
    if (o.node() == nullptr || axis.node() == nullptr) {
      scope.UpdateStatus(absl::InvalidArgumentError("ConcatOffset: an input is null"));
      return;
    }
  }
  NodeBuilder builder(scope.GetUniqueNameForOp("ConcatOffset"), "ConcatOffset");
  builder.Input(axis);
  builder.Input(std::vector<Output>(shape.begin(), shape.end()));
  Node* node = scope.Finalize(builder);
  if (node == nullptr) return;
  for (int i = 0; i < node->num_outputs(); ++i) offset.push_back(Output(node, i));
}

}  // namespace dflow
