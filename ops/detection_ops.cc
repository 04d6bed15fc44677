// Detection ops: NonMaxSuppressionV2, V3 and V4. Op by op: the schema, its shape function and
// its builder. TensorFlow registers no gradient for them (their output is a set of indices).
#include "ops/detection_ops.h"

#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "graph/status_macros.h"
#include "ops/op_registry.h"
#include "ops/shape_inference.h"

namespace dflow {

namespace {

// boxes [n, 4], scores [n], every threshold (inputs 3..) a scalar; selected_indices [?].
absl::Status NmsShape(InferenceContext* ctx) {
  DFLOW_ASSIGN_OR_RETURN(PartialTensorShape boxes, ctx->WithRank(0, 2));
  DFLOW_ASSIGN_OR_RETURN(PartialTensorShape scores, ctx->WithRank(1, 1));
  DFLOW_RETURN_IF_ERROR(ctx->WithRank(2, 0).status());
  for (int i = 3; i < ctx->num_inputs(); ++i) DFLOW_RETURN_IF_ERROR(ctx->WithRank(i, 0).status());
  if (!boxes.unknown_rank() && boxes.dim_size(1) >= 0 && boxes.dim_size(1) != 4) {
    return ctx->Error(absl::StrCat("boxes must have 4 columns, got shape ", boxes.DebugString()));
  }
  const int64_t nb = boxes.unknown_rank() ? -1 : boxes.dim_size(0);
  const int64_t ns = scores.unknown_rank() ? -1 : scores.dim_size(0);
  if (nb >= 0 && ns >= 0 && nb != ns) {
    return ctx->Error(absl::StrCat("scores ", scores.DebugString(), " must have one entry per box of ",
                                   boxes.DebugString()));
  }
  ctx->set_output(0, PartialTensorShape({-1}));
  return absl::OkStatus();
}

absl::Status NmsV4Shape(InferenceContext* ctx) {
  DFLOW_RETURN_IF_ERROR(NmsShape(ctx));
  bool pad = false;
  DFLOW_RETURN_IF_ERROR(ctx->GetAttr("pad_to_max_output_size", &pad));
  if (pad) {
    std::optional<std::vector<int64_t>> max = ConstInts(ctx, 2);
    ctx->set_output(0, PartialTensorShape({max && max->size() == 1 ? (*max)[0] : -1}));
  }
  ctx->set_output(1, PartialTensorShape({}));
  return absl::OkStatus();
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// NonMaxSuppressionV2

REGISTER_OP("NonMaxSuppressionV2")
    .Input("boxes: T")
    .Input("scores: T")
    .Input("max_output_size: int32")
    .Input("iou_threshold: T_threshold")
    .Output("selected_indices: int32")
    .Attr("T: {half, float} = DT_FLOAT")
    .Attr("T_threshold: {half, float} = DT_FLOAT")
    .SetShapeFn(NmsShape)
    .NotDifferentiable();

Output ops::NonMaxSuppressionV2(const Scope& scope, Input boxes, Input scores,
                                Input max_output_size, Input iou_threshold) {
  return AddOp(scope, "NonMaxSuppressionV2", {boxes, scores, max_output_size, iou_threshold});
}

// ---------------------------------------------------------------------------------------------
// NonMaxSuppressionV3

REGISTER_OP("NonMaxSuppressionV3")
    .Input("boxes: T")
    .Input("scores: T")
    .Input("max_output_size: int32")
    .Input("iou_threshold: T_threshold")
    .Input("score_threshold: T_threshold")
    .Output("selected_indices: int32")
    .Attr("T: {half, float} = DT_FLOAT")
    .Attr("T_threshold: {half, float} = DT_FLOAT")
    .SetShapeFn(NmsShape)
    .NotDifferentiable();

Output ops::NonMaxSuppressionV3(const Scope& scope, Input boxes, Input scores,
                                Input max_output_size, Input iou_threshold,
                                Input score_threshold) {
  return AddOp(scope, "NonMaxSuppressionV3",
               {boxes, scores, max_output_size, iou_threshold, score_threshold});
}

// ---------------------------------------------------------------------------------------------
// NonMaxSuppressionV4

REGISTER_OP("NonMaxSuppressionV4")
    .Input("boxes: T")
    .Input("scores: T")
    .Input("max_output_size: int32")
    .Input("iou_threshold: T_threshold")
    .Input("score_threshold: T_threshold")
    .Output("selected_indices: int32")
    .Output("valid_outputs: int32")
    .Attr("T: {half, float} = DT_FLOAT")
    .Attr("T_threshold: {half, float} = DT_FLOAT")
    .Attr("pad_to_max_output_size: bool = false")
    .SetShapeFn(NmsV4Shape)
    .NotDifferentiable();

ops::NonMaxSuppressionV4::NonMaxSuppressionV4(const Scope& scope, Input boxes, Input scores,
                                              Input max_output_size, Input iou_threshold,
                                              Input score_threshold,
                                              bool pad_to_max_output_size) {
  Node* node = AddOp(scope, "NonMaxSuppressionV4",
                     {boxes, scores, max_output_size, iou_threshold, score_threshold},
                     {{"pad_to_max_output_size", MakeAttr(pad_to_max_output_size)}});
  if (node != nullptr) {
    selected_indices = Output(node, 0);
    valid_outputs = Output(node, 1);
  }
}

}  // namespace dflow
