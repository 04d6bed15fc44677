// Helpers shared by the kernels that move elements by index (transpose, slice, pad, gather,
// reverse and their kin): reading int inputs, row-major strides, and a dim permutation.
#ifndef DFLOW_KERNELS_INDEX_KERNELS_H_
#define DFLOW_KERNELS_INDEX_KERNELS_H_

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "graph/tensor.h"
#include "kernels/op_kernel.h"

namespace dflow {

// A scalar int32/int64 input's value; fails naming `what` for another rank or type.
inline absl::StatusOr<int64_t> ScalarIntInput(const Tensor& t, absl::string_view what) {
  if (t.dims() != 0 || (t.dtype() != DT_INT32 && t.dtype() != DT_INT64)) {
    return OpKernelContext::InvalidArgument(what, " must be an int32 or int64 scalar, got ",
                                            DataTypeString(t.dtype()), " ",
                                            t.shape().DebugString());
  }
  return t.dtype() == DT_INT32 ? int64_t{t.scalar<int32_t>()} : t.scalar<int64_t>();
}

// A 1-D int32/int64 input's values; fails naming `what` for another rank or type.
inline absl::StatusOr<IntList> VectorIntInput(const Tensor& t, absl::string_view what) {
  if (t.dims() != 1) {
    return OpKernelContext::InvalidArgument(what, " must be a vector, got shape ",
                                            t.shape().DebugString());
  }
  return IntValues(t, what);
}

// Element strides of a row-major tensor of `dims`.
inline std::vector<int64_t> RowMajorStrides(absl::Span<const int64_t> dims) {
  std::vector<int64_t> strides(dims.size(), 1);
  for (int d = static_cast<int>(dims.size()) - 2; d >= 0; --d) {
    strides[d] = strides[d + 1] * dims[d + 1];
  }
  return strides;
}

// The product of dims[begin, end).
inline int64_t DimProduct(absl::Span<const int64_t> dims, int begin, int end) {
  int64_t p = 1;
  for (int d = begin; d < end; ++d) p *= dims[d];
  return p;
}

// out = in with its dims permuted: out.dim(k) = in_dims[perm[k]] (perm a valid permutation).
// Size-1 dims are dropped and runs of dims that stay adjacent merged first, so the inner loop
// copies as long a contiguous run as the permutation allows.
template <typename T>
void PermuteDims(const T* in, absl::Span<const int64_t> in_dims, absl::Span<const int> perm,
                 T* out) {
  const int rank = static_cast<int>(in_dims.size());
  int64_t n = 1;
  for (int64_t d : in_dims) n *= d;
  if (n == 0) return;
  const std::vector<int64_t> in_strides = RowMajorStrides(in_dims);
  // Output dims with their input strides, size-1 dims dropped and adjacent runs merged.
  std::vector<int64_t> size, stride;
  int prev = -2;
  for (int k = 0; k < rank; ++k) {
    const int p = perm[k];
    if (in_dims[p] == 1) continue;
    if (p == prev + 1 && !size.empty()) {
      size.back() *= in_dims[p];
      stride.back() = in_strides[p];
    } else {
      size.push_back(in_dims[p]);
      stride.push_back(in_strides[p]);
    }
    prev = p;
  }
  const int r = static_cast<int>(size.size());
  if (r == 0) {
    out[0] = in[0];
    return;
  }
  const int64_t inner = size[r - 1], inner_stride = stride[r - 1];
  std::vector<int64_t> idx(r, 0);
  int64_t offset = 0;
  for (int64_t done = 0; done < n; done += inner) {
    const T* src = in + offset;
    if (inner_stride == 1) {
      std::copy_n(src, inner, out);  // memmove for plain types; strings as objects.
    } else {
      for (int64_t i = 0; i < inner; ++i) out[i] = src[i * inner_stride];
    }
    out += inner;
    for (int d = r - 2; d >= 0; --d) {
      offset += stride[d];
      if (++idx[d] < size[d]) break;
      offset -= stride[d] * size[d];
      idx[d] = 0;
    }
  }
}

// Copies the box of sizes `box` at `src_begin` in a row-major tensor of `src_dims` to the box
// at `dst_begin` in one of `dst_dims` (equal ranks; the boxes must fit, callers check). Trailing
// dims that both tensors hold whole are merged so that runs are as long as possible.
template <typename T>
void CopyBox(const T* src, absl::Span<const int64_t> src_dims,
             absl::Span<const int64_t> src_begin, T* dst, absl::Span<const int64_t> dst_dims,
             absl::Span<const int64_t> dst_begin, absl::Span<const int64_t> box) {
  std::vector<int64_t> sd(src_dims.begin(), src_dims.end()), sb(src_begin.begin(), src_begin.end());
  std::vector<int64_t> dd(dst_dims.begin(), dst_dims.end()), db(dst_begin.begin(), dst_begin.end());
  std::vector<int64_t> bx(box.begin(), box.end());
  for (int64_t b : bx) {
    if (b == 0) return;
  }
  while (bx.size() > 1 && bx.back() == sd.back() && bx.back() == dd.back()) {
    const size_t r = bx.size();
    const int64_t last = bx.back();
    sd[r - 2] *= last;
    dd[r - 2] *= last;
    sb[r - 2] *= last;
    db[r - 2] *= last;
    bx[r - 2] *= last;
    sd.pop_back(), dd.pop_back(), sb.pop_back(), db.pop_back(), bx.pop_back();
  }
  const int r = static_cast<int>(bx.size());
  if (r == 0) {
    dst[0] = src[0];
    return;
  }
  const std::vector<int64_t> ss = RowMajorStrides(sd), ds = RowMajorStrides(dd);
  int64_t so = 0, dof = 0;
  for (int d = 0; d < r; ++d) {
    so += sb[d] * ss[d];
    dof += db[d] * ds[d];
  }
  const int64_t run = bx[r - 1];
  std::vector<int64_t> idx(r, 0);
  while (true) {
    std::copy_n(src + so, run, dst + dof);  // memmove for plain types; strings as objects.
    int d = r - 2;
    for (; d >= 0; --d) {
      so += ss[d];
      dof += ds[d];
      if (++idx[d] < bx[d]) break;
      so -= ss[d] * bx[d];
      dof -= ds[d] * bx[d];
      idx[d] = 0;
    }
    if (d < 0) return;
  }
}

// Resolves a scalar axis input `what` against `rank`: in [-rank, rank), negative counting from
// the end.
inline absl::StatusOr<int> ResolveAxis(int64_t axis, int rank, absl::string_view what) {
  if (axis < -rank || axis >= rank) {
    return OpKernelContext::InvalidArgument(what, " = ", axis, " is not in [", -rank, ", ", rank,
                                            ")");
  }
  return static_cast<int>(axis < 0 ? axis + rank : axis);
}

// Calls fn(T{}) for `dtype` as VisitDataType does; an InvalidArgument naming the type when it
// has no storage.
template <typename Fn>
absl::Status VisitDataTypeOrError(DataType dtype, Fn&& fn) {
  if (!VisitDataType(dtype, fn)) {
    return OpKernelContext::InvalidArgument("unsupported type ", DataTypeString(dtype));
  }
  return absl::OkStatus();
}

// The same with DT_STRING too (VisitCopyableType), for kernels that only move elements.
template <typename Fn>
absl::Status VisitCopyableTypeOrError(DataType dtype, Fn&& fn) {
  if (!VisitCopyableType(dtype, fn)) {
    return OpKernelContext::InvalidArgument("unsupported type ", DataTypeString(dtype));
  }
  return absl::OkStatus();
}

}  // namespace dflow

#endif  // DFLOW_KERNELS_INDEX_KERNELS_H_
