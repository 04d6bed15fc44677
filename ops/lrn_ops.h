// Builder functions for local response normalization across channels (LRN) and its gradient op:
//
//   Output y = ops::LRN(scope, x, ops::LRNAttrs().DepthRadius(2).Alpha(1e-4f).Beta(0.75f));
#ifndef DFLOW_OPS_LRN_OPS_H_
#define DFLOW_OPS_LRN_OPS_H_

#include "graph/graph.h"
#include "ops/scope.h"

namespace dflow {
namespace ops {

// TensorFlow's attrs and defaults. alpha multiplies the plain sum of squares over the window
// (it is not divided by the window size).
struct LRNAttrs {
  LRNAttrs DepthRadius(int v) const { LRNAttrs a = *this; a.depth_radius = v; return a; }
  LRNAttrs Bias(float v) const { LRNAttrs a = *this; a.bias = v; return a; }
  LRNAttrs Alpha(float v) const { LRNAttrs a = *this; a.alpha = v; return a; }
  LRNAttrs Beta(float v) const { LRNAttrs a = *this; a.beta = v; return a; }
  int depth_radius = 5;
  float bias = 1.0f, alpha = 1.0f, beta = 0.5f;
};

// input: float [n, h, w, c]. output[.., d] = input[.., d] / (bias + alpha * sum of
// input[.., k]^2 for k in [d - depth_radius, d + depth_radius] within [0, c))^beta.
Output LRN(const Scope& scope, Input input, const LRNAttrs& attrs = LRNAttrs());
// The gradient of LRN with respect to input_image, from the output's gradient input_grads and
// LRN's input and output (all [n, h, w, c]).
Output LRNGrad(const Scope& scope, Input input_grads, Input input_image, Input output_image,
               const LRNAttrs& attrs = LRNAttrs());

}  // namespace ops
}  // namespace dflow

#endif  // DFLOW_OPS_LRN_OPS_H_
