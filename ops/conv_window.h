// The window arithmetic of 2-D convolution and pooling (TensorFlow's SAME / VALID output sizes
// and paddings) and the attr checks shared by those ops' shape functions and their kernels.
#ifndef DFLOW_OPS_CONV_WINDOW_H_
#define DFLOW_OPS_CONV_WINDOW_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "graph/attr_value_util.h"
#include "graph/graph.h"
#include "graph/status_macros.h"
#include "graph/tensor_shape.h"

namespace dflow {

class InferenceContext;

namespace conv {

enum class Padding { kSame, kValid };

// Validated window attrs of a 2-D op: strides and (for pooling) window sizes along H and W.
struct Window2D {
  int64_t stride_h = 1, stride_w = 1;
  int64_t window_h = 1, window_w = 1;  // Pooling only; convolutions take them from the filter.
  Padding padding = Padding::kValid;
};

// One spatial dimension's output size and padding, TensorFlow's rules:
//   VALID: out = (in - window) / stride + 1 (an error when window > in), no padding;
//   SAME:  out = ceil(in / stride), pad_total = max((out - 1) * stride + window - in, 0),
//          pad_before = pad_total / 2, pad_after = pad_total - pad_before.
struct WindowedSize {
  int64_t out = 0;
  int64_t pad_before = 0;
  int64_t pad_after = 0;
};
// Errors name `window_what` ("filter", "window") and `dim` ("height"). Needs in >= 0, window >= 1
// and stride >= 1.
absl::StatusOr<WindowedSize> ComputeWindowedSize(int64_t in, int64_t window, int64_t stride,
                                                 Padding padding, absl::string_view window_what,
                                                 absl::string_view dim);

// Conv2D / Conv2DBackpropInput / Conv2DBackpropFilter attrs: strides [1, sh, sw, 1] (positive),
// padding 'SAME' or 'VALID' ('EXPLICIT' is rejected), dilations all 1, explicit_paddings empty,
// data_format 'NHWC'. Errors are InvalidArgument (bad values) or Unimplemented (valid in
// TensorFlow but not supported here), naming the attr.
absl::StatusOr<Window2D> CheckConv2DAttrs(const std::vector<int64_t>& strides,
                                          const std::string& padding,
                                          const std::vector<int64_t>& dilations,
                                          const std::vector<int64_t>& explicit_paddings,
                                          const std::string& data_format);
// The same read from a node's attrs.
absl::StatusOr<Window2D> Conv2DAttrsOf(const Node& node);

// CheckConv2DAttrs or CheckDepthwiseAttrs: both convolution families check the same five attrs.
template <typename Window>
using ConvAttrsCheck = absl::StatusOr<Window> (*)(const std::vector<int64_t>& strides,
                                                  const std::string& padding,
                                                  const std::vector<int64_t>& dilations,
                                                  const std::vector<int64_t>& explicit_paddings,
                                                  const std::string& data_format);

// A convolution node's window, its attrs checked by `check`; the attrs NodeBuilder fills with
// their defaults are tolerated when absent.
template <typename Window>
absl::StatusOr<Window> ConvWindowOf(const Node& node, ConvAttrsCheck<Window> check) {
  std::vector<int64_t> strides, dilations = {1, 1, 1, 1}, explicit_paddings;
  std::string padding, data_format = "NHWC";
  DFLOW_RETURN_IF_ERROR(GetNodeAttr(node, "strides", &strides));
  DFLOW_RETURN_IF_ERROR(GetNodeAttr(node, "padding", &padding));
  GetNodeAttr(node, "dilations", &dilations).IgnoreError();
  GetNodeAttr(node, "explicit_paddings", &explicit_paddings).IgnoreError();
  GetNodeAttr(node, "data_format", &data_format).IgnoreError();
  return check(strides, padding, dilations, explicit_paddings, data_format);
}

// MaxPool / MaxPoolGrad / AvgPool / AvgPoolGrad attrs: ksize and strides [1, h, w, 1] (positive),
// padding 'SAME' or 'VALID', data_format 'NHWC'.
absl::StatusOr<Window2D> CheckPoolAttrs(const std::vector<int64_t>& ksize,
                                        const std::vector<int64_t>& strides,
                                        const std::string& padding,
                                        const std::string& data_format);
absl::StatusOr<Window2D> PoolAttrsOf(const Node& node);

// For the shape functions of the convolution and pooling ops.
inline constexpr absl::string_view kImageLayout = "[batch, height, width, channels]";
// Input i as a rank-4 shape (unknown dims when its rank is unknown).
absl::StatusOr<PartialTensorShape> Rank4(InferenceContext* ctx, int i, absl::string_view what,
                                         absl::string_view layout);
// The output size along one spatial dim, -1 when the input size or window is unknown.
absl::StatusOr<int64_t> OutDim(InferenceContext* ctx, int64_t in, int64_t window, int64_t stride,
                               Padding padding, absl::string_view window_what,
                               absl::string_view dim);
// The value of a constant int32 [4] sizes input, or null when it is not a constant. Checks the
// input's shape either way.
absl::StatusOr<std::optional<std::vector<int64_t>>> SizesInput(InferenceContext* ctx, int i,
                                                               absl::string_view what);
// Checks out_backprop against the output shape the forward op would have.
absl::Status CheckOutBackprop(InferenceContext* ctx, const PartialTensorShape& expected,
                              const PartialTensorShape& out_backprop, absl::string_view what);
// The tail of a backprop's shape function: its output is the constant `sizes` when known, else
// `fallback`; the forward op's output for that shape (`forward`) must agree with out_backprop.
absl::Status SetBackpropOutput(
    InferenceContext* ctx, const std::optional<std::vector<int64_t>>& sizes,
    PartialTensorShape fallback,
    absl::FunctionRef<absl::StatusOr<PartialTensorShape>(const PartialTensorShape&)> forward,
    const PartialTensorShape& out_backprop, absl::string_view what);

}  // namespace conv
}  // namespace dflow

#endif  // DFLOW_OPS_CONV_WINDOW_H_
