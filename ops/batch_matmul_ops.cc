// Batched matrix products: BatchMatMul and BatchMatMulV2 (broadcast batch dimensions). Op by op:
// the schema, its shape function, its gradient and its builder.
#include "ops/batch_matmul_ops.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "graph/status_macros.h"
#include "ops/gradients.h"
#include "ops/op_registry.h"
#include "ops/shape_inference.h"

namespace dflow {
namespace {

// [..., m, n] from x and y; batch dims equal (V1) or broadcast (V2).
absl::Status BatchMatMulShape(InferenceContext* ctx, bool broadcast) {
  bool adj_x = false, adj_y = false;
  DFLOW_RETURN_IF_ERROR(ctx->GetAttr("adj_x", &adj_x));
  DFLOW_RETURN_IF_ERROR(ctx->GetAttr("adj_y", &adj_y));
  const PartialTensorShape& x = ctx->input(0);
  const PartialTensorShape& y = ctx->input(1);
  for (const PartialTensorShape* s : {&x, &y}) {
    if (!s->unknown_rank() && s->dims() < 2) {
      return ctx->Error(absl::StrCat(s == &x ? "x" : "y", " must have rank >= 2 but has shape ",
                                     s->DebugString()));
    }
  }
  if (x.unknown_rank() || y.unknown_rank()) {
    ctx->set_output(0, PartialTensorShape());
    return absl::OkStatus();
  }
  if (!broadcast && x.dims() != y.dims()) {
    return ctx->Error(absl::StrCat("x ", x.DebugString(), " and y ", y.DebugString(),
                                   " must have the same rank"));
  }
  const int xr = x.dims(), yr = y.dims();
  const int64_t m = x.dim_size(adj_x ? xr - 1 : xr - 2);
  const int64_t kx = x.dim_size(adj_x ? xr - 2 : xr - 1);
  const int64_t ky = y.dim_size(adj_y ? yr - 1 : yr - 2);
  const int64_t n = y.dim_size(adj_y ? yr - 2 : yr - 1);
  if (kx >= 0 && ky >= 0 && kx != ky) {
    return ctx->Error(absl::StrCat("the inner dimensions of x ", x.DebugString(), " and y ",
                                   y.DebugString(), " (adj_x ", adj_x, ", adj_y ", adj_y,
                                   ") differ: ", kx, " vs. ", ky));
  }
  std::vector<int64_t> xb, yb;
  for (int i = 0; i < xr - 2; ++i) xb.push_back(x.dim_size(i));
  for (int i = 0; i < yr - 2; ++i) yb.push_back(y.dim_size(i));
  PartialTensorShape batch;
  if (broadcast) {
    absl::StatusOr<PartialTensorShape> b = BroadcastShapes(
        PartialTensorShape(absl::MakeConstSpan(xb)), PartialTensorShape(absl::MakeConstSpan(yb)));
    if (!b.ok()) {
      return ctx->Error(absl::StrCat("the batch dimensions of x ", x.DebugString(), " and y ",
                                     y.DebugString(), " do not broadcast"));
    }
    batch = *b;
  } else {
    absl::StatusOr<PartialTensorShape> b = PartialTensorShape(absl::MakeConstSpan(xb))
                                               .Merge(PartialTensorShape(absl::MakeConstSpan(yb)));
    if (!b.ok()) {
      return ctx->Error(absl::StrCat("the batch dimensions of x ", x.DebugString(), " and y ",
                                     y.DebugString(), " must be equal"));
    }
    batch = *b;
  }
  std::vector<int64_t> out;
  for (int i = 0; i < batch.dims(); ++i) out.push_back(batch.dim_size(i));
  out.push_back(m);
  out.push_back(n);
  ctx->set_output(0, PartialTensorShape(absl::MakeConstSpan(out)));
  return absl::OkStatus();
}

// z = op(x) op(y) with op a transpose when adj: TensorFlow's four cases,
//   (F, F): dx = g y^T,    dy = x^T g      (F, T): dx = g y,       dy = g^T x
//   (T, F): dx = y g^T,    dy = x g        (T, T): dx = y^T g^T,   dy = g^T x^T
// then (V2) summed over the batch dimensions each input was broadcast along.
template <bool kV2>
absl::Status BatchMatMulGrad(const Scope& scope, const Node& node,
                             absl::Span<const Output> grad_outputs,
                             std::vector<Output>* grad_inputs) {
  bool adj_x = false, adj_y = false;
  GetNodeAttr(node, "adj_x", &adj_x).IgnoreError();
  GetNodeAttr(node, "adj_y", &adj_y).IgnoreError();
  const Output& x = node.input(0);
  const Output& y = node.input(1);
  const Output& g = grad_outputs[0];
  auto bmm = [&](const Output& a, const Output& b, bool ta, bool tb) {
    const ops::BatchMatMulAttrs attrs = ops::BatchMatMulAttrs().AdjX(ta).AdjY(tb);
    return kV2 ? ops::BatchMatMulV2(scope, a, b, attrs) : ops::BatchMatMul(scope, a, b, attrs);
  };
  Output dx, dy;
  if (!adj_x && !adj_y) {
    dx = bmm(g, y, false, true);
    dy = bmm(x, g, true, false);
  } else if (!adj_x && adj_y) {
    dx = bmm(g, y, false, false);
    dy = bmm(g, x, true, false);
  } else if (adj_x && !adj_y) {
    dx = bmm(y, g, false, true);
    dy = bmm(x, g, false, false);
  } else {
    dx = bmm(y, g, true, true);
    dy = bmm(g, x, true, true);
  }
  if (kV2) {
    dx = ReduceGradientToShape(scope, dx, x);
    dy = ReduceGradientToShape(scope, dy, y);
  }
  *grad_inputs = {dx, dy};
  return scope.status();
}

AttrMap AttrMapOf(const ops::BatchMatMulAttrs& a) {
  return {{"adj_x", MakeAttr(a.adj_x)}, {"adj_y", MakeAttr(a.adj_y)}};
}

}  // namespace

// BatchMatMul's and BatchMatMulV2's schema: V2 broadcasts the batch dimensions (`v2`).
#define DFLOW_BATCH_MATMUL_OP(name, v2)   \
  REGISTER_OP(name)                       \
      .Input("x: T")                      \
      .Input("y: T")                      \
      .Output("output: T")                \
      .Attr("T: {float}")                 \
      .Attr("adj_x: bool = false")        \
      .Attr("adj_y: bool = false")        \
      .SetShapeFn([](InferenceContext* ctx) { return BatchMatMulShape(ctx, v2); })

// ---------------------------------------------------------------------------------------------
// BatchMatMul

DFLOW_BATCH_MATMUL_OP("BatchMatMul", false);
REGISTER_GRADIENT("BatchMatMul", BatchMatMulGrad<false>);

Output ops::BatchMatMul(const Scope& scope, Input x, Input y, const BatchMatMulAttrs& attrs) {
  return AddOp(scope, "BatchMatMul", {x, y}, AttrMapOf(attrs));
}

// ---------------------------------------------------------------------------------------------
// BatchMatMulV2

DFLOW_BATCH_MATMUL_OP("BatchMatMulV2", true);
REGISTER_GRADIENT("BatchMatMulV2", BatchMatMulGrad<true>);

Output ops::BatchMatMulV2(const Scope& scope, Input x, Input y, const BatchMatMulAttrs& attrs) {
  return AddOp(scope, "BatchMatMulV2", {x, y}, AttrMapOf(attrs));
}

}  // namespace dflow
