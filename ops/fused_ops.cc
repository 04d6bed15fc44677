// The ops the graph optimizer fuses into (see fused_ops.h): what their attrs mean, then op by op
// the schema and its shape function. They have no builders and no gradients.
#include "ops/fused_ops.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "graph/status_macros.h"
#include "ops/op_registry.h"
#include "ops/shape_inference.h"

namespace dflow {
namespace fused {

std::optional<Activation> ActivationOf(absl::string_view op) {
  if (op == "Relu") return Activation::kRelu;
  if (op == "Relu6") return Activation::kRelu6;
  if (op == "Elu") return Activation::kElu;
  if (op == "LeakyRelu") return Activation::kLeakyRelu;
  if (op == "Tanh") return Activation::kTanh;
  if (op == "Sigmoid") return Activation::kSigmoid;
  return std::nullopt;
}

float Activate(const PostOps& post, float x) {
  switch (post.activation) {
    case Activation::kNone: return x;
    case Activation::kRelu: return std::max(x, 0.0f);
    case Activation::kRelu6: return std::min(std::max(x, 0.0f), 6.0f);
    case Activation::kElu: return x < 0 ? std::expm1(x) : x;
    case Activation::kLeakyRelu: return x < 0 ? x * post.leakyrelu_alpha : x;
    case Activation::kTanh: return std::tanh(x);
    case Activation::kSigmoid: return 1.0f / (1.0f + std::exp(-x));
  }
  return x;
}

absl::StatusOr<PostOps> ParsePostOps(const std::vector<std::string>& fused_ops, int64_t num_args,
                                     float leakyrelu_alpha) {
  PostOps post;
  post.leakyrelu_alpha = leakyrelu_alpha;
  std::optional<Activation> activation;
  if (fused_ops.size() == 2) activation = ActivationOf(fused_ops[1]);
  if (fused_ops.empty() || fused_ops[0] != "BiasAdd" || fused_ops.size() > 2 ||
      (fused_ops.size() == 2 && !activation.has_value())) {
    return absl::UnimplementedError(absl::StrCat(
        "fused_ops [", absl::StrJoin(fused_ops, ", "),
        "] is not supported; supported: [BiasAdd] and [BiasAdd, A] for A in Relu, Relu6, Elu, "
        "LeakyRelu, Tanh, Sigmoid"));
  }
  if (activation.has_value()) post.activation = *activation;
  if (num_args != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("fused_ops [", absl::StrJoin(fused_ops, ", "),
                     "] takes one extra input (the bias) but num_args is ", num_args));
  }
  return post;
}

bool IsChainableBinaryOp(absl::string_view op) {
  return op == "Add" || op == "AddV2" || op == "Sub" || op == "Mul" || op == "RealDiv";
}

bool IsCommutativeBinaryOp(absl::string_view op) {
  return op == "Add" || op == "AddV2" || op == "Mul";
}

}  // namespace fused

// ---------------------------------------------------------------------------------------------
// _FusedMatMul, _FusedConv2D, _FusedDepthwiseConv2dNative

