// Ops that only the graph optimizer (runtime/graph_optimizer.h) creates, each one oneDNN
// primitive doing the work of a chain of nodes. They have no builder functions and no gradients.
//
//   _FusedMatMul(a, b, args: num_args * T)     TensorFlow's internal ops for a MatMul or Conv2D
//   _FusedConv2D(input, filter, args)          followed by BiasAdd and optionally Relu. Attrs as
//                                              MatMul's or Conv2D's, plus T, num_args, fused_ops,
//                                              epsilon. fused_ops is ["BiasAdd"] or ["BiasAdd",
//                                              "Relu"], with args = [bias] (1-D, one value per
//                                              output column or channel).
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
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace dflow {
namespace fused {

// What a fused node does after its MatMul or Conv2D: always add the bias (args[0]), then maybe
// apply Relu.
struct PostOps {
  bool relu = false;
};

// Checks fused_ops and num_args; the error lists the supported combinations.
absl::StatusOr<PostOps> ParsePostOps(const std::vector<std::string>& fused_ops, int64_t num_args);

// The ops _FusedBinary chains: Add, AddV2, Sub, Mul, RealDiv.
bool IsChainableBinaryOp(absl::string_view op);
// Whether op(a, b) == op(b, a) for a chainable op.
bool IsCommutativeBinaryOp(absl::string_view op);

}  // namespace fused
}  // namespace dflow

#endif  // DFLOW_OPS_FUSED_OPS_H_
