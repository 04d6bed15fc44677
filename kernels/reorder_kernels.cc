// Kernels for ReverseV2, ReverseSequence, DepthToSpace and SpaceToDepth: plain loops, any type
// with storage. DepthToSpace/SpaceToDepth are one dim permutation of a 6-D view (PermuteDims).
#include <string>
#include <vector>

#include "graph/status_macros.h"
#include "kernels/index_kernels.h"
#include "kernels/op_kernel.h"

namespace dflow {
namespace {

class ReverseV2Op : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& in = ctx->input(0);
    DFLOW_ASSIGN_OR_RETURN(IntList axis, VectorIntInput(ctx->input(1), "axis"));
    const int rank = in.dims();
    std::vector<bool> rev(rank, false);
    for (int64_t a : axis) {
      if (a < -rank || a >= rank) {
        return ctx->InvalidArgument("'axis'[] = ", a, " is out of valid range [", -rank, ", ",
                                    rank - 1, "]");
      }
      const int d = static_cast<int>(a < 0 ? a + rank : a);
      if (rev[d]) return ctx->InvalidArgument("axis ", d, " specified more than once.");
      rev[d] = true;
    }
    Tensor* out = ctx->allocate_output(0, in.shape());
    const int64_t n = in.NumElements();
    if (n == 0) return absl::OkStatus();
    const auto dims = in.shape().dim_sizes();
    const std::vector<int64_t> strides = RowMajorStrides(dims);
    return VisitDataTypeOrError(in.dtype(), [&](auto zero) {
      using T = decltype(zero);
      const T* src = in.flat<T>().data();
      T* dst = out->flat<T>().data();
      if (rank == 0) {
        dst[0] = src[0];
        return;
      }
      const int64_t inner = dims[rank - 1];
      const bool rev_inner = rev[rank - 1];
      std::vector<int64_t> idx(rank, 0);
      for (int64_t row = 0; row < n; row += inner) {
        int64_t s = 0;
        for (int d = 0; d < rank - 1; ++d) {
          s += (rev[d] ? dims[d] - 1 - idx[d] : idx[d]) * strides[d];
        }
        if (rev_inner) {
          for (int64_t i = 0; i < inner; ++i) dst[row + i] = src[s + inner - 1 - i];
        } else {
          for (int64_t i = 0; i < inner; ++i) dst[row + i] = src[s + i];
        }
        for (int d = rank - 2; d >= 0; --d) {
          if (++idx[d] < dims[d]) break;
          idx[d] = 0;
        }
      }
    });
  }
};
REGISTER_KERNEL("ReverseV2", ReverseV2Op);

