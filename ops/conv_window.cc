// Window arithmetic and attr checks shared by the convolution ops (conv_ops.cc), the pooling
// ops (pooling_ops.cc), their shape functions and their kernels.
#include "ops/conv_window.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "graph/status_macros.h"
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
  return ConvWindowOf(node, CheckConv2DAttrs);
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

absl::StatusOr<int64_t> OutDim(InferenceContext* ctx, int64_t in, int64_t window, int64_t stride,
                               Padding padding, absl::string_view window_what,
                               absl::string_view dim) {
  if (in < 0 || window < 0) return int64_t{-1};
  absl::StatusOr<WindowedSize> size =
      ComputeWindowedSize(in, window, stride, padding, window_what, dim);
  if (!size.ok()) return ctx->Error(size.status().message());
  return size->out;
}

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

absl::Status CheckOutBackprop(InferenceContext* ctx, const PartialTensorShape& expected,
                              const PartialTensorShape& out_backprop, absl::string_view what) {
  if (!expected.IsCompatibleWith(out_backprop)) {
    return ctx->Error(absl::StrCat(what, " has shape ", out_backprop.DebugString(),
                                   " but the forward op's output has shape ",
                                   expected.DebugString()));
  }
  return absl::OkStatus();
}

absl::Status SetBackpropOutput(
    InferenceContext* ctx, const std::optional<std::vector<int64_t>>& sizes,
    PartialTensorShape fallback,
    absl::FunctionRef<absl::StatusOr<PartialTensorShape>(const PartialTensorShape&)> forward,
    const PartialTensorShape& out_backprop, absl::string_view what) {
  PartialTensorShape out =
      sizes.has_value() ? PartialTensorShape(absl::MakeConstSpan(*sizes)) : std::move(fallback);
  DFLOW_ASSIGN_OR_RETURN(PartialTensorShape expected, forward(out));
  DFLOW_RETURN_IF_ERROR(CheckOutBackprop(ctx, expected, out_backprop, what));
  ctx->set_output(0, out);
  return absl::OkStatus();
}

}  // namespace conv
}  // namespace dflow
