// Ops that permute a tensor's dims: Transpose and InvertPermutation. Op by op: the schema, its
// shape function, its gradient and its builder.
#include "ops/transpose_ops.h"

#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "graph/status_macros.h"
#include "ops/op_registry.h"
#include "ops/shape_inference.h"

namespace dflow {

// ---------------------------------------------------------------------------------------------
// Transpose

namespace {

absl::Status TransposeShape(InferenceContext* ctx) {
  const PartialTensorShape& in = ctx->input(0);
  const PartialTensorShape& perm_shape = ctx->input(1);
  if (perm_shape.dims() > 1 || perm_shape.dims() == 0) {
    return ctx->Error(absl::StrCat("perm must be a vector, got shape ", perm_shape.DebugString()));
  }
  int rank = in.dims();
  if (rank < 0 && perm_shape.dims() == 1) rank = static_cast<int>(perm_shape.dim_size(0));
  if (rank >= 0 && perm_shape.dims() == 1 && perm_shape.dim_size(0) >= 0 &&
      perm_shape.dim_size(0) != rank) {
    return ctx->Error(absl::StrCat("perm has ", perm_shape.dim_size(0),
                                   " values but the input ", in.DebugString(), " has rank ",
                                   rank));
  }
  std::optional<std::vector<int64_t>> perm = ConstInts(ctx, 1);
  if (!perm) {
    ctx->set_output(0, rank < 0 ? PartialTensorShape::Unknown()
                                : PartialTensorShape::UnknownDims(rank));
    return absl::OkStatus();
  }
  rank = static_cast<int>(perm->size());
  std::vector<bool> seen(rank, false);
  std::vector<int64_t> dims(rank, -1);
  for (int i = 0; i < rank; ++i) {
    const int64_t p = (*perm)[i];
    if (p < 0 || p >= rank) {
      return ctx->Error(absl::StrCat(p, " is out of range [0 .. ", rank, ") in perm"));
    }
    if (seen[p]) return ctx->Error(absl::StrCat(p, " is duplicated in perm"));
    seen[p] = true;
    if (!in.unknown_rank()) dims[i] = in.dim_size(static_cast<int>(p));
  }
  ctx->set_output(0, PartialTensorShape(dims));
  return absl::OkStatus();
}

// y = Transpose(x, p) moves dim p[k] to k; dx moves it back: Transpose(dy, InvertPermutation(p)).
absl::Status TransposeGrad(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                           std::vector<Output>* grad_inputs) {
  grad_inputs->assign(2, Output());
  (*grad_inputs)[0] =
      ops::Transpose(scope, grads[0], ops::InvertPermutation(scope, node.input(1)));
  return scope.status();
}

}  // namespace

REGISTER_OP("Transpose")
    .Input("x: T")
    .Input("perm: Tperm")
    .Output("y: T")
    .Attr("T: type")
    .Attr("Tperm: {int32, int64} = int32")
    .SetShapeFn(TransposeShape);
REGISTER_GRADIENT("Transpose", TransposeGrad);

Output ops::Transpose(const Scope& scope, Input x, Input perm) {
  return AddOp(scope, "Transpose", {x, perm});
}

// ---------------------------------------------------------------------------------------------
// InvertPermutation

namespace {

absl::Status InvertPermutationShape(InferenceContext* ctx) {
  const PartialTensorShape& in = ctx->input(0);
  if (in.dims() >= 0 && in.dims() != 1) {
    return ctx->Error(absl::StrCat("x must be a vector, got shape ", in.DebugString()));
  }
  ctx->set_output(0, in.unknown_rank() ? PartialTensorShape({-1}) : in);
  return absl::OkStatus();
}

}  // namespace

REGISTER_OP("InvertPermutation")
    .Input("x: T")
    .Output("y: T")
    .Attr("T: {int32, int64} = int32")
    .SetShapeFn(InvertPermutationShape)
    .NotDifferentiable();

Output ops::InvertPermutation(const Scope& scope, Input x) {
  return AddOp(scope, "InvertPermutation", {x});
}

}  // namespace dflow
