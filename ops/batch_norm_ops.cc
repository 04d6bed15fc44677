// Fused batch normalization ops: FusedBatchNorm, FusedBatchNormV2, FusedBatchNormV3 and their
// gradients FusedBatchNormGrad / V2 / V3. Op by op: the schema, its shape function, its gradient
// and its builder.
#include "ops/batch_norm_ops.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "graph/status_macros.h"
#include "ops/op_registry.h"
#include "ops/shape_inference.h"

namespace dflow {
namespace batch_norm {

absl::StatusOr<Layout> ParseDataFormat(const std::string& format, bool allow_3d) {
  if (format == "NHWC") return Layout{4, true};
  if (format == "NCHW") return Layout{4, false};
  if (allow_3d && format == "NDHWC") return Layout{5, true};
  if (allow_3d && format == "NCDHW") return Layout{5, false};
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown data_format '", format, "'; expected 'NHWC' or 'NCHW'",
      allow_3d ? " ('NDHWC' or 'NCDHW' for 5-D inputs)" : ""));
}

}  // namespace batch_norm

namespace {

using batch_norm::Layout;

absl::StatusOr<Layout> ReadLayout(InferenceContext* ctx, bool allow_3d) {
  std::string format;
  DFLOW_RETURN_IF_ERROR(ctx->GetAttr("data_format", &format));
  absl::StatusOr<Layout> layout = batch_norm::ParseDataFormat(format, allow_3d);
  if (!layout.ok()) return ctx->Error(layout.status().message());
  return layout;
}

// Input i as an image of the layout's rank (unknown dims when its rank is unknown).
absl::StatusOr<PartialTensorShape> Image(InferenceContext* ctx, int i, absl::string_view what,
                                         const Layout& layout) {
  const PartialTensorShape& s = ctx->input(i);
  if (s.unknown_rank()) return PartialTensorShape::UnknownDims(layout.rank);
  if (s.dims() != layout.rank) {
    return ctx->Error(absl::StrCat(what, " must be ", layout.rank, "-D but has shape ",
                                   s.DebugString()));
  }
  return s;
}

// Merges the channel count `c` (-1 = unknown) with the length of vector input i.
absl::StatusOr<int64_t> MergeVector(InferenceContext* ctx, int i, absl::string_view what,
                                    int64_t c) {
  const PartialTensorShape& s = ctx->input(i);
  if (s.unknown_rank()) return c;
  if (s.dims() != 1) {
    return ctx->Error(absl::StrCat(what, " must be 1-D but has shape ", s.DebugString()));
  }
  const int64_t n = s.dim_size(0);
  if (n < 0) return c;
  if (c >= 0 && n != c) {
    return ctx->Error(absl::StrCat(what, " must have one element per channel of x: ", n,
                                   " vs. ", c));
  }
  return n;
}

PartialTensorShape WithChannels(PartialTensorShape s, const Layout& layout, int64_t c) {
  std::vector<int64_t> dims(s.dims());
  for (int d = 0; d < s.dims(); ++d) dims[d] = s.dim_size(d);
  dims[layout.ChannelAxis()] = c;
  return PartialTensorShape(absl::MakeConstSpan(dims));
}

absl::Status ForwardShape(InferenceContext* ctx, bool v3) {
  DFLOW_ASSIGN_OR_RETURN(Layout layout, ReadLayout(ctx, v3));
  bool is_training = true;
  float factor = 1.0f;
  DFLOW_RETURN_IF_ERROR(ctx->GetAttr("is_training", &is_training));
  DFLOW_RETURN_IF_ERROR(ctx->GetAttr("exponential_avg_factor", &factor));
  DFLOW_ASSIGN_OR_RETURN(PartialTensorShape x, Image(ctx, 0, "x", layout));
  int64_t c = x.dim_size(layout.ChannelAxis());
  DFLOW_ASSIGN_OR_RETURN(c, MergeVector(ctx, 1, "scale", c));
  DFLOW_ASSIGN_OR_RETURN(c, MergeVector(ctx, 2, "offset", c));
  if (!is_training || factor != 1.0f) {  // Only then are mean and variance read.
    DFLOW_ASSIGN_OR_RETURN(c, MergeVector(ctx, 3, "mean", c));
    DFLOW_ASSIGN_OR_RETURN(c, MergeVector(ctx, 4, "variance", c));
  }
  ctx->set_output(0, WithChannels(x, layout, c));
  for (int i = 1; i <= 4; ++i) ctx->set_output(i, PartialTensorShape({c}));
  if (v3) ctx->set_output(5, PartialTensorShape());  // TensorFlow leaves it unknown.
  return absl::OkStatus();
}

absl::Status GradShape(InferenceContext* ctx, bool v3) {
  DFLOW_ASSIGN_OR_RETURN(Layout layout, ReadLayout(ctx, v3));
  DFLOW_ASSIGN_OR_RETURN(PartialTensorShape dy, Image(ctx, 0, "y_backprop", layout));
  DFLOW_ASSIGN_OR_RETURN(PartialTensorShape x, Image(ctx, 1, "x", layout));
  absl::StatusOr<PartialTensorShape> merged = x.Merge(dy);
  if (!merged.ok()) {
    return ctx->Error(absl::StrCat("x ", x.DebugString(), " and y_backprop ", dy.DebugString(),
                                   " must have the same shape"));
  }
  int64_t c = merged->dim_size(layout.ChannelAxis());
  DFLOW_ASSIGN_OR_RETURN(c, MergeVector(ctx, 2, "scale", c));
  DFLOW_ASSIGN_OR_RETURN(c, MergeVector(ctx, 3, "reserve_space_1", c));
  DFLOW_ASSIGN_OR_RETURN(c, MergeVector(ctx, 4, "reserve_space_2", c));
  ctx->set_output(0, WithChannels(*merged, layout, c));
  ctx->set_output(1, PartialTensorShape({c}));
  ctx->set_output(2, PartialTensorShape({c}));
  ctx->set_output(3, PartialTensorShape({0}));
  ctx->set_output(4, PartialTensorShape({0}));
  return absl::OkStatus();
}

AttrMap ForwardAttrMap(const ops::FusedBatchNormAttrs& a) {
  return {{"epsilon", MakeAttr(a.epsilon)},
          {"exponential_avg_factor", MakeAttr(a.exponential_avg_factor)},
          {"data_format", MakeAttr(a.data_format)},
          {"is_training", MakeAttr(a.is_training)}};
}

AttrMap GradAttrMap(const ops::FusedBatchNormAttrs& a) {
  return {{"epsilon", MakeAttr(a.epsilon)},
          {"data_format", MakeAttr(a.data_format)},
          {"is_training", MakeAttr(a.is_training)}};
}

// The gradient of every forward version through its own grad op. Training: y depends on x
// through the batch statistics too, which the grad op accounts for given the saved batch mean
// and variance (reserve_space_1 / 2); inference: the statistics are the inputs mean and
// variance, constants for x. mean and variance get no gradient (as in TensorFlow), nor do the
// statistics outputs pass one back.
template <int kVersion>
absl::Status ForwardGrad(const Scope& scope, const Node& node,
                         absl::Span<const Output> grad_outputs,
                         std::vector<Output>* grad_inputs) {
  grad_inputs->assign(5, Output());
  ops::FusedBatchNormAttrs a;
  GetNodeAttr(node, "epsilon", &a.epsilon).IgnoreError();
  GetNodeAttr(node, "data_format", &a.data_format).IgnoreError();
  GetNodeAttr(node, "is_training", &a.is_training).IgnoreError();
  const Output& g = grad_outputs[0];
  const Output mean = a.is_training ? OutputOf(node, 3) : node.input(3);
  const Output var = a.is_training ? OutputOf(node, 4) : node.input(4);
  auto assign = [&](const ops::FusedBatchNormGrad& grad) {
    (*grad_inputs)[0] = grad.x_backprop;
    (*grad_inputs)[1] = grad.scale_backprop;
    (*grad_inputs)[2] = grad.offset_backprop;
  };
  if (kVersion == 1) {
    assign(ops::FusedBatchNormGrad(scope, g, node.input(0), node.input(1), mean, var, a));
  } else if (kVersion == 2) {
    assign(ops::FusedBatchNormGradV2(scope, g, node.input(0), node.input(1), mean, var, a));
  } else {
    assign(ops::FusedBatchNormGradV3(scope, g, node.input(0), node.input(1), mean, var,
                                     OutputOf(node, 5), a));
  }
  return scope.status();
}

constexpr absl::string_view kForwardAttrs[] = {
    "epsilon: float = 0.0001",
    "exponential_avg_factor: float = 1.0",
    "data_format: string = 'NHWC'",
    "is_training: bool = true",
};
constexpr absl::string_view kGradAttrs[] = {
    "epsilon: float = 0.0001",
    "data_format: string = 'NHWC'",
    "is_training: bool = true",
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// FusedBatchNorm, FusedBatchNormV2, FusedBatchNormV3

REGISTER_OP("FusedBatchNorm")
    .Input("x: T")
    .Input("scale: T")
    .Input("offset: T")
    .Input("mean: T")
    .Input("variance: T")
    .Output("y: T")
    .Output("batch_mean: T")
    .Output("batch_variance: T")
    .Output("reserve_space_1: T")
    .Output("reserve_space_2: T")
    .Attr("T: {float}")
    .Attrs(kForwardAttrs)
    .SetShapeFn([](InferenceContext* ctx) { return ForwardShape(ctx, false); });
REGISTER_GRADIENT("FusedBatchNorm", ForwardGrad<1>);

// FusedBatchNormV2's and V3's inputs and outputs (V3 adds reserve_space_3 after them).
#define DFLOW_FUSED_BATCH_NORM_MIXED_OP(name) \
  REGISTER_OP(name)                           \
      .Input("x: T")                          \
      .Input("scale: U")                      \
      .Input("offset: U")                     \
      .Input("mean: U")                       \
      .Input("variance: U")                   \
      .Output("y: T")                         \
      .Output("batch_mean: U")                \
      .Output("batch_variance: U")            \
      .Output("reserve_space_1: U")           \
      .Output("reserve_space_2: U")

DFLOW_FUSED_BATCH_NORM_MIXED_OP("FusedBatchNormV2")
    .Attr("T: {float}")
    .Attr("U: {float}")
    .Attrs(kForwardAttrs)
    .SetShapeFn([](InferenceContext* ctx) { return ForwardShape(ctx, false); });
REGISTER_GRADIENT("FusedBatchNormV2", ForwardGrad<2>);

DFLOW_FUSED_BATCH_NORM_MIXED_OP("FusedBatchNormV3")
    .Output("reserve_space_3: U")
    .Attr("T: {float}")
    .Attr("U: {float}")
    .Attrs(kForwardAttrs)
    .SetShapeFn([](InferenceContext* ctx) { return ForwardShape(ctx, true); });
REGISTER_GRADIENT("FusedBatchNormV3", ForwardGrad<3>);

ops::FusedBatchNorm::FusedBatchNorm(absl::string_view op, const Scope& scope, Input x,
                                    Input scale, Input offset, Input mean, Input variance,
                                    const FusedBatchNormAttrs& attrs) {
  Node* node = AddOp(scope, op, {x, scale, offset, mean, variance}, ForwardAttrMap(attrs));
  if (node == nullptr) return;
  operation = Operation(node);
  y = Output(node, 0);
  batch_mean = Output(node, 1);
  batch_variance = Output(node, 2);
  reserve_space_1 = Output(node, 3);
  reserve_space_2 = Output(node, 4);
}
ops::FusedBatchNorm::FusedBatchNorm(const Scope& scope, Input x, Input scale, Input offset,
                                    Input mean, Input variance, const FusedBatchNormAttrs& attrs)
    : FusedBatchNorm("FusedBatchNorm", scope, x, scale, offset, mean, variance, attrs) {}
ops::FusedBatchNormV2::FusedBatchNormV2(const Scope& scope, Input x, Input scale, Input offset,
                                        Input mean, Input variance,
                                        const FusedBatchNormAttrs& attrs)
    : FusedBatchNorm("FusedBatchNormV2", scope, x, scale, offset, mean, variance, attrs) {}
ops::FusedBatchNormV3::FusedBatchNormV3(const Scope& scope, Input x, Input scale, Input offset,
                                        Input mean, Input variance,
                                        const FusedBatchNormAttrs& attrs)
    : FusedBatchNorm("FusedBatchNormV3", scope, x, scale, offset, mean, variance, attrs) {
  if (operation.node() != nullptr) reserve_space_3 = Output(operation.node(), 5);
}

// ---------------------------------------------------------------------------------------------
// FusedBatchNormGrad, FusedBatchNormGradV2, FusedBatchNormGradV3

namespace {

// TensorFlow's second-order gradient (differentiating the unfused formula) is not implemented
// yet: differentiating through a grad op fails, naming it, rather than passing zeros.
absl::Status GradGradUnimplemented(const Scope& scope, const Node& node,
                                   absl::Span<const Output> grad_outputs,
                                   std::vector<Output>* grad_inputs) {
  return absl::UnimplementedError(absl::StrCat(
      "the gradient of ", node.op(), " (a second-order batch norm gradient) is not implemented; "
      "node '", node.name(), "'"));
}

}  // namespace

REGISTER_OP("FusedBatchNormGrad")
    .Input("y_backprop: T")
    .Input("x: T")
    .Input("scale: T")
    .Input("reserve_space_1: T")
    .Input("reserve_space_2: T")
    .Output("x_backprop: T")
    .Output("scale_backprop: T")
    .Output("offset_backprop: T")
    .Output("reserve_space_3: T")
    .Output("reserve_space_4: T")
    .Attr("T: {float}")
    .Attrs(kGradAttrs)
    .SetShapeFn([](InferenceContext* ctx) { return GradShape(ctx, false); });
REGISTER_GRADIENT("FusedBatchNormGrad", GradGradUnimplemented);

REGISTER_OP("FusedBatchNormGradV2")
    .Input("y_backprop: T")
    .Input("x: T")
    .Input("scale: float")
    .Input("reserve_space_1: U")
    .Input("reserve_space_2: U")
    .Output("x_backprop: T")
    .Output("scale_backprop: U")
    .Output("offset_backprop: U")
    .Output("reserve_space_3: U")
    .Output("reserve_space_4: U")
    .Attr("T: {float}")
    .Attr("U: {float}")
    .Attrs(kGradAttrs)
    .SetShapeFn([](InferenceContext* ctx) { return GradShape(ctx, false); });
REGISTER_GRADIENT("FusedBatchNormGradV2", GradGradUnimplemented);

REGISTER_OP("FusedBatchNormGradV3")
    .Input("y_backprop: T")
    .Input("x: T")
    .Input("scale: float")
    .Input("reserve_space_1: U")
    .Input("reserve_space_2: U")
    .Input("reserve_space_3: U")
    .Output("x_backprop: T")
    .Output("scale_backprop: U")
    .Output("offset_backprop: U")
    .Output("reserve_space_4: U")
    .Output("reserve_space_5: U")
    .Attr("T: {float}")
    .Attr("U: {float}")
    .Attrs(kGradAttrs)
    .SetShapeFn([](InferenceContext* ctx) { return GradShape(ctx, true); });
REGISTER_GRADIENT("FusedBatchNormGradV3", GradGradUnimplemented);

void ops::FusedBatchNormGrad::Init(const Scope& scope, absl::string_view op,
                                   absl::Span<const Input> inputs,
                                   const FusedBatchNormAttrs& attrs) {
  Node* node = AddOp(scope, op, inputs, GradAttrMap(attrs));
  if (node == nullptr) return;
  operation = Operation(node);
  x_backprop = Output(node, 0);
  scale_backprop = Output(node, 1);
  offset_backprop = Output(node, 2);
}
ops::FusedBatchNormGrad::FusedBatchNormGrad(const Scope& scope, Input y_backprop, Input x,
                                            Input scale, Input reserve_space_1,
                                            Input reserve_space_2,
                                            const FusedBatchNormAttrs& attrs) {
  Init(scope, "FusedBatchNormGrad", {y_backprop, x, scale, reserve_space_1, reserve_space_2},
       attrs);
}
ops::FusedBatchNormGradV2::FusedBatchNormGradV2(const Scope& scope, Input y_backprop, Input x,
                                                Input scale, Input reserve_space_1,
                                                Input reserve_space_2,
                                                const FusedBatchNormAttrs& attrs) {
  Init(scope, "FusedBatchNormGradV2", {y_backprop, x, scale, reserve_space_1, reserve_space_2},
       attrs);
}
ops::FusedBatchNormGradV3::FusedBatchNormGradV3(const Scope& scope, Input y_backprop, Input x,
                                                Input scale, Input reserve_space_1,
                                                Input reserve_space_2, Input reserve_space_3,
                                                const FusedBatchNormAttrs& attrs) {
  Init(scope, "FusedBatchNormGradV3",
       {y_backprop, x, scale, reserve_space_1, reserve_space_2, reserve_space_3}, attrs);
}

}  // namespace dflow
