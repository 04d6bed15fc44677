// Kernels for Gather, GatherV2, GatherNd, ScatterNd, OneHot and UnsortedSegmentSum: plain
// loops, every index checked (out-of-range indices are errors, as on TensorFlow's CPU).
#include <cstring>
#include <type_traits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "graph/status_macros.h"
#include "kernels/index_kernels.h"
#include "kernels/op_kernel.h"

namespace dflow {
namespace {

// The values of an int32/int64 tensor of any shape, widened.
std::vector<int64_t> IndexValues(const Tensor& t) {
  std::vector<int64_t> v(t.NumElements());
  if (t.dtype() == DT_INT32) {
    auto f = t.flat<int32_t>();
    for (size_t i = 0; i < v.size(); ++i) v[i] = f[i];
  } else if (t.dtype() == DT_UINT8) {
    auto f = t.flat<uint8_t>();
    for (size_t i = 0; i < v.size(); ++i) v[i] = f[i];
  } else {
    auto f = t.flat<int64_t>();
    for (size_t i = 0; i < v.size(); ++i) v[i] = f[i];
  }
  return v;
}

// "[i,j]" for element `flat` of a tensor of `shape` (TensorFlow's index in error messages).
std::string IndexString(int64_t flat, const TensorShape& shape) {
  std::vector<int64_t> idx(shape.dims());
  for (int d = shape.dims() - 1; d >= 0; --d) {
    idx[d] = flat % shape.dim_size(d);
    flat /= shape.dim_size(d);
  }
  return absl::StrCat("[", absl::StrJoin(idx, ","), "]");
}

absl::Status CheckIndexType(const Tensor& t, absl::string_view what) {
  if (t.dtype() != DT_INT32 && t.dtype() != DT_INT64) {
    return OpKernelContext::InvalidArgument(what, " must be int32 or int64, got ",
                                            DataTypeString(t.dtype()));
  }
  return absl::OkStatus();
}

// GatherV2 (and Gather, kHasAxis false: axis 0).
template <bool kHasAxis>
class GatherOp : public OpKernel {
 public:
  explicit GatherOp(const Node& node) : OpKernel(node) {
    if (kHasAxis) {
      absl::Status s = GetNodeAttr(node, "batch_dims", &batch_dims_);
      if (!s.ok()) SetConstructionError(s);
    }
  }
  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& params = ctx->input(0);
    const Tensor& indices = ctx->input(1);
    DFLOW_RETURN_IF_ERROR(CheckIndexType(indices, "indices"));
    int64_t axis_value = 0;
    if (kHasAxis) {
      DFLOW_ASSIGN_OR_RETURN(axis_value, ScalarIntInput(ctx->input(2), "axis"));
    }
    const int rp = params.dims(), ri = indices.dims();
    int64_t b = batch_dims_ < 0 ? batch_dims_ + ri : batch_dims_;
    if (b < 0 || b > ri) {
      return ctx->InvalidArgument("Expected batch_dims in the range [", -ri, ", ", ri,
                                  "], but got ", batch_dims_);
    }
    if (rp < 1) return ctx->InvalidArgument("params must be at least 1 dimensional");
    DFLOW_ASSIGN_OR_RETURN(int axis, ResolveAxis(axis_value, rp, "axis"));
    if (b > axis) {
      return ctx->InvalidArgument("batch_dims (", b, ") must be less than or equal to axis (",
                                  axis, ")");
    }
    for (int d = 0; d < b; ++d) {
      if (params.dim_size(d) != indices.dim_size(d)) {
        return ctx->InvalidArgument("params.shape[", d, "]: ", params.dim_size(d),
                                    " should be equal to indices.shape[", d,
                                    "]: ", indices.dim_size(d));
      }
    }
    const auto pd = params.shape().dim_sizes();
    const auto id = indices.shape().dim_sizes();
    const int64_t batch = DimProduct(pd, 0, static_cast<int>(b));
    const int64_t outer = DimProduct(pd, static_cast<int>(b), axis);
    const int64_t n = params.dim_size(axis);
    const int64_t inner = DimProduct(pd, axis + 1, rp);
    const int64_t k = DimProduct(id, static_cast<int>(b), ri);
    std::vector<int64_t> out_dims(pd.begin(), pd.begin() + axis);
    out_dims.insert(out_dims.end(), id.begin() + b, id.end());
    out_dims.insert(out_dims.end(), pd.begin() + axis + 1, pd.end());
    const std::vector<int64_t> idx = IndexValues(indices);
    for (size_t i = 0; i < idx.size(); ++i) {
      if (idx[i] < 0 || idx[i] >= n) {
        return ctx->InvalidArgument("indices", IndexString(i, indices.shape()), " = ", idx[i],
                                    " is not in [0, ", n, ")");
      }
    }
    Tensor* out = ctx->allocate_output(0, TensorShape(out_dims));
    return VisitCopyableTypeOrError(params.dtype(), [&](auto zero) {
      using T = decltype(zero);
      const T* src = params.flat<T>().data();
      T* dst = out->flat<T>().data();
      for (int64_t bb = 0; bb < batch; ++bb) {
        for (int64_t o = 0; o < outer; ++o) {
          const T* s = src + (bb * outer + o) * n * inner;
          for (int64_t j = 0; j < k; ++j) {
            std::copy_n(s + idx[bb * k + j] * inner, inner, dst);  // Strings as objects.
            dst += inner;
          }
        }
      }
    });
  }

