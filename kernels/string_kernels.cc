// Kernels for string ops: StringJoin and string Add (concatenation, broadcasting as numeric Add).
// String Equal/NotEqual are in logical_kernels.cc, string Pack in copy_kernels.cc.
#include <string>

#include "absl/strings/str_cat.h"
#include "graph/attr_value_util.h"
#include "graph/status_macros.h"
#include "kernels/broadcast.h"
#include "kernels/op_kernel.h"
#include "ops/shape_inference.h"

namespace dflow {
namespace {

class StringJoinOp : public OpKernel {
 public:
  explicit StringJoinOp(const Node& node) : OpKernel(node) {
    absl::Status s = GetNodeAttr(node, "separator", &separator_);
    if (!s.ok()) SetConstructionError(s);
  }
  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor* shaped = nullptr;  // The first non-scalar input: every other must match it.
    for (int i = 0; i < ctx->num_inputs(); ++i) {
      const Tensor& in = ctx->input(i);
      DFLOW_RETURN_IF_ERROR(CheckInput(in, absl::StrCat("inputs[", i, "]"), DT_STRING));
      if (in.dims() == 0) continue;
      if (shaped == nullptr) {
        shaped = &in;
      } else if (in.shape() != shaped->shape()) {
        return ctx->InvalidArgument("input shapes do not match: ", shaped->shape().DebugString(),
                                    " vs. ", in.shape().DebugString());
      }
    }
    Tensor* out = ctx->allocate_output(0, shaped ? shaped->shape() : TensorShape());
    absl::Span<std::string> po = out->flat<std::string>();
    for (int64_t e = 0; e < out->NumElements(); ++e) {
      std::string& joined = po[e];
      for (int i = 0; i < ctx->num_inputs(); ++i) {
        const Tensor& in = ctx->input(i);
        if (i > 0) joined += separator_;
        joined += in.flat<std::string>()[in.dims() == 0 ? 0 : e];
      }
    }
    return absl::OkStatus();
  }

 private:
  std::string separator_;
};
REGISTER_KERNEL("StringJoin", StringJoinOp);

// Add for T=string: x + y concatenated, with numpy broadcasting.
class StringAddOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& a = ctx->input(0);
    const Tensor& b = ctx->input(1);
    DFLOW_RETURN_IF_ERROR(CheckInput(a, "x", DT_STRING));
    DFLOW_RETURN_IF_ERROR(CheckInput(b, "y", DT_STRING));
    absl::StatusOr<TensorShape> shape = BroadcastShapes(a.shape(), b.shape());
    if (!shape.ok()) {
      return ctx->InvalidArgument("incompatible shapes: ", a.shape().DebugString(), " vs. ",
                                  b.shape().DebugString());
    }
    Tensor* out = ctx->allocate_output(0, *shape);
    BroadcastLoop<std::string, std::string>(
        a, b, *shape, out,
        [](const std::string& x, const std::string& y) { return absl::StrCat(x, y); });
    return absl::OkStatus();
  }
};
REGISTER_KERNEL("Add", StringAddOp, "T", {DT_STRING});

}  // namespace
}  // namespace dflow
