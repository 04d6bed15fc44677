// Builder functions for neural-network ops: activations, bias and softmax cross-entropy losses.
#ifndef DFLOW_OPS_NN_OPS_H_
#define DFLOW_OPS_NN_OPS_H_

#include <string>

#include "graph/graph.h"
#include "ops/scope.h"

namespace dflow {
namespace ops {

// softmax[..., j] = exp(logits[..., j]) / sum_k exp(logits[..., k]), over the last axis.
Output Softmax(const Scope& scope, Input logits);

// max(features, 0).
Output Relu(const Scope& scope, Input features);
// gradients * (features > 0): the gradient of Relu.
Output ReluGrad(const Scope& scope, Input gradients, Input features);

// The attrs of BiasAdd and BiasAddGrad (defined outside them so that the default member
// initializer is usable in their constructors' default arguments).
struct DataFormatAttrs {
  DataFormatAttrs DataFormat(const std::string& f) const {
    DataFormatAttrs a = *this;
    a.data_format = f;
    return a;
  }
  std::string data_format = "NHWC";
};

// value [..., C] + bias [C]. Only data_format "NHWC" (channels last) is supported.
class BiasAdd : public Output {
 public:
  using Attrs = DataFormatAttrs;
  static Attrs DataFormat(const std::string& f) { return Attrs().DataFormat(f); }
  BiasAdd(const Scope& scope, Input value, Input bias, const Attrs& attrs = Attrs());
};

// Sums out_backprop [..., C] over every axis but the last: the bias gradient of BiasAdd.
class BiasAddGrad : public Output {
 public:
  using Attrs = DataFormatAttrs;
  static Attrs DataFormat(const std::string& f) { return Attrs().DataFormat(f); }
  BiasAddGrad(const Scope& scope, Input out_backprop, const Attrs& attrs = Attrs());
};

// features [N, C] logits, labels [N, C] probabilities:
//   loss [N] = -sum_j labels[n, j] * log_softmax(features)[n, j]
//   backprop [N, C] = softmax(features) - labels (d loss / d features).
class SoftmaxCrossEntropyWithLogits {
 public:
  SoftmaxCrossEntropyWithLogits(const Scope& scope, Input features, Input labels);
  Operation operation;
  Output loss;
  Output backprop;
};

// features [N, C] logits, labels [N] class indices (int32 or int64) in [0, C):
//   loss [N] = -log_softmax(features)[n, labels[n]]
//   backprop [N, C] = softmax(features) - one_hot(labels).
class SparseSoftmaxCrossEntropyWithLogits {
 public:
  SparseSoftmaxCrossEntropyWithLogits(const Scope& scope, Input features, Input labels);
  Operation operation;
  Output loss;
  Output backprop;
};

// predictions [N, C] (float), targets [N] (int32 or int64), k (a scalar of targets' type):
// precision[n] is true when fewer than k classes score strictly higher than the target (ties
// with the target count in its favour). A target outside [0, C) or a non-finite score in the
// row gives false.
Output InTopKV2(const Scope& scope, Input predictions, Input targets, Input k);

// logits - log(sum(exp(logits), -1)) over the last axis (float; rank >= 1).
Output LogSoftmax(const Scope& scope, Input logits);

}  // namespace ops
}  // namespace dflow

#endif  // DFLOW_OPS_NN_OPS_H_
