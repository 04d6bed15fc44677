// Convolution and pooling ops: Conv2D, Conv2DBackpropInput, Conv2DBackpropFilter, MaxPool,
// MaxPoolGrad, AvgPool and AvgPoolGrad — schemas, shape functions, gradients and builder
// functions, plus the window arithmetic and attr checks their kernels share.
#include "ops/conv_ops.h"

#include <algorithm>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "graph/status_macros.h"
#include "ops/array_ops.h"
#include "ops/op_registry.h"
#include "ops/shape_inference.h"

namespace dflow {
namespace conv {
namespace {

std::string ListString(const std::vector<int64_t>& v) {
  return absl::StrCat("[", absl::StrJoin(v, ", "), "]");
}

absl::Status CheckDataFormat(const std::string& format) {
  if (format == "NCHW") {
    return absl::UnimplementedError(
        "data_format 'NCHW' is not supported; only 'NHWC' (channels last) is");
  }
  if (format != "NHWC") {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown data_format '", format, "'; only 'NHWC' is supported"));
  }
  return absl::OkStatus();
}

absl::StatusOr<Padding> ParsePadding(const std::string& padding) {
  if (padding == "SAME") return Padding::kSame;
  if (padding == "VALID") return Padding::kValid;
  if (padding == "EXPLICIT") {
    return absl::UnimplementedError(
        "padding 'EXPLICIT' is not supported; use 'SAME' or 'VALID'");
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown padding '", padding, "'; expected 'SAME' or 'VALID'"));
}

// A [1, h, w, 1] list attr with positive h and w.
absl::Status CheckNhwcList(const std::vector<int64_t>& v, absl::string_view name) {
  if (v.size() != 4) {
    return absl::InvalidArgumentError(absl::StrCat(
        name, " must have 4 entries [1, ", name, "_height, ", name, "_width, 1] (NHWC) but is ",
        ListString(v)));
  }
  if (v[0] != 1 || v[3] != 1) {
    return absl::UnimplementedError(absl::StrCat(
        name, " in the batch and depth dimensions must be 1 but ", name, " is ", ListString(v)));
  }
  if (v[1] < 1 || v[2] < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, " must be positive but is ", ListString(v)));
  }
  constexpr int64_t kMax = (int64_t{1} << 31) - 1;  // TensorFlow's are int32.
  if (v[1] > kMax || v[2] > kMax) {
    return absl::InvalidArgumentError(absl::StrCat(name, " ", ListString(v), " is too large"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<WindowedSize> ComputeWindowedSize(int64_t in, int64_t window, int64_t stride,
                                                 Padding padding, absl::string_view window_what,
                                                 absl::string_view dim) {
  if (in < 0) return absl::InvalidArgumentError(absl::StrCat("negative input ", dim, " ", in));
  if (window < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("the ", window_what, " ", dim, " must be at least 1 but is ", window));
  }
  if (stride < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("the stride along ", dim, " must be at least 1 but is ", stride));
  }
  WindowedSize size;
  if (padding == Padding::kValid) {
    if (window > in) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the ", window_what, " ", dim, " (", window, ") is larger than the input ", dim, " (",
          in, ") with padding 'VALID'"));
    }
    size.out = (in - window) / stride + 1;
    return size;
  }
  if (in == 0) return size;
  size.out = (in - 1) / stride + 1;  // ceil(in / stride) without overflow.
  // (out - 1) * stride + window - in, where in - (out - 1) * stride is in [1, stride].
  const int64_t total = std::max<int64_t>(window - (in - (size.out - 1) * stride), 0);
  size.pad_before = total / 2;
  size.pad_after = total - size.pad_before;
  return size;
}

absl::StatusOr<Window2D> CheckConv2DAttrs(const std::vector<int64_t>& strides,
                                          const std::string& padding,
                                          const std::vector<int64_t>& dilations,
                                          const std::vector<int64_t>& explicit_paddings,
                                          const std::string& data_format) {
  DFLOW_RETURN_IF_ERROR(CheckDataFormat(data_format));
  DFLOW_RETURN_IF_ERROR(CheckNhwcList(strides, "strides"));
  if (dilations.size() != 4) {
    return absl::InvalidArgumentError(
        absl::StrCat("dilations must have 4 entries but is ", ListString(dilations)));
  }
  for (int64_t d : dilations) {
    if (d != 1) {
      return absl::UnimplementedError(absl::StrCat(
          "dilations other than [1, 1, 1, 1] are not supported; dilations is ",
          ListString(dilations)));
    }
  }
  DFLOW_ASSIGN_OR_RETURN(Padding p, ParsePadding(padding));
  if (!explicit_paddings.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "explicit_paddings must be empty unless padding is 'EXPLICIT' (unsupported) but is ",
        ListString(explicit_paddings)));
  }
  Window2D w;
  w.stride_h = strides[1];
  w.stride_w = strides[2];
  w.padding = p;
  return w;
}

