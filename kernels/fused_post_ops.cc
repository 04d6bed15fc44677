// The helpers of the fused kernels (fused_post_ops.h).
#include "kernels/fused_post_ops.h"

#include <string>
#include <vector>

#include "graph/status_macros.h"
#include "kernels/op_kernel.h"

namespace dflow {

absl::Status CheckBias(const Tensor& bias, int64_t channels, absl::string_view what) {
  DFLOW_RETURN_IF_ERROR(CheckInput(bias, "bias", DT_FLOAT, 1));
  if (bias.dim_size(0) != channels) {
    return OpKernelContext::InvalidArgument("bias has ", bias.dim_size(0), " values but the ", what,
                                            " has ", channels);
  }
  return absl::OkStatus();
}

Eltwise EltwiseOf(fused::Activation activation, float leakyrelu_alpha) {
  using fused::Activation;
  // oneDNN's eltwise computes alg(x; alpha, beta).
  switch (activation) {
    case Activation::kNone:
    case Activation::kRelu: break;
    case Activation::kRelu6: return {dnnl::algorithm::eltwise_clip, 0.0f, 6.0f};
    case Activation::kElu: return {dnnl::algorithm::eltwise_elu, 1.0f, 0.0f};
    case Activation::kLeakyRelu: return {dnnl::algorithm::eltwise_relu, leakyrelu_alpha, 0.0f};
    case Activation::kTanh: return {dnnl::algorithm::eltwise_tanh, 0.0f, 0.0f};
    case Activation::kSigmoid: return {dnnl::algorithm::eltwise_logistic, 0.0f, 0.0f};
  }
  return {dnnl::algorithm::eltwise_relu, 0.0f, 0.0f};
}

dnnl::primitive_attr PostOpsAttr(const fused::PostOps& post) {
  dnnl::primitive_attr attr;
  if (post.activation == fused::Activation::kNone) return attr;
  const Eltwise e = EltwiseOf(post.activation, post.leakyrelu_alpha);
  dnnl::post_ops ops;
  ops.append_eltwise(1.0f, e.alg, e.alpha, e.beta);
  attr.set_post_ops(ops);
  return attr;
}

void FillWithBias(const Tensor& bias, const fused::PostOps& post, Tensor* out) {
  absl::Span<const float> b = bias.flat<float>();
  absl::Span<float> o = out->flat<float>();
  for (size_t i = 0; i < o.size(); ++i) o[i] = fused::Activate(post, b[i % b.size()]);
}

absl::StatusOr<fused::PostOps> PostOpsOf(const Node& node) {
  std::vector<std::string> fused_ops;
  int64_t num_args = 0;
  float leakyrelu_alpha = 0.2f;
  DFLOW_RETURN_IF_ERROR(GetNodeAttr(node, "fused_ops", &fused_ops));
  DFLOW_RETURN_IF_ERROR(GetNodeAttr(node, "num_args", &num_args));
  if (node.attrs().find("leakyrelu_alpha") != node.attrs().end()) {
    DFLOW_RETURN_IF_ERROR(GetNodeAttr(node, "leakyrelu_alpha", &leakyrelu_alpha));
  }
  return fused::ParsePostOps(fused_ops, num_args, leakyrelu_alpha);
}


}  // namespace dflow
