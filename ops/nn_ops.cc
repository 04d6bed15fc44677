// Neural-network ops: Softmax, BiasAdd, BiasAddGrad, Relu, ReluGrad,
// SoftmaxCrossEntropyWithLogits, SparseSoftmaxCrossEntropyWithLogits and InTopKV2. Op by op: the
// schema, its shape function, its gradient and its builder.
#include "ops/nn_ops.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "graph/status_macros.h"
#include "ops/array_ops.h"
#include "ops/gradients.h"
#include "ops/math_ops.h"
#include "ops/op_registry.h"
#include "ops/reduction_ops.h"
#include "ops/shape_inference.h"

namespace dflow {
namespace {

// Input i, checked to have rank >= `min_rank` when its rank is known.
absl::StatusOr<PartialTensorShape> WithRankAtLeast(InferenceContext* ctx, int i, int min_rank,
                                                   absl::string_view what) {
  const PartialTensorShape& s = ctx->input(i);
  if (!s.unknown_rank() && s.dims() < min_rank) {
    return ctx->Error(absl::StrCat(what, " must have rank >= ", min_rank, " but has shape ",
                                   s.DebugString()));
  }
  return s;
}

// Merges a dimension pair (-1 = unknown); an error naming both when they differ.
absl::StatusOr<int64_t> MergeDim(InferenceContext* ctx, int64_t a, int64_t b,
                                 absl::string_view what) {
  if (a < 0) return b;
  if (b < 0 || a == b) return a;
  return ctx->Error(absl::StrCat(what, ": ", a, " vs. ", b));
}

absl::Status CheckDataFormat(InferenceContext* ctx) {
  std::string format;
  DFLOW_RETURN_IF_ERROR(ctx->GetAttr("data_format", &format));
  if (format == "NCHW") {
    return ctx->Error("data_format 'NCHW' is not supported; only 'NHWC' (channels last) is");
  }
  if (format != "NHWC") {
    return ctx->Error(absl::StrCat("unknown data_format '", format, "'; only 'NHWC' is supported"));
  }
  return absl::OkStatus();
}

// (g - sum(g * y, -1, keepdims)) * y: the vector-Jacobian product of y = softmax(x).
Output SoftmaxBackward(const Scope& scope, const Output& g, const Output& y) {
  Output dot = ops::Sum(scope, ops::Mul(scope, g, y), -1, ops::Sum::KeepDims(true));
  return ops::Mul(scope, ops::Sub(scope, g, dot), y);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Softmax

namespace {

absl::Status SoftmaxShape(InferenceContext* ctx) {
  DFLOW_ASSIGN_OR_RETURN(PartialTensorShape in, WithRankAtLeast(ctx, 0, 1, "logits"));
  ctx->set_output(0, in);
  return absl::OkStatus();
}

// y = softmax(x): dx = (g - sum(g * y, -1)) * y (SoftmaxBackward).
absl::Status SoftmaxGrad(const Scope& scope, const Node& node,
                         absl::Span<const Output> grad_outputs,
                         std::vector<Output>* grad_inputs) {
  grad_inputs->assign(1, Output());
  (*grad_inputs)[0] = SoftmaxBackward(scope, grad_outputs[0], OutputOf(node, 0));
  return scope.status();
}

}  // namespace

REGISTER_OP("Softmax")
    .Input("logits: T")
    .Output("softmax: T")
    .Attr("T: {float}")
    .SetShapeFn(SoftmaxShape);
REGISTER_GRADIENT("Softmax", SoftmaxGrad);

Output ops::Softmax(const Scope& scope, Input logits) { return AddOp(scope, "Softmax", {logits}); }

// ---------------------------------------------------------------------------------------------
// BiasAdd

namespace {

absl::Status BiasAddShape(InferenceContext* ctx) {
  DFLOW_RETURN_IF_ERROR(CheckDataFormat(ctx));
  DFLOW_ASSIGN_OR_RETURN(PartialTensorShape value, WithRankAtLeast(ctx, 0, 2, "value"));
  DFLOW_ASSIGN_OR_RETURN(PartialTensorShape bias, ctx->WithRank(1, 1));
  if (value.unknown_rank()) {
    ctx->set_output(0, value);
    return absl::OkStatus();
  }
  std::vector<int64_t> dims(value.dim_sizes().begin(), value.dim_sizes().end());
  DFLOW_ASSIGN_OR_RETURN(int64_t c,
                         MergeDim(ctx, dims.back(), bias.dim_size(0),
                                  "the last dimension of value must equal the size of bias"));
  dims.back() = c;
  ctx->set_output(0, PartialTensorShape(dims));
  return absl::OkStatus();
}

// y = value + bias (broadcast over all axes but the last): value gets g, bias the sum of g
// over those axes (BiasAddGrad).
absl::Status BiasAddGradFn(const Scope& scope, const Node& node,
                           absl::Span<const Output> grad_outputs,
                           std::vector<Output>* grad_inputs) {
  grad_inputs->assign(2, Output());
  const Output& g = grad_outputs[0];
  std::string format = "NHWC";
  GetNodeAttr(node, "data_format", &format).IgnoreError();
  (*grad_inputs)[0] = g;
  (*grad_inputs)[1] = ops::BiasAddGrad(scope, g, ops::BiasAddGrad::DataFormat(format));
  return scope.status();
}

}  // namespace

REGISTER_OP("BiasAdd")
    .Input("value: T")
    .Input("bias: T")
    .Output("output: T")
    .Attr("T: {float}")
    .Attr("data_format: string = 'NHWC'")
    .SetShapeFn(BiasAddShape);
REGISTER_GRADIENT("BiasAdd", BiasAddGradFn);

ops::BiasAdd::BiasAdd(const Scope& scope, Input value, Input bias, const Attrs& attrs)
    : Output(AddOp(scope, "BiasAdd", {value, bias},
                   {{"data_format", MakeAttr(attrs.data_format)}})) {}

// ---------------------------------------------------------------------------------------------
// BiasAddGrad

namespace {

absl::Status BiasAddGradShape(InferenceContext* ctx) {
  DFLOW_RETURN_IF_ERROR(CheckDataFormat(ctx));
  DFLOW_ASSIGN_OR_RETURN(PartialTensorShape in, WithRankAtLeast(ctx, 0, 2, "out_backprop"));
  ctx->set_output(0, in.unknown_rank() ? PartialTensorShape::UnknownDims(1)
                                       : PartialTensorShape({in.dim_size(in.dims() - 1)}));
  return absl::OkStatus();
}

// BiasAddGrad sums over all axes but the last, so its gradient broadcasts g [C] back to the
// input's shape: BiasAdd(zeros_like(input), g).
absl::Status BiasAddGradGrad(const Scope& scope, const Node& node,
                             absl::Span<const Output> grad_outputs,
                             std::vector<Output>* grad_inputs) {
  grad_inputs->assign(1, Output());
  const Output& g = grad_outputs[0];
  std::string format = "NHWC";
  GetNodeAttr(node, "data_format", &format).IgnoreError();
  (*grad_inputs)[0] = ops::BiasAdd(scope, ops::ZerosLike(scope, node.input(0)), g,
                                   ops::BiasAdd::DataFormat(format));
  return scope.status();
}

}  // namespace

REGISTER_OP("BiasAddGrad")
    .Input("out_backprop: T")
    .Output("output: T")
    .Attr("T: {float}")
    .Attr("data_format: string = 'NHWC'")
    .SetShapeFn(BiasAddGradShape);
REGISTER_GRADIENT("BiasAddGrad", BiasAddGradGrad);

ops::BiasAddGrad::BiasAddGrad(const Scope& scope, Input out_backprop, const Attrs& attrs)
    : Output(AddOp(scope, "BiasAddGrad", {out_backprop},
                   {{"data_format", MakeAttr(attrs.data_format)}})) {}

// ---------------------------------------------------------------------------------------------
// Relu

namespace {

// y = max(x, 0): dx = g where x > 0, else 0 (ReluGrad).
absl::Status ReluGradFn(const Scope& scope, const Node& node,
                        absl::Span<const Output> grad_outputs,
                        std::vector<Output>* grad_inputs) {
  grad_inputs->assign(1, Output());
  // From Relu's output, as TensorFlow does (relu(x) > 0 exactly where x > 0): the input then
  // has Relu as its only reader, so the optimizer can fuse Relu into the op producing it.
  (*grad_inputs)[0] = ops::ReluGrad(scope, grad_outputs[0], OutputOf(node, 0));
  return scope.status();
}

}  // namespace

REGISTER_OP("Relu")
    .Input("features: T")
    .Output("activations: T")
    .Attr("T: {float}")
    .SetShapeFn(UnchangedShape);
REGISTER_GRADIENT("Relu", ReluGradFn);

Output ops::Relu(const Scope& scope, Input features) { return AddOp(scope, "Relu", {features}); }

// ---------------------------------------------------------------------------------------------
// ReluGrad

namespace {

absl::Status ReluGradShape(InferenceContext* ctx) {
  DFLOW_ASSIGN_OR_RETURN(PartialTensorShape merged, MergeInputPair(ctx, 0, 1, [ctx] {
    return absl::StrCat("gradients ", ctx->input(0).DebugString(), " and features ",
                        ctx->input(1).DebugString(), " must have the same shape");
  }));
  ctx->set_output(0, merged);
  return absl::OkStatus();
}

// ReluGrad(g, f) is linear in g (its gradient there is ReluGrad again) and piecewise constant
// in f (zero gradient almost everywhere).
absl::Status ReluGradGrad(const Scope& scope, const Node& node,
                          absl::Span<const Output> grad_outputs,
                          std::vector<Output>* grad_inputs) {
  grad_inputs->assign(2, Output());
  (*grad_inputs)[0] = ops::ReluGrad(scope, grad_outputs[0], node.input(1));
  return scope.status();
}

}  // namespace

REGISTER_OP("ReluGrad")
    .Input("gradients: T")
    .Input("features: T")
    .Output("backprops: T")
    .Attr("T: {float}")
    .SetShapeFn(ReluGradShape);
REGISTER_GRADIENT("ReluGrad", ReluGradGrad);

Output ops::ReluGrad(const Scope& scope, Input gradients, Input features) {
  return AddOp(scope, "ReluGrad", {gradients, features});
}

// ---------------------------------------------------------------------------------------------
// SoftmaxCrossEntropyWithLogits, SparseSoftmaxCrossEntropyWithLogits

namespace {

absl::Status XentShape(InferenceContext* ctx) {
  DFLOW_ASSIGN_OR_RETURN(PartialTensorShape features, ctx->WithRank(0, 2));
  DFLOW_ASSIGN_OR_RETURN(PartialTensorShape labels, ctx->WithRank(1, 2));
  absl::StatusOr<PartialTensorShape> merged = features.Merge(labels);
  if (!merged.ok()) {
    return ctx->Error(absl::StrCat("features ", features.DebugString(), " and labels ",
                                   labels.DebugString(), " must have the same shape"));
  }
  ctx->set_output(0, PartialTensorShape({merged->dim_size(0)}));
  ctx->set_output(1, *merged);
  return absl::OkStatus();
}

absl::Status SparseXentShape(InferenceContext* ctx) {
  DFLOW_ASSIGN_OR_RETURN(PartialTensorShape features, ctx->WithRank(0, 2));
  DFLOW_ASSIGN_OR_RETURN(PartialTensorShape labels, ctx->WithRank(1, 1));
  DFLOW_ASSIGN_OR_RETURN(int64_t n, MergeDim(ctx, features.dim_size(0), labels.dim_size(0),
                                             "labels must have one entry per row of features"));
  ctx->set_output(0, PartialTensorShape({n}));
  ctx->set_output(1, PartialTensorShape({n, features.dim_size(1)}));
  return absl::OkStatus();
}

// Both cross-entropy ops: d loss / d features = backprop (scaled per row by the loss gradient),
// and backprop = softmax(features) - labels, whose gradient w.r.t. features is softmax's.
// Labels get no gradient. A term whose incoming gradient is known zeros is left out.
absl::Status XentGrad(const Scope& scope, const Node& node,
                      absl::Span<const Output> grad_outputs,
                      std::vector<Output>* grad_inputs) {
  grad_inputs->assign(2, Output());
  const Output& g_loss = grad_outputs[0];
  const Output& g_backprop = grad_outputs[1];
  const bool backprop_term = !IsZerosGradient(g_backprop);
  Output grad;
  if (!backprop_term || !IsZerosGradient(g_loss)) {
    grad = ops::Mul(scope, ops::ExpandDims(scope, g_loss, -1), OutputOf(node, 1));
  }
  if (backprop_term) {
    Output term = SoftmaxBackward(scope, g_backprop, ops::Softmax(scope, node.input(0)));
    grad = grad.node() == nullptr ? term : ops::Add(scope, grad, term);
  }
  (*grad_inputs)[0] = grad;
  return scope.status();
}

}  // namespace

REGISTER_OP("SoftmaxCrossEntropyWithLogits")
    .Input("features: T")
    .Input("labels: T")
    .Output("loss: T")
    .Output("backprop: T")
    .Attr("T: {float}")
    .SetShapeFn(XentShape);
REGISTER_GRADIENT("SoftmaxCrossEntropyWithLogits", XentGrad);
REGISTER_OP("SparseSoftmaxCrossEntropyWithLogits")
    .Input("features: T")
    .Input("labels: Tlabels")
    .Output("loss: T")
    .Output("backprop: T")
    .Attr("T: {float}")
    .Attr("Tlabels: {int32, int64} = int64")
    .SetShapeFn(SparseXentShape);
REGISTER_GRADIENT("SparseSoftmaxCrossEntropyWithLogits", XentGrad);

ops::SoftmaxCrossEntropyWithLogits::SoftmaxCrossEntropyWithLogits(const Scope& scope,
                                                                  Input features, Input labels) {
  Node* node = AddOp(scope, "SoftmaxCrossEntropyWithLogits", {features, labels});
  if (node == nullptr) return;
  operation = Operation(node);
  loss = Output(node, 0);
  backprop = Output(node, 1);
}
ops::SparseSoftmaxCrossEntropyWithLogits::SparseSoftmaxCrossEntropyWithLogits(const Scope& scope,
                                                                              Input features,
                                                                              Input labels) {
  Node* node = AddOp(scope, "SparseSoftmaxCrossEntropyWithLogits", {features, labels});
  if (node == nullptr) return;
  operation = Operation(node);
  loss = Output(node, 0);
  backprop = Output(node, 1);
}

// ---------------------------------------------------------------------------------------------
// InTopKV2

REGISTER_OP("InTopKV2")
    .Input("predictions: float")
    .Input("targets: T")
    .Input("k: T")
    .Output("precision: bool")
    .Attr("T: {int32, int64} = int32")
    .SetShapeFn([](InferenceContext* ctx) {
      const PartialTensorShape& p = ctx->input(0);
      const PartialTensorShape& t = ctx->input(1);
      if (!p.unknown_rank() && p.dims() != 2) {
        return ctx->Error(absl::StrCat("predictions must be 2-D [batch, classes] but has shape ",
                                       p.DebugString()));
      }
      if (!t.unknown_rank() && t.dims() != 1) {
        return ctx->Error(absl::StrCat("targets must be 1-D but has shape ", t.DebugString()));
      }
      if (ctx->input(2).dims() > 0) {
        return ctx->Error(absl::StrCat("k must be a scalar but has shape ",
                                       ctx->input(2).DebugString()));
      }
      const int64_t pn = p.unknown_rank() ? -1 : p.dim_size(0);
      const int64_t tn = t.unknown_rank() ? -1 : t.dim_size(0);
      if (pn >= 0 && tn >= 0 && pn != tn) {
        return ctx->Error(absl::StrCat("predictions ", p.DebugString(), " and targets ",
                                       t.DebugString(), " disagree on the batch size"));
      }
      ctx->set_output(0, PartialTensorShape({pn >= 0 ? pn : tn}));
      return absl::OkStatus();
    })
    .NotDifferentiable();

Output ops::InTopKV2(const Scope& scope, Input predictions, Input targets, Input k) {
  return AddOp(scope, "InTopKV2", {predictions, targets, k});
}

}  // namespace dflow

namespace dflow {

// ---------------------------------------------------------------------------------------------
// LogSoftmax

namespace {

// y = x - log(sum(exp(x), -1)): dy_j/dx_k = delta_jk - softmax_k, so
// dx = g - sum(g, -1, keepdims) * exp(y).
absl::Status LogSoftmaxGrad(const Scope& scope, const Node& node,
                            absl::Span<const Output> grad_outputs,
                            std::vector<Output>* grad_inputs) {
  const Output& g = grad_outputs[0];
  Output sum = ops::Sum(scope, g, ops::Const(scope, -1), ops::Sum::KeepDims(true));
  *grad_inputs = {ops::Sub(scope, g, ops::Mul(scope, sum, ops::Exp(scope, OutputOf(node, 0))))};
  return scope.status();
}

}  // namespace

REGISTER_OP("LogSoftmax")
    .Input("logits: T")
    .Output("logsoftmax: T")
    .Attr("T: {float}")
    .SetShapeFn(SoftmaxShape);
REGISTER_GRADIENT("LogSoftmax", LogSoftmaxGrad);

Output ops::LogSoftmax(const Scope& scope, Input logits) {
  return AddOp(scope, "LogSoftmax", {logits});
}

}  // namespace dflow
