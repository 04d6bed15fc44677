// Kernels for Pad, PadV2, MirrorPad and MirrorPadGrad: plain loops, any type with storage
// (MirrorPadGrad: the numeric ones).
#include <string>
#include <type_traits>
#include <vector>

#include "graph/status_macros.h"
#include "kernels/index_kernels.h"
#include "kernels/op_kernel.h"

namespace dflow {
namespace {

// The paddings input as (before, after) per dim of a rank-`rank` input, checked non-negative.
absl::StatusOr<std::vector<std::pair<int64_t, int64_t>>> ReadPaddings(const Tensor& p, int rank) {
  if (p.dims() != 2 || p.dim_size(0) != rank || p.dim_size(1) != 2) {
    return OpKernelContext::InvalidArgument(
        "The first dimension of paddings must be the rank of inputs [", rank,
        ", 2], got shape ", p.shape().DebugString());
  }
  DFLOW_ASSIGN_OR_RETURN(IntList v, IntValues(*p.Reshaped(TensorShape({2 * rank})), "paddings"));
  std::vector<std::pair<int64_t, int64_t>> out(rank);
  for (int d = 0; d < rank; ++d) {
    out[d] = {v[2 * d], v[2 * d + 1]};
    if (out[d].first < 0 || out[d].second < 0) {
      return OpKernelContext::InvalidArgument("Paddings must be non-negative: ", out[d].first,
                                              " ", out[d].second);
    }
  }
  return out;
}

class PadOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& in = ctx->input(0);
    const int rank = in.dims();
    DFLOW_ASSIGN_OR_RETURN(auto pads, ReadPaddings(ctx->input(1), rank));
    const Tensor* value = nullptr;
    if (ctx->num_inputs() == 3) {
      value = &ctx->input(2);
      if (value->dims() != 0 || value->dtype() != in.dtype()) {
        return ctx->InvalidArgument("constant_values must be a scalar of the input's type, got ",
                                    DataTypeString(value->dtype()), " ",
                                    value->shape().DebugString());
      }
    }
    std::vector<int64_t> out_dims(rank), before(rank), zeros(rank, 0);
    for (int d = 0; d < rank; ++d) {
      before[d] = pads[d].first;
      out_dims[d] = in.dim_size(d) + pads[d].first + pads[d].second;
    }
    if (CheckedNumElements(out_dims) < 0) {
      return ctx->InvalidArgument("the padded shape ", TensorShape(out_dims).DebugString(),
                                  " has too many elements");
    }
    Tensor* out = ctx->allocate_output(0, TensorShape(out_dims));
    return VisitDataTypeOrError(in.dtype(), [&](auto zero) {
      using T = decltype(zero);
      const T fill = value != nullptr ? value->scalar<T>() : T(0);
      T* po = out->flat<T>().data();
      for (int64_t i = 0; i < out->NumElements(); ++i) po[i] = fill;
      if (in.NumElements() > 0) {
        CopyBox<T>(in.flat<T>().data(), in.shape().dim_sizes(), zeros, po, out_dims, before,
                   in.shape().dim_sizes());
      }
    });
  }
};
REGISTER_KERNEL("Pad", PadOp);
REGISTER_KERNEL("PadV2", PadOp);

// MirrorPad (kGrad false) copies out[o] = in[mirror(o)]; MirrorPadGrad (kGrad true) folds back,
// out[mirror(o)] += in[o]. mirror maps each padded index to the unpadded index it copies.
template <bool kGrad>
class MirrorPadOp : public OpKernel {
 public:
  explicit MirrorPadOp(const Node& node) : OpKernel(node) {
    std::string mode;
    absl::Status s = GetNodeAttr(node, "mode", &mode);
    if (s.ok() && mode != "REFLECT" && mode != "SYMMETRIC") {
      s = absl::InvalidArgumentError("mode must be REFLECT or SYMMETRIC, got '" + mode + "'");
    }
    if (!s.ok()) SetConstructionError(s);
    offset_ = mode == "REFLECT" ? 1 : 0;
  }
  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& in = ctx->input(0);
    const int rank = in.dims();
    DFLOW_ASSIGN_OR_RETURN(auto pads, ReadPaddings(ctx->input(1), rank));
    std::vector<int64_t> padded(rank), plain(rank);
    for (int d = 0; d < rank; ++d) {
      const int64_t total = pads[d].first + pads[d].second;
      padded[d] = kGrad ? in.dim_size(d) : in.dim_size(d) + total;
      plain[d] = kGrad ? in.dim_size(d) - total : in.dim_size(d);
      if (plain[d] < 0 || pads[d].first > plain[d] - offset_ ||
          pads[d].second > plain[d] - offset_) {
        return ctx->InvalidArgument("paddings must be no greater than the dimension size",
                                    offset_ ? " - 1" : "", ": ", pads[d].first, ", ",
                                    pads[d].second, " greater than ", plain[d] - offset_,
                                    " in dim ", d);
      }
    }
    if (CheckedNumElements(padded) < 0) {
      return ctx->InvalidArgument("the padded shape has too many elements");
    }
    // mirror[d][o]: the unpadded index padded index o of dim d copies.
    std::vector<std::vector<int64_t>> mirror(rank);
    for (int d = 0; d < rank; ++d) {
      const int64_t n = plain[d];
      mirror[d].resize(padded[d]);
      for (int64_t o = 0; o < padded[d]; ++o) {
        int64_t j = o - pads[d].first;
        if (j < 0) j = -j - 1 + offset_;
        if (j >= n) j = 2 * n - 1 - offset_ - j;
        mirror[d][o] = j;
      }
    }
    Tensor* out = ctx->allocate_output(0, TensorShape(kGrad ? plain : padded));
    const std::vector<int64_t> plain_strides = RowMajorStrides(plain);
    const int64_t count = CheckedNumElements(padded);
    bool typed = true;
    DFLOW_RETURN_IF_ERROR(VisitDataTypeOrError(in.dtype(), [&](auto zero) {
      using T = decltype(zero);
      if constexpr (kGrad && std::is_same_v<T, bool>) {
        typed = false;
      } else {
        const T* src = in.flat<T>().data();
        T* dst = out->flat<T>().data();
        if (kGrad) {
          for (int64_t i = 0; i < out->NumElements(); ++i) dst[i] = T(0);
        }
        std::vector<int64_t> idx(rank, 0);
        for (int64_t o = 0; o < count; ++o) {
          int64_t p = 0;
          for (int d = 0; d < rank; ++d) p += mirror[d][idx[d]] * plain_strides[d];
          if constexpr (kGrad) {
            dst[p] += src[o];
          } else {
            dst[o] = src[p];
          }
          for (int d = rank - 1; d >= 0; --d) {
            if (++idx[d] < padded[d]) break;
            idx[d] = 0;
          }
        }
      }
    }));
    if (!typed) return ctx->InvalidArgument("MirrorPadGrad does not take bool");
    return absl::OkStatus();
  }

 private:
  int offset_ = 0;
};
REGISTER_KERNEL("MirrorPad", MirrorPadOp<false>);
REGISTER_KERNEL("MirrorPadGrad", MirrorPadOp<true>);

}  // namespace
}  // namespace dflow
