// Depthwise convolution ops: DepthwiseConv2dNative and its two backprops (NHWC images, filters
// [KH, KW, C, M]). Op by op: the schema, its shape function, its gradient and its builder.
#include "ops/depthwise_ops.h"

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "graph/status_macros.h"
#include "ops/array_ops.h"
#include "ops/op_registry.h"
#include "ops/shape_inference.h"

namespace dflow {
namespace conv {

absl::StatusOr<DepthwiseWindow> CheckDepthwiseAttrs(const std::vector<int64_t>& strides,
                                                    const std::string& padding,
                                                    const std::vector<int64_t>& dilations,
                                                    const std::vector<int64_t>& explicit_paddings,
                                                    const std::string& data_format) {
  // Conv2D's checks of everything but the dilations, which depthwise convolutions support.
  DFLOW_ASSIGN_OR_RETURN(Window2D w, CheckConv2DAttrs(strides, padding, {1, 1, 1, 1},
                                                      explicit_paddings, data_format));
  const std::string list = absl::StrCat("[", absl::StrJoin(dilations, ", "), "]");
  if (dilations.size() != 4) {
    return absl::InvalidArgumentError(
        absl::StrCat("dilations must have 4 entries [1, dh, dw, 1] but is ", list));
  }
  if (dilations[0] != 1 || dilations[3] != 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "dilations in the batch and depth dimensions must be 1 but dilations is ", list));
  }
  constexpr int64_t kMax = (int64_t{1} << 31) - 1;
  if (dilations[1] < 1 || dilations[2] < 1 || dilations[1] > kMax || dilations[2] > kMax) {
    return absl::InvalidArgumentError(absl::StrCat("dilations must be positive but is ", list));
  }
  DepthwiseWindow d;
  d.stride_h = w.stride_h;
  d.stride_w = w.stride_w;
  d.dilation_h = dilations[1];
  d.dilation_w = dilations[2];
  d.padding = w.padding;
  return d;
}

absl::StatusOr<DepthwiseWindow> DepthwiseAttrsOf(const Node& node) {
  std::vector<int64_t> strides, dilations = {1, 1, 1, 1}, explicit_paddings;
  std::string padding, data_format = "NHWC";
  DFLOW_RETURN_IF_ERROR(GetNodeAttr(node, "strides", &strides));
  DFLOW_RETURN_IF_ERROR(GetNodeAttr(node, "padding", &padding));
  GetNodeAttr(node, "dilations", &dilations).IgnoreError();
  GetNodeAttr(node, "explicit_paddings", &explicit_paddings).IgnoreError();
  GetNodeAttr(node, "data_format", &data_format).IgnoreError();
  return CheckDepthwiseAttrs(strides, padding, dilations, explicit_paddings, data_format);
}

}  // namespace conv

