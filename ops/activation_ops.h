// Builder functions for TensorFlow's activation functions (float) and the gradient ops their
// gradients (and TensorFlow-written training graphs) use.
//
//   auto h = ops::Relu6(scope, ops::Add(scope, ops::MatMul(scope, x, w), b));
//   auto y = ops::LeakyRelu(scope, h, ops::LeakyRelu::Alpha(0.1f));
#ifndef DFLOW_OPS_ACTIVATION_OPS_H_
#define DFLOW_OPS_ACTIVATION_OPS_H_

#include "graph/graph.h"
#include "ops/scope.h"

namespace dflow {
namespace ops {

// 1 / (1 + exp(-x)).
Output Sigmoid(const Scope& scope, Input x);
// tanh(x).
Output Tanh(const Scope& scope, Input x);
// min(max(features, 0), 6).
Output Relu6(const Scope& scope, Input features);
// features < 0 ? exp(features) - 1 : features.
Output Elu(const Scope& scope, Input features);
// scale * (features < 0 ? alpha * (exp(features) - 1) : features), with TensorFlow's constants
// alpha = 1.6732632423543772848170429916717, scale = 1.0507009873554804934193349852946.
Output Selu(const Scope& scope, Input features);
// log(exp(features) + 1), computed without overflow (features itself when large, exp(features)
// when very negative, as TensorFlow does).
Output Softplus(const Scope& scope, Input features);
// features / (|features| + 1).
Output Softsign(const Scope& scope, Input features);

// features > 0 ? features : alpha * features (alpha 0.2 by default).
class LeakyRelu : public Output {
 public:
  struct Attrs {
    Attrs Alpha(float v) const { Attrs a = *this; a.alpha = v; return a; }
    float alpha = 0.2f;
  };
  static Attrs Alpha(float v) { return Attrs().Alpha(v); }
  LeakyRelu(const Scope& scope, Input features) : LeakyRelu(scope, features, Attrs()) {}
  LeakyRelu(const Scope& scope, Input features, const Attrs& attrs);
};

// The gradient ops, as TensorFlow names them: each takes the incoming gradient and the forward
// op's output (y / outputs) or input (features), of the same shape.
Output SigmoidGrad(const Scope& scope, Input y, Input dy);        // dy * y * (1 - y)
Output TanhGrad(const Scope& scope, Input y, Input dy);           // dy * (1 - y^2)
Output Relu6Grad(const Scope& scope, Input gradients, Input features);  // g * (0 < f < 6)
Output EluGrad(const Scope& scope, Input gradients, Input outputs);     // y < 0 ? g * (y + 1) : g
Output SeluGrad(const Scope& scope, Input gradients, Input outputs);
Output SoftplusGrad(const Scope& scope, Input gradients, Input features);  // g * sigmoid(f)
Output SoftsignGrad(const Scope& scope, Input gradients, Input features);  // g / (1 + |f|)^2

// features > 0 ? gradients : alpha * gradients.
class LeakyReluGrad : public Output {
 public:
  using Attrs = LeakyRelu::Attrs;
  LeakyReluGrad(const Scope& scope, Input gradients, Input features)
      : LeakyReluGrad(scope, gradients, features, Attrs()) {}
  LeakyReluGrad(const Scope& scope, Input gradients, Input features, const Attrs& attrs);
};

}  // namespace ops
}  // namespace dflow

#endif  // DFLOW_OPS_ACTIVATION_OPS_H_
