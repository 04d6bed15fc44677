// Horovod's collectives: HorovodAllreduce, HorovodGroupedAllreduce, HorovodBroadcast and
// HorovodAllgather. Op by op: the schema (Horovod's names, attrs and type lists, in dflow's type
// spelling), its shape function, its gradient (as horovod/tensorflow/mpi_ops.py's) and its
// builder. All are stateful: every rank must run them, so they are never constant-folded or
// deduplicated.
#include "ops/collective/horovod_ops.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "graph/status_macros.h"
#include "ops/array_ops.h"
#include "ops/collective/mpi_world.h"
#include "ops/math_ops.h"
#include "ops/reduction_ops.h"
#include "ops/strided_slice_ops.h"
#include "ops/op_registry.h"
#include "ops/shape_inference.h"

namespace dflow {
namespace {

absl::Status SameShape(InferenceContext* ctx) {
  ctx->set_output(0, ctx->input(0));
  return absl::OkStatus();
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// HorovodAllreduce

namespace {

// y = post * R_s(pre * x_s): for sum and average, dL/dx_r = post * pre * R_s(g_s), an allreduce
// of the gradients with the same attrs (Horovod uses it for every reduce_op).
absl::Status HorovodAllreduceGrad(const Scope& scope, const Node& node,
                                  absl::Span<const Output> grads,
                                  std::vector<Output>* grad_inputs) {
  ops::HorovodAllreduce::Attrs attrs;
  DFLOW_RETURN_IF_ERROR(GetNodeAttr(node, "reduce_op", &attrs.reduce_op));
  DFLOW_RETURN_IF_ERROR(GetNodeAttr(node, "prescale_factor", &attrs.prescale_factor));
  DFLOW_RETURN_IF_ERROR(GetNodeAttr(node, "postscale_factor", &attrs.postscale_factor));
  grad_inputs->assign(1, ops::HorovodAllreduce(scope, grads[0], attrs));
  return scope.status();
}

}  // namespace

// Defaults for reduce_op and the scale factors (Horovod's schema has none) let graphs from
// Horovod's first versions, whose HorovodAllreduce has only T and sums, load as sums.
REGISTER_OP("HorovodAllreduce")
    .Attr("T: {uint8, int8, int32, int64, half, float, double}")
    .Attr("reduce_op: int = 1")
    .Attr("prescale_factor: float = 1.0")
    .Attr("postscale_factor: float = 1.0")
    .Attr("ignore_name_scope: bool = false")
    .Attr("process_set_id: int = 0")
    .Input("tensor: T")
    .Output("sum: T")
    .SetIsStateful()
    .SetShapeFn(SameShape);
REGISTER_GRADIENT("HorovodAllreduce", HorovodAllreduceGrad);

ops::HorovodAllreduce::HorovodAllreduce(const Scope& scope, Input tensor, const Attrs& attrs)
    : Output(AddOp(scope, "HorovodAllreduce", {tensor},
                   {{"reduce_op", MakeAttr(attrs.reduce_op)},
                    {"prescale_factor", MakeAttr(attrs.prescale_factor)},
                    {"postscale_factor", MakeAttr(attrs.postscale_factor)}})) {}

// ---------------------------------------------------------------------------------------------
// HorovodGroupedAllreduce

namespace {

absl::Status SameShapes(InferenceContext* ctx) {
  for (int i = 0; i < ctx->num_inputs(); ++i) ctx->set_output(i, ctx->input(i));
  return absl::OkStatus();
}

// As HorovodAllreduce's, tensor by tensor: a grouped allreduce of the gradients, same attrs.
absl::Status HorovodGroupedAllreduceGrad(const Scope& scope, const Node& node,
                                         absl::Span<const Output> grads,
                                         std::vector<Output>* grad_inputs) {
  ops::HorovodAllreduce::Attrs attrs;
  DFLOW_RETURN_IF_ERROR(GetNodeAttr(node, "reduce_op", &attrs.reduce_op));
  DFLOW_RETURN_IF_ERROR(GetNodeAttr(node, "prescale_factor", &attrs.prescale_factor));
  DFLOW_RETURN_IF_ERROR(GetNodeAttr(node, "postscale_factor", &attrs.postscale_factor));
  *grad_inputs = ops::HorovodGroupedAllreduce(scope, grads, attrs).sum;
  return scope.status();
}

}  // namespace

// Horovod's schema: no defaults for reduce_op and the factors (the op postdates them).
REGISTER_OP("HorovodGroupedAllreduce")
    .Attr("T: {uint8, int8, int32, int64, half, float, double}")
    .Attr("reduce_op: int")
    .Attr("prescale_factor: float")
    .Attr("postscale_factor: float")
    .Attr("ignore_name_scope: bool = false")
    .Attr("num_tensors: int")
    .Attr("process_set_id: int = 0")
    .Input("tensors: num_tensors * T")
    .Output("sum: num_tensors * T")
    .SetIsStateful()
    .SetShapeFn(SameShapes);
REGISTER_GRADIENT("HorovodGroupedAllreduce", HorovodGroupedAllreduceGrad);

ops::HorovodGroupedAllreduce::HorovodGroupedAllreduce(const Scope& scope,
                                                      absl::Span<const Output> tensors,
                                                      const HorovodAllreduce::Attrs& attrs) {
  if (tensors.empty()) {
    scope.UpdateStatus(absl::InvalidArgumentError("HorovodGroupedAllreduce: no tensors"));
    return;
  }
  Node* node = AddOpWithList(scope, "HorovodGroupedAllreduce", tensors, {},
                             {{"reduce_op", MakeAttr(attrs.reduce_op)},
                              {"prescale_factor", MakeAttr(attrs.prescale_factor)},
                              {"postscale_factor", MakeAttr(attrs.postscale_factor)}});
  if (node == nullptr) return;
  for (int i = 0; i < node->num_outputs(); ++i) sum.push_back(Output(node, i));
}

// ---------------------------------------------------------------------------------------------
// HorovodBroadcast

namespace {

// y_s = x_root on every s: dL/dx_root = sum_s g_s; zero elsewhere. As Horovod: the average of
// the gradients (every rank runs the allreduce), times zero off root. The rank is this
// process's at graph-building time, as in Horovod.
absl::Status HorovodBroadcastGrad(const Scope& scope, const Node& node,
                                  absl::Span<const Output> grads,
                                  std::vector<Output>* grad_inputs) {
  int64_t root_rank = 0;
  DFLOW_RETURN_IF_ERROR(GetNodeAttr(node, "root_rank", &root_rank));
  DFLOW_ASSIGN_OR_RETURN(MpiWorld world, MpiWorldFromEnv());
  Output reduced =
      ops::HorovodAllreduce(scope, grads[0], ops::HorovodAllreduce::ReduceOp(ops::kHorovodAverage));
  if (world.rank != root_rank) reduced = ops::Mul(scope, reduced, ops::ZerosLike(scope, reduced));
  grad_inputs->assign(1, reduced);
  return scope.status();
}

}  // namespace

REGISTER_OP("HorovodBroadcast")
    .Attr("T: {uint8, int8, int16, int32, int64, half, float, double, bool}")
    .Attr("root_rank: int")
    .Attr("ignore_name_scope: bool = false")
    .Attr("process_set_id: int = 0")
    .Input("tensor: T")
    .Output("output: T")
    .SetIsStateful()
    .SetShapeFn(SameShape);
REGISTER_GRADIENT("HorovodBroadcast", HorovodBroadcastGrad);

Output ops::HorovodBroadcast(const Scope& scope, Input tensor, int64_t root_rank) {
  return AddOp(scope, "HorovodBroadcast", {tensor}, {{"root_rank", MakeAttr(root_rank)}});
}

// ---------------------------------------------------------------------------------------------
// HorovodAllgather

namespace {

// Dimension 0 is the ranks' sum, unknown at graph time; the others are the input's.
absl::Status HorovodAllgatherShape(InferenceContext* ctx) {
  const PartialTensorShape& in = ctx->input(0);
  if (in.unknown_rank()) {
    ctx->set_output(0, PartialTensorShape::Unknown());
    return absl::OkStatus();
  }
  if (in.dims() == 0) return ctx->Error("cannot gather a scalar: tensor must have rank >= 1");
  std::vector<int64_t> dims(in.dim_sizes().begin(), in.dim_sizes().end());
  dims[0] = -1;
  ctx->set_output(0, PartialTensorShape(dims));
  return absl::OkStatus();
}

// y = concat_s x_s: dL/dx_r = sum_s g_s[rows of rank r]. As Horovod: the average of the
// gradients (every rank runs the allreduce), sliced at this rank's rows, whose offset is the sum
// of the lower ranks' dimension 0 (gathered from every rank at run time).
absl::Status HorovodAllgatherGrad(const Scope& scope, const Node& node,
                                  absl::Span<const Output> grads,
                                  std::vector<Output>* grad_inputs) {
  DFLOW_ASSIGN_OR_RETURN(MpiWorld world, MpiWorldFromEnv());
  const Scope& s = scope;
  const Output x = node.input(0);
  const Output g = ops::HorovodAllreduce(s, grads[0],
                                         ops::HorovodAllreduce::ReduceOp(ops::kHorovodAverage));
  const Output shape = ops::Shape(s, x);  // int32 [rank].
  const Output sizes = ops::HorovodAllgather(s, ops::StridedSlice(s, shape, {0}, {1}, {1}));
  const Output offset =
      ops::Sum(s, ops::StridedSlice(s, sizes, {0}, {world.rank}, {1}), {0});  // Scalar.
  const Output on_dim0 = ops::Cast(
      s, ops::Equal(s, ops::Range(s, 0, ops::Rank(s, x), 1), 0), DT_INT32);
  const Output begin = ops::Mul(s, on_dim0, offset);
  grad_inputs->assign(1, ops::StridedSlice(s, g, begin, ops::Add(s, begin, shape),
                                           ops::OnesLike(s, begin)));
  return scope.status();
}

}  // namespace

REGISTER_OP("HorovodAllgather")
    .Attr("T: {uint8, int8, int16, int32, int64, half, float, double, bool}")
    .Attr("ignore_name_scope: bool = false")
    .Attr("process_set_id: int = 0")
    .Input("tensor: T")
    .Output("output: T")
    .SetIsStateful()
    .SetShapeFn(HorovodAllgatherShape);
REGISTER_GRADIENT("HorovodAllgather", HorovodAllgatherGrad);

Output ops::HorovodAllgather(const Scope& scope, Input tensor) {
  return AddOp(scope, "HorovodAllgather", {tensor});
}

}  // namespace dflow
