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
#include "ops/conv_family.h"
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
  return ConvWindowOf(node, CheckDepthwiseAttrs);
}

}  // namespace conv

namespace {

using conv::DepthwiseWindow;

constexpr absl::string_view kAttrs[] = {
    "strides: list(int)",
    "padding: string",
    "explicit_paddings: list(int) = []",
    "data_format: string = 'NHWC'",
    "dilations: list(int) = [1, 1, 1, 1]",
};

// The output shape from the input and filter shapes (-1 = unknown); also checks them.
absl::StatusOr<PartialTensorShape> DepthwiseOutputShape(InferenceContext* ctx,
                                                        const DepthwiseWindow& w,
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

// DepthwiseConv2dNative's family for conv_family.h.
struct DepthwiseFamily {
  using Window = DepthwiseWindow;
  using Attrs = ops::DepthwiseConv2dAttrs;
  using Forward = ops::DepthwiseConv2dNative;
  using BackpropInput = ops::DepthwiseConv2dNativeBackpropInput;
  using BackpropFilter = ops::DepthwiseConv2dNativeBackpropFilter;
  static constexpr absl::string_view kFilterLayout =
      "[height, width, in_channels, channel_multiplier]";

  static absl::StatusOr<DepthwiseWindow> ReadAttrs(InferenceContext* ctx) {
    return conv::ReadConvWindow(ctx, conv::CheckDepthwiseAttrs);
  }
  static absl::StatusOr<PartialTensorShape> OutputShape(InferenceContext* ctx,
                                                        const DepthwiseWindow& w,
                                                        const PartialTensorShape& input,
                                                        const PartialTensorShape& filter) {
    return DepthwiseOutputShape(ctx, w, input, filter);
  }
  // dy's depth is in_channels * channel_multiplier, which does not give the multiplier alone.
  static int64_t FilterOutDim(const PartialTensorShape&) { return -1; }
  static conv::ConvNodeAttrs<Attrs> NodeAttrsOf(const Node& node) {
    return conv::WindowNodeAttrsOf<Attrs>(node);
  }
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// DepthwiseConv2dNative

REGISTER_OP("DepthwiseConv2dNative")
    .Input("input: T")
    .Input("filter: T")
    .Output("output: T")
    .Attr("T: {float}")
    .Attrs(kAttrs)
    .SetShapeFn(conv::ForwardShape<DepthwiseFamily>);
REGISTER_GRADIENT("DepthwiseConv2dNative", conv::ForwardGrad<DepthwiseFamily>);

ops::DepthwiseConv2dNative::DepthwiseConv2dNative(const Scope& scope, Input input, Input filter,
                                                  const std::vector<int64_t>& strides,
                                                  absl::string_view padding, const Attrs& attrs)
    : Output(AddOp(scope, "DepthwiseConv2dNative", {input, filter},
                   conv::WindowAttrMap(strides, padding, attrs))) {}

// ---------------------------------------------------------------------------------------------
// DepthwiseConv2dNativeBackpropInput

REGISTER_OP("DepthwiseConv2dNativeBackpropInput")
    .Input("input_sizes: int32")
    .Input("filter: T")
    .Input("out_backprop: T")
    .Output("output: T")
    .Attr("T: {float}")
    .Attrs(kAttrs)
    .SetShapeFn(conv::BackpropInputShape<DepthwiseFamily>);
REGISTER_GRADIENT("DepthwiseConv2dNativeBackpropInput", conv::BackpropInputGrad<DepthwiseFamily>);

ops::DepthwiseConv2dNativeBackpropInput::DepthwiseConv2dNativeBackpropInput(
    const Scope& scope, Input input_sizes, Input filter, Input out_backprop,
    const std::vector<int64_t>& strides, absl::string_view padding, const Attrs& attrs)
    : Output(AddOp(scope, "DepthwiseConv2dNativeBackpropInput", {input_sizes, filter, out_backprop},
                   conv::WindowAttrMap(strides, padding, attrs))) {}

// ---------------------------------------------------------------------------------------------
// DepthwiseConv2dNativeBackpropFilter

REGISTER_OP("DepthwiseConv2dNativeBackpropFilter")
    .Input("input: T")
    .Input("filter_sizes: int32")
    .Input("out_backprop: T")
    .Output("output: T")
    .Attr("T: {float}")
    .Attrs(kAttrs)
    .SetShapeFn(conv::BackpropFilterShape<DepthwiseFamily>);
REGISTER_GRADIENT("DepthwiseConv2dNativeBackpropFilter", conv::BackpropFilterGrad<DepthwiseFamily>);

ops::DepthwiseConv2dNativeBackpropFilter::DepthwiseConv2dNativeBackpropFilter(
    const Scope& scope, Input input, Input filter_sizes, Input out_backprop,
    const std::vector<int64_t>& strides, absl::string_view padding, const Attrs& attrs)
    : Output(AddOp(scope, "DepthwiseConv2dNativeBackpropFilter",
                   {input, filter_sizes, out_backprop},
                   conv::WindowAttrMap(strides, padding, attrs))) {}

}  // namespace dflow
