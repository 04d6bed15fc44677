// Kernels for Slice, Split, SplitV and Unpack: plain copies of boxes (CopyBox), of the plain
// types and strings (VisitCopyableType).
#include <vector>

#include "graph/status_macros.h"
#include "kernels/index_kernels.h"
#include "kernels/op_kernel.h"

namespace dflow {
namespace {

class SliceOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& in = ctx->input(0);
    DFLOW_ASSIGN_OR_RETURN(IntList begin, VectorIntInput(ctx->input(1), "begin"));
    DFLOW_ASSIGN_OR_RETURN(IntList size, VectorIntInput(ctx->input(2), "size"));
    const int rank = in.dims();
    if (static_cast<int>(begin.size()) != rank || static_cast<int>(size.size()) != rank) {
      return ctx->InvalidArgument("Expected begin and size arguments to be 1-D tensors of size ",
                                  rank, ", but got shapes ",
                                  ctx->input(1).shape().DebugString(), " and ",
                                  ctx->input(2).shape().DebugString(), " instead.");
    }
    std::vector<int64_t> out_dims(rank);
    for (int d = 0; d < rank; ++d) {
      const int64_t b = begin[d], n = in.dim_size(d);
      const int64_t s = size[d] == -1 ? n - b : size[d];
      if (b < 0 || s < 0 || b > n || s > n - b) {
        return ctx->InvalidArgument("Expected begin[", d, "] in [0, ", n, "], and size[", d,
                                    "] in [0, ", n - b, "], but got ", b, " and ", size[d]);
      }
      out_dims[d] = s;
    }
    Tensor* out = ctx->allocate_output(0, TensorShape(out_dims));
    std::vector<int64_t> zeros(rank, 0);
    std::vector<int64_t> b(begin.begin(), begin.end());
    return VisitCopyableTypeOrError(in.dtype(), [&](auto zero) {
      using T = decltype(zero);
      CopyBox<T>(in.flat<T>().data(), in.shape().dim_sizes(), b, out->flat<T>().data(),
                 out_dims, zeros, out_dims);
    });
  }
};
REGISTER_KERNEL("Slice", SliceOp);

// Writes consecutive pieces of `in` along `axis`, of sizes `sizes`, to outputs 0, 1, ...; with
// `drop_axis` (Unpack) each piece has size 1 and loses the axis.
absl::Status SplitAlongAxis(OpKernelContext* ctx, const Tensor& in, int axis,
                            const std::vector<int64_t>& sizes, bool drop_axis) {
  const auto dims = in.shape().dim_sizes();
  const int64_t outer = DimProduct(dims, 0, axis);
  const int64_t inner = DimProduct(dims, axis + 1, in.dims());
  const std::vector<int64_t> src_dims = {outer, in.dim_size(axis), inner};
  if (sizes.size() == 1 && !drop_axis) {  // One piece: the input itself.
    ctx->set_output(0, in);
    return absl::OkStatus();
  }
  int64_t offset = 0;
  for (size_t i = 0; i < sizes.size(); ++i) {
    std::vector<int64_t> out_dims(dims.begin(), dims.end());
    out_dims[axis] = sizes[i];
    if (drop_axis) out_dims.erase(out_dims.begin() + axis);
    Tensor* out = ctx->allocate_output(static_cast<int>(i), TensorShape(out_dims));
    const std::vector<int64_t> box = {outer, sizes[i], inner};
    DFLOW_RETURN_IF_ERROR(VisitCopyableTypeOrError(in.dtype(), [&](auto zero) {
      using T = decltype(zero);
      CopyBox<T>(in.flat<T>().data(), src_dims, {0, offset, 0}, out->flat<T>().data(), box,
                 {0, 0, 0}, box);
    }));
    offset += sizes[i];
  }
  return absl::OkStatus();
}

class SplitOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& in = ctx->input(1);
    DFLOW_ASSIGN_OR_RETURN(int64_t a, ScalarIntInput(ctx->input(0), "split_dim"));
    DFLOW_ASSIGN_OR_RETURN(int axis, ResolveAxis(a, in.dims(), "split_dim"));
    const int64_t n = ctx->num_outputs();
    if (in.dim_size(axis) % n != 0) {
      return ctx->InvalidArgument(
          "Number of ways to split should evenly divide the split dimension, but got split_dim ",
          axis, " (size = ", in.dim_size(axis), ") and num_split ", n);
    }
    return SplitAlongAxis(ctx, in, axis, std::vector<int64_t>(n, in.dim_size(axis) / n), false);
  }
};
REGISTER_KERNEL("Split", SplitOp);

class SplitVOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& in = ctx->input(0);
    DFLOW_ASSIGN_OR_RETURN(IntList s, VectorIntInput(ctx->input(1), "size_splits"));
    DFLOW_ASSIGN_OR_RETURN(int64_t a, ScalarIntInput(ctx->input(2), "split_dim"));
    DFLOW_ASSIGN_OR_RETURN(int axis, ResolveAxis(a, in.dims(), "split_dim"));
    if (static_cast<int>(s.size()) != ctx->num_outputs()) {
      return ctx->InvalidArgument("size_splits has ", s.size(), " values but num_split is ",
                                  ctx->num_outputs());
    }
    std::vector<int64_t> sizes(s.begin(), s.end());
    int inferred = -1;
    int64_t total = 0;
    for (int i = 0; i < static_cast<int>(sizes.size()); ++i) {
      if (sizes[i] == -1) {
        if (inferred >= 0) {
          return ctx->InvalidArgument("There can only be one -1 in the input.");
        }
        inferred = i;
      } else if (sizes[i] < 0) {
        return ctx->InvalidArgument("Split size at index ", i,
                                    " must be >= 0. Got: ", sizes[i]);
      } else {
        total += sizes[i];
      }
    }
    const int64_t dim = in.dim_size(axis);
    if ((inferred < 0 && total != dim) || (inferred >= 0 && total > dim)) {
      return ctx->InvalidArgument(
          "Determined shape must either match input shape along split_dim exactly if fully "
          "specified, or be less than the size of the input along split_dim if not fully "
          "specified.  Got: ", total, " against ", dim);
    }
    if (inferred >= 0) sizes[inferred] = dim - total;
    return SplitAlongAxis(ctx, in, axis, sizes, false);
  }
};
REGISTER_KERNEL("SplitV", SplitVOp);

class UnpackOp : public OpKernel {
 public:
  explicit UnpackOp(const Node& node) : OpKernel(node) {
    absl::Status s = GetNodeAttr(node, "axis", &axis_);
    if (!s.ok()) SetConstructionError(s);
  }
  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& in = ctx->input(0);
    DFLOW_ASSIGN_OR_RETURN(int axis, ResolveAxis(axis_, in.dims(), "axis"));
    if (in.dim_size(axis) != ctx->num_outputs()) {
      return ctx->InvalidArgument("Input shape axis ", axis, " must equal ", ctx->num_outputs(),
                                  ", got shape ", in.shape().DebugString());
    }
    return SplitAlongAxis(ctx, in, axis, std::vector<int64_t>(ctx->num_outputs(), 1), true);
  }

 private:
  int64_t axis_ = 0;
};
REGISTER_KERNEL("Unpack", UnpackOp);

}  // namespace
}  // namespace dflow
