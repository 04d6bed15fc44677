// Builder functions for 2-D convolution ops (NHWC images, HWIO filters); pooling_ops.h (the
// pooling ops) and conv_window.h (their window arithmetic) are included:
//
//   auto h = ops::Conv2D(scope, x, w, {1, 1, 1, 1}, "SAME");          // x [N,H,W,C], w [3,3,C,32]
//   auto p = ops::MaxPool(scope, h, {1, 2, 2, 1}, {1, 2, 2, 1}, "VALID");
#ifndef DFLOW_OPS_CONV_OPS_H_
#define DFLOW_OPS_CONV_OPS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "graph/graph.h"
#include "ops/conv_window.h"
#include "ops/nn_ops.h"
#include "ops/pooling_ops.h"
#include "ops/scope.h"

namespace dflow {
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

}  // namespace ops
}  // namespace dflow

#endif  // DFLOW_OPS_CONV_OPS_H_
