// Ops that only the graph optimizer (runtime/graph_optimizer.h) creates, each one oneDNN
// primitive doing the work of a chain of nodes. They have no builder functions and no gradients.
// (_DflowConvTrunk, a chain of several primitives, is in conv_trunk_ops.h.)
//
//   _FusedMatMul(a, b, args: num_args * T)     TensorFlow's internal ops for a MatMul, Conv2D or
//   _FusedConv2D(input, filter, args)          DepthwiseConv2dNative followed by BiasAdd and
//   _FusedDepthwiseConv2dNative(input, filter, optionally an activation. Attrs as the base op's,
//                               args)          plus T, num_args, fused_ops, epsilon,
//                                              leakyrelu_alpha. fused_ops is ["BiasAdd"] or
//                                              ["BiasAdd", A] for A in Activations(), with
//                                              args = [bias] (1-D, one value per output column
//                                              or channel). The optimizer also folds an
//                                              inference batch norm (or its Mul/Add form) after
//                                              a constant filter into the filter and the bias.
//   _ApplyGradientDescentMatMul(var, alpha, a, b)
//                                              ApplyGradientDescent(var, alpha, MatMul(a, b)):
//                                              var -= alpha * op(a) op(b), written straight into
//                                              the variable. Attrs: T, use_locking, transpose_a,
//                                              transpose_b.
//   _SoftmaxGrad(gradients, softmax)           (g - Sum(g * y, -1, keep_dims)) * y, the gradient
//                                              of y = Softmax(x): oneDNN's softmax backward.
//   _FusedBinary(args: num_args * T)           A chain of element-wise binary ops on floats:
//                                              fused_ops[0](args[0], args[1]), then for each
//                                              further op i, fused_ops[i](chain, args[i + 1]).
//                                              args[0] has the result's shape; the others
//                                              broadcast into it. One oneDNN binary primitive
//                                              with binary post-ops. Attrs: T, num_args,
//                                              fused_ops (names from ChainableBinaryOps()).
#ifndef DFLOW_OPS_FUSED_OPS_H_
#define DFLOW_OPS_FUSED_OPS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace dflow {
namespace fused {

// The activations a fused node may apply after its bias: TensorFlow's op names.
enum class Activation { kNone, kRelu, kRelu6, kElu, kLeakyRelu, kTanh, kSigmoid };

// What a fused node does after its MatMul or convolution: always add the bias (args[0]), then
// apply `activation` (LeakyRelu with slope `leakyrelu_alpha` below zero).
struct PostOps {
  Activation activation = Activation::kNone;
  float leakyrelu_alpha = 0.2f;
};

// The activation named by a TensorFlow op name, or nullopt: Relu, Relu6, Elu, LeakyRelu, Tanh,
// Sigmoid.
std::optional<Activation> ActivationOf(absl::string_view op);
// The activation applied to one value, as TensorFlow's kernel for that op computes it.
float Activate(const PostOps& post, float x);

// Checks fused_ops and num_args; the error lists the supported combinations.
absl::StatusOr<PostOps> ParsePostOps(const std::vector<std::string>& fused_ops, int64_t num_args,
                                     float leakyrelu_alpha);

// The ops _FusedBinary chains: Add, AddV2, Sub, Mul, RealDiv.
bool IsChainableBinaryOp(absl::string_view op);
// Whether op(a, b) == op(b, a) for a chainable op.
bool IsCommutativeBinaryOp(absl::string_view op);

}  // namespace fused
}  // namespace dflow

#endif  // DFLOW_OPS_FUSED_OPS_H_