namespace {

using conv::DepthwiseWindow;
using conv::kImageLayout;

constexpr absl::string_view kAttrs[] = {
    "strides: list(int)",
    "padding: string",
    "explicit_paddings: list(int) = []",
    "data_format: string = 'NHWC'",
    "dilations: list(int) = [1, 1, 1, 1]",
};

constexpr absl::string_view kFilterLayout = "[height, width, in_channels, channel_multiplier]";

absl::StatusOr<DepthwiseWindow> ReadAttrs(InferenceContext* ctx) {
  std::vector<int64_t> strides, dilations, explicit_paddings;
  std::string padding, data_format;
  DFLOW_RETURN_IF_ERROR(ctx->GetAttr("strides", &strides));
  DFLOW_RETURN_IF_ERROR(ctx->GetAttr("padding", &padding));
  DFLOW_RETURN_IF_ERROR(ctx->GetAttr("dilations", &dilations));
  DFLOW_RETURN_IF_ERROR(ctx->GetAttr("explicit_paddings", &explicit_paddings));
  DFLOW_RETURN_IF_ERROR(ctx->GetAttr("data_format", &data_format));
  absl::StatusOr<DepthwiseWindow> w =
      conv::CheckDepthwiseAttrs(strides, padding, dilations, explicit_paddings, data_format);
  if (!w.ok()) return ctx->Error(w.status().message());
  return w;
}

// The output shape from the input and filter shapes (-1 = unknown); also checks them.
absl::StatusOr<PartialTensorShape> OutputShape(InferenceContext* ctx, const DepthwiseWindow& w,
                                               const PartialTensorShape& input,
                                               const PartialTensorShape& filter) {
  const int64_t c = input.dim_size(3), fc = filter.dim_size(2), m = filter.dim_size(3);
  if (c >= 0 && fc >= 0 && c != fc) {
    return ctx->Error(absl::StrCat(
        "the input's depth (dimension 3) must equal the filter's in_channels (dimension 2): ", c,
        " vs. ", fc));
  }
  auto window = [](int64_t k, int64_t d) { return k < 0 ? k : DepthwiseWindow::Effective(k, d); };
  DFLOW_ASSIGN_OR_RETURN(int64_t oh, conv::OutDim(ctx, input.dim_size(1),
                                                  window(filter.dim_size(0), w.dilation_h),
                                                  w.stride_h, w.padding, "filter", "height"));
  DFLOW_ASSIGN_OR_RETURN(int64_t ow, conv::OutDim(ctx, input.dim_size(2),
                                                  window(filter.dim_size(1), w.dilation_w),
                                                  w.stride_w, w.padding, "filter", "width"));
  const int64_t depth = c >= 0 ? c : fc;
  return PartialTensorShape({input.dim_size(0), oh, ow, depth >= 0 && m >= 0 ? depth * m : -1});
}

struct NodeAttrs {
  std::vector<int64_t> strides;
  std::string padding;
  ops::DepthwiseConv2dAttrs attrs;
};

NodeAttrs NodeAttrsOf(const Node& node) {
  NodeAttrs a;
  GetNodeAttr(node, "strides", &a.strides).IgnoreError();
  GetNodeAttr(node, "padding", &a.padding).IgnoreError();
  GetNodeAttr(node, "data_format", &a.attrs.data_format).IgnoreError();
  GetNodeAttr(node, "dilations", &a.attrs.dilations).IgnoreError();
  GetNodeAttr(node, "explicit_paddings", &a.attrs.explicit_paddings).IgnoreError();
  return a;
}

AttrMap AttrMapOf(const std::vector<int64_t>& strides, absl::string_view padding,
                  const ops::DepthwiseConv2dAttrs& attrs) {
  return {{"strides", MakeAttr(absl::Span<const int64_t>(strides))},
          {"padding", MakeAttr(padding)},
          {"data_format", MakeAttr(attrs.data_format)},
          {"dilations", MakeAttr(absl::Span<const int64_t>(attrs.dilations))},
          {"explicit_paddings", MakeAttr(absl::Span<const int64_t>(attrs.explicit_paddings))}};
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// DepthwiseConv2dNative

namespace {

absl::Status DepthwiseShape(InferenceContext* ctx) {
  DFLOW_ASSIGN_OR_RETURN(DepthwiseWindow w, ReadAttrs(ctx));
  DFLOW_ASSIGN_OR_RETURN(PartialTensorShape input, conv::Rank4(ctx, 0, "input", kImageLayout));
  DFLOW_ASSIGN_OR_RETURN(PartialTensorShape filter,
                         conv::Rank4(ctx, 1, "filter", kFilterLayout));
  DFLOW_ASSIGN_OR_RETURN(PartialTensorShape out, OutputShape(ctx, w, input, filter));
  ctx->set_output(0, out);
  return absl::OkStatus();
}

// y = dwconv(x, w): dx = DepthwiseConv2dNativeBackpropInput(shape(x), w, dy),
//                   dw = DepthwiseConv2dNativeBackpropFilter(x, shape(w), dy).
absl::Status DepthwiseGrad(const Scope& scope, const Node& node,
                           absl::Span<const Output> grad_outputs,
                           std::vector<Output>* grad_inputs) {
  grad_inputs->assign(2, Output());
  const Output& g = grad_outputs[0];
  NodeAttrs a = NodeAttrsOf(node);
  const Output& x = node.input(0);
  const Output& w = node.input(1);
  (*grad_inputs)[0] = ops::DepthwiseConv2dNativeBackpropInput(scope, ops::Shape(scope, x), w, g,
                                                              a.strides, a.padding, a.attrs);
  (*grad_inputs)[1] = ops::DepthwiseConv2dNativeBackpropFilter(scope, x, ops::Shape(scope, w), g,
                                                               a.strides, a.padding, a.attrs);
  return scope.status();
}

}  // namespace

REGISTER_OP("DepthwiseConv2dNative")
    .Input("input: T")
    .Input("filter: T")
    .Output("output: T")
    .Attr("T: {float}")
    .Attrs(kAttrs)
    .SetShapeFn(DepthwiseShape);
REGISTER_GRADIENT("DepthwiseConv2dNative", DepthwiseGrad);

ops::DepthwiseConv2dNative::DepthwiseConv2dNative(const Scope& scope, Input input, Input filter,
                                                  const std::vector<int64_t>& strides,
                                                  absl::string_view padding, const Attrs& attrs)
    : Output(AddOp(scope, "DepthwiseConv2dNative", {input, filter},
                   AttrMapOf(strides, padding, attrs))) {}

// ---------------------------------------------------------------------------------------------
// DepthwiseConv2dNativeBackpropInput

namespace {

absl::Status BackpropInputShape(InferenceContext* ctx) {
  DFLOW_ASSIGN_OR_RETURN(DepthwiseWindow w, ReadAttrs(ctx));
  DFLOW_ASSIGN_OR_RETURN(std::optional<std::vector<int64_t>> sizes,
                         conv::SizesInput(ctx, 0, "input_sizes"));
  DFLOW_ASSIGN_OR_RETURN(PartialTensorShape filter,
                         conv::Rank4(ctx, 1, "filter", kFilterLayout));
  DFLOW_ASSIGN_OR_RETURN(PartialTensorShape dy,
                         conv::Rank4(ctx, 2, "out_backprop", kImageLayout));
  PartialTensorShape input({dy.dim_size(0), -1, -1, filter.dim_size(2)});
  if (sizes.has_value()) input = PartialTensorShape(absl::MakeConstSpan(*sizes));
  DFLOW_ASSIGN_OR_RETURN(PartialTensorShape expected, OutputShape(ctx, w, input, filter));
  DFLOW_RETURN_IF_ERROR(conv::CheckOutBackprop(ctx, expected, dy, "out_backprop"));
  ctx->set_output(0, input);
  return absl::OkStatus();
}

// dx = BackpropInput(sizes, w, dy) is linear in w and in dy: for an incoming gradient G (x's
// shape), d/dw = BackpropFilter(G, shape(w), dy) and d/d(dy) = DepthwiseConv2dNative(G, w).
absl::Status BackpropInputGrad(const Scope& scope, const Node& node,
                               absl::Span<const Output> grad_outputs,
                               std::vector<Output>* grad_inputs) {
  grad_inputs->assign(3, Output());
  const Output& g = grad_outputs[0];
  NodeAttrs a = NodeAttrsOf(node);
  const Output& w = node.input(1);
  const Output& dy = node.input(2);
  (*grad_inputs)[1] = ops::DepthwiseConv2dNativeBackpropFilter(scope, g, ops::Shape(scope, w), dy,
                                                               a.strides, a.padding, a.attrs);
  (*grad_inputs)[2] = ops::DepthwiseConv2dNative(scope, g, w, a.strides, a.padding, a.attrs);
  return scope.status();
}

}  // namespace

REGISTER_OP("DepthwiseConv2dNativeBackpropInput")
    .Input("input_sizes: int32")
    .Input("filter: T")
    .Input("out_backprop: T")
    .Output("output: T")
    .Attr("T: {float}")
    .Attrs(kAttrs)
    .SetShapeFn(BackpropInputShape);
REGISTER_GRADIENT("DepthwiseConv2dNativeBackpropInput", BackpropInputGrad);

ops::DepthwiseConv2dNativeBackpropInput::DepthwiseConv2dNativeBackpropInput(
    const Scope& scope, Input input_sizes, Input filter, Input out_backprop,
    const std::vector<int64_t>& strides, absl::string_view padding, const Attrs& attrs)
    : Output(AddOp(scope, "DepthwiseConv2dNativeBackpropInput",
                   {input_sizes, filter, out_backprop}, AttrMapOf(strides, padding, attrs))) {}

// ---------------------------------------------------------------------------------------------
// DepthwiseConv2dNativeBackpropFilter

namespace {

absl::Status BackpropFilterShape(InferenceContext* ctx) {
  DFLOW_ASSIGN_OR_RETURN(DepthwiseWindow w, ReadAttrs(ctx));
  DFLOW_ASSIGN_OR_RETURN(PartialTensorShape input, conv::Rank4(ctx, 0, "input", kImageLayout));
  DFLOW_ASSIGN_OR_RETURN(std::optional<std::vector<int64_t>> sizes,
                         conv::SizesInput(ctx, 1, "filter_sizes"));
  DFLOW_ASSIGN_OR_RETURN(PartialTensorShape dy,
                         conv::Rank4(ctx, 2, "out_backprop", kImageLayout));
  PartialTensorShape filter({-1, -1, input.dim_size(3), -1});
  if (sizes.has_value()) filter = PartialTensorShape(absl::MakeConstSpan(*sizes));
  DFLOW_ASSIGN_OR_RETURN(PartialTensorShape expected, OutputShape(ctx, w, input, filter));
  DFLOW_RETURN_IF_ERROR(conv::CheckOutBackprop(ctx, expected, dy, "out_backprop"));
  ctx->set_output(0, filter);
  return absl::OkStatus();
}

// dw = BackpropFilter(x, sizes, dy) is linear in x and in dy: for an incoming gradient G (w's
// shape), d/dx = BackpropInput(shape(x), G, dy) and d/d(dy) = DepthwiseConv2dNative(x, G).
absl::Status BackpropFilterGrad(const Scope& scope, const Node& node,
                                absl::Span<const Output> grad_outputs,
                                std::vector<Output>* grad_inputs) {
  grad_inputs->assign(3, Output());
  const Output& g = grad_outputs[0];
  NodeAttrs a = NodeAttrsOf(node);
  const Output& x = node.input(0);
  const Output& dy = node.input(2);
  (*grad_inputs)[0] = ops::DepthwiseConv2dNativeBackpropInput(scope, ops::Shape(scope, x), g, dy,
                                                              a.strides, a.padding, a.attrs);
  (*grad_inputs)[2] = ops::DepthwiseConv2dNative(scope, x, g, a.strides, a.padding, a.attrs);
  return scope.status();
}

}  // namespace

REGISTER_OP("DepthwiseConv2dNativeBackpropFilter")
    .Input("input: T")
    .Input("filter_sizes: int32")
    .Input("out_backprop: T")
    .Output("output: T")
    .Attr("T: {float}")
    .Attrs(kAttrs)
    .SetShapeFn(BackpropFilterShape);
REGISTER_GRADIENT("DepthwiseConv2dNativeBackpropFilter", BackpropFilterGrad);

ops::DepthwiseConv2dNativeBackpropFilter::DepthwiseConv2dNativeBackpropFilter(
    const Scope& scope, Input input, Input filter_sizes, Input out_backprop,
    const std::vector<int64_t>& strides, absl::string_view padding, const Attrs& attrs)
    : Output(AddOp(scope, "DepthwiseConv2dNativeBackpropFilter",
                   {input, filter_sizes, out_backprop}, AttrMapOf(strides, padding, attrs))) {}

}  // namespace dflow
