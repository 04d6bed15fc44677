// Kernels for Transpose and InvertPermutation: plain loops (PermuteDims merges the dims that
// stay adjacent, so the common cases copy contiguous runs).
#include <vector>

#include "graph/status_macros.h"
#include "kernels/index_kernels.h"
#include "kernels/op_kernel.h"

namespace dflow {
namespace {

class TransposeOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& in = ctx->input(0);
    DFLOW_ASSIGN_OR_RETURN(IntList perm, VectorIntInput(ctx->input(1), "perm"));
    const int rank = in.dims();
    if (static_cast<int>(perm.size()) != rank) {
      return ctx->InvalidArgument("transpose expects a vector of size ", rank,
                                  ". But input(1) is a vector of size ", perm.size());
    }
    std::vector<int> p(rank);
    std::vector<bool> seen(rank, false);
    std::vector<int64_t> out_dims(rank);
    for (int i = 0; i < rank; ++i) {
      if (perm[i] < 0 || perm[i] >= rank) {
        return ctx->InvalidArgument(perm[i], " is out of range [0 .. ", rank, ")");
      }
      if (seen[perm[i]]) return ctx->InvalidArgument(perm[i], " is duplicated in perm");
      seen[perm[i]] = true;
      p[i] = static_cast<int>(perm[i]);
      out_dims[i] = in.dim_size(p[i]);
    }
    Tensor* out = ctx->allocate_output(0, TensorShape(out_dims));
    return VisitCopyableTypeOrError(in.dtype(), [&](auto zero) {
      using T = decltype(zero);
      PermuteDims<T>(in.flat<T>().data(), in.shape().dim_sizes(), p, out->flat<T>().data());
    });
  }
};
REGISTER_KERNEL("Transpose", TransposeOp);

class InvertPermutationOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& in = ctx->input(0);
    DFLOW_ASSIGN_OR_RETURN(IntList x, VectorIntInput(in, "x"));
    const int64_t n = static_cast<int64_t>(x.size());
    if (n > INT32_MAX) return ctx->InvalidArgument("permutation of size ", n, " is too large");
    std::vector<int64_t> y(n, -1);
    for (int64_t i = 0; i < n; ++i) {
      if (x[i] < 0 || x[i] >= n) {
        return ctx->InvalidArgument(x[i], " is not between 0 and ", n);
      }
      if (y[x[i]] != -1) return ctx->InvalidArgument(x[i], " is duplicated in the input.");
      y[x[i]] = i;
    }
    Tensor* out = ctx->allocate_output(0, in.shape());
    for (int64_t i = 0; i < n; ++i) {
      if (out->dtype() == DT_INT32) {
        out->flat<int32_t>()[i] = static_cast<int32_t>(y[i]);
      } else {
        out->flat<int64_t>()[i] = y[i];
      }
    }
    return absl::OkStatus();
  }
};
REGISTER_KERNEL("InvertPermutation", InvertPermutationOp);

}  // namespace
}  // namespace dflow
