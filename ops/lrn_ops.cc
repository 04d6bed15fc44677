// Local response normalization: LRN and LRNGrad. Op by op: the schema, its shape function, its
// gradient and its builder.
#include "ops/lrn_ops.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "graph/status_macros.h"
#include "ops/op_registry.h"
#include "ops/shape_inference.h"

namespace dflow {

namespace {

AttrMap LrnAttrMap(const ops::LRNAttrs& a) {
  return {{"depth_radius", MakeAttr(a.depth_radius)},
          {"bias", MakeAttr(a.bias)},
          {"alpha", MakeAttr(a.alpha)},
          {"beta", MakeAttr(a.beta)}};
}

absl::StatusOr<ops::LRNAttrs> LrnAttrsOf(const Node& node) {
  ops::LRNAttrs a;
  int64_t radius = 0;
  DFLOW_RETURN_IF_ERROR(GetAttr(node.attrs(), "depth_radius", &radius));
  a.depth_radius = static_cast<int>(radius);
  DFLOW_RETURN_IF_ERROR(GetAttr(node.attrs(), "bias", &a.bias));
  DFLOW_RETURN_IF_ERROR(GetAttr(node.attrs(), "alpha", &a.alpha));
  DFLOW_RETURN_IF_ERROR(GetAttr(node.attrs(), "beta", &a.beta));
  return a;
}

absl::Status LrnShape(InferenceContext* ctx) {
  DFLOW_ASSIGN_OR_RETURN(PartialTensorShape in, ctx->WithRank(0, 4));
  ctx->set_output(0, in);
  return absl::OkStatus();
}

// The three inputs are one [n, h, w, c] shape.
absl::Status LrnGradShape(InferenceContext* ctx) {
  DFLOW_ASSIGN_OR_RETURN(PartialTensorShape s, ctx->WithRank(0, 4));
  for (int i = 1; i < 3; ++i) {
    DFLOW_ASSIGN_OR_RETURN(PartialTensorShape t, ctx->WithRank(i, 4));
    absl::StatusOr<PartialTensorShape> m = s.Merge(t);
    if (!m.ok()) {
      return ctx->Error(absl::StrCat("input_grads, input_image and output_image must have the "
                                     "same shape, got ",
                                     ctx->input(0).DebugString(), ", ",
                                     ctx->input(1).DebugString(), " and ",
                                     ctx->input(2).DebugString()));
    }
    s = *m;
  }
  ctx->set_output(0, s);
  return absl::OkStatus();
}

// y = x * n^-beta with n_d = bias + alpha * sum_{k in win(d)} x_k^2; LRNGrad writes out
// dx_k = g_k n_k^-beta - 2 alpha beta x_k sum_{d in win(k)} g_d y_d / n_d.
absl::Status LrnGradFn(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                       std::vector<Output>* grad_inputs) {
  DFLOW_ASSIGN_OR_RETURN(ops::LRNAttrs a, LrnAttrsOf(node));
  grad_inputs->assign(
      1, ops::LRNGrad(scope, grads[0], node.input(0), OutputOf(node, 0), a));
  return scope.status();
}

// LRN's and LRNGrad's attrs.
constexpr absl::string_view kLrnAttrs[] = {
    "depth_radius: int = 5", "bias: float = 1.0", "alpha: float = 1.0", "beta: float = 0.5",
    "T: {half, bfloat16, float} = DT_FLOAT"};

}  // namespace

REGISTER_OP("LRN")
    .Input("input: T")
    .Output("output: T")
    .Attrs(kLrnAttrs)
    .SetShapeFn(LrnShape);
REGISTER_GRADIENT("LRN", LrnGradFn);

Output ops::LRN(const Scope& scope, Input input, const LRNAttrs& attrs) {
  return AddOp(scope, "LRN", {input}, LrnAttrMap(attrs));
}

// TensorFlow registers no gradient for LRNGrad.
REGISTER_OP("LRNGrad")
    .Input("input_grads: T")
    .Input("input_image: T")
    .Input("output_image: T")
    .Output("output: T")
    .Attrs(kLrnAttrs)
    .SetShapeFn(LrnGradShape)
    .NotDifferentiable();  // TensorFlow registers no gradient for it either.

Output ops::LRNGrad(const Scope& scope, Input input_grads, Input input_image, Input output_image,
                    const LRNAttrs& attrs) {
  return AddOp(scope, "LRNGrad", {input_grads, input_image, output_image}, LrnAttrMap(attrs));
}

}  // namespace dflow