class ReverseSequenceOp : public OpKernel {
 public:
  explicit ReverseSequenceOp(const Node& node) : OpKernel(node) {
    absl::Status s = GetNodeAttr(node, "seq_dim", &seq_dim_);
    if (s.ok()) s = GetNodeAttr(node, "batch_dim", &batch_dim_);
    if (!s.ok()) SetConstructionError(s);
  }
  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& in = ctx->input(0);
    const Tensor& lens_t = ctx->input(1);
    const int rank = in.dims();
    if (lens_t.dims() != 1) {
      return ctx->InvalidArgument("seq_lengths must be 1-dim, not ", lens_t.dims());
    }
    if (batch_dim_ == seq_dim_) return ctx->InvalidArgument("batch_dim == seq_dim == ", seq_dim_);
    if (seq_dim_ < 0 || seq_dim_ >= rank) {
      return ctx->InvalidArgument("seq_dim must be < input rank ( ", seq_dim_, " vs. ", rank,
                                  ")");
    }
    if (batch_dim_ < 0 || batch_dim_ >= rank) {
      return ctx->InvalidArgument("batch_dim must be < input rank ( ", batch_dim_, " vs. ",
                                  rank, ")");
    }
    const int sd = static_cast<int>(seq_dim_), bd = static_cast<int>(batch_dim_);
    DFLOW_ASSIGN_OR_RETURN(IntList lens, IntValues(lens_t, "seq_lengths"));
    if (static_cast<int64_t>(lens.size()) != in.dim_size(bd)) {
      return ctx->InvalidArgument("Length of seq_lengths != input.dims(", bd, "), (",
                                  lens.size(), " vs. ", in.dim_size(bd), ")");
    }
    for (size_t b = 0; b < lens.size(); ++b) {
      if (lens[b] < 0) return ctx->InvalidArgument("seq_lens(", b, ") < 0");
      if (lens[b] > in.dim_size(sd)) {
        return ctx->InvalidArgument("seq_lens(", b, ") > input.dims(", sd, ")");
      }
    }
    Tensor* out = ctx->allocate_output(0, in.shape());
    const int64_t n = in.NumElements();
    const auto dims = in.shape().dim_sizes();
    const std::vector<int64_t> strides = RowMajorStrides(dims);
    return VisitDataTypeOrError(in.dtype(), [&](auto zero) {
      using T = decltype(zero);
      const T* src = in.flat<T>().data();
      T* dst = out->flat<T>().data();
      std::vector<int64_t> idx(rank, 0);
      for (int64_t o = 0; o < n; ++o) {
        const int64_t len = lens[idx[bd]];
        const int64_t j = idx[sd];
        dst[o] = j < len ? src[o + (len - 1 - 2 * j) * strides[sd]] : src[o];
        for (int d = rank - 1; d >= 0; --d) {
          if (++idx[d] < dims[d]) break;
          idx[d] = 0;
        }
      }
    });
  }

 private:
  int64_t seq_dim_ = 0, batch_dim_ = 0;
};
REGISTER_KERNEL("ReverseSequence", ReverseSequenceOp);

// DepthToSpace (kToSpace) views [n, h, w, b * b * c] as [n, h, w, b, b, c] and writes it as
// [n, h, b, w, b, c]; SpaceToDepth views [n, h * b, w * b, c] as [n, h, b, w, b, c] and
// writes [n, h, w, b, b, c]. Both are the permutation (0, 1, 3, 2, 4, 5).
template <bool kToSpace>
class BlockOp : public OpKernel {
 public:
  explicit BlockOp(const Node& node) : OpKernel(node) {
    std::string format;
    absl::Status s = GetNodeAttr(node, "block_size", &b_);
    if (s.ok()) s = GetNodeAttr(node, "data_format", &format);
    if (s.ok() && format != "NHWC") {
      s = absl::UnimplementedError("data_format " + format + " is not supported (only NHWC)");
    }
    if (s.ok() && b_ < 2) s = absl::InvalidArgumentError("block_size must be at least 2");
    if (!s.ok()) SetConstructionError(s);
  }
  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& in = ctx->input(0);
    if (in.dims() != 4) {
      return ctx->InvalidArgument("input rank should be 4 instead of ", in.dims());
    }
    const int64_t n = in.dim_size(0), h = in.dim_size(1), w = in.dim_size(2), c = in.dim_size(3);
    const int64_t b = b_;
    std::vector<int64_t> view, out_dims;
    if (kToSpace) {
      if (c % (b * b) != 0) {
        return ctx->InvalidArgument("Input depth dimension ", c,
                                    " should be divisible by: ", b * b);
      }
      view = {n, h, w, b, b, c / (b * b)};
      out_dims = {n, h * b, w * b, c / (b * b)};
    } else {
      if (h % b != 0 || w % b != 0) {
        return ctx->InvalidArgument("Image width ", w, " and height ", h,
                                    " should be divisible by block_size: ", b);
      }
      view = {n, h / b, b, w / b, b, c};
      out_dims = {n, h / b, w / b, c * b * b};
    }
    Tensor* out = ctx->allocate_output(0, TensorShape(out_dims));
    const int perm[] = {0, 1, 3, 2, 4, 5};
    return VisitDataTypeOrError(in.dtype(), [&](auto zero) {
      using T = decltype(zero);
      PermuteDims<T>(in.flat<T>().data(), view, perm, out->flat<T>().data());
    });
  }

 private:
  int64_t b_ = 0;
};
REGISTER_KERNEL("DepthToSpace", BlockOp<true>);
REGISTER_KERNEL("SpaceToDepth", BlockOp<false>);

}  // namespace
}  // namespace dflow
