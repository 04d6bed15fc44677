// Builder functions for 2-D pooling ops (NHWC images):
//
//   auto p = ops::MaxPool(scope, h, {1, 2, 2, 1}, {1, 2, 2, 1}, "VALID");
#ifndef DFLOW_OPS_POOLING_OPS_H_
#define DFLOW_OPS_POOLING_OPS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "graph/graph.h"
#include "ops/nn_ops.h"
#include "ops/scope.h"

namespace dflow {
namespace ops {

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

#endif  // DFLOW_OPS_POOLING_OPS_H_
