// Kernels for Concat (axis first) and ConcatOffset: plain copies.
#include <vector>

#include "graph/status_macros.h"
#include "kernels/index_kernels.h"
#include "kernels/op_kernel.h"

namespace dflow {
namespace {

class ConcatOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) override {
    const int n = ctx->num_inputs() - 1;
    DFLOW_ASSIGN_OR_RETURN(int64_t a, ScalarIntInput(ctx->input(0), "concat_dim"));
    const Tensor& first = ctx->input(1);
    const int rank = first.dims();
    if (rank == 0) return ctx->InvalidArgument("cannot concatenate scalars (use Pack)");
    DFLOW_ASSIGN_OR_RETURN(int axis, ResolveAxis(a, rank, "concat_dim"));
    std::vector<int64_t> out_dims(first.shape().dim_sizes().begin(),
                                  first.shape().dim_sizes().end());
    out_dims[axis] = 0;
    for (int i = 1; i <= n; ++i) {
      const Tensor& t = ctx->input(i);
      bool match = t.dims() == rank && t.dtype() == first.dtype();
      for (int d = 0; match && d < rank; ++d) {
        match = d == axis || t.dim_size(d) == first.dim_size(d);
      }
      if (!match) {
        return ctx->InvalidArgument("ConcatOp : Dimensions of inputs should match: shape[0] = ",
                                    first.shape().DebugString(), " vs. shape[", i - 1,
                                    "] = ", t.shape().DebugString());
      }
      out_dims[axis] += t.dim_size(axis);
    }
    Tensor* out = ctx->allocate_output(0, TensorShape(out_dims));
    const int64_t outer = DimProduct(out_dims, 0, axis);
    const int64_t inner = DimProduct(out_dims, axis + 1, rank);
    const std::vector<int64_t> dst_dims = {outer, out_dims[axis], inner};
    int64_t offset = 0;
    for (int i = 1; i <= n; ++i) {
      const Tensor& t = ctx->input(i);
      const std::vector<int64_t> box = {outer, t.dim_size(axis), inner};
      DFLOW_RETURN_IF_ERROR(VisitDataTypeOrError(t.dtype(), [&](auto zero) {
        using T = decltype(zero);
        CopyBox<T>(t.flat<T>().data(), box, {0, 0, 0}, out->flat<T>().data(), dst_dims,
                   {0, offset, 0}, box);
      }));
      offset += t.dim_size(axis);
    }
    return absl::OkStatus();
  }
};
REGISTER_KERNEL("Concat", ConcatOp);

class ConcatOffsetOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) override {
    const int n = ctx->num_inputs() - 1;
    DFLOW_ASSIGN_OR_RETURN(int64_t a, ScalarIntInput(ctx->input(0), "concat_dim"));
    DFLOW_ASSIGN_OR_RETURN(IntList first, VectorIntInput(ctx->input(1), "shape 0"));
    const int rank = static_cast<int>(first.size());
    DFLOW_ASSIGN_OR_RETURN(int axis, ResolveAxis(a, rank, "concat_dim"));
    int64_t offset = 0;
    for (int i = 0; i < n; ++i) {
      DFLOW_ASSIGN_OR_RETURN(IntList s, VectorIntInput(ctx->input(i + 1), "shape"));
      if (static_cast<int>(s.size()) != rank) {
        return ctx->InvalidArgument("input ", i, " should contain ", rank, " elements, but got ",
                                    s.size());
      }
      std::vector<int64_t> off(rank, 0);
      for (int d = 0; d < rank; ++d) {
        if (d != axis && s[d] != first[d]) {
          return ctx->InvalidArgument("All dimensions except ", axis, " must match. Input ", i,
                                      " has shape [", s[d], "] and doesn't match input 0 with "
                                      "shape [", first[d], "] in dim ", d);
        }
      }
      off[axis] = offset;
      offset += s[axis];
      Tensor* out = ctx->allocate_output(i, TensorShape({rank}));
      for (int d = 0; d < rank; ++d) {
        if (out->dtype() == DT_INT32) {
          out->flat<int32_t>()[d] = static_cast<int32_t>(off[d]);
        } else {
          out->flat<int64_t>()[d] = off[d];
        }
      }
    }
    return absl::OkStatus();
  }
};
REGISTER_KERNEL("ConcatOffset", ConcatOffsetOp);

}  // namespace
}  // namespace dflow
