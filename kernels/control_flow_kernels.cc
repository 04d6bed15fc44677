// Kernels of the control-flow ops (ops/control_flow_ops.h). Only the dataflow executor runs
// them, and it does the part that makes them control flow: deadness and frames. Here Switch
// picks its live output and the others forward their input.
#include "absl/strings/str_cat.h"
#include "kernels/op_kernel.h"

namespace dflow {
namespace {

// Sets output `i` to input 0, by reference when the op's input is a reference.
void Forward(OpKernelContext* ctx, int i) {
  if (ctx->node().input_is_ref(0)) {
    ctx->set_output_ref(i, ctx->ref_input(0));
  } else {
    ctx->set_output(i, ctx->input(0));
  }
}

// Switch, RefSwitch: output_true when pred, else output_false; the other output stays unset,
// which the dataflow executor reads as dead.
class SwitchOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& pred = ctx->input(1);
    if (pred.dtype() != DT_BOOL || pred.NumElements() != 1 || pred.dims() != 0) {
      return OpKernelContext::InvalidArgument("pred must be a bool scalar, got ",
                                              DataTypeString(pred.dtype()), " of shape ",
                                              pred.shape().DebugString());
    }
    Forward(ctx, pred.scalar<bool>() ? 1 : 0);
    return absl::OkStatus();
  }
};
REGISTER_KERNEL("Switch", SwitchOp);
REGISTER_KERNEL("RefSwitch", SwitchOp);

// Enter, Exit, NextIteration and LoopCond forward their input; the executor moves the value
// between frames and iterations.
class ForwardOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) override {
    Forward(ctx, 0);
    return absl::OkStatus();
  }
};
REGISTER_KERNEL("Enter", ForwardOp);
REGISTER_KERNEL("RefEnter", ForwardOp);
REGISTER_KERNEL("Exit", ForwardOp);
REGISTER_KERNEL("RefExit", ForwardOp);
REGISTER_KERNEL("NextIteration", ForwardOp);
REGISTER_KERNEL("RefNextIteration", ForwardOp);
REGISTER_KERNEL("LoopCond", ForwardOp);

// Merge waits for the first live input, which only the executor knows; it forwards that input
// itself and never calls this kernel.
class MergeOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) override {
    return absl::InternalError("Merge runs only in the dataflow executor");
  }
};
REGISTER_KERNEL("Merge", MergeOp);
REGISTER_KERNEL("RefMerge", MergeOp);

class ControlTriggerOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) override { return absl::OkStatus(); }
};
REGISTER_KERNEL("ControlTrigger", ControlTriggerOp);

}  // namespace
}  // namespace dflow