 private:
  int64_t batch_dims_ = 0;
};
REGISTER_KERNEL("Gather", GatherOp<false>);
REGISTER_KERNEL("GatherV2", GatherOp<true>);

// The offsets (in slices of `slice` elements) of the `count` index tuples of `indices` (its last
// dim `nd` wide) into a tensor of `dims`; fails naming the first out-of-range tuple.
absl::StatusOr<std::vector<int64_t>> NdOffsets(const Tensor& indices,
                                               absl::Span<const int64_t> dims, int64_t nd,
                                               absl::string_view what) {
  const std::vector<int64_t> idx = IndexValues(indices);
  const auto id = indices.shape().dim_sizes();
  const TensorShape leading(id.subspan(0, id.size() - 1));
  const int64_t tuples = leading.num_elements();
  std::vector<int64_t> strides = RowMajorStrides(dims.subspan(0, nd));
  std::vector<int64_t> offsets(tuples, 0);
  for (int64_t t = 0; t < tuples; ++t) {
    for (int64_t j = 0; j < nd; ++j) {
      const int64_t v = idx[t * nd + j];
      if (v < 0 || v >= dims[j]) {
        std::vector<int64_t> tuple(idx.begin() + t * nd, idx.begin() + (t + 1) * nd);
        return OpKernelContext::InvalidArgument(
            "indices", IndexString(t, leading), " = [",
            absl::StrJoin(tuple, ", "), "] does not index into ", what, " shape ",
            TensorShape(dims).DebugString());
      }
      offsets[t] += v * strides[j];
    }
  }
  return offsets;
}

class GatherNdOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& params = ctx->input(0);
    const Tensor& indices = ctx->input(1);
    DFLOW_RETURN_IF_ERROR(CheckIndexType(indices, "indices"));
    if (indices.dims() < 1) {
      return ctx->InvalidArgument("indices must be at least a vector, got shape ",
                                  indices.shape().DebugString());
    }
    const int64_t nd = indices.dim_size(indices.dims() - 1);
    if (nd > params.dims()) {
      return ctx->InvalidArgument("index innermost dimension length must be <= params rank; saw: ",
                                  nd, " vs. ", params.dims());
    }
    const auto pd = params.shape().dim_sizes();
    const int64_t slice = DimProduct(pd, static_cast<int>(nd), params.dims());
    DFLOW_ASSIGN_OR_RETURN(std::vector<int64_t> offsets,
                           NdOffsets(indices, pd, nd, "params"));
    std::vector<int64_t> out_dims(indices.shape().dim_sizes().begin(),
                                  indices.shape().dim_sizes().end() - 1);
    out_dims.insert(out_dims.end(), pd.begin() + nd, pd.end());
    Tensor* out = ctx->allocate_output(0, TensorShape(out_dims));
    if (out->NumElements() == 0) return absl::OkStatus();
    return VisitDataTypeOrError(params.dtype(), [&](auto zero) {
      using T = decltype(zero);
      const T* src = params.flat<T>().data();
      T* dst = out->flat<T>().data();
      for (size_t t = 0; t < offsets.size(); ++t) {
        std::memcpy(dst + t * slice, src + offsets[t] * slice, slice * sizeof(T));
      }
    });
  }
};
REGISTER_KERNEL("GatherNd", GatherNdOp);

class ScatterNdOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& indices = ctx->input(0);
    const Tensor& updates = ctx->input(1);
    DFLOW_RETURN_IF_ERROR(CheckIndexType(indices, "indices"));
    DFLOW_ASSIGN_OR_RETURN(IntList shape, VectorIntInput(ctx->input(2), "shape"));
    if (CheckedNumElements(shape) < 0) {
      return ctx->InvalidArgument("shape ", TensorShape(shape).DebugString(),
                                  " has a negative dim or too many elements");
    }
    if (indices.dims() < 1) {
      return ctx->InvalidArgument("indices must be at least a vector, got shape ",
                                  indices.shape().DebugString());
    }
    const int64_t nd = indices.dim_size(indices.dims() - 1);
    if (nd > static_cast<int64_t>(shape.size())) {
      return ctx->InvalidArgument("indices index ", nd, " dims of a rank-", shape.size(),
                                  " output");
    }
    std::vector<int64_t> want(indices.shape().dim_sizes().begin(),
                              indices.shape().dim_sizes().end() - 1);
    want.insert(want.end(), shape.begin() + nd, shape.end());
    if (TensorShape(want) != updates.shape()) {
      return ctx->InvalidArgument("updates must have shape ", TensorShape(want).DebugString(),
                                  ", got ", updates.shape().DebugString());
    }
    const std::vector<int64_t> dims(shape.begin(), shape.end());
    const int64_t slice = DimProduct(dims, static_cast<int>(nd), static_cast<int>(dims.size()));
    DFLOW_ASSIGN_OR_RETURN(std::vector<int64_t> offsets, NdOffsets(indices, dims, nd, "output"));
    Tensor* out = ctx->allocate_output(0, TensorShape(dims));
    bool ok = true;
    DFLOW_RETURN_IF_ERROR(VisitDataTypeOrError(updates.dtype(), [&](auto zero) {
      using T = decltype(zero);
      if constexpr (std::is_same_v<T, bool>) {
        ok = false;
      } else {
        T* dst = out->flat<T>().data();
        const T* src = updates.flat<T>().data();
        for (int64_t i = 0; i < out->NumElements(); ++i) dst[i] = T(0);
        for (size_t t = 0; t < offsets.size(); ++t) {
          for (int64_t j = 0; j < slice; ++j) dst[offsets[t] * slice + j] += src[t * slice + j];
        }
      }
    }));
    if (!ok) return ctx->InvalidArgument("ScatterNd does not take bool");
    return absl::OkStatus();
  }
};
REGISTER_KERNEL("ScatterNd", ScatterNdOp);

