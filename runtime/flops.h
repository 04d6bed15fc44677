// Arithmetic a traced run did (RunOptions::trace fills NodeExecStats::flops with it), for
// GFLOP/s figures: a multiply-add counts as 2, as in the usual papers' tables.
// Stateless; thread-safe.
#ifndef DFLOW_RUNTIME_FLOPS_H_
#define DFLOW_RUNTIME_FLOPS_H_

#include <cstdint>

#include "absl/types/span.h"
#include "graph/graph.h"
#include "kernels/op_kernel.h"

namespace dflow {

// The floating-point operations of one execution of `node` on `inputs` that produced `outputs`,
// for the ops whose arithmetic dominates image and sequence models: Conv2D, DepthwiseConv2dNative
// and their fused forms, Conv2DBackpropInput, MatMul, _FusedMatMul, _ApplyGradientDescentMatMul
// and BatchMatMul(V2): 2 x multiply-adds. 0 for every other op (element-wise ops, pools and
// normalizations are a few percent of such models), for inputs it cannot read, and for
// _DflowConvTrunk, whose stages run inside one kernel (count with GraphOptimizerOptions::
// conv_trunks off: the arithmetic is the same).
int64_t NodeFlops(const Node& node, absl::Span<TensorValue* const> inputs,
                  absl::Span<const TensorValue> outputs);

}  // namespace dflow

#endif  // DFLOW_RUNTIME_FLOPS_H_
