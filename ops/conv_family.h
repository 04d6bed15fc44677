// What the two convolution families, Conv2D (conv_ops.cc) and DepthwiseConv2dNative
// (depthwise_ops.cc), share: each is a forward op y = conv(x, w) and its two backprops
// dx = BackpropInput(sizes(x), w, dy) and dw = BackpropFilter(x, sizes(w), dy), with the same
// shape checks and the same gradients (each op is linear in each tensor input). A family
// `F` supplies:
//   using Window, Attrs;                 its checked window, its builders' Attrs
//   using Forward, BackpropInput, BackpropFilter;   its builders
//   kFilterLayout;                       for rank errors
//   ReadAttrs(ctx) -> StatusOr<Window>;  the node's window attrs, checked
//   OutputShape(ctx, window, input, filter) -> StatusOr<PartialTensorShape>
//   FilterOutDim(dy) -> int64_t;         the filter's dimension 3 as far as dy tells (-1)
//   NodeAttrsOf(node) -> ConvNodeAttrs<Attrs>
#ifndef DFLOW_OPS_CONV_FAMILY_H_
#define DFLOW_OPS_CONV_FAMILY_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "graph/attr_value_util.h"
#include "graph/graph.h"
#include "graph/status_macros.h"
#include "ops/array_ops.h"
#include "ops/conv_window.h"
#include "ops/scope.h"
#include "ops/shape_inference.h"