absl::StatusOr<Window2D> Conv2DAttrsOf(const Node& node) {
  std::vector<int64_t> strides, dilations = {1, 1, 1, 1}, explicit_paddings;
  std::string padding, data_format = "NHWC";
  DFLOW_RETURN_IF_ERROR(GetNodeAttr(node, "strides", &strides));
  DFLOW_RETURN_IF_ERROR(GetNodeAttr(node, "padding", &padding));
  // Filled with their defaults by NodeBuilder; tolerated when absent.
  GetNodeAttr(node, "dilations", &dilations).IgnoreError();
  GetNodeAttr(node, "explicit_paddings", &explicit_paddings).IgnoreError();
  GetNodeAttr(node, "data_format", &data_format).IgnoreError();
  return CheckConv2DAttrs(strides, padding, dilations, explicit_paddings, data_format);
}

absl::StatusOr<Window2D> CheckPoolAttrs(const std::vector<int64_t>& ksize,
                                        const std::vector<int64_t>& strides,
                                        const std::string& padding,
                                        const std::string& data_format) {
  DFLOW_RETURN_IF_ERROR(CheckDataFormat(data_format));
  DFLOW_RETURN_IF_ERROR(CheckNhwcList(ksize, "ksize"));
  DFLOW_RETURN_IF_ERROR(CheckNhwcList(strides, "strides"));
  DFLOW_ASSIGN_OR_RETURN(Padding p, ParsePadding(padding));
  Window2D w;
  w.window_h = ksize[1];
  w.window_w = ksize[2];
  w.stride_h = strides[1];
  w.stride_w = strides[2];
  w.padding = p;
  return w;
}

absl::StatusOr<Window2D> PoolAttrsOf(const Node& node) {
  std::vector<int64_t> ksize, strides;
  std::string padding, data_format = "NHWC";
  DFLOW_RETURN_IF_ERROR(GetNodeAttr(node, "ksize", &ksize));
  DFLOW_RETURN_IF_ERROR(GetNodeAttr(node, "strides", &strides));
  DFLOW_RETURN_IF_ERROR(GetNodeAttr(node, "padding", &padding));
  GetNodeAttr(node, "data_format", &data_format).IgnoreError();
  return CheckPoolAttrs(ksize, strides, padding, data_format);
}

}  // namespace conv

