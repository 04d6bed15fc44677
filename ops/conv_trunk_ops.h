// _DflowConvTrunk: a chain of NHWC convolution, pooling and activation nodes that the graph
// optimizer (runtime/conv_trunk.cc) replaced by one node, so that its kernel can keep the images
// between them in oneDNN's preferred (blocked) layouts, reordering only at the chain's entry and
// exit. Only in optimized graphs; no builder, no gradient.
//
//   _DflowConvTrunk(input: T, args: num_args * T) -> output: T
//
// Attrs, one entry per stage (strides and ksize four per stage, TensorFlow's [1, h, w, 1]):
//   stages       the stage's op: Conv2D, DepthwiseConv2dNative (args: filter), _FusedConv2D,
//                _FusedDepthwiseConv2dNative (args: filter, bias), MaxPool, AvgPool, or an
//                activation Relu, Relu6, Elu, Tanh, Sigmoid (no args);
//   activations  for a convolution stage, the activation applied to its result ("" for none);
//                "" for the other stages;
//   strides, ksize, paddings ("SAME" or "VALID") as the stage's op reads them ([1, 1, 1, 1] and
//                "VALID" where the op has none).
// Stage i reads stage i - 1's result (input for stage 0); its args follow stage i - 1's. Each
// stage computes exactly what its op, followed by its activation, computes (NHWC, no dilations).
#ifndef DFLOW_OPS_CONV_TRUNK_OPS_H_
#define DFLOW_OPS_CONV_TRUNK_OPS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "graph/attr_value_util.h"

namespace dflow {
namespace conv_trunk {

// One stage of a trunk as its own op would be built: `op` with `attrs` (T, strides, ksize,
// padding, data_format, dilations, explicit_paddings and, for a fused convolution, fused_ops,
// num_args and leakyrelu_alpha), reading the previous result and `num_args` args, then
// `activation` ("" for none) for a convolution.
struct Stage {
  std::string op;
  std::string activation;
  AttrMap attrs;
  int num_args = 0;
};

// Whether `op` may be a stage, and how many args it takes.
bool IsStageOp(const std::string& op);
int StageArgs(const std::string& op);
bool IsConvolution(const std::string& op);

// The stages a _DflowConvTrunk node's attrs describe; InvalidArgument when the lists disagree
// in length, name an op that is no stage, or take other than num_args args.
absl::StatusOr<std::vector<Stage>> StagesOf(const AttrMap& attrs);

}  // namespace conv_trunk
}  // namespace dflow

#endif  // DFLOW_OPS_CONV_TRUNK_OPS_H_
