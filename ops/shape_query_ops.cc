// Ops on shapes: ShapeN, Size and BroadcastTo. Op by op: the schema, its shape function, its
// gradient and its builder.
#include "ops/shape_query_ops.h"

#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "graph/status_macros.h"
#include "ops/gradients.h"
#include "ops/op_registry.h"
#include "ops/shape_inference.h"

namespace dflow {

// ---------------------------------------------------------------------------------------------
// ShapeN

REGISTER_OP("ShapeN")
    .Input("input: N * T")
    .Output("output: N * out_type")
    .Attr("N: int >= 1")
    .Attr("T: type")
    .Attr("out_type: {int32, int64} = int32")
    .SetShapeFn([](InferenceContext* ctx) {
      for (int i = 0; i < ctx->num_outputs(); ++i) {
        ctx->set_output(i, PartialTensorShape({ctx->input(i).dims()}));  // -1: rank unknown.
      }
      return absl::OkStatus();
    })
    .NotDifferentiable();

ops::ShapeN::ShapeN(const Scope& scope, absl::Span<const Output> input, DataType out_type) {
  Node* node = AddOpWithList(scope, "ShapeN", input, {}, {{"out_type", MakeAttr(out_type)}});
  if (node == nullptr) return;
  for (int i = 0; i < node->num_outputs(); ++i) output.push_back(Output(node, i));
}

// ---------------------------------------------------------------------------------------------
// Size

REGISTER_OP("Size")
    .Input("input: T")
    .Output("output: out_type")
    .Attr("T: type")
    .Attr("out_type: {int32, int64} = int32")
    .SetShapeFn(ScalarShape)
    .NotDifferentiable();

Output ops::Size(const Scope& scope, Input input, DataType out_type) {
  return AddOp(scope, "Size", {input}, {{"out_type", MakeAttr(out_type)}});
}

// ---------------------------------------------------------------------------------------------
// BroadcastTo

namespace {

absl::Status BroadcastToShape(InferenceContext* ctx) {
  const PartialTensorShape& in = ctx->input(0);
  const PartialTensorShape& s = ctx->input(1);
  if (s.dims() >= 0 && s.dims() != 1) {
    return ctx->Error(absl::StrCat("shape must be a vector, got shape ", s.DebugString()));
  }
  std::optional<std::vector<int64_t>> shape = ConstInts(ctx, 1);
  if (!shape) {
    ctx->set_output(0, ShapeOfLength(s));
    return absl::OkStatus();
  }
  for (int64_t d : *shape) {
    if (d < 0) return ctx->Error(absl::StrCat("shape has a negative dim ", d));
  }
  if (!in.unknown_rank()) {
    const int r = in.dims(), n = static_cast<int>(shape->size());
    bool ok = r <= n;
    for (int i = 0; ok && i < r; ++i) {
      const int64_t a = in.dim_size(r - 1 - i), b = (*shape)[n - 1 - i];
      ok = a < 0 || a == 1 || a == b;
    }
    if (!ok) {
      return ctx->Error(absl::StrCat("cannot broadcast ", in.DebugString(), " to ",
                                     PartialTensorShape(*shape).DebugString()));
    }
  }
  ctx->set_output(0, PartialTensorShape(*shape));
  return absl::OkStatus();
}

// dx sums dy over the broadcast axes back to x's shape.
absl::Status BroadcastToGrad(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                             std::vector<Output>* grad_inputs) {
  grad_inputs->assign(2, Output());
  (*grad_inputs)[0] = ReduceGradientToShape(scope, grads[0], node.input(0));
  return scope.status();
}

}  // namespace

REGISTER_OP("BroadcastTo")
    .Input("input: T")
    .Input("shape: Tidx")
    .Output("output: T")
    .Attr("T: type")
    .Attr("Tidx: {int32, int64} = int32")
    .SetShapeFn(BroadcastToShape);
REGISTER_GRADIENT("BroadcastTo", BroadcastToGrad);

Output ops::BroadcastTo(const Scope& scope, Input input, Input shape) {
  return AddOp(scope, "BroadcastTo", {input, shape});
}

}  // namespace dflow