namespace {

using conv::Window2D;

// ---------------------------------------------------------------------------------------------
// Shape functions.

absl::StatusOr<Window2D> ReadConv2DAttrs(InferenceContext* ctx) {
  std::vector<int64_t> strides, dilations, explicit_paddings;
  std::string padding, data_format;
  DFLOW_RETURN_IF_ERROR(ctx->GetAttr("strides", &strides));
  DFLOW_RETURN_IF_ERROR(ctx->GetAttr("padding", &padding));
  DFLOW_RETURN_IF_ERROR(ctx->GetAttr("dilations", &dilations));
  DFLOW_RETURN_IF_ERROR(ctx->GetAttr("explicit_paddings", &explicit_paddings));
  DFLOW_RETURN_IF_ERROR(ctx->GetAttr("data_format", &data_format));
  absl::StatusOr<Window2D> w =
      conv::CheckConv2DAttrs(strides, padding, dilations, explicit_paddings, data_format);
  if (!w.ok()) return ctx->Error(w.status().message());
  return w;
}

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

// Input i as a rank-4 shape (unknown dims when its rank is unknown).
absl::StatusOr<PartialTensorShape> Rank4(InferenceContext* ctx, int i, absl::string_view what,
                                         absl::string_view layout) {
  const PartialTensorShape& s = ctx->input(i);
  if (s.unknown_rank()) return PartialTensorShape::UnknownDims(4);
  if (s.dims() != 4) {
    return ctx->Error(absl::StrCat(what, " must be 4-D ", layout, " but has shape ",
                                   s.DebugString()));
  }
  return s;
}

// a and b (-1 = unknown) merged; an error built from `message` when both are known and differ.
absl::StatusOr<int64_t> Merge(InferenceContext* ctx, int64_t a, int64_t b,
                              absl::string_view message) {
  if (a < 0) return b;
  if (b < 0 || a == b) return a;
  return ctx->Error(absl::StrCat(message, ": ", a, " vs. ", b));
}

// The output size along one spatial dim, -1 when the input size or window is unknown.
absl::StatusOr<int64_t> OutDim(InferenceContext* ctx, int64_t in, int64_t window, int64_t stride,
                               conv::Padding padding, absl::string_view window_what,
                               absl::string_view dim) {
  if (in < 0 || window < 0) return int64_t{-1};
  absl::StatusOr<conv::WindowedSize> size =
      conv::ComputeWindowedSize(in, window, stride, padding, window_what, dim);
  if (!size.ok()) return ctx->Error(size.status().message());
  return size->out;
}

// The value of a constant int32 [4] sizes input, or null when it is not a constant. Checks the
// input's shape either way.
absl::StatusOr<std::optional<std::vector<int64_t>>> SizesInput(InferenceContext* ctx, int i,
                                                               absl::string_view what) {
  const PartialTensorShape& s = ctx->input(i);
  if (!s.unknown_rank() && (s.dims() != 1 || (s.dim_size(0) >= 0 && s.dim_size(0) != 4))) {
    return ctx->Error(absl::StrCat(what, " must be a 1-D tensor of 4 sizes but has shape ",
                                   s.DebugString()));
  }
  const Tensor* t = ctx->input_tensor(i);
  if (t == nullptr) return std::optional<std::vector<int64_t>>();
  absl::StatusOr<IntList> v = IntValues(*t, what);
  if (!v.ok()) return ctx->Error(v.status().message());
  if (v->size() != 4) {
    return ctx->Error(absl::StrCat(what, " must have 4 entries but has ", v->size()));
  }
  for (int64_t d : *v) {
    if (d < 0) {
      return ctx->Error(absl::StrCat(what, " must be non-negative but is [",
                                     absl::StrJoin(*v, ", "), "]"));
    }
  }
  return std::optional<std::vector<int64_t>>(std::vector<int64_t>(v->begin(), v->end()));
}

constexpr absl::string_view kImageLayout = "[batch, height, width, channels]";
constexpr absl::string_view kFilterLayout = "[height, width, in_channels, out_channels]";
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

// Checks out_backprop against the output shape the forward op would have.
absl::Status CheckOutBackprop(InferenceContext* ctx, const PartialTensorShape& expected,
                              const PartialTensorShape& out_backprop, absl::string_view what) {
  if (!expected.IsCompatibleWith(out_backprop)) {
    return ctx->Error(absl::StrCat(what, " has shape ", out_backprop.DebugString(),
                                   " but the forward op's output has shape ",
                                   expected.DebugString()));
  }
  return absl::OkStatus();
}

absl::Status Conv2DShape(InferenceContext* ctx) {
  DFLOW_ASSIGN_OR_RETURN(Window2D w, ReadConv2DAttrs(ctx));
  DFLOW_ASSIGN_OR_RETURN(PartialTensorShape input, Rank4(ctx, 0, "input", kImageLayout));
  DFLOW_ASSIGN_OR_RETURN(PartialTensorShape filter, Rank4(ctx, 1, "filter", kFilterLayout));
  DFLOW_ASSIGN_OR_RETURN(PartialTensorShape out, ConvOutputShape(ctx, w, input, filter));
  ctx->set_output(0, out);
  return absl::OkStatus();
}

absl::Status Conv2DBackpropInputShape(InferenceContext* ctx) {
  DFLOW_ASSIGN_OR_RETURN(Window2D w, ReadConv2DAttrs(ctx));
  DFLOW_ASSIGN_OR_RETURN(std::optional<std::vector<int64_t>> sizes,
                         SizesInput(ctx, 0, "input_sizes"));
  DFLOW_ASSIGN_OR_RETURN(PartialTensorShape filter, Rank4(ctx, 1, "filter", kFilterLayout));
  DFLOW_ASSIGN_OR_RETURN(PartialTensorShape dy, Rank4(ctx, 2, "out_backprop", kImageLayout));
  PartialTensorShape input({dy.dim_size(0), -1, -1, filter.dim_size(2)});
  if (sizes.has_value()) input = PartialTensorShape(absl::MakeConstSpan(*sizes));
  DFLOW_ASSIGN_OR_RETURN(PartialTensorShape expected, ConvOutputShape(ctx, w, input, filter));
  DFLOW_RETURN_IF_ERROR(CheckOutBackprop(ctx, expected, dy, "out_backprop"));
  ctx->set_output(0, input);
  return absl::OkStatus();
}

absl::Status Conv2DBackpropFilterShape(InferenceContext* ctx) {
  DFLOW_ASSIGN_OR_RETURN(Window2D w, ReadConv2DAttrs(ctx));
  DFLOW_ASSIGN_OR_RETURN(PartialTensorShape input, Rank4(ctx, 0, "input", kImageLayout));
  DFLOW_ASSIGN_OR_RETURN(std::optional<std::vector<int64_t>> sizes,
                         SizesInput(ctx, 1, "filter_sizes"));
  DFLOW_ASSIGN_OR_RETURN(PartialTensorShape dy, Rank4(ctx, 2, "out_backprop", kImageLayout));
  PartialTensorShape filter({-1, -1, input.dim_size(3), dy.dim_size(3)});
  if (sizes.has_value()) filter = PartialTensorShape(absl::MakeConstSpan(*sizes));
  DFLOW_ASSIGN_OR_RETURN(PartialTensorShape expected, ConvOutputShape(ctx, w, input, filter));
  DFLOW_RETURN_IF_ERROR(CheckOutBackprop(ctx, expected, dy, "out_backprop"));
  ctx->set_output(0, filter);
  return absl::OkStatus();
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

absl::Status AvgPoolGradShape(InferenceContext* ctx) {
  DFLOW_ASSIGN_OR_RETURN(Window2D w, ReadPoolAttrs(ctx));
  DFLOW_ASSIGN_OR_RETURN(std::optional<std::vector<int64_t>> sizes,
                         SizesInput(ctx, 0, "orig_input_shape"));
  DFLOW_ASSIGN_OR_RETURN(PartialTensorShape grad, Rank4(ctx, 1, "grad", kImageLayout));
  PartialTensorShape input({grad.dim_size(0), -1, -1, grad.dim_size(3)});
  if (sizes.has_value()) input = PartialTensorShape(absl::MakeConstSpan(*sizes));
  DFLOW_ASSIGN_OR_RETURN(PartialTensorShape expected, PoolOutputShape(ctx, w, input));
  DFLOW_RETURN_IF_ERROR(CheckOutBackprop(ctx, expected, grad, "grad"));
  ctx->set_output(0, input);
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Gradients.

struct ConvNodeAttrs {
  std::vector<int64_t> strides;
  std::string padding;
  ops::Conv2DAttrs attrs;
};

ConvNodeAttrs ConvNodeAttrsOf(const Node& node) {
  ConvNodeAttrs a;
  GetNodeAttr(node, "strides", &a.strides).IgnoreError();
  GetNodeAttr(node, "padding", &a.padding).IgnoreError();
  GetNodeAttr(node, "use_cudnn_on_gpu", &a.attrs.use_cudnn_on_gpu).IgnoreError();
  GetNodeAttr(node, "data_format", &a.attrs.data_format).IgnoreError();
  GetNodeAttr(node, "dilations", &a.attrs.dilations).IgnoreError();
  GetNodeAttr(node, "explicit_paddings", &a.attrs.explicit_paddings).IgnoreError();
  return a;
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

// y = conv(x, w): dx = Conv2DBackpropInput(shape(x), w, dy),
//                 dw = Conv2DBackpropFilter(x, shape(w), dy).
absl::Status Conv2DGrad(const Scope& scope, const Node& node,
                        absl::Span<const Output> grad_outputs, std::vector<Output>* grad_inputs) {
  grad_inputs->assign(2, Output());
  const Output& g = grad_outputs[0];
  ConvNodeAttrs a = ConvNodeAttrsOf(node);
  const Output& x = node.input(0);
  const Output& w = node.input(1);
  (*grad_inputs)[0] = ops::Conv2DBackpropInput(scope, ops::Shape(scope, x), w, g, a.strides,
                                               a.padding, a.attrs);
  (*grad_inputs)[1] = ops::Conv2DBackpropFilter(scope, x, ops::Shape(scope, w), g, a.strides,
                                                a.padding, a.attrs);
  return scope.status();
}

// dx = Conv2DBackpropInput(sizes, w, dy) is linear in w and in dy: for an incoming gradient
// G (x's shape), d/dw = Conv2DBackpropFilter(G, shape(w), dy) and d/d(dy) = Conv2D(G, w).
absl::Status Conv2DBackpropInputGrad(const Scope& scope, const Node& node,
                                     absl::Span<const Output> grad_outputs,
                                     std::vector<Output>* grad_inputs) {
  grad_inputs->assign(3, Output());
  const Output& g = grad_outputs[0];
  ConvNodeAttrs a = ConvNodeAttrsOf(node);
  const Output& w = node.input(1);
  const Output& dy = node.input(2);
  (*grad_inputs)[1] = ops::Conv2DBackpropFilter(scope, g, ops::Shape(scope, w), dy, a.strides,
                                                a.padding, a.attrs);
  (*grad_inputs)[2] = ops::Conv2D(scope, g, w, a.strides, a.padding, a.attrs);
  return scope.status();
}

// dw = Conv2DBackpropFilter(x, sizes, dy): for an incoming gradient G (w's shape),
// d/dx = Conv2DBackpropInput(shape(x), G, dy) and d/d(dy) = Conv2D(x, G).
absl::Status Conv2DBackpropFilterGrad(const Scope& scope, const Node& node,
                                      absl::Span<const Output> grad_outputs,
                                      std::vector<Output>* grad_inputs) {
  grad_inputs->assign(3, Output());
  const Output& g = grad_outputs[0];
  ConvNodeAttrs a = ConvNodeAttrsOf(node);
  const Output& x = node.input(0);
  const Output& dy = node.input(2);
  (*grad_inputs)[0] = ops::Conv2DBackpropInput(scope, ops::Shape(scope, x), g, dy, a.strides,
                                               a.padding, a.attrs);
  (*grad_inputs)[2] = ops::Conv2D(scope, x, g, a.strides, a.padding, a.attrs);
  return scope.status();
}

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

REGISTER_OP("Conv2D")
    .Input("input: T")
    .Input("filter: T")
    .Output("output: T")
    .Attr("T: {float}")
    .Attr("strides: list(int)")
    .Attr("use_cudnn_on_gpu: bool = true")
    .Attr("padding: string")
    .Attr("explicit_paddings: list(int) = []")
    .Attr("data_format: string = 'NHWC'")
    .Attr("dilations: list(int) = [1, 1, 1, 1]")
    .SetShapeFn(Conv2DShape);
REGISTER_GRADIENT("Conv2D", Conv2DGrad);

REGISTER_OP("Conv2DBackpropInput")
    .Input("input_sizes: int32")
    .Input("filter: T")
    .Input("out_backprop: T")
    .Output("output: T")
    .Attr("T: {float}")
    .Attr("strides: list(int)")
    .Attr("use_cudnn_on_gpu: bool = true")
    .Attr("padding: string")
    .Attr("explicit_paddings: list(int) = []")
    .Attr("data_format: string = 'NHWC'")
    .Attr("dilations: list(int) = [1, 1, 1, 1]")
    .SetShapeFn(Conv2DBackpropInputShape);
REGISTER_GRADIENT("Conv2DBackpropInput", Conv2DBackpropInputGrad);

REGISTER_OP("Conv2DBackpropFilter")
    .Input("input: T")
    .Input("filter_sizes: int32")
    .Input("out_backprop: T")
    .Output("output: T")
    .Attr("T: {float}")
    .Attr("strides: list(int)")
    .Attr("use_cudnn_on_gpu: bool = true")
    .Attr("padding: string")
    .Attr("explicit_paddings: list(int) = []")
    .Attr("data_format: string = 'NHWC'")
    .Attr("dilations: list(int) = [1, 1, 1, 1]")
    .SetShapeFn(Conv2DBackpropFilterShape);
REGISTER_GRADIENT("Conv2DBackpropFilter", Conv2DBackpropFilterGrad);

REGISTER_OP("MaxPool")
    .Input("input: T")
    .Output("output: T")
    .Attr("T: {float} = float")
    .Attr("ksize: list(int) >= 4")
    .Attr("strides: list(int) >= 4")
    .Attr("padding: string")
    .Attr("data_format: string = 'NHWC'")
    .SetShapeFn(PoolShape);
REGISTER_GRADIENT("MaxPool", MaxPoolGradFn);

// Its own gradient (TensorFlow's MaxPoolGradGrad) is not implemented.
REGISTER_OP("MaxPoolGrad")
    .Input("orig_input: T")
    .Input("orig_output: T")
    .Input("grad: T")
    .Output("output: T")
    .Attr("ksize: list(int) >= 4")
    .Attr("strides: list(int) >= 4")
    .Attr("padding: string")
    .Attr("data_format: string = 'NHWC'")
    .Attr("T: {float} = float")
    .SetShapeFn(MaxPoolGradShape)
    .NotDifferentiable();

REGISTER_OP("AvgPool")
    .Input("value: T")
    .Output("output: T")
    .Attr("ksize: list(int) >= 4")
    .Attr("strides: list(int) >= 4")
    .Attr("padding: string")
    .Attr("data_format: string = 'NHWC'")
    .Attr("T: {float}")
    .SetShapeFn(PoolShape);
REGISTER_GRADIENT("AvgPool", AvgPoolGradFn);

REGISTER_OP("AvgPoolGrad")
    .Input("orig_input_shape: int32")
    .Input("grad: T")
    .Output("output: T")
    .Attr("ksize: list(int) >= 4")
    .Attr("strides: list(int) >= 4")
    .Attr("padding: string")
    .Attr("data_format: string = 'NHWC'")
    .Attr("T: {float}")
    .SetShapeFn(AvgPoolGradShape);
REGISTER_GRADIENT("AvgPoolGrad", AvgPoolGradGrad);

namespace ops {
namespace {

AttrMap ConvAttrMap(const std::vector<int64_t>& strides, absl::string_view padding,
                    const Conv2DAttrs& attrs) {
  return {{"strides", MakeAttr(absl::Span<const int64_t>(strides))},
          {"padding", MakeAttr(padding)},
          {"use_cudnn_on_gpu", MakeAttr(attrs.use_cudnn_on_gpu)},
          {"data_format", MakeAttr(attrs.data_format)},
          {"dilations", MakeAttr(absl::Span<const int64_t>(attrs.dilations))},
          {"explicit_paddings", MakeAttr(absl::Span<const int64_t>(attrs.explicit_paddings))}};
}

AttrMap PoolAttrMap(const std::vector<int64_t>& ksize, const std::vector<int64_t>& strides,
                    absl::string_view padding, const DataFormatAttrs& attrs) {
  return {{"ksize", MakeAttr(absl::Span<const int64_t>(ksize))},
          {"strides", MakeAttr(absl::Span<const int64_t>(strides))},
          {"padding", MakeAttr(padding)},
          {"data_format", MakeAttr(attrs.data_format)}};
}

}  // namespace

Conv2D::Conv2D(const Scope& scope, Input input, Input filter, const std::vector<int64_t>& strides,
               absl::string_view padding, const Attrs& attrs)
    : Output(AddOp(scope, "Conv2D", {input, filter}, ConvAttrMap(strides, padding, attrs))) {}

Conv2DBackpropInput::Conv2DBackpropInput(const Scope& scope, Input input_sizes, Input filter,
                                         Input out_backprop, const std::vector<int64_t>& strides,
                                         absl::string_view padding, const Attrs& attrs)
    : Output(AddOp(scope, "Conv2DBackpropInput", {input_sizes, filter, out_backprop},
                   ConvAttrMap(strides, padding, attrs))) {}

Conv2DBackpropFilter::Conv2DBackpropFilter(const Scope& scope, Input input, Input filter_sizes,
                                           Input out_backprop,
                                           const std::vector<int64_t>& strides,
                                           absl::string_view padding, const Attrs& attrs)
    : Output(AddOp(scope, "Conv2DBackpropFilter", {input, filter_sizes, out_backprop},
                   ConvAttrMap(strides, padding, attrs))) {}

MaxPool::MaxPool(const Scope& scope, Input input, const std::vector<int64_t>& ksize,
                 const std::vector<int64_t>& strides, absl::string_view padding,
                 const Attrs& attrs)
    : Output(AddOp(scope, "MaxPool", {input}, PoolAttrMap(ksize, strides, padding, attrs))) {}

MaxPoolGrad::MaxPoolGrad(const Scope& scope, Input orig_input, Input orig_output, Input grad,
                         const std::vector<int64_t>& ksize, const std::vector<int64_t>& strides,
                         absl::string_view padding, const Attrs& attrs)
    : Output(AddOp(scope, "MaxPoolGrad", {orig_input, orig_output, grad},
                   PoolAttrMap(ksize, strides, padding, attrs))) {}

AvgPool::AvgPool(const Scope& scope, Input value, const std::vector<int64_t>& ksize,
                 const std::vector<int64_t>& strides, absl::string_view padding,
                 const Attrs& attrs)
    : Output(AddOp(scope, "AvgPool", {value}, PoolAttrMap(ksize, strides, padding, attrs))) {}

AvgPoolGrad::AvgPoolGrad(const Scope& scope, Input orig_input_shape, Input grad,
                         const std::vector<int64_t>& ksize, const std::vector<int64_t>& strides,
                         absl::string_view padding, const Attrs& attrs)
    : Output(AddOp(scope, "AvgPoolGrad", {orig_input_shape, grad},
                   PoolAttrMap(ksize, strides, padding, attrs))) {}

}  // namespace ops
}  // namespace dflow
