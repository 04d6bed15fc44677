// Pooling ops: MaxPool, MaxPoolGrad, AvgPool and AvgPoolGrad (NHWC). Op by op: the schema, its
// shape function, its gradient and its builder. Window arithmetic is in conv_window.cc.
#include "ops/pooling_ops.h"

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "graph/status_macros.h"
#include "ops/array_ops.h"
#include "ops/conv_window.h"
#include "ops/op_registry.h"
#include "ops/shape_inference.h"

namespace dflow {
namespace {

using conv::CheckOutBackprop;
using conv::kImageLayout;
using conv::OutDim;
using conv::Rank4;
using conv::SizesInput;
using conv::Window2D;

// The window attrs every pooling op and its gradient declare.
constexpr absl::string_view kPoolWindowAttrs[] = {
    "ksize: list(int) >= 4", "strides: list(int) >= 4", "padding: string",
    "data_format: string = 'NHWC'"};

absl::StatusOr<Window2D> ReadPoolAttrs(InferenceContext* ctx) {
  std::vector<int64_t> ksize, strides;
  std::string padding, data_format;
  DFLOW_RETURN_IF_ERROR(ctx->GetAttr("ksize", &ksize));
  DFLOW_RETURN_IF_ERROR(ctx->GetAttr("strides", &strides));
  DFLOW_RETURN_IF_ERROR(ctx->GetAttr("padding", &padding));
  DFLOW_RETURN_IF_ERROR(ctx->GetAttr("data_format", &data_format));
  absl::StatusOr<Window2D> w = conv::CheckPoolAttrs(ksize, strides, padding, data_format);
  if (!w.ok()) return ctx->Error(w.status().message());
  return w;
}

absl::StatusOr<PartialTensorShape> PoolOutputShape(InferenceContext* ctx, const Window2D& w,
                                                   const PartialTensorShape& input) {
  DFLOW_ASSIGN_OR_RETURN(int64_t oh, OutDim(ctx, input.dim_size(1), w.window_h, w.stride_h,
                                            w.padding, "window", "height"));
  DFLOW_ASSIGN_OR_RETURN(int64_t ow, OutDim(ctx, input.dim_size(2), w.window_w, w.stride_w,
                                            w.padding, "window", "width"));
  return PartialTensorShape({input.dim_size(0), oh, ow, input.dim_size(3)});
}

absl::Status PoolShape(InferenceContext* ctx) {
  DFLOW_ASSIGN_OR_RETURN(Window2D w, ReadPoolAttrs(ctx));
  DFLOW_ASSIGN_OR_RETURN(PartialTensorShape input, Rank4(ctx, 0, "input", kImageLayout));
  DFLOW_ASSIGN_OR_RETURN(PartialTensorShape out, PoolOutputShape(ctx, w, input));
  ctx->set_output(0, out);
  return absl::OkStatus();
}

struct PoolNodeAttrs {
  std::vector<int64_t> ksize, strides;
  std::string padding;
  ops::DataFormatAttrs attrs;
};

PoolNodeAttrs PoolNodeAttrsOf(const Node& node) {
  PoolNodeAttrs a;
  GetNodeAttr(node, "ksize", &a.ksize).IgnoreError();
  GetNodeAttr(node, "strides", &a.strides).IgnoreError();
  GetNodeAttr(node, "padding", &a.padding).IgnoreError();
  GetNodeAttr(node, "data_format", &a.attrs.data_format).IgnoreError();
  return a;
}

AttrMap PoolAttrMap(const std::vector<int64_t>& ksize, const std::vector<int64_t>& strides,
                    absl::string_view padding, const ops::DataFormatAttrs& attrs) {
  return {{"ksize", MakeAttr(absl::Span<const int64_t>(ksize))},
          {"strides", MakeAttr(absl::Span<const int64_t>(strides))},
          {"padding", MakeAttr(padding)},
          {"data_format", MakeAttr(attrs.data_format)}};
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// MaxPool

namespace {

// Each output is one input (its window's maximum): MaxPoolGrad routes g back to it.
absl::Status MaxPoolGradFn(const Scope& scope, const Node& node,
                           absl::Span<const Output> grad_outputs,
                           std::vector<Output>* grad_inputs) {
  grad_inputs->assign(1, Output());
  const Output& g = grad_outputs[0];
  PoolNodeAttrs a = PoolNodeAttrsOf(node);
  (*grad_inputs)[0] =
      ops::MaxPoolGrad(scope, node.input(0), OutputOf(node, 0), g, a.ksize,
                       a.strides, a.padding, a.attrs);
  return scope.status();
}

}  // namespace

REGISTER_OP("MaxPool")
    .Input("input: T")
    .Output("output: T")
    .Attr("T: {float} = float")
    .Attrs(kPoolWindowAttrs)
    .SetShapeFn(PoolShape);
REGISTER_GRADIENT("MaxPool", MaxPoolGradFn);

ops::MaxPool::MaxPool(const Scope& scope, Input input, const std::vector<int64_t>& ksize,
                      const std::vector<int64_t>& strides, absl::string_view padding,
                      const Attrs& attrs)
    : Output(AddOp(scope, "MaxPool", {input}, PoolAttrMap(ksize, strides, padding, attrs))) {}

// ---------------------------------------------------------------------------------------------
// MaxPoolGrad

namespace {

absl::Status MaxPoolGradShape(InferenceContext* ctx) {
  DFLOW_ASSIGN_OR_RETURN(Window2D w, ReadPoolAttrs(ctx));
  DFLOW_ASSIGN_OR_RETURN(PartialTensorShape input, Rank4(ctx, 0, "orig_input", kImageLayout));
  DFLOW_ASSIGN_OR_RETURN(PartialTensorShape output, Rank4(ctx, 1, "orig_output", kImageLayout));
  DFLOW_ASSIGN_OR_RETURN(PartialTensorShape grad, Rank4(ctx, 2, "grad", kImageLayout));
  DFLOW_ASSIGN_OR_RETURN(PartialTensorShape expected, PoolOutputShape(ctx, w, input));
  DFLOW_RETURN_IF_ERROR(CheckOutBackprop(ctx, expected, output, "orig_output"));
  DFLOW_RETURN_IF_ERROR(CheckOutBackprop(ctx, expected, grad, "grad"));
  ctx->set_output(0, input);
  return absl::OkStatus();
}

}  // namespace

// Its own gradient (TensorFlow's MaxPoolGradGrad) is not implemented.
REGISTER_OP("MaxPoolGrad")
    .Input("orig_input: T")
    .Input("orig_output: T")
    .Input("grad: T")
    .Output("output: T")
    .Attrs(kPoolWindowAttrs)
    .Attr("T: {float} = float")
    .SetShapeFn(MaxPoolGradShape)
    .NotDifferentiable();

ops::MaxPoolGrad::MaxPoolGrad(const Scope& scope, Input orig_input, Input orig_output, Input grad,
                              const std::vector<int64_t>& ksize,
                              const std::vector<int64_t>& strides, absl::string_view padding,
                              const Attrs& attrs)
    : Output(AddOp(scope, "MaxPoolGrad", {orig_input, orig_output, grad},
                   PoolAttrMap(ksize, strides, padding, attrs))) {}

// ---------------------------------------------------------------------------------------------
// AvgPool

namespace {

// Each output is the mean of its window: AvgPoolGrad spreads g evenly back over it.
absl::Status AvgPoolGradFn(const Scope& scope, const Node& node,
                           absl::Span<const Output> grad_outputs,
                           std::vector<Output>* grad_inputs) {
  grad_inputs->assign(1, Output());
  const Output& g = grad_outputs[0];
  PoolNodeAttrs a = PoolNodeAttrsOf(node);
  (*grad_inputs)[0] = ops::AvgPoolGrad(scope, ops::Shape(scope, node.input(0)), g, a.ksize,
                                       a.strides, a.padding, a.attrs);
  return scope.status();
}

}  // namespace

REGISTER_OP("AvgPool")
    .Input("value: T")
    .Output("output: T")
    .Attrs(kPoolWindowAttrs)
    .Attr("T: {float}")
    .SetShapeFn(PoolShape);
REGISTER_GRADIENT("AvgPool", AvgPoolGradFn);

ops::AvgPool::AvgPool(const Scope& scope, Input value, const std::vector<int64_t>& ksize,
                      const std::vector<int64_t>& strides, absl::string_view padding,
                      const Attrs& attrs)
    : Output(AddOp(scope, "AvgPool", {value}, PoolAttrMap(ksize, strides, padding, attrs))) {}

// ---------------------------------------------------------------------------------------------
// AvgPoolGrad

namespace {

absl::Status AvgPoolGradShape(InferenceContext* ctx) {
  DFLOW_ASSIGN_OR_RETURN(Window2D w, ReadPoolAttrs(ctx));
  DFLOW_ASSIGN_OR_RETURN(std::optional<std::vector<int64_t>> sizes,
                         SizesInput(ctx, 0, "orig_input_shape"));
  DFLOW_ASSIGN_OR_RETURN(PartialTensorShape grad, Rank4(ctx, 1, "grad", kImageLayout));
  return conv::SetBackpropOutput(
      ctx, sizes, PartialTensorShape({grad.dim_size(0), -1, -1, grad.dim_size(3)}),
      [&](const PartialTensorShape& input) { return PoolOutputShape(ctx, w, input); }, grad,
      "grad");
}

// AvgPoolGrad is the transpose of the linear map AvgPool, so its gradient with respect to grad
// is AvgPool again; orig_input_shape gets none.
absl::Status AvgPoolGradGrad(const Scope& scope, const Node& node,
                             absl::Span<const Output> grad_outputs,
                             std::vector<Output>* grad_inputs) {
  grad_inputs->assign(2, Output());
  const Output& g = grad_outputs[0];
  PoolNodeAttrs a = PoolNodeAttrsOf(node);
  (*grad_inputs)[1] = ops::AvgPool(scope, g, a.ksize, a.strides, a.padding, a.attrs);
  return scope.status();
}

}  // namespace

REGISTER_OP("AvgPoolGrad")
    .Input("orig_input_shape: int32")
    .Input("grad: T")
    .Output("output: T")
    .Attrs(kPoolWindowAttrs)
    .Attr("T: {float}")
    .SetShapeFn(AvgPoolGradShape);
REGISTER_GRADIENT("AvgPoolGrad", AvgPoolGradGrad);

ops::AvgPoolGrad::AvgPoolGrad(const Scope& scope, Input orig_input_shape, Input grad,
                              const std::vector<int64_t>& ksize,
                              const std::vector<int64_t>& strides, absl::string_view padding,
                              const Attrs& attrs)
    : Output(AddOp(scope, "AvgPoolGrad", {orig_input_shape, grad},
                   PoolAttrMap(ksize, strides, padding, attrs))) {}

}  // namespace dflow
