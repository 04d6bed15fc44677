// ScatterAdd, ScatterSub, ScatterUpdate: schemas, shape function and builders (not
// differentiable: TensorFlow registers no gradient for them).
#include "ops/scatter_ops.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "graph/status_macros.h"
#include "ops/op_registry.h"
#include "ops/shape_inference.h"

namespace dflow {
namespace {

// updates must be a scalar or of shape indices.shape + ref.shape[1:]; the output is ref.
absl::Status ScatterShape(InferenceContext* ctx) {
  const PartialTensorShape& ref = ctx->input(0);
  const PartialTensorShape& indices = ctx->input(1);
  const PartialTensorShape& updates = ctx->input(2);
  if (!ref.unknown_rank() && ref.dims() == 0) {
    return ctx->Error("ref must be at least 1-D, got a scalar");
  }
  if (!updates.unknown_rank() && updates.dims() == 0) {
    ctx->set_output(0, ref);
    return absl::OkStatus();
  }
  if (!ref.unknown_rank() && !indices.unknown_rank()) {
    std::vector<int64_t> want(indices.dim_sizes().begin(), indices.dim_sizes().end());
    want.insert(want.end(), ref.dim_sizes().begin() + 1, ref.dim_sizes().end());
    if (!PartialTensorShape(want).IsCompatibleWith(updates)) {
      return ctx->Error(absl::StrCat("updates of shape ", updates.DebugString(),
                                     " must have shape indices.shape + ref.shape[1:] = ",
                                     PartialTensorShape(want).DebugString(), " or be a scalar"));
    }
  }
  ctx->set_output(0, ref);
  return absl::OkStatus();
}

}  // namespace

// ScatterAdd's and ScatterSub's schema: they differ only in their arithmetic.
#define DFLOW_SCATTER_ARITHMETIC_OP(name)           \
  REGISTER_OP(name)                                 \
      .Input("ref: Ref(T)")                         \
      .Input("indices: Tindices")                   \
      .Input("updates: T")                          \
      .Output("output_ref: Ref(T)")                 \
      .Attr("T: {float, double, int32, int64}")     \
      .Attr("Tindices: {int32, int64}")             \
      .Attr("use_locking: bool = false")            \
      .SetShapeFn(ScatterShape)                     \
      .SetIsStateful()                              \
      .NotDifferentiable()

DFLOW_SCATTER_ARITHMETIC_OP("ScatterAdd");
DFLOW_SCATTER_ARITHMETIC_OP("ScatterSub");
REGISTER_OP("ScatterUpdate")
    .Input("ref: Ref(T)")
    .Input("indices: Tindices")
    .Input("updates: T")
    .Output("output_ref: Ref(T)")
    .Attr("T: type")
    .Attr("Tindices: {int32, int64}")
    .Attr("use_locking: bool = true")
    .SetShapeFn(ScatterShape)
    .SetIsStateful()
    .NotDifferentiable();

Output ops::ScatterAdd(const Scope& scope, Input ref, Input indices, Input updates) {
  return AddOp(scope, "ScatterAdd", {ref, indices, updates});
}
Output ops::ScatterSub(const Scope& scope, Input ref, Input indices, Input updates) {
  return AddOp(scope, "ScatterSub", {ref, indices, updates});
}
Output ops::ScatterUpdate(const Scope& scope, Input ref, Input indices, Input updates) {
  return AddOp(scope, "ScatterUpdate", {ref, indices, updates});
}

}  // namespace dflow
