// Builder functions for 2-D convolution and pooling ops (NHWC images, HWIO filters):
//
//   auto h = ops::Conv2D(scope, x, w, {1, 1, 1, 1}, "SAME");          // x [N,H,W,C], w [3,3,C,32]
//   auto p = ops::MaxPool(scope, h, {1, 2, 2, 1}, {1, 2, 2, 1}, "VALID");
//
// Also the window arithmetic (TensorFlow's SAME / VALID output sizes and paddings) and the attr
// checks shared by the ops' shape functions and their kernels.
#ifndef DFLOW_OPS_CONV_OPS_H_
#define DFLOW_OPS_CONV_OPS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "graph/graph.h"
#include "ops/nn_ops.h"
#include "ops/scope.h"

namespace dflow {
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

// MaxPool / MaxPoolGrad / AvgPool / AvgPoolGrad attrs: ksize and strides [1, h, w, 1] (positive),
// padding 'SAME' or 'VALID', data_format 'NHWC'.
absl::StatusOr<Window2D> CheckPoolAttrs(const std::vector<int64_t>& ksize,
                                        const std::vector<int64_t>& strides,
                                        const std::string& padding,
                                        const std::string& data_format);
absl::StatusOr<Window2D> PoolAttrsOf(const Node& node);

}  // namespace conv

namespace ops {

// The optional attrs of Conv2D, Conv2DBackpropInput and Conv2DBackpropFilter (at namespace
// scope so that their default member initializers work in the constructors' default arguments).
struct Conv2DAttrs {
  Conv2DAttrs UseCudnnOnGpu(bool v) const {
    Conv2DAttrs a = *this;
    a.use_cudnn_on_gpu = v;
    return a;
  }
  Conv2DAttrs DataFormat(const std::string& f) const {
    Conv2DAttrs a = *this;
    a.data_format = f;
    return a;
  }
  Conv2DAttrs Dilations(const std::vector<int64_t>& d) const {
    Conv2DAttrs a = *this;
    a.dilations = d;
    return a;
  }
  Conv2DAttrs ExplicitPaddings(const std::vector<int64_t>& p) const {
    Conv2DAttrs a = *this;
    a.explicit_paddings = p;
    return a;
  }
  bool use_cudnn_on_gpu = true;      // Accepted and ignored (CPU only).
  std::string data_format = "NHWC";  // Only NHWC is supported.
  std::vector<int64_t> dilations = {1, 1, 1, 1};  // Only all-1 is supported.
  std::vector<int64_t> explicit_paddings;         // Only empty (padding 'EXPLICIT' unsupported).
};

// output [N, OH, OW, Cout] = the 2-D cross-correlation of input [N, H, W, Cin] with
// filter [KH, KW, Cin, Cout]; strides = {1, sh, sw, 1}; padding "SAME" or "VALID".
class Conv2D : public Output {
 public:
  using Attrs = Conv2DAttrs;
  static Attrs UseCudnnOnGpu(bool v) { return Attrs().UseCudnnOnGpu(v); }
  static Attrs DataFormat(const std::string& f) { return Attrs().DataFormat(f); }
  static Attrs Dilations(const std::vector<int64_t>& d) { return Attrs().Dilations(d); }
  static Attrs ExplicitPaddings(const std::vector<int64_t>& p) {
    return Attrs().ExplicitPaddings(p);
  }
  Conv2D(const Scope& scope, Input input, Input filter, const std::vector<int64_t>& strides,
         absl::string_view padding, const Attrs& attrs = Attrs());
};

// The gradient of Conv2D with respect to its input: input_sizes (int32 [4]) is the input's shape,
// out_backprop [N, OH, OW, Cout] the gradient of Conv2D's output.
class Conv2DBackpropInput : public Output {
 public:
  using Attrs = Conv2DAttrs;
  static Attrs DataFormat(const std::string& f) { return Attrs().DataFormat(f); }
  Conv2DBackpropInput(const Scope& scope, Input input_sizes, Input filter, Input out_backprop,
                      const std::vector<int64_t>& strides, absl::string_view padding,
                      const Attrs& attrs = Attrs());
};

// The gradient of Conv2D with respect to its filter: filter_sizes (int32 [4]) is the filter's
// shape.
class Conv2DBackpropFilter : public Output {
 public:
  using Attrs = Conv2DAttrs;
  static Attrs DataFormat(const std::string& f) { return Attrs().DataFormat(f); }
  Conv2DBackpropFilter(const Scope& scope, Input input, Input filter_sizes, Input out_backprop,
                       const std::vector<int64_t>& strides, absl::string_view padding,
                       const Attrs& attrs = Attrs());
};

// Max over ksize = {1, kh, kw, 1} windows of input [N, H, W, C] (SAME padding never wins).
class MaxPool : public Output {
 public:
  using Attrs = DataFormatAttrs;
  static Attrs DataFormat(const std::string& f) { return Attrs().DataFormat(f); }
  MaxPool(const Scope& scope, Input input, const std::vector<int64_t>& ksize,
          const std::vector<int64_t>& strides, absl::string_view padding,
          const Attrs& attrs = Attrs());
};

// The gradient of MaxPool: each element of grad (MaxPool's output shape) goes to the maximum of
// its window in orig_input (the first in row-major order on ties), summed where windows overlap.
class MaxPoolGrad : public Output {
 public:
  using Attrs = DataFormatAttrs;
  static Attrs DataFormat(const std::string& f) { return Attrs().DataFormat(f); }
  MaxPoolGrad(const Scope& scope, Input orig_input, Input orig_output, Input grad,
              const std::vector<int64_t>& ksize, const std::vector<int64_t>& strides,
              absl::string_view padding, const Attrs& attrs = Attrs());
};

// Mean over windows of value [N, H, W, C]; SAME padding is excluded from the count.
class AvgPool : public Output {
 public:
  using Attrs = DataFormatAttrs;
  static Attrs DataFormat(const std::string& f) { return Attrs().DataFormat(f); }
  AvgPool(const Scope& scope, Input value, const std::vector<int64_t>& ksize,
          const std::vector<int64_t>& strides, absl::string_view padding,
          const Attrs& attrs = Attrs());
};

// The gradient of AvgPool: orig_input_shape (int32 [4]) is AvgPool's input shape.
class AvgPoolGrad : public Output {
 public:
  using Attrs = DataFormatAttrs;
  static Attrs DataFormat(const std::string& f) { return Attrs().DataFormat(f); }
  AvgPoolGrad(const Scope& scope, Input orig_input_shape, Input grad,
              const std::vector<int64_t>& ksize, const std::vector<int64_t>& strides,
              absl::string_view padding, const Attrs& attrs = Attrs());
};

}  // namespace ops
}  // namespace dflow

#endif  // DFLOW_OPS_CONV_OPS_H_