namespace {

// The unfused op's shape function gives the output shape (the node has its attrs and its first
// two inputs); the bias must be 1-D with one value per output column or channel.
absl::Status FusedShape(InferenceContext* ctx, absl::string_view base_op) {
  std::vector<std::string> fused_ops;
  int64_t num_args = 0;
  DFLOW_RETURN_IF_ERROR(ctx->GetAttr("fused_ops", &fused_ops));
  float leakyrelu_alpha = 0.2f;
  DFLOW_RETURN_IF_ERROR(ctx->GetAttr("num_args", &num_args));
  DFLOW_RETURN_IF_ERROR(ctx->GetAttr("leakyrelu_alpha", &leakyrelu_alpha));
  absl::StatusOr<fused::PostOps> post = fused::ParsePostOps(fused_ops, num_args, leakyrelu_alpha);
  if (!post.ok()) return ctx->Error(post.status().message());
  DFLOW_RETURN_IF_ERROR(OpRegistry::Global()->Find(base_op)->shape_fn(ctx));
  const PartialTensorShape& bias = ctx->input(2);
  if (bias.unknown_rank()) return absl::OkStatus();
  if (bias.dims() != 1) {
    return ctx->Error(absl::StrCat("bias must be 1-D but has shape ", bias.DebugString()));
  }
  const PartialTensorShape& out = ctx->output(0);
  const int64_t channels = out.unknown_rank() ? -1 : out.dim_size(out.dims() - 1);
  if (channels >= 0 && bias.dim_size(0) >= 0 && bias.dim_size(0) != channels) {
    return ctx->Error(absl::StrCat("bias has ", bias.dim_size(0), " values but the ", base_op,
                                   " output ", out.DebugString(), " has ", channels,
                                   " in its last dimension"));
  }
  return absl::OkStatus();
}

}  // namespace

// The attrs every fused product takes after its base op's own.
constexpr absl::string_view kFusedAttrs[] = {
    "T: {float}",
    "num_args: int >= 0",
    "fused_ops: list(string) = []",
    "epsilon: float = 0.0001",
    "leakyrelu_alpha: float = 0.2",
};
// Conv2D's and DepthwiseConv2dNative's window attrs.
constexpr absl::string_view kWindowAttrs[] = {
    "strides: list(int)",
    "padding: string",
    "explicit_paddings: list(int) = []",
    "data_format: string = 'NHWC'",
    "dilations: list(int) = [1, 1, 1, 1]",
};

// Only in optimized graphs, which are never differentiated.
REGISTER_OP("_FusedMatMul")
    .Input("a: T")
    .Input("b: T")
    .Input("args: num_args * T")
    .Output("product: T")
    .Attr("transpose_a: bool = false")
    .Attr("transpose_b: bool = false")
    .Attrs(kFusedAttrs)
    .SetShapeFn([](InferenceContext* ctx) { return FusedShape(ctx, "MatMul"); })
    .NotDifferentiable();
REGISTER_OP("_FusedConv2D")
    .Input("input: T")
    .Input("filter: T")
    .Input("args: num_args * T")
    .Output("output: T")
    .Attrs(kWindowAttrs)
    .Attr("use_cudnn_on_gpu: bool = true")
    .Attrs(kFusedAttrs)
    .SetShapeFn([](InferenceContext* ctx) { return FusedShape(ctx, "Conv2D"); })
    .NotDifferentiable();
REGISTER_OP("_FusedDepthwiseConv2dNative")
    .Input("input: T")
    .Input("filter: T")
    .Input("args: num_args * T")
    .Output("output: T")
    .Attrs(kWindowAttrs)
    .Attrs(kFusedAttrs)
    .SetShapeFn([](InferenceContext* ctx) { return FusedShape(ctx, "DepthwiseConv2dNative"); })
    .NotDifferentiable();

// ---------------------------------------------------------------------------------------------
// _ApplyGradientDescentMatMul

namespace {

// var -= alpha * MatMul(a, b): the product's shape, by MatMul's own shape function, must match
// the variable's, and alpha must be a scalar.
absl::Status ApplyGradientDescentMatMulShape(InferenceContext* ctx) {
  if (ctx->input(1).dims() > 0) {
    return ctx->Error(absl::StrCat("alpha must be a scalar, got ", ctx->input(1).DebugString()));
  }
  std::vector<std::string> unused;
  const OpDef& matmul = *OpRegistry::Global()->Find("MatMul");
  InferenceContext product(ctx->node_name(), matmul, ctx->attrs(),
                           {ctx->input(2), ctx->input(3)}, {nullptr, nullptr}, 1);
  absl::Status s = matmul.shape_fn(&product);
  if (!s.ok()) return ctx->Error(s.message());
  absl::StatusOr<PartialTensorShape> merged = ctx->input(0).Merge(product.output(0));
  if (!merged.ok()) {
    return ctx->Error(absl::StrCat("the product of shape ", product.output(0).DebugString(),
                                   " does not match var of shape ", ctx->input(0).DebugString()));
  }
  ctx->set_output(0, *merged);
  return absl::OkStatus();
}

}  // namespace

