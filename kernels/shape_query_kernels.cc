// Kernels for ShapeN, Size and BroadcastTo: plain loops.
#include <limits>
#include <vector>

#include "graph/status_macros.h"
#include "kernels/index_kernels.h"
#include "kernels/op_kernel.h"

namespace dflow {
namespace {

// Writes `values` into the 1-D int32 or int64 tensor `out`; fails when int32 cannot hold one.
absl::Status WriteInts(absl::Span<const int64_t> values, Tensor* out) {
  for (size_t i = 0; i < values.size(); ++i) {
    if (out->dtype() == DT_INT32) {
      if (values[i] > std::numeric_limits<int32_t>::max()) {
        return OpKernelContext::InvalidArgument("value ", values[i],
                                                " does not fit in int32; use out_type int64");
      }
      out->flat<int32_t>()[i] = static_cast<int32_t>(values[i]);
    } else {
      out->flat<int64_t>()[i] = values[i];
    }
  }
  return absl::OkStatus();
}

class ShapeNOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) override {
    for (int i = 0; i < ctx->num_inputs(); ++i) {
      const TensorShape& s = ctx->input(i).shape();
      Tensor* out = ctx->allocate_output(i, TensorShape({s.dims()}));
      DFLOW_RETURN_IF_ERROR(WriteInts(s.dim_sizes(), out));
    }
    return absl::OkStatus();
  }
};
REGISTER_KERNEL("ShapeN", ShapeNOp);

class SizeOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) override {
    const int64_t n = ctx->input(0).NumElements();
    return WriteInts({n}, ctx->allocate_output(0, TensorShape()));
  }
};
REGISTER_KERNEL("Size", SizeOp);

class BroadcastToOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& in = ctx->input(0);
    DFLOW_ASSIGN_OR_RETURN(IntList shape, VectorIntInput(ctx->input(1), "shape"));
    if (CheckedNumElements(shape) < 0) {
      return ctx->InvalidArgument("shape ", TensorShape(shape).DebugString(),
                                  " has a negative dim or too many elements");
    }
    const int r = in.dims(), n = static_cast<int>(shape.size());
    const std::vector<int64_t> out_dims(shape.begin(), shape.end());
    // Source strides per output dim: 0 where the input is broadcast.
    const std::vector<int64_t> in_strides = RowMajorStrides(in.shape().dim_sizes());
    std::vector<int64_t> strides(n, 0);
    bool ok = r <= n;
    for (int i = 0; ok && i < r; ++i) {
      const int64_t a = in.dim_size(r - 1 - i), b = out_dims[n - 1 - i];
      ok = a == b || a == 1;
      if (a == b && a != 1) strides[n - 1 - i] = in_strides[r - 1 - i];
    }
    if (!ok) {
      return ctx->InvalidArgument("Unable to broadcast tensor of shape ",
                                  in.shape().DebugString(), " to tensor of shape ",
                                  TensorShape(out_dims).DebugString());
    }
    Tensor* out = ctx->allocate_output(0, TensorShape(out_dims));
    const int64_t count = out->NumElements();
    if (count == 0) return absl::OkStatus();
    return VisitDataTypeOrError(in.dtype(), [&](auto zero) {
      using T = decltype(zero);
      const T* src = in.flat<T>().data();
      T* dst = out->flat<T>().data();
      if (n == 0) {
        dst[0] = src[0];
        return;
      }
      const int64_t inner = out_dims[n - 1], step = strides[n - 1];
      std::vector<int64_t> idx(n, 0);
      int64_t s = 0;
      for (int64_t o = 0; o < count; o += inner) {
        for (int64_t i = 0; i < inner; ++i) dst[o + i] = src[s + i * step];
        for (int d = n - 2; d >= 0; --d) {
          s += strides[d];
          if (++idx[d] < out_dims[d]) break;
          s -= strides[d] * out_dims[d];
          idx[d] = 0;
        }
      }
    });
  }
};
REGISTER_KERNEL("BroadcastTo", BroadcastToOp);

}  // namespace
}  // namespace dflow
