// Random ops: RandomUniform and TruncatedNormal — their shared shape function, then op by op the
// schema and its builder. Both are stateful (each run draws new numbers) and have no gradient.
#include "ops/random_ops.h"

#include "absl/strings/str_cat.h"
#include "ops/op_registry.h"
#include "ops/shape_inference.h"

namespace dflow {
namespace {

// Output shape = the values of the 1-D `shape` input when it is a graph-time constant, else a
// shape of the right rank when that is known.
absl::Status RandomShape(InferenceContext* ctx) {
  const PartialTensorShape& s = ctx->input(0);
  if (!s.unknown_rank() && s.dims() != 1) {
    return ctx->Error(absl::StrCat("shape must be a 1-D tensor but has shape ", s.DebugString()));
  }
  const Tensor* shape_t = ctx->input_tensor(0);
  if (shape_t != nullptr) {
    if (shape_t->dims() != 1) return ctx->Error("shape must be a 1-D tensor");
    std::vector<int64_t> dims;
    if (shape_t->dtype() == DT_INT32) {
      for (int32_t d : shape_t->flat<int32_t>()) dims.push_back(d);
    } else if (shape_t->dtype() == DT_INT64) {
      for (int64_t d : shape_t->flat<int64_t>()) dims.push_back(d);
    } else {
      return ctx->Error("shape must be int32 or int64");
    }
    for (int64_t d : dims) {
      if (d < 0) return ctx->Error(absl::StrCat("shape has a negative dimension ", d));
    }
    ctx->set_output(0, PartialTensorShape(dims));
    return absl::OkStatus();
  }
  ctx->set_output(0, ShapeOfLength(s));
  return absl::OkStatus();
}

// The attrs of both random ops, after the shape input.
constexpr absl::string_view kRandomOpAttrs[] = {"seed: int = 0", "seed2: int = 0",
                                                "dtype: {float, double}", "T: {int32, int64}"};

AttrMap RandomAttrMap(DataType dtype, const ops::RandomAttrs& attrs) {
  return {{"dtype", MakeAttr(dtype)},
          {"seed", MakeAttr(attrs.seed)},
          {"seed2", MakeAttr(attrs.seed2)}};
}

}  // namespace

// RandomUniform's and TruncatedNormal's schema: they differ only in their distribution.
#define DFLOW_RANDOM_OP(name)       \
  REGISTER_OP(name)                 \
      .Input("shape: T")            \
      .Output("output: dtype")      \
      .Attrs(kRandomOpAttrs)        \
      .SetShapeFn(RandomShape)      \
      .SetIsStateful()              \
      .NotDifferentiable()

// ---------------------------------------------------------------------------------------------
// RandomUniform

DFLOW_RANDOM_OP("RandomUniform");

ops::RandomUniform::RandomUniform(const Scope& scope, Input shape, DataType dtype,
                                  const Attrs& attrs)
    : Output(AddOp(scope, "RandomUniform", {shape}, RandomAttrMap(dtype, attrs))) {}

// ---------------------------------------------------------------------------------------------
// TruncatedNormal

DFLOW_RANDOM_OP("TruncatedNormal");

ops::TruncatedNormal::TruncatedNormal(const Scope& scope, Input shape, DataType dtype,
                                      const Attrs& attrs)
    : Output(AddOp(scope, "TruncatedNormal", {shape}, RandomAttrMap(dtype, attrs))) {}

}  // namespace dflow
