// TensorArray and stack ops: schemas and shape functions (TensorFlow's names, attrs and
// shapes; a handle has shape [2] as in TensorFlow). TensorArrayV3, TensorArrayGradV3,
// TensorArraySizeV3, TensorArrayCloseV3 and the stack ops are not differentiable, as in
// TensorFlow; the gradients of the others are not built yet (ops/control_flow_ops.cc).
#include "ops/tensor_array_ops.h"

#include "graph/status_macros.h"
#include "ops/control_flow_ops.h"
#include "ops/op_registry.h"
#include "ops/shape_inference.h"

namespace dflow {
namespace {

// Sets output `i` to a scalar (a flow, a size).
void Scalar(InferenceContext* ctx, int i) { ctx->set_output(i, PartialTensorShape({})); }

absl::Status HandleShape(InferenceContext* ctx) {
  DFLOW_ASSIGN_OR_RETURN(PartialTensorShape handle, ctx->WithRank(0, 1));
  if (handle.dim_size(0) != -1 && handle.dim_size(0) != 2) {
    return ctx->Error("a TensorArray handle has shape [2]");
  }
  return absl::OkStatus();
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// TensorArrayV3

REGISTER_OP("TensorArrayV3")
    .Input("size: int32")
    .Output("handle: resource").Output("flow: float")
    .Attr("dtype: type").Attr("element_shape: shape = unknown")
    .Attr("dynamic_size: bool = false").Attr("clear_after_read: bool = true")
    .Attr("identical_element_shapes: bool = false").Attr("tensor_array_name: string = ''")
    .SetShapeFn([](InferenceContext* ctx) -> absl::Status {
      DFLOW_RETURN_IF_ERROR(ctx->WithRank(0, 0).status());
      ctx->set_output(0, PartialTensorShape({2}));
      Scalar(ctx, 1);
      return absl::OkStatus();
    })
    .SetIsStateful()
    .NotDifferentiable();

// ---------------------------------------------------------------------------------------------
// TensorArrayGradV3

REGISTER_OP("TensorArrayGradV3")
    .Input("handle: resource").Input("flow_in: float")
    .Output("grad_handle: resource").Output("flow_out: float")
    .Attr("source: string")
    .SetShapeFn([](InferenceContext* ctx) -> absl::Status {
      DFLOW_RETURN_IF_ERROR(HandleShape(ctx));
      ctx->set_output(0, PartialTensorShape({2}));
      Scalar(ctx, 1);
      return absl::OkStatus();
    })
    .SetIsStateful()
    .NotDifferentiable();

// ---------------------------------------------------------------------------------------------
// TensorArrayWriteV3, TensorArrayScatterV3, TensorArraySplitV3: write, return a flow.

REGISTER_OP("TensorArrayWriteV3")
    .Input("handle: resource").Input("index: int32").Input("value: T").Input("flow_in: float")
    .Output("flow_out: float")
    .Attr("T: type")
    .SetShapeFn([](InferenceContext* ctx) -> absl::Status {
      DFLOW_RETURN_IF_ERROR(HandleShape(ctx));
      DFLOW_RETURN_IF_ERROR(ctx->WithRank(1, 0).status());
      Scalar(ctx, 0);
      return absl::OkStatus();
    })
    .SetIsStateful();
REGISTER_GRADIENT("TensorArrayWriteV3", LoopGradUnimplemented);

REGISTER_OP("TensorArrayScatterV3")
    .Input("handle: resource").Input("indices: int32").Input("value: T").Input("flow_in: float")
    .Output("flow_out: float")
    .Attr("T: type")
    .SetShapeFn([](InferenceContext* ctx) -> absl::Status {
      DFLOW_RETURN_IF_ERROR(HandleShape(ctx));
      DFLOW_RETURN_IF_ERROR(ctx->WithRank(1, 1).status());
      Scalar(ctx, 0);
      return absl::OkStatus();
    })
    .SetIsStateful();
REGISTER_GRADIENT("TensorArrayScatterV3", LoopGradUnimplemented);

REGISTER_OP("TensorArraySplitV3")
    .Input("handle: resource").Input("value: T").Input("lengths: int64").Input("flow_in: float")
    .Output("flow_out: float")
    .Attr("T: type")
    .SetShapeFn([](InferenceContext* ctx) -> absl::Status {
      DFLOW_RETURN_IF_ERROR(HandleShape(ctx));
      DFLOW_RETURN_IF_ERROR(ctx->WithRank(2, 1).status());
      Scalar(ctx, 0);
      return absl::OkStatus();
    })
    .SetIsStateful();
REGISTER_GRADIENT("TensorArraySplitV3", LoopGradUnimplemented);

// ---------------------------------------------------------------------------------------------
// TensorArrayReadV3, TensorArrayGatherV3, TensorArrayConcatV3: read.

REGISTER_OP("TensorArrayReadV3")
    .Input("handle: resource").Input("index: int32").Input("flow_in: float")
    .Output("value: dtype")
    .Attr("dtype: type")
    .SetShapeFn([](InferenceContext* ctx) -> absl::Status {
      DFLOW_RETURN_IF_ERROR(HandleShape(ctx));
      DFLOW_RETURN_IF_ERROR(ctx->WithRank(1, 0).status());
      ctx->set_output(0, PartialTensorShape());
      return absl::OkStatus();
    })
    .SetIsStateful();
REGISTER_GRADIENT("TensorArrayReadV3", LoopGradUnimplemented);

REGISTER_OP("TensorArrayGatherV3")
    .Input("handle: resource").Input("indices: int32").Input("flow_in: float")
    .Output("value: dtype")
    .Attr("dtype: type").Attr("element_shape: shape = unknown")
    .SetShapeFn([](InferenceContext* ctx) -> absl::Status {
      DFLOW_RETURN_IF_ERROR(HandleShape(ctx));
      DFLOW_ASSIGN_OR_RETURN(PartialTensorShape indices, ctx->WithRank(1, 1));
      PartialTensorShape element;
      DFLOW_RETURN_IF_ERROR(ctx->GetAttr("element_shape", &element));
      if (element.unknown_rank()) {
        ctx->set_output(0, PartialTensorShape());
      } else {
        std::vector<int64_t> dims = {indices.dim_size(0)};
        dims.insert(dims.end(), element.dim_sizes().begin(), element.dim_sizes().end());
        ctx->set_output(0, PartialTensorShape(absl::MakeConstSpan(dims)));
      }
      return absl::OkStatus();
    })
    .SetIsStateful();
REGISTER_GRADIENT("TensorArrayGatherV3", LoopGradUnimplemented);

REGISTER_OP("TensorArrayConcatV3")
    .Input("handle: resource").Input("flow_in: float")
    .Output("value: dtype").Output("lengths: int64")
    .Attr("dtype: type").Attr("element_shape_except0: shape = unknown")
    .SetShapeFn([](InferenceContext* ctx) -> absl::Status {
      DFLOW_RETURN_IF_ERROR(HandleShape(ctx));
      ctx->set_output(0, PartialTensorShape());
      ctx->set_output(1, PartialTensorShape::UnknownDims(1));
      return absl::OkStatus();
    })
    .SetIsStateful();
REGISTER_GRADIENT("TensorArrayConcatV3", LoopGradUnimplemented);

// ---------------------------------------------------------------------------------------------
// TensorArraySizeV3, TensorArrayCloseV3

REGISTER_OP("TensorArraySizeV3")
    .Input("handle: resource").Input("flow_in: float")
    .Output("size: int32")
    .SetShapeFn([](InferenceContext* ctx) -> absl::Status {
      DFLOW_RETURN_IF_ERROR(HandleShape(ctx));
      Scalar(ctx, 0);
      return absl::OkStatus();
    })
    .SetIsStateful()
    .NotDifferentiable();

REGISTER_OP("TensorArrayCloseV3").Input("handle: resource").SetShapeFn(NoOutputs).SetIsStateful()
    .NotDifferentiable();

// ---------------------------------------------------------------------------------------------
// StackV2, StackPushV2, StackPopV2, StackCloseV2

REGISTER_OP("StackV2")
    .Input("max_size: int32").Output("handle: resource")
    .Attr("elem_type: type").Attr("stack_name: string = ''")
    .SetShapeFn([](InferenceContext* ctx) -> absl::Status {
      ctx->set_output(0, PartialTensorShape({2}));
      return absl::OkStatus();
    })
    .SetIsStateful()
    .NotDifferentiable();

REGISTER_OP("StackPushV2")
    .Input("handle: resource").Input("elem: T").Output("output: T")
    .Attr("T: type").Attr("swap_memory: bool = false")
    .SetShapeFn([](InferenceContext* ctx) -> absl::Status {
      ctx->set_output(0, ctx->input(1));
      return absl::OkStatus();
    })
    .SetIsStateful()
    .NotDifferentiable();

REGISTER_OP("StackPopV2")
    .Input("handle: resource").Output("elem: elem_type").Attr("elem_type: type")
    .SetShapeFn(UnknownShape)
    .SetIsStateful()
    .NotDifferentiable();

REGISTER_OP("StackCloseV2").Input("handle: resource").SetShapeFn(NoOutputs).SetIsStateful()
    .NotDifferentiable();

}  // namespace dflow
