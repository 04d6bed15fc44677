// _DflowConvTrunk (conv_trunk_ops.h): its attrs decoded into stages, and its schema, whose shape
// function runs each stage's own op's shape function in turn.
#include "ops/conv_trunk_ops.h"

#include <cstdint>

#include "absl/strings/str_cat.h"
#include "graph/status_macros.h"
#include "ops/fused_ops.h"
#include "ops/op_registry.h"
#include "ops/shape_inference.h"

namespace dflow {
namespace conv_trunk {

bool IsConvolution(const std::string& op) {
  return op == "Conv2D" || op == "_FusedConv2D" || op == "DepthwiseConv2dNative" ||
         op == "_FusedDepthwiseConv2dNative";
}

bool IsStageOp(const std::string& op) {
  return IsConvolution(op) || op == "MaxPool" || op == "AvgPool" ||
         (op != "LeakyRelu" && fused::ActivationOf(op).has_value());
}

int StageArgs(const std::string& op) {
  if (op == "_FusedConv2D" || op == "_FusedDepthwiseConv2dNative") return 2;
  return IsConvolution(op) ? 1 : 0;
}

absl::StatusOr<std::vector<Stage>> StagesOf(const AttrMap& attrs) {
  std::vector<std::string> ops, activations, paddings;
  std::vector<int64_t> strides, ksize;
  int64_t num_args = 0;
  DFLOW_RETURN_IF_ERROR(GetAttr(attrs, "stages", &ops));
  DFLOW_RETURN_IF_ERROR(GetAttr(attrs, "activations", &activations));
  DFLOW_RETURN_IF_ERROR(GetAttr(attrs, "paddings", &paddings));
  DFLOW_RETURN_IF_ERROR(GetAttr(attrs, "strides", &strides));
  DFLOW_RETURN_IF_ERROR(GetAttr(attrs, "ksize", &ksize));
  DFLOW_RETURN_IF_ERROR(GetAttr(attrs, "num_args", &num_args));
  const size_t n = ops.size();
  if (n == 0 || activations.size() != n || paddings.size() != n || strides.size() != 4 * n ||
      ksize.size() != 4 * n) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a trunk of ", n, " stages needs as many activations and paddings and 4 strides and "
        "ksize per stage, got ", activations.size(), ", ", paddings.size(), ", ", strides.size(),
        " and ", ksize.size()));
  }
  std::vector<Stage> stages(n);
  int64_t args = 0;
  for (size_t i = 0; i < n; ++i) {
    Stage& s = stages[i];
    s.op = ops[i];
    s.activation = activations[i];
    if (!IsStageOp(s.op) ||
        (!s.activation.empty() &&
         (!IsConvolution(s.op) || s.activation == "LeakyRelu" ||
          !fused::ActivationOf(s.activation).has_value()))) {
      return absl::InvalidArgumentError(absl::StrCat("stage ", i, ": ", s.op, " with activation '",
                                                     s.activation, "' is not a trunk stage"));
    }
    s.num_args = StageArgs(s.op);
    args += s.num_args;
    const std::vector<int64_t> st(strides.begin() + 4 * i, strides.begin() + 4 * i + 4);
    const std::vector<int64_t> ks(ksize.begin() + 4 * i, ksize.begin() + 4 * i + 4);
    s.attrs = {{"T", MakeAttr(DT_FLOAT)},
               {"strides", MakeAttr(absl::MakeConstSpan(st))},
               {"ksize", MakeAttr(absl::MakeConstSpan(ks))},
               {"padding", MakeAttr(paddings[i])},
               {"data_format", MakeAttr("NHWC")},
               {"dilations", MakeAttr(absl::Span<const int64_t>({1, 1, 1, 1}))},
               {"explicit_paddings", MakeAttr(absl::Span<const int64_t>())},
               {"use_cudnn_on_gpu", MakeAttr(true)},
               {"fused_ops", MakeStringListAttr(std::vector<std::string>{"BiasAdd"})},
               {"num_args", MakeAttr(int64_t{1})},
               {"epsilon", MakeAttr(0.0001f)},
               {"leakyrelu_alpha", MakeAttr(0.2f)}};
  }
  if (args != num_args) {
    return absl::InvalidArgumentError(
        absl::StrCat("the stages take ", args, " args but num_args is ", num_args));
  }
  return stages;
}

}  // namespace conv_trunk

namespace {

// Each stage's op's own shape function, on the previous stage's output and the stage's args.
absl::Status ConvTrunkShape(InferenceContext* ctx) {
  absl::StatusOr<std::vector<conv_trunk::Stage>> stages = conv_trunk::StagesOf(ctx->attrs());
  if (!stages.ok()) return ctx->Error(stages.status().message());
  PartialTensorShape cur = ctx->input(0);
  int next_arg = 1;
  for (size_t i = 0; i < stages->size(); ++i) {
    const conv_trunk::Stage& s = (*stages)[i];
    std::vector<PartialTensorShape> inputs = {cur};
    for (int a = 0; a < s.num_args; ++a) inputs.push_back(ctx->input(next_arg++));
    const OpDef& op = *OpRegistry::Global()->Find(s.op);
    InferenceContext stage(ctx->node_name(), op, s.attrs, inputs,
                           std::vector<const Tensor*>(inputs.size(), nullptr), 1);
    absl::Status st = op.shape_fn(&stage);
    if (!st.ok()) return ctx->Error(absl::StrCat("stage ", i, " (", s.op, "): ", st.message()));
    cur = stage.output(0);
  }
  ctx->set_output(0, cur);
  return absl::OkStatus();
}

}  // namespace

// Only in optimized graphs, which are never differentiated.
REGISTER_OP("_DflowConvTrunk")
    .Input("input: T")
    .Input("args: num_args * T")
    .Output("output: T")
    .Attr("T: {float}")
    .Attr("num_args: int >= 0")
    .Attr("stages: list(string)")
    .Attr("activations: list(string)")
    .Attr("strides: list(int)")
    .Attr("ksize: list(int)")
    .Attr("paddings: list(string)")
    .SetShapeFn(ConvTrunkShape)
    .NotDifferentiable();

}  // namespace dflow
