// The kernel of IdentityN (ops/functional_ops.h), which lowered functional ops leave under the
// functional node's name so that "if:1" still names the If's second output.
#include "kernels/op_kernel.h"

namespace dflow {
namespace {

class IdentityNOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) override {
    for (int i = 0; i < ctx->num_inputs(); ++i) ctx->set_output(i, ctx->input(i));
    return absl::OkStatus();
  }
};
REGISTER_KERNEL("IdentityN", IdentityNOp);

}  // namespace
}  // namespace dflow
