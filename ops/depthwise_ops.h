// Builder functions for TensorFlow's depthwise 2-D convolution ops (NHWC images, filters
// [KH, KW, C, M] with M the channel multiplier), and the window attrs their shape functions and
// kernels share:
//
//   auto y = ops::DepthwiseConv2dNative(scope, x, w, {1, 2, 2, 1}, "SAME");  // w [3,3,C,1]
#ifndef DFLOW_OPS_DEPTHWISE_OPS_H_
#define DFLOW_OPS_DEPTHWISE_OPS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "graph/graph.h"
#include "ops/conv_window.h"
#include "ops/scope.h"

namespace dflow {
namespace conv {

// Validated attrs of a depthwise convolution: strides and dilations along H and W.
struct DepthwiseWindow {
  int64_t stride_h = 1, stride_w = 1;
  int64_t dilation_h = 1, dilation_w = 1;
  Padding padding = Padding::kValid;

  // The extent a kernel of k taps covers with dilation d: (k - 1) * d + 1.
  static int64_t Effective(int64_t k, int64_t d) { return k == 0 ? 0 : (k - 1) * d + 1; }
};

// strides and dilations [1, h, w, 1] (positive), padding 'SAME' or 'VALID' ('EXPLICIT' is
// rejected as unsupported), explicit_paddings empty, data_format 'NHWC'.
absl::StatusOr<DepthwiseWindow> CheckDepthwiseAttrs(const std::vector<int64_t>& strides,
                                                    const std::string& padding,
                                                    const std::vector<int64_t>& dilations,
                                                    const std::vector<int64_t>& explicit_paddings,
                                                    const std::string& data_format);
absl::StatusOr<DepthwiseWindow> DepthwiseAttrsOf(const Node& node);

}  // namespace conv

namespace ops {

// The optional attrs of the DepthwiseConv2dNative family.
struct DepthwiseConv2dAttrs {
  DepthwiseConv2dAttrs DataFormat(const std::string& f) const {
    DepthwiseConv2dAttrs a = *this;
    a.data_format = f;
    return a;
  }
  DepthwiseConv2dAttrs Dilations(const std::vector<int64_t>& d) const {
    DepthwiseConv2dAttrs a = *this;
    a.dilations = d;
    return a;
  }
  std::string data_format = "NHWC";               // Only NHWC is supported.
  std::vector<int64_t> dilations = {1, 1, 1, 1};  // [1, dh, dw, 1].
  std::vector<int64_t> explicit_paddings;         // Only empty (padding 'EXPLICIT' unsupported).
};

// output [N, OH, OW, C * M]: output[..., c * M + m] is the cross-correlation of input channel c
// of input [N, H, W, C] with filter[:, :, c, m] of filter [KH, KW, C, M].
class DepthwiseConv2dNative : public Output {
 public:
  using Attrs = DepthwiseConv2dAttrs;
  static Attrs Dilations(const std::vector<int64_t>& d) { return Attrs().Dilations(d); }
  DepthwiseConv2dNative(const Scope& scope, Input input, Input filter,
                        const std::vector<int64_t>& strides, absl::string_view padding,
                        const Attrs& attrs = Attrs());
};

// The gradient of DepthwiseConv2dNative with respect to its input; input_sizes (int32 [4]) is
// the input's shape.
class DepthwiseConv2dNativeBackpropInput : public Output {
 public:
  using Attrs = DepthwiseConv2dAttrs;
  static Attrs Dilations(const std::vector<int64_t>& d) { return Attrs().Dilations(d); }
  DepthwiseConv2dNativeBackpropInput(const Scope& scope, Input input_sizes, Input filter,
                                     Input out_backprop, const std::vector<int64_t>& strides,
                                     absl::string_view padding, const Attrs& attrs = Attrs());
};

// The gradient of DepthwiseConv2dNative with respect to its filter; filter_sizes (int32 [4]) is
// the filter's shape.
class DepthwiseConv2dNativeBackpropFilter : public Output {
 public:
  using Attrs = DepthwiseConv2dAttrs;
  static Attrs Dilations(const std::vector<int64_t>& d) { return Attrs().Dilations(d); }
  DepthwiseConv2dNativeBackpropFilter(const Scope& scope, Input input, Input filter_sizes,
                                      Input out_backprop, const std::vector<int64_t>& strides,
                                      absl::string_view padding, const Attrs& attrs = Attrs());
};

}  // namespace ops
}  // namespace dflow

#endif  // DFLOW_OPS_DEPTHWISE_OPS_H_
