// What the fused kernels (_FusedMatMul, _FusedConv2D, _FusedDepthwiseConv2dNative) share: the
// bias check, the oneDNN post-op for their activation and the result of an empty product.
// Stateless functions; thread-safe.
#ifndef DFLOW_KERNELS_FUSED_POST_OPS_H_
#define DFLOW_KERNELS_FUSED_POST_OPS_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "graph/graph.h"
#include "graph/tensor.h"
#include "oneapi/dnnl/dnnl.hpp"
#include "ops/fused_ops.h"

namespace dflow {

// A float [channels] bias, else InvalidArgument naming `what` holds the channels.
absl::Status CheckBias(const Tensor& bias, int64_t channels, absl::string_view what);

// The node's fused_ops, num_args and leakyrelu_alpha, checked (ops/fused_ops.h).
absl::StatusOr<fused::PostOps> PostOpsOf(const Node& node);

// oneDNN's eltwise algorithm and its alpha and beta for an activation (relu for kNone).
struct Eltwise {
  dnnl::algorithm alg;
  float alpha, beta;
};
Eltwise EltwiseOf(fused::Activation activation, float leakyrelu_alpha = 0.2f);

// The primitive attr with `post`'s activation as an eltwise post-op (none for kNone); the bias
// is the primitive's own input.
dnnl::primitive_attr PostOpsAttr(const fused::PostOps& post);

// Each row of the [rows, bias size] `out` set to the activated bias: the result when the
// product itself is empty (a zero inner dimension or no input channels).
void FillWithBias(const Tensor& bias, const fused::PostOps& post, Tensor* out);

}  // namespace dflow

#endif  // DFLOW_KERNELS_FUSED_POST_OPS_H_
