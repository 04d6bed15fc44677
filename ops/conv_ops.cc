// Convolution ops: Conv2D, Conv2DBackpropInput and Conv2DBackpropFilter (NHWC images, HWIO
// filters). Op by op: the schema, its shape function, its gradient and its builder. Window
// arithmetic is in conv_window.cc; pooling in pooling_ops.cc.
#include "ops/conv_ops.h"

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "graph/status_macros.h"
#include "ops/array_ops.h"
#include "ops/conv_family.h"
#include "ops/op_registry.h"
#include "ops/shape_inference.h"

namespace dflow {
namespace {

using conv::OutDim;
using conv::Window2D;

// The attrs of Conv2D and its two backprops, after T.
constexpr absl::string_view kConv2DWindowAttrs[] = {
    "strides: list(int)",           "use_cudnn_on_gpu: bool = true",
    "padding: string",              "explicit_paddings: list(int) = []",
    "data_format: string = 'NHWC'", "dilations: list(int) = [1, 1, 1, 1]",
};

// a and b (-1 = unknown) merged; an error built from `message` when both are known and differ.
absl::StatusOr<int64_t> Merge(InferenceContext* ctx, int64_t a, int64_t b,
                              absl::string_view message) {
  if (a < 0) return b;
  if (b < 0 || a == b) return a;
  return ctx->Error(absl::StrCat(message, ": ", a, " vs. ", b));
}

constexpr absl::string_view kDepthMismatch =
    "the input's depth (dimension 3) must equal the filter's in_channels (dimension 2)";

// Conv2D's output shape from the input and filter shapes; also checks them.
absl::StatusOr<PartialTensorShape> ConvOutputShape(InferenceContext* ctx, const Window2D& w,
                                                   const PartialTensorShape& input,
                                                   const PartialTensorShape& filter) {
  DFLOW_RETURN_IF_ERROR(Merge(ctx, input.dim_size(3), filter.dim_size(2), kDepthMismatch).status());
  DFLOW_ASSIGN_OR_RETURN(int64_t oh, OutDim(ctx, input.dim_size(1), filter.dim_size(0), w.stride_h,
                                            w.padding, "filter", "height"));
  DFLOW_ASSIGN_OR_RETURN(int64_t ow, OutDim(ctx, input.dim_size(2), filter.dim_size(1), w.stride_w,
                                            w.padding, "filter", "width"));
  return PartialTensorShape({input.dim_size(0), oh, ow, filter.dim_size(3)});
}

// Conv2D's family for conv_family.h.
struct Conv2DFamily {
  using Window = Window2D;
  using Attrs = ops::Conv2DAttrs;
  using Forward = ops::Conv2D;
  using BackpropInput = ops::Conv2DBackpropInput;
  using BackpropFilter = ops::Conv2DBackpropFilter;
  static constexpr absl::string_view kFilterLayout = "[height, width, in_channels, out_channels]";

  static absl::StatusOr<Window2D> ReadAttrs(InferenceContext* ctx) {
    return conv::ReadConvWindow(ctx, conv::CheckConv2DAttrs);
  }
  static absl::StatusOr<PartialTensorShape> OutputShape(InferenceContext* ctx, const Window2D& w,
                                                        const PartialTensorShape& input,
                                                        const PartialTensorShape& filter) {
    return ConvOutputShape(ctx, w, input, filter);
  }
  static int64_t FilterOutDim(const PartialTensorShape& dy) { return dy.dim_size(3); }
  static conv::ConvNodeAttrs<Attrs> NodeAttrsOf(const Node& node) {
    conv::ConvNodeAttrs<Attrs> a = conv::WindowNodeAttrsOf<Attrs>(node);
    GetNodeAttr(node, "use_cudnn_on_gpu", &a.attrs.use_cudnn_on_gpu).IgnoreError();
    return a;
  }
};

AttrMap ConvAttrMap(const std::vector<int64_t>& strides, absl::string_view padding,
                    const ops::Conv2DAttrs& attrs) {
  AttrMap map = conv::WindowAttrMap(strides, padding, attrs);
  map.emplace("use_cudnn_on_gpu", MakeAttr(attrs.use_cudnn_on_gpu));
  return map;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Conv2D

REGISTER_OP("Conv2D")
    .Input("input: T")
    .Input("filter: T")
    .Output("output: T")
    .Attr("T: {float}")
    .Attrs(kConv2DWindowAttrs)
    .SetShapeFn(conv::ForwardShape<Conv2DFamily>);
REGISTER_GRADIENT("Conv2D", conv::ForwardGrad<Conv2DFamily>);

ops::Conv2D::Conv2D(const Scope& scope, Input input, Input filter,
                    const std::vector<int64_t>& strides, absl::string_view padding,
                    const Attrs& attrs)
    : Output(AddOp(scope, "Conv2D", {input, filter}, ConvAttrMap(strides, padding, attrs))) {}

// ---------------------------------------------------------------------------------------------
// Conv2DBackpropInput

REGISTER_OP("Conv2DBackpropInput")
    .Input("input_sizes: int32")
    .Input("filter: T")
    .Input("out_backprop: T")
    .Output("output: T")
    .Attr("T: {float}")
    .Attrs(kConv2DWindowAttrs)
    .SetShapeFn(conv::BackpropInputShape<Conv2DFamily>);
REGISTER_GRADIENT("Conv2DBackpropInput", conv::BackpropInputGrad<Conv2DFamily>);

ops::Conv2DBackpropInput::Conv2DBackpropInput(const Scope& scope, Input input_sizes, Input filter,
                                              Input out_backprop,
                                              const std::vector<int64_t>& strides,
                                              absl::string_view padding, const Attrs& attrs)
    : Output(AddOp(scope, "Conv2DBackpropInput", {input_sizes, filter, out_backprop},
                   ConvAttrMap(strides, padding, attrs))) {}

// ---------------------------------------------------------------------------------------------
// Conv2DBackpropFilter

REGISTER_OP("Conv2DBackpropFilter")
    .Input("input: T")
    .Input("filter_sizes: int32")
    .Input("out_backprop: T")
    .Output("output: T")
    .Attr("T: {float}")
    .Attrs(kConv2DWindowAttrs)
    .SetShapeFn(conv::BackpropFilterShape<Conv2DFamily>);
REGISTER_GRADIENT("Conv2DBackpropFilter", conv::BackpropFilterGrad<Conv2DFamily>);

ops::Conv2DBackpropFilter::Conv2DBackpropFilter(const Scope& scope, Input input, Input filter_sizes,
                                                Input out_backprop,
                                                const std::vector<int64_t>& strides,
                                                absl::string_view padding, const Attrs& attrs)
    : Output(AddOp(scope, "Conv2DBackpropFilter", {input, filter_sizes, out_backprop},
                   ConvAttrMap(strides, padding, attrs))) {}

}  // namespace dflow