class OneHotOp : public OpKernel {
 public:
  explicit OneHotOp(const Node& node) : OpKernel(node) {
    absl::Status s = GetNodeAttr(node, "axis", &axis_);
    if (s.ok() && axis_ < -1) s = absl::InvalidArgumentError("axis must be >= -1");
    if (!s.ok()) SetConstructionError(s);
  }
  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& indices = ctx->input(0);
    const Tensor& on = ctx->input(2);
    const Tensor& off = ctx->input(3);
    DFLOW_RETURN_IF_ERROR(CheckInput(ctx->input(1), "depth", DT_INT32, 0));
    if (on.dims() != 0 || off.dims() != 0) {
      return ctx->InvalidArgument("on_value and off_value must be scalars, got shapes ",
                                  on.shape().DebugString(), " and ", off.shape().DebugString());
    }
    const int64_t depth = ctx->input(1).scalar<int32_t>();
    if (depth < 0) return ctx->InvalidArgument("indices must be non-negative, got: ", depth);
    const int rank = indices.dims();
    if (axis_ > rank) {
      return ctx->InvalidArgument("Expected axis to be -1 or between [0, ", rank,
                                  "].  But received: ", axis_);
    }
    const int axis = axis_ == -1 ? rank : static_cast<int>(axis_);
    std::vector<int64_t> dims(indices.shape().dim_sizes().begin(),
                              indices.shape().dim_sizes().end());
    const int64_t outer = DimProduct(dims, 0, axis);
    const int64_t inner = DimProduct(dims, axis, rank);
    dims.insert(dims.begin() + axis, depth);
    if (CheckedNumElements(dims) < 0) {
      return ctx->InvalidArgument("the output ", TensorShape(dims).DebugString(),
                                  " has too many elements");
    }
    const std::vector<int64_t> idx = IndexValues(indices);
    Tensor* out = ctx->allocate_output(0, TensorShape(dims));
    return VisitDataTypeOrError(out->dtype(), [&](auto zero) {
      using T = decltype(zero);
      const T on_v = on.scalar<T>(), off_v = off.scalar<T>();
      T* dst = out->flat<T>().data();
      for (int64_t i = 0; i < out->NumElements(); ++i) dst[i] = off_v;
      for (int64_t o = 0; o < outer; ++o) {
        for (int64_t i = 0; i < inner; ++i) {
          const int64_t v = idx[o * inner + i];
          if (v >= 0 && v < depth) dst[(o * depth + v) * inner + i] = on_v;
        }
      }
    });
  }

 private:
  int64_t axis_ = -1;
};
REGISTER_KERNEL("OneHot", OneHotOp);

class UnsortedSegmentSumOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& data = ctx->input(0);
    const Tensor& ids = ctx->input(1);
    DFLOW_RETURN_IF_ERROR(CheckIndexType(ids, "segment_ids"));
    DFLOW_ASSIGN_OR_RETURN(int64_t n, ScalarIntInput(ctx->input(2), "num_segments"));
    if (n < 0) return ctx->InvalidArgument("num_segments must be non-negative, got ", n);
    const auto dd = data.shape().dim_sizes();
    bool prefix = ids.dims() <= data.dims();
    for (int d = 0; prefix && d < ids.dims(); ++d) prefix = ids.dim_size(d) == dd[d];
    if (!prefix) {
      return ctx->InvalidArgument("data.shape = ", data.shape().DebugString(),
                                  " does not start with segment_ids.shape = ",
                                  ids.shape().DebugString());
    }
    const int64_t inner = DimProduct(dd, ids.dims(), data.dims());
    std::vector<int64_t> out_dims = {n};
    out_dims.insert(out_dims.end(), dd.begin() + ids.dims(), dd.end());
    if (CheckedNumElements(out_dims) < 0) {
      return ctx->InvalidArgument("the output has too many elements");
    }
    const std::vector<int64_t> idx = IndexValues(ids);
    for (size_t i = 0; i < idx.size(); ++i) {
      if (idx[i] >= n) {
        return ctx->InvalidArgument("segment_ids", IndexString(i, ids.shape()), " = ", idx[i],
                                    " is out of range [0, ", n, ")");
      }
    }
    Tensor* out = ctx->allocate_output(0, TensorShape(out_dims));
    bool ok = true;
    DFLOW_RETURN_IF_ERROR(VisitDataTypeOrError(data.dtype(), [&](auto zero) {
      using T = decltype(zero);
      if constexpr (std::is_same_v<T, bool>) {
        ok = false;
      } else {
        T* dst = out->flat<T>().data();
        const T* src = data.flat<T>().data();
        for (int64_t i = 0; i < out->NumElements(); ++i) dst[i] = T(0);
        for (size_t i = 0; i < idx.size(); ++i) {
          if (idx[i] < 0) continue;  // Negative ids are dropped.
          T* row = dst + idx[i] * inner;
          const T* in = src + i * inner;
          for (int64_t j = 0; j < inner; ++j) row[j] += in[j];
        }
      }
    }));
    if (!ok) return ctx->InvalidArgument("UnsortedSegmentSum does not take bool");
    return absl::OkStatus();
  }
};
REGISTER_KERNEL("UnsortedSegmentSum", UnsortedSegmentSumOp);

}  // namespace
}  // namespace dflow