namespace dflow {
namespace conv {

// A convolution node's attrs as its builders take them.
template <typename Attrs>
struct ConvNodeAttrs {
  std::vector<int64_t> strides;
  std::string padding;
  Attrs attrs;
};

// A convolution's window as its shape function reads it, checked by `check`.
template <typename Window>
absl::StatusOr<Window> ReadConvWindow(InferenceContext* ctx, ConvAttrsCheck<Window> check) {
  std::vector<int64_t> strides, dilations, explicit_paddings;
  std::string padding, data_format;
  DFLOW_RETURN_IF_ERROR(ctx->GetAttr("strides", &strides));
  DFLOW_RETURN_IF_ERROR(ctx->GetAttr("padding", &padding));
  DFLOW_RETURN_IF_ERROR(ctx->GetAttr("dilations", &dilations));
  DFLOW_RETURN_IF_ERROR(ctx->GetAttr("explicit_paddings", &explicit_paddings));
  DFLOW_RETURN_IF_ERROR(ctx->GetAttr("data_format", &data_format));
  absl::StatusOr<Window> w = check(strides, padding, dilations, explicit_paddings, data_format);
  if (!w.ok()) return ctx->Error(w.status().message());
  return w;
}

// The attrs both families' builders take (Conv2D's add use_cudnn_on_gpu), read from a node.
template <typename Attrs>
ConvNodeAttrs<Attrs> WindowNodeAttrsOf(const Node& node) {
  ConvNodeAttrs<Attrs> a;
  GetNodeAttr(node, "strides", &a.strides).IgnoreError();
  GetNodeAttr(node, "padding", &a.padding).IgnoreError();
  GetNodeAttr(node, "data_format", &a.attrs.data_format).IgnoreError();
  GetNodeAttr(node, "dilations", &a.attrs.dilations).IgnoreError();
  GetNodeAttr(node, "explicit_paddings", &a.attrs.explicit_paddings).IgnoreError();
  return a;
}

// The same attrs as a builder sets them on its node.
template <typename Attrs>
AttrMap WindowAttrMap(const std::vector<int64_t>& strides, absl::string_view padding,
                      const Attrs& attrs) {
  return {{"strides", MakeAttr(absl::Span<const int64_t>(strides))},
          {"padding", MakeAttr(padding)},
          {"data_format", MakeAttr(attrs.data_format)},
          {"dilations", MakeAttr(absl::Span<const int64_t>(attrs.dilations))},
          {"explicit_paddings", MakeAttr(absl::Span<const int64_t>(attrs.explicit_paddings))}};
}

template <typename F>
absl::Status ForwardShape(InferenceContext* ctx) {
  DFLOW_ASSIGN_OR_RETURN(typename F::Window w, F::ReadAttrs(ctx));
  DFLOW_ASSIGN_OR_RETURN(PartialTensorShape input, Rank4(ctx, 0, "input", kImageLayout));
  DFLOW_ASSIGN_OR_RETURN(PartialTensorShape filter, Rank4(ctx, 1, "filter", F::kFilterLayout));
  DFLOW_ASSIGN_OR_RETURN(PartialTensorShape out, F::OutputShape(ctx, w, input, filter));
  ctx->set_output(0, out);
  return absl::OkStatus();
}

template <typename F>
absl::Status BackpropInputShape(InferenceContext* ctx) {
  DFLOW_ASSIGN_OR_RETURN(typename F::Window w, F::ReadAttrs(ctx));
  DFLOW_ASSIGN_OR_RETURN(std::optional<std::vector<int64_t>> sizes,
                         SizesInput(ctx, 0, "input_sizes"));
  DFLOW_ASSIGN_OR_RETURN(PartialTensorShape filter, Rank4(ctx, 1, "filter", F::kFilterLayout));
  DFLOW_ASSIGN_OR_RETURN(PartialTensorShape dy, Rank4(ctx, 2, "out_backprop", kImageLayout));
  return SetBackpropOutput(
      ctx, sizes, PartialTensorShape({dy.dim_size(0), -1, -1, filter.dim_size(2)}),
      [&](const PartialTensorShape& input) { return F::OutputShape(ctx, w, input, filter); }, dy,
      "out_backprop");
}

template <typename F>
absl::Status BackpropFilterShape(InferenceContext* ctx) {
  DFLOW_ASSIGN_OR_RETURN(typename F::Window w, F::ReadAttrs(ctx));
  DFLOW_ASSIGN_OR_RETURN(PartialTensorShape input, Rank4(ctx, 0, "input", kImageLayout));
  DFLOW_ASSIGN_OR_RETURN(std::optional<std::vector<int64_t>> sizes,
                         SizesInput(ctx, 1, "filter_sizes"));
  DFLOW_ASSIGN_OR_RETURN(PartialTensorShape dy, Rank4(ctx, 2, "out_backprop", kImageLayout));
  return SetBackpropOutput(
      ctx, sizes, PartialTensorShape({-1, -1, input.dim_size(3), F::FilterOutDim(dy)}),
      [&](const PartialTensorShape& filter) { return F::OutputShape(ctx, w, input, filter); },
      dy, "out_backprop");
}

// y = conv(x, w): dx = BackpropInput(shape(x), w, dy), dw = BackpropFilter(x, shape(w), dy).
template <typename F>
absl::Status ForwardGrad(const Scope& scope, const Node& node,
                         absl::Span<const Output> grad_outputs, std::vector<Output>* grad_inputs) {
  grad_inputs->assign(2, Output());
  const Output& g = grad_outputs[0];
  const ConvNodeAttrs<typename F::Attrs> a = F::NodeAttrsOf(node);
  const Output& x = node.input(0);
  const Output& w = node.input(1);
  (*grad_inputs)[0] = typename F::BackpropInput(scope, ops::Shape(scope, x), w, g, a.strides,
                                                a.padding, a.attrs);
  (*grad_inputs)[1] = typename F::BackpropFilter(scope, x, ops::Shape(scope, w), g, a.strides,
                                                 a.padding, a.attrs);
  return scope.status();
}

// dx = BackpropInput(sizes, w, dy) is linear in w and in dy: for an incoming gradient G (x's
// shape), d/dw = BackpropFilter(G, shape(w), dy) and d/d(dy) = conv(G, w).
template <typename F>
absl::Status BackpropInputGrad(const Scope& scope, const Node& node,
                               absl::Span<const Output> grad_outputs,
                               std::vector<Output>* grad_inputs) {
  grad_inputs->assign(3, Output());
  const Output& g = grad_outputs[0];
  const ConvNodeAttrs<typename F::Attrs> a = F::NodeAttrsOf(node);
  const Output& w = node.input(1);
  const Output& dy = node.input(2);
  (*grad_inputs)[1] = typename F::BackpropFilter(scope, g, ops::Shape(scope, w), dy, a.strides,
                                                 a.padding, a.attrs);
  (*grad_inputs)[2] = typename F::Forward(scope, g, w, a.strides, a.padding, a.attrs);
  return scope.status();
}

// dw = BackpropFilter(x, sizes, dy) is linear in x and in dy: for an incoming gradient G (w's
// shape), d/dx = BackpropInput(shape(x), G, dy) and d/d(dy) = conv(x, G).
template <typename F>
absl::Status BackpropFilterGrad(const Scope& scope, const Node& node,
                                absl::Span<const Output> grad_outputs,
                                std::vector<Output>* grad_inputs) {
  grad_inputs->assign(3, Output());
  const Output& g = grad_outputs[0];
  const ConvNodeAttrs<typename F::Attrs> a = F::NodeAttrsOf(node);
  const Output& x = node.input(0);
  const Output& dy = node.input(2);
  (*grad_inputs)[0] = typename F::BackpropInput(scope, ops::Shape(scope, x), g, dy, a.strides,
                                                a.padding, a.attrs);
  (*grad_inputs)[2] = typename F::Forward(scope, x, g, a.strides, a.padding, a.attrs);
  return scope.status();
}

}  // namespace conv
}  // namespace dflow

#endif  // DFLOW_OPS_CONV_FAMILY_H_
