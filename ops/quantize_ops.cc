// Fake-quantization ops: FakeQuantWithMinMaxArgs, FakeQuantWithMinMaxVars,
// FakeQuantWithMinMaxVarsPerChannel and their gradient ops. Op by op: the schema, its shape
// function, its gradient and its builder. The gradients are TensorFlow's straight-through
// estimator (the quantizer's true derivative is 0 almost everywhere).
#include "ops/quantize_ops.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "graph/status_macros.h"
#include "ops/op_registry.h"
#include "ops/shape_inference.h"

namespace dflow {
namespace {

absl::Status CheckNumBits(InferenceContext* ctx) {
  int64_t num_bits = 8;
  DFLOW_RETURN_IF_ERROR(ctx->GetAttr("num_bits", &num_bits));
  if (num_bits < 2 || num_bits > 16) {
    return ctx->Error(absl::StrCat("num_bits must be between 2 and 16, inclusive, but is ",
                                   num_bits));
  }
  return absl::OkStatus();
}

absl::Status CheckArgsRange(InferenceContext* ctx) {
  float min = 0, max = 0;
  DFLOW_RETURN_IF_ERROR(ctx->GetAttr("min", &min));
  DFLOW_RETURN_IF_ERROR(ctx->GetAttr("max", &max));
  if (!(min < max)) {
    return ctx->Error(absl::StrCat("min has to be smaller than max, was: ", min, " >= ", max));
  }
  return CheckNumBits(ctx);
}

absl::Status CheckScalar(InferenceContext* ctx, int i, absl::string_view what) {
  const PartialTensorShape& s = ctx->input(i);
  if (!s.unknown_rank() && s.dims() != 0) {
    return ctx->Error(absl::StrCat(what, " must be a scalar but has shape ", s.DebugString()));
  }
  return absl::OkStatus();
}

// inputs of rank >= 1 and min / max [d] with d the last dimension; returns d (-1 unknown).
absl::StatusOr<int64_t> PerChannelDepth(InferenceContext* ctx, int inputs) {
  const PartialTensorShape& x = ctx->input(inputs);
  int64_t d = -1;
  if (!x.unknown_rank()) {
    if (x.dims() < 1) return ctx->Error("inputs must have rank >= 1 but is a scalar");
    d = x.dim_size(x.dims() - 1);
  }
  for (int i : {inputs + 1, inputs + 2}) {
    const PartialTensorShape& s = ctx->input(i);
    if (s.unknown_rank()) continue;
    const char* what = i == inputs + 1 ? "min" : "max";
    if (s.dims() != 1) {
      return ctx->Error(absl::StrCat(what, " must be 1-D but has shape ", s.DebugString()));
    }
    if (s.dim_size(0) >= 0 && d >= 0 && s.dim_size(0) != d) {
      return ctx->Error(absl::StrCat(what, " must have one element per channel (the last "
                                           "dimension of inputs, ", d, ") but has ",
                                     s.dim_size(0)));
    }
    if (d < 0) d = s.dim_size(0);
  }
  return d;
}

absl::StatusOr<PartialTensorShape> MergeGradShape(InferenceContext* ctx) {
  absl::StatusOr<PartialTensorShape> m = ctx->input(0).Merge(ctx->input(1));
  if (!m.ok()) {
    return ctx->Error(absl::StrCat("gradients ", ctx->input(0).DebugString(), " and inputs ",
                                   ctx->input(1).DebugString(), " must have the same shape"));
  }
  return m;
}

ops::FakeQuantAttrs AttrsOf(const Node& node) {
  ops::FakeQuantAttrs a;
  GetNodeAttr(node, "min", &a.min).IgnoreError();
  GetNodeAttr(node, "max", &a.max).IgnoreError();
  int64_t bits = 8;
  GetNodeAttr(node, "num_bits", &bits).IgnoreError();
  a.num_bits = static_cast<int>(bits);
  GetNodeAttr(node, "narrow_range", &a.narrow_range).IgnoreError();
  return a;
}

AttrMap BitsAttrMap(const ops::FakeQuantAttrs& a) {
  return {{"num_bits", MakeAttr(int64_t{a.num_bits})}, {"narrow_range", MakeAttr(a.narrow_range)}};
}

AttrMap ArgsAttrMap(const ops::FakeQuantAttrs& a) {
  AttrMap m = BitsAttrMap(a);
  m["min"] = MakeAttr(a.min);
  m["max"] = MakeAttr(a.max);
  return m;
}

constexpr absl::string_view kArgsAttrs[] = {
    "min: float = -6", "max: float = 6", "num_bits: int = 8", "narrow_range: bool = false"};
constexpr absl::string_view kVarsAttrs[] = {"num_bits: int = 8", "narrow_range: bool = false"};

ops::FakeQuantVarsGradient VarsGradient(const Scope& scope, absl::string_view op,
                                        Input gradients, Input inputs, Input min, Input max,
                                        const ops::FakeQuantAttrs& attrs) {
  ops::FakeQuantVarsGradient g;
  Node* node = AddOp(scope, op, {gradients, inputs, min, max}, BitsAttrMap(attrs));
  if (node == nullptr) return g;
  g.operation = Operation(node);
  g.backprops_wrt_input = Output(node, 0);
  g.backprop_wrt_min = Output(node, 1);
  g.backprop_wrt_max = Output(node, 2);
  return g;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// FakeQuantWithMinMaxArgs, FakeQuantWithMinMaxArgsGradient

namespace {

// Straight-through: dx = g inside the nudged range, 0 outside, x being input kX of the op's
// kX + 1. FakeQuantWithMinMaxArgsGradient's dx = g * in_range(x) is linear in g: d/dg = G *
// in_range(x), the op itself applied to G; x's mask is piecewise constant: none. (TensorFlow
// registers none for the gradient op; this one is exact.)
template <int kX>
absl::Status ArgsGrad(const Scope& scope, const Node& node, absl::Span<const Output> grad_outputs,
                      std::vector<Output>* grad_inputs) {
  grad_inputs->assign(kX + 1, Output());
  (*grad_inputs)[0] =
      ops::FakeQuantWithMinMaxArgsGradient(scope, grad_outputs[0], node.input(kX), AttrsOf(node));
  return scope.status();
}

// Not implemented yet for the Vars gradient ops: differentiating through one fails, naming it.
absl::Status VarsGradientGradUnimplemented(const Scope& scope, const Node& node,
                                           absl::Span<const Output> grad_outputs,
                                           std::vector<Output>* grad_inputs) {
  return absl::UnimplementedError(absl::StrCat("the gradient of ", node.op(),
                                               " is not implemented; node '", node.name(), "'"));
}

}  // namespace

REGISTER_OP("FakeQuantWithMinMaxArgs")
    .Input("inputs: float")
    .Output("outputs: float")
    .Attrs(kArgsAttrs)
    .SetShapeFn([](InferenceContext* ctx) {
      DFLOW_RETURN_IF_ERROR(CheckArgsRange(ctx));
      return UnchangedShape(ctx);
    });
REGISTER_GRADIENT("FakeQuantWithMinMaxArgs", ArgsGrad<0>);

REGISTER_OP("FakeQuantWithMinMaxArgsGradient")
    .Input("gradients: float")
    .Input("inputs: float")
    .Output("backprops: float")
    .Attrs(kArgsAttrs)
    .SetShapeFn([](InferenceContext* ctx) {
      DFLOW_RETURN_IF_ERROR(CheckArgsRange(ctx));
      DFLOW_ASSIGN_OR_RETURN(PartialTensorShape s, MergeGradShape(ctx));
      ctx->set_output(0, s);
      return absl::OkStatus();
    });
REGISTER_GRADIENT("FakeQuantWithMinMaxArgsGradient", ArgsGrad<1>);

Output ops::FakeQuantWithMinMaxArgs(const Scope& scope, Input inputs,
                                    const FakeQuantAttrs& attrs) {
  return AddOp(scope, "FakeQuantWithMinMaxArgs", {inputs}, ArgsAttrMap(attrs));
}
Output ops::FakeQuantWithMinMaxArgsGradient(const Scope& scope, Input gradients, Input inputs,
                                            const FakeQuantAttrs& attrs) {
  return AddOp(scope, "FakeQuantWithMinMaxArgsGradient", {gradients, inputs},
               ArgsAttrMap(attrs));
}

// ---------------------------------------------------------------------------------------------
// FakeQuantWithMinMaxVars, FakeQuantWithMinMaxVarsGradient

namespace {

// Straight-through for x; the clamped values follow the range ends: dmin = sum of g below the
// range, dmax = sum of g above it. kGradient is the op's gradient op's builder (per tensor, or per
// channel of the last dimension).
template <auto kGradient>
absl::Status VarsGrad(const Scope& scope, const Node& node, absl::Span<const Output> grad_outputs,
                      std::vector<Output>* grad_inputs) {
  ops::FakeQuantVarsGradient g = kGradient(scope, grad_outputs[0], node.input(0), node.input(1),
                                           node.input(2), AttrsOf(node));
  *grad_inputs = {g.backprops_wrt_input, g.backprop_wrt_min, g.backprop_wrt_max};
  return scope.status();
}

// The Vars ops' shapes: min and max are scalars, or (kPerChannel) [d] for inputs' last
// dimension d.
template <bool kPerChannel>
absl::Status VarsShape(InferenceContext* ctx) {
  DFLOW_RETURN_IF_ERROR(CheckNumBits(ctx));
  if (kPerChannel) {
    DFLOW_RETURN_IF_ERROR(PerChannelDepth(ctx, 0).status());
  } else {
    DFLOW_RETURN_IF_ERROR(CheckScalar(ctx, 1, "min"));
    DFLOW_RETURN_IF_ERROR(CheckScalar(ctx, 2, "max"));
  }
  return UnchangedShape(ctx);
}

// Their gradient ops': gradients and inputs of one shape; the range's gradients of min's.
template <bool kPerChannel>
absl::Status VarsGradientShape(InferenceContext* ctx) {
  DFLOW_RETURN_IF_ERROR(CheckNumBits(ctx));
  PartialTensorShape range = PartialTensorShape(absl::Span<const int64_t>());  // A scalar.
  if (kPerChannel) {
    DFLOW_ASSIGN_OR_RETURN(int64_t d, PerChannelDepth(ctx, 1));
    range = PartialTensorShape({d});
  } else {
    DFLOW_RETURN_IF_ERROR(CheckScalar(ctx, 2, "min"));
    DFLOW_RETURN_IF_ERROR(CheckScalar(ctx, 3, "max"));
  }
  DFLOW_ASSIGN_OR_RETURN(PartialTensorShape s, MergeGradShape(ctx));
  ctx->set_output(0, s);
  ctx->set_output(1, range);
  ctx->set_output(2, range);
  return absl::OkStatus();
}

}  // namespace

// The per-tensor and the per-channel ops' schemas, which differ only in their shapes.
#define DFLOW_FAKE_QUANT_VARS_OP(name, per_channel) \
  REGISTER_OP(name)                                 \
      .Input("inputs: float")                       \
      .Input("min: float")                          \
      .Input("max: float")                          \
      .Output("outputs: float")                     \
      .Attrs(kVarsAttrs)                            \
      .SetShapeFn(VarsShape<per_channel>)
#define DFLOW_FAKE_QUANT_VARS_GRADIENT_OP(name, per_channel) \
  REGISTER_OP(name)                                          \
      .Input("gradients: float")                             \
      .Input("inputs: float")                                \
      .Input("min: float")                                   \
      .Input("max: float")                                   \
      .Output("backprops_wrt_input: float")                  \
      .Output("backprop_wrt_min: float")                     \
      .Output("backprop_wrt_max: float")                     \
      .Attrs(kVarsAttrs)                                     \
      .SetShapeFn(VarsGradientShape<per_channel>)

DFLOW_FAKE_QUANT_VARS_OP("FakeQuantWithMinMaxVars", false);
REGISTER_GRADIENT("FakeQuantWithMinMaxVars", VarsGrad<ops::FakeQuantWithMinMaxVarsGradient>);

DFLOW_FAKE_QUANT_VARS_GRADIENT_OP("FakeQuantWithMinMaxVarsGradient", false);
REGISTER_GRADIENT("FakeQuantWithMinMaxVarsGradient", VarsGradientGradUnimplemented);

Output ops::FakeQuantWithMinMaxVars(const Scope& scope, Input inputs, Input min, Input max,
                                    const FakeQuantAttrs& attrs) {
  return AddOp(scope, "FakeQuantWithMinMaxVars", {inputs, min, max}, BitsAttrMap(attrs));
}
ops::FakeQuantVarsGradient ops::FakeQuantWithMinMaxVarsGradient(const Scope& scope,
                                                                Input gradients, Input inputs,
                                                                Input min, Input max,
                                                                const FakeQuantAttrs& attrs) {
  return VarsGradient(scope, "FakeQuantWithMinMaxVarsGradient", gradients, inputs, min, max,
                      attrs);
}

// ---------------------------------------------------------------------------------------------
// FakeQuantWithMinMaxVarsPerChannel, FakeQuantWithMinMaxVarsPerChannelGradient

DFLOW_FAKE_QUANT_VARS_OP("FakeQuantWithMinMaxVarsPerChannel", true);
REGISTER_GRADIENT("FakeQuantWithMinMaxVarsPerChannel",
                  VarsGrad<ops::FakeQuantWithMinMaxVarsPerChannelGradient>);

DFLOW_FAKE_QUANT_VARS_GRADIENT_OP("FakeQuantWithMinMaxVarsPerChannelGradient", true);
REGISTER_GRADIENT("FakeQuantWithMinMaxVarsPerChannelGradient", VarsGradientGradUnimplemented);

Output ops::FakeQuantWithMinMaxVarsPerChannel(const Scope& scope, Input inputs, Input min,
                                              Input max, const FakeQuantAttrs& attrs) {
  return AddOp(scope, "FakeQuantWithMinMaxVarsPerChannel", {inputs, min, max},
               BitsAttrMap(attrs));
}
ops::FakeQuantVarsGradient ops::FakeQuantWithMinMaxVarsPerChannelGradient(
    const Scope& scope, Input gradients, Input inputs, Input min, Input max,
    const FakeQuantAttrs& attrs) {
  return VarsGradient(scope, "FakeQuantWithMinMaxVarsPerChannelGradient", gradients, inputs, min,
                      max, attrs);
}

// ---------------------------------------------------------------------------------------------
// Dequantize

namespace {

// Output: the input's shape. min_range and max_range: scalars, or [d] for the input's dim d at
// axis >= 0.
absl::Status DequantizeShape(InferenceContext* ctx) {
  int64_t axis = -1;
  std::string mode;
  DFLOW_RETURN_IF_ERROR(ctx->GetAttr("axis", &axis));
  DFLOW_RETURN_IF_ERROR(ctx->GetAttr("mode", &mode));
  if (mode != "MIN_COMBINED" && mode != "MIN_FIRST" && mode != "SCALED") {
    return ctx->Error(absl::StrCat("Mode string must be 'MIN_COMBINED', 'MIN_FIRST', or "
                                   "'SCALED', is '", mode, "'"));
  }
  if (axis < -1) return ctx->Error(absl::StrCat("axis should be at least -1, got ", axis));
  const PartialTensorShape& in = ctx->input(0);
  if (axis >= 0 && !in.unknown_rank() && axis >= in.dims()) {
    return ctx->Error(absl::StrCat("Axis must be less than input dimension(", in.dims(),
                                   "), got ", axis));
  }
  for (int i = 1; i < 3; ++i) {
    DFLOW_ASSIGN_OR_RETURN(PartialTensorShape r, ctx->WithRank(i, axis < 0 ? 0 : 1));
    if (axis >= 0 && !in.unknown_rank() && in.dim_size(axis) >= 0 && r.dim_size(0) >= 0 &&
        r.dim_size(0) != in.dim_size(axis)) {
      return ctx->Error(absl::StrCat("min_range and max_range must have ", in.dim_size(axis),
                                     " elements (the input's dim ", axis, "), got ",
                                     r.DebugString()));
    }
  }
  ctx->set_output(0, in);
  return absl::OkStatus();
}

}  // namespace

// TensorFlow registers no gradient for Dequantize.
REGISTER_OP("Dequantize")
    .Input("input: T")
    .Input("min_range: float")
    .Input("max_range: float")
    .Output("output: dtype")
    .Attr("T: {qint8, quint8, qint32, qint16, quint16}")
    .Attr("mode: string = 'MIN_COMBINED'")
    .Attr("narrow_range: bool = false")
    .Attr("axis: int = -1")
    .Attr("dtype: {bfloat16, float} = DT_FLOAT")
    .SetShapeFn(DequantizeShape)
    .NotDifferentiable();  // As in TensorFlow.

Output ops::Dequantize(const Scope& scope, Input input, Input min_range, Input max_range,
                       const DequantizeAttrs& attrs) {
  return AddOp(scope, "Dequantize", {input, min_range, max_range},
               {{"mode", MakeAttr(attrs.mode)},
                {"narrow_range", MakeAttr(attrs.narrow_range)},
                {"axis", MakeAttr(attrs.axis)}});
}

}  // namespace dflow