REGISTER_OP("_ApplyGradientDescentMatMul")
    .Input("var: Ref(T)")
    .Input("alpha: T")
    .Input("a: T")
    .Input("b: T")
    .Output("out: Ref(T)")
    .Attr("T: {float}")
    .Attr("use_locking: bool = false")
    .Attr("transpose_a: bool = false")
    .Attr("transpose_b: bool = false")
    .SetShapeFn(ApplyGradientDescentMatMulShape)
    .SetIsStateful()
    .NotDifferentiable();

// ---------------------------------------------------------------------------------------------
// _SoftmaxGrad

namespace {

// The gradients and the softmax output have one shape, which the backprops keep.
absl::Status SoftmaxGradShape(InferenceContext* ctx) {
  DFLOW_ASSIGN_OR_RETURN(PartialTensorShape merged, MergeInputPair(ctx, 0, 1, [ctx] {
    return absl::StrCat("gradients of shape ", ctx->input(0).DebugString(),
                        " do not match the softmax of shape ", ctx->input(1).DebugString());
  }));
  if (!merged.unknown_rank() && merged.dims() == 0) {
    return ctx->Error("the softmax must have at least one dimension");
  }
  ctx->set_output(0, merged);
  return absl::OkStatus();
}

}  // namespace

REGISTER_OP("_SoftmaxGrad")
    .Input("gradients: T")
    .Input("softmax: T")
    .Output("backprops: T")
    .Attr("T: {float}")
    .SetShapeFn(SoftmaxGradShape)
    .NotDifferentiable();

// ---------------------------------------------------------------------------------------------
// _FusedBinary

namespace {

// The broadcast of args[0] and args[1], which every further arg must broadcast into unchanged.
absl::Status FusedBinaryShape(InferenceContext* ctx) {
  std::vector<std::string> fused_ops;
  DFLOW_RETURN_IF_ERROR(ctx->GetAttr("fused_ops", &fused_ops));
  if (fused_ops.empty() || static_cast<int>(fused_ops.size()) + 1 != ctx->num_inputs()) {
    return ctx->Error(absl::StrCat("takes one more input than fused_ops has ops, got ",
                                   ctx->num_inputs(), " inputs for ", fused_ops.size(), " ops"));
  }
  for (const std::string& op : fused_ops) {
    if (!fused::IsChainableBinaryOp(op)) {
      return ctx->Error(absl::StrCat("fused_ops holds ", op,
                                     "; supported: Add, AddV2, Sub, Mul, RealDiv"));
    }
  }
  absl::StatusOr<PartialTensorShape> out = BroadcastShapes(ctx->input(0), ctx->input(1));
  for (int i = 2; out.ok() && i < ctx->num_inputs(); ++i) {
    absl::StatusOr<PartialTensorShape> grown = BroadcastShapes(*out, ctx->input(i));
    if (grown.ok() && grown->IsFullyDefined() && out->IsFullyDefined() && !(*grown == *out)) {
      return ctx->Error(absl::StrCat("input ", i, " of shape ", ctx->input(i).DebugString(),
                                     " does not broadcast into the result's shape ",
                                     out->DebugString()));
    }
    if (!grown.ok()) out = grown.status();
  }
  if (!out.ok()) return ctx->Error(out.status().message());
  ctx->set_output(0, *out);
  return absl::OkStatus();
}

}  // namespace

REGISTER_OP("_FusedBinary")
    .Input("args: num_args * T")
    .Output("z: T")
    .Attr("T: {float}")
    .Attr("num_args: int >= 2")
    .Attr("fused_ops: list(string)")
    .SetShapeFn(FusedBinaryShape)
    .NotDifferentiable();

}  // namespace dflow
