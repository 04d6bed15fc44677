// Kernels for array ops that copy elements: Pack, StridedSlice, StridedSliceGrad, Tile,
// DynamicStitch and ConcatV2. None has a oneDNN primitive; they copy elements as bytes, so they
// take any type with storage, except strings, which they copy as std::string objects
// (StridedSliceGrad, a gradient, takes no strings).
#include <algorithm>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "graph/status_macros.h"
#include "kernels/op_kernel.h"
#include "ops/array_ops.h"

namespace dflow {
namespace {

// ---------------------------------------------------------------------------------------------
// Helpers for the data-moving kernels.

// Bytes per element of `t`, or an error for types without storage.
absl::StatusOr<size_t> ElementBytes(DataType dtype) {
  const int bytes = DataTypeSize(dtype);
  if (bytes <= 0) {
    return OpKernelContext::InvalidArgument("unsupported type ", DataTypeString(dtype));
  }
  return static_cast<size_t>(bytes);
}

// A 1-D int32/int64 tensor's values; fails naming `what` for another rank or type.
absl::StatusOr<IntList> VectorValues(const Tensor& t, absl::string_view what) {
  if (t.dims() != 1) {
    return OpKernelContext::InvalidArgument(what, " must be a vector, got shape ",
                                            t.shape().DebugString());
  }
  return IntValues(t, what);
}

// OK for the types these kernels move: those with plain-bytes storage, and strings.
absl::Status CheckCopyable(DataType dtype) {
  if (dtype == DT_STRING) return absl::OkStatus();
  return ElementBytes(dtype).status();
}

// Element strides of a row-major tensor of `dims`.
std::vector<int64_t> RowMajorStrides(absl::Span<const int64_t> dims) {
  std::vector<int64_t> strides(dims.size(), 1);
  for (int d = static_cast<int>(dims.size()) - 2; d >= 0; --d) {
    strides[d] = strides[d + 1] * dims[d + 1];
  }
  return strides;
}

// A strided slice as per-dim (dim, begin, stride, size), with trailing dims it takes whole (from
// 0, step 1) merged into the dim before when that one has step 1 or size 1: the same elements in
// the same order, in fewer, longer runs (an NHWC crop of rows is one run per image, not one per
// pixel).
struct SliceDims {
  std::vector<int64_t> dims, begin, stride, size;
};
SliceDims CoalescedSlice(absl::Span<const int64_t> dims, const StridedSliceResolved& r) {
  SliceDims s;
  const int rank = static_cast<int>(dims.size());
  int64_t dim = dims[rank - 1], begin = r.begin[rank - 1], stride = r.stride[rank - 1],
          size = r.size[rank - 1];
  auto push = [&] {
    s.dims.push_back(dim);
    s.begin.push_back(begin);
    s.stride.push_back(stride);
    s.size.push_back(size);
  };
  for (int d = rank - 2; d >= 0; --d) {
    const bool inner_whole = begin == 0 && stride == 1 && size == dim;
    if (inner_whole && (r.stride[d] == 1 || r.size[d] == 1)) {
      begin = r.begin[d] * dim;
      size = r.size[d] * dim;
      dim *= dims[d];
      continue;
    }
    push();
    dim = dims[d], begin = r.begin[d], stride = r.stride[d], size = r.size[d];
  }
  push();
  for (std::vector<int64_t>* v : {&s.dims, &s.begin, &s.stride, &s.size}) {
    std::reverse(v->begin(), v->end());
  }
  return s;
}

// Visits a resolved strided slice of a tensor of `dims` in row-major slice order: calls
// fn(tensor_offset, slice_offset, count, step) for each run along the last (coalesced) dim, with
// element k of the run at tensor_offset + k * step and slice_offset + k.
template <typename Fn>
void ForEachSliceRun(absl::Span<const int64_t> dims, const StridedSliceResolved& r, Fn&& fn) {
  if (dims.empty()) {
    fn(int64_t{0}, int64_t{0}, int64_t{1}, int64_t{1});
    return;
  }
  for (size_t d = 0; d < dims.size(); ++d) {
    if (r.size[d] == 0) return;
  }
  const SliceDims s = CoalescedSlice(dims, r);
  const int rank = static_cast<int>(s.dims.size());
  const std::vector<int64_t> strides = RowMajorStrides(s.dims);
  int64_t offset = 0;
  for (int d = 0; d < rank; ++d) offset += s.begin[d] * strides[d];
  const int64_t inner = s.size[rank - 1];
  const int64_t step = s.stride[rank - 1];
  std::vector<int64_t> idx(rank, 0);
  int64_t out = 0;
  while (true) {
    fn(offset, out, inner, step);
    out += inner;
    int d = rank - 2;
    for (; d >= 0; --d) {
      offset += s.stride[d] * strides[d];
      if (++idx[d] < s.size[d]) break;
      offset -= s.stride[d] * strides[d] * s.size[d];
      idx[d] = 0;
    }
    if (d < 0) return;
  }
}

// CopyRun for elements of B bytes: a fixed-size memcpy compiles to one move, not a call.
template <size_t B>
void CopyRunOf(const char* src, int64_t src_step, char* dst, int64_t dst_step, int64_t count) {
  for (int64_t k = 0; k < count; ++k) {
    std::memcpy(dst + k * dst_step * B, src + k * src_step * B, B);
  }
}

// Copies `count` elements of `bytes` each from src (every `src_step` elements) to dst (every
// `dst_step` elements).
void CopyRun(const char* src, int64_t src_step, char* dst, int64_t dst_step, int64_t count,
             size_t bytes) {
  if (src_step == 1 && dst_step == 1) {
    std::memcpy(dst, src, static_cast<size_t>(count) * bytes);
    return;
  }
  switch (bytes) {
    case 1: return CopyRunOf<1>(src, src_step, dst, dst_step, count);
    case 2: return CopyRunOf<2>(src, src_step, dst, dst_step, count);
    case 4: return CopyRunOf<4>(src, src_step, dst, dst_step, count);
    case 8: return CopyRunOf<8>(src, src_step, dst, dst_step, count);
    default:
      for (int64_t k = 0; k < count; ++k) {
        std::memcpy(dst + k * dst_step * bytes, src + k * src_step * bytes, bytes);
      }
  }
}

// CopyRun on tensors: `count` elements from src (from element src_off, every src_step) to dst
// (from dst_off, every dst_step), of one dtype checked by CheckCopyable; strings as objects.
void CopyElements(const Tensor& src, int64_t src_off, int64_t src_step, Tensor* dst,
                  int64_t dst_off, int64_t dst_step, int64_t count) {
  if (src.dtype() == DT_STRING) {
    const std::string* ps = src.flat<std::string>().data() + src_off;
    std::string* pd = dst->flat<std::string>().data() + dst_off;
    for (int64_t k = 0; k < count; ++k) pd[k * dst_step] = ps[k * src_step];
    return;
  }
  const size_t b = static_cast<size_t>(DataTypeSize(src.dtype()));
  CopyRun(static_cast<const char*>(src.data()) + src_off * b, src_step,
          static_cast<char*>(dst->data()) + dst_off * b, dst_step, count, b);
}

// Reads begin, end and strides (inputs first..first+2) and resolves them against `dims`.
absl::Status ResolveSliceInputs(OpKernelContext* ctx, const ops::StridedSliceAttrs& masks,
                                int first, absl::Span<const int64_t> dims,
                                StridedSliceResolved* r) {
  DFLOW_ASSIGN_OR_RETURN(IntList begin, VectorValues(ctx->input(first), "begin"));
  DFLOW_ASSIGN_OR_RETURN(IntList end, VectorValues(ctx->input(first + 1), "end"));
  DFLOW_ASSIGN_OR_RETURN(IntList strides, VectorValues(ctx->input(first + 2), "strides"));
  if (begin.size() != end.size() || begin.size() != strides.size()) {
    return ctx->InvalidArgument("begin, end and strides must have the same length, got ",
                                begin.size(), ", ", end.size(), " and ", strides.size());
  }
  const std::vector<int64_t> b(begin.begin(), begin.end()), e(end.begin(), end.end()),
      st(strides.begin(), strides.end());
  return ResolveStridedSlice(dims, static_cast<int64_t>(b.size()), &b, &e, &st, masks, r);
}

// ---------------------------------------------------------------------------------------------
// The kernels.

class PackOp : public OpKernel {
 public:
  explicit PackOp(const Node& node) : OpKernel(node) {
    absl::Status s = GetNodeAttr(node, "axis", &axis_);
    if (!s.ok()) SetConstructionError(s);
  }
  absl::Status Compute(OpKernelContext* ctx) override {
    const int n = ctx->num_inputs();
    const Tensor& first = ctx->input(0);
    for (int i = 0; i < n; ++i) {
      if (ctx->input(i).dtype() != node().input_type(0) ||
          ctx->input(i).shape() != first.shape()) {
        return ctx->InvalidArgument("values must all have one shape and type, but value 0 is ",
                                    first.shape().DebugString(), " and value ", i, " is ",
                                    ctx->input(i).shape().DebugString());
      }
    }
    const bool strings = first.dtype() == DT_STRING;
    size_t bytes = sizeof(std::string);
    if (!strings) {
      DFLOW_ASSIGN_OR_RETURN(bytes, ElementBytes(first.dtype()));
    }
    const int out_rank = first.dims() + 1;
    int64_t axis = axis_;
    if (axis < -out_rank || axis >= out_rank) {
      return ctx->InvalidArgument("axis ", axis_, " is out of range for values of shape ",
                                  first.shape().DebugString());
    }
    if (axis < 0) axis += out_rank;
    std::vector<int64_t> dims(first.shape().dim_sizes().begin(), first.shape().dim_sizes().end());
    int64_t outer = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= dims[d];
    const int64_t inner = outer == 0 ? 0 : first.NumElements() / outer;
    dims.insert(dims.begin() + axis, n);
    Tensor* out = ctx->allocate_output(0, TensorShape(dims));
    if (out->NumElements() == 0) return absl::OkStatus();
    if (strings) {  // std::string elements are copied as objects.
      absl::Span<std::string> so = out->flat<std::string>();
      for (int64_t o = 0; o < outer; ++o) {
        for (int i = 0; i < n; ++i) {
          absl::Span<const std::string> si = ctx->input(i).flat<std::string>();
          std::copy_n(si.begin() + o * inner, inner, so.begin() + (o * n + i) * inner);
        }
      }
      return absl::OkStatus();
    }
    char* po = static_cast<char*>(out->data());
    const size_t row = static_cast<size_t>(inner) * bytes;
    for (int64_t o = 0; o < outer; ++o) {
      for (int i = 0; i < n; ++i) {
        const char* pi = static_cast<const char*>(ctx->input(i).data());
        std::memcpy(po + (o * n + i) * row, pi + o * row, row);
      }
    }
    return absl::OkStatus();
  }

 private:
  int64_t axis_ = 0;
};
REGISTER_KERNEL("Pack", PackOp);

class StridedSliceOp : public OpKernel {
 public:
  explicit StridedSliceOp(const Node& node) : OpKernel(node) {
    absl::Status s = GetStridedSliceAttrs(node.attrs(), &masks_);
    if (!s.ok()) SetConstructionError(s);
  }
  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& in = ctx->input(0);
    DFLOW_RETURN_IF_ERROR(CheckCopyable(in.dtype()));
    StridedSliceResolved r;
    DFLOW_RETURN_IF_ERROR(ResolveSliceInputs(ctx, masks_, 1, in.shape().dim_sizes(), &r));
    Tensor* out = ctx->allocate_output(0, TensorShape(r.output_dims));
    if (out->NumElements() == 0) return absl::OkStatus();
    if (in.dtype() == DT_STRING) {
      ForEachSliceRun(in.shape().dim_sizes(), r,
                      [&](int64_t in_off, int64_t out_off, int64_t count, int64_t step) {
                        CopyElements(in, in_off, step, out, out_off, 1, count);
                      });
      return absl::OkStatus();
    }
    // The element size read once, not per run (runs can be a pixel's few channels).
    const size_t b = static_cast<size_t>(DataTypeSize(in.dtype()));
    const char* pi = static_cast<const char*>(in.data());
    char* po = static_cast<char*>(out->data());
    ForEachSliceRun(in.shape().dim_sizes(), r,
                    [&](int64_t in_off, int64_t out_off, int64_t count, int64_t step) {
                      CopyRun(pi + in_off * b, step, po + out_off * b, 1, count, b);
                    });
    return absl::OkStatus();
  }

 private:
  ops::StridedSliceAttrs masks_;
};
REGISTER_KERNEL("StridedSlice", StridedSliceOp);

class StridedSliceGradOp : public OpKernel {
 public:
  explicit StridedSliceGradOp(const Node& node) : OpKernel(node) {
    absl::Status s = GetStridedSliceAttrs(node.attrs(), &masks_);
    if (!s.ok()) SetConstructionError(s);
  }
  absl::Status Compute(OpKernelContext* ctx) override {
    DFLOW_ASSIGN_OR_RETURN(IntList shape, VectorValues(ctx->input(0), "shape"));
    for (int64_t d : shape) {
      if (d < 0) return ctx->InvalidArgument("shape has a negative dimension ", d);
    }
    const Tensor& dy = ctx->input(4);
    DFLOW_ASSIGN_OR_RETURN(size_t bytes, ElementBytes(dy.dtype()));
    StridedSliceResolved r;
    DFLOW_RETURN_IF_ERROR(ResolveSliceInputs(ctx, masks_, 1, shape, &r));
    if (dy.shape() != TensorShape(r.output_dims)) {
      return ctx->InvalidArgument("dy has shape ", dy.shape().DebugString(), " but the slice of ",
                                  TensorShape(shape).DebugString(), " has shape ",
                                  TensorShape(r.output_dims).DebugString());
    }
    Tensor* out = ctx->allocate_output(0, TensorShape(shape));
    if (out->NumElements() == 0) return absl::OkStatus();
    std::memset(out->data(), 0, out->TotalBytes());
    if (dy.NumElements() == 0) return absl::OkStatus();
    const char* pd = static_cast<const char*>(dy.data());
    char* po = static_cast<char*>(out->data());
    const size_t b = bytes;
    ForEachSliceRun(shape, r, [&](int64_t out_off, int64_t dy_off, int64_t count, int64_t step) {
      CopyRun(pd + dy_off * b, 1, po + out_off * b, step, count, b);
    });
    return absl::OkStatus();
  }

 private:
  ops::StridedSliceAttrs masks_;
};
REGISTER_KERNEL("StridedSliceGrad", StridedSliceGradOp);

class TileOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& in = ctx->input(0);
    DFLOW_RETURN_IF_ERROR(CheckCopyable(in.dtype()));
    DFLOW_ASSIGN_OR_RETURN(IntList m, VectorValues(ctx->input(1), "multiples"));
    const int rank = in.dims();
    if (static_cast<int>(m.size()) != rank) {
      return ctx->InvalidArgument("multiples has ", m.size(), " values but the input ",
                                  in.shape().DebugString(), " has rank ", rank);
    }
    std::vector<int64_t> dims(rank);
    int64_t total = 1;
    for (int d = 0; d < rank; ++d) {
      if (m[d] < 0) return ctx->InvalidArgument("multiples has a negative value ", m[d]);
      if (__builtin_mul_overflow(in.dim_size(d), m[d], &dims[d]) ||
          __builtin_mul_overflow(total, dims[d], &total)) {
        return ctx->InvalidArgument("tiling ", in.shape().DebugString(),
                                    " by these multiples overflows");
      }
    }
    Tensor* out = ctx->allocate_output(0, TensorShape(dims));
    if (out->NumElements() == 0) return absl::OkStatus();
    if (rank == 0) {
      CopyElements(in, 0, 1, out, 0, 1, 1);
      return absl::OkStatus();
    }
    // For each output row (all dims but the last), the input row it repeats, written
    // multiples[last] times.
    const std::vector<int64_t> in_strides = RowMajorStrides(in.shape().dim_sizes());
    const int64_t row = in.dim_size(rank - 1);
    const int64_t reps = m[rank - 1];
    const int64_t out_rows = out->NumElements() / dims[rank - 1];
    std::vector<int64_t> idx(rank, 0);  // Output row index (the last entry unused).
    for (int64_t r = 0; r < out_rows; ++r) {
      int64_t in_off = 0;
      for (int d = 0; d < rank - 1; ++d) in_off += (idx[d] % in.dim_size(d)) * in_strides[d];
      const int64_t dst = r * dims[rank - 1];
      for (int64_t k = 0; k < reps; ++k) CopyElements(in, in_off, 1, out, dst + k * row, 1, row);
      for (int d = rank - 2; d >= 0; --d) {
        if (++idx[d] < dims[d]) break;
        idx[d] = 0;
      }
    }
    return absl::OkStatus();
  }
};
REGISTER_KERNEL("Tile", TileOp);

class DynamicStitchOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) override {
    const int n = ctx->num_inputs() / 2;
    if (n < 1 || ctx->num_inputs() != 2 * n) {
      return ctx->InvalidArgument("expected N indices and N data inputs");
    }
    const DataType type = node().input_type(n);
    DFLOW_RETURN_IF_ERROR(CheckCopyable(type));
    // data[m].shape = indices[m].shape + tail, with one tail for all m.
    std::vector<int64_t> tail;
    int64_t first = 0;
    for (int m = 0; m < n; ++m) {
      const Tensor& idx = ctx->input(m);
      const Tensor& data = ctx->input(n + m);
      if (idx.dtype() != DT_INT32 || data.dtype() != type) {
        return ctx->InvalidArgument("indices must be int32 and data ", DataTypeString(type));
      }
      bool prefix = data.dims() >= idx.dims();
      for (int d = 0; prefix && d < idx.dims(); ++d) prefix = data.dim_size(d) == idx.dim_size(d);
      if (!prefix) {
        return ctx->InvalidArgument("data ", m, " of shape ", data.shape().DebugString(),
                                    " must start with the shape of indices ", m, " ",
                                    idx.shape().DebugString());
      }
      std::vector<int64_t> t(data.shape().dim_sizes().begin() + idx.dims(),
                             data.shape().dim_sizes().end());
      if (m == 0) {
        tail = t;
      } else if (t != tail) {
        return ctx->InvalidArgument("data ", m, " of shape ", data.shape().DebugString(),
                                    " must end in ", TensorShape(tail).DebugString(),
                                    " like data 0");
      }
      for (int32_t v : idx.flat<int32_t>()) {
        if (v < 0) return ctx->InvalidArgument("indices ", m, " holds a negative index ", v);
        first = std::max<int64_t>(first, int64_t{v} + 1);
      }
    }
    std::vector<int64_t> dims = {first};
    dims.insert(dims.end(), tail.begin(), tail.end());
    Tensor* out = ctx->allocate_output(0, TensorShape(dims));
    if (out->NumElements() == 0) return absl::OkStatus();
    // Rows no index names stay zero (strings: empty, as constructed).
    if (out->TotalBytes() > 0) std::memset(out->data(), 0, out->TotalBytes());
    const int64_t row = TensorShape(tail).num_elements();
    for (int m = 0; m < n; ++m) {
      const auto idx = ctx->input(m).flat<int32_t>();
      for (size_t k = 0; k < idx.size(); ++k) {
        CopyElements(ctx->input(n + m), static_cast<int64_t>(k) * row, 1, out, idx[k] * row, 1, row);
      }
    }
    return absl::OkStatus();
  }
};
REGISTER_KERNEL("DynamicStitch", DynamicStitchOp);

class ConcatV2Op : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) override {
    const int n = ctx->num_inputs() - 1;
    if (n < 1) return ctx->InvalidArgument("ConcatV2 needs values and an axis");
    DFLOW_ASSIGN_OR_RETURN(IntList axis_v, IntValues(ctx->input(n), "axis"));
    if (ctx->input(n).dims() != 0 || axis_v.size() != 1) {
      return ctx->InvalidArgument("axis must be a scalar, got shape ",
                                  ctx->input(n).shape().DebugString());
    }
    const Tensor& first = ctx->input(0);
    const int rank = first.dims();
    if (rank == 0) return ctx->InvalidArgument("cannot concatenate scalars (use Pack)");
    int64_t axis = axis_v[0];
    if (axis < -rank || axis >= rank) {
      return ctx->InvalidArgument("axis ", axis, " is out of range for rank ", rank);
    }
    if (axis < 0) axis += rank;
    const DataType type = node().input_type(0);
    DFLOW_RETURN_IF_ERROR(CheckCopyable(type));
    std::vector<int64_t> dims(first.shape().dim_sizes().begin(), first.shape().dim_sizes().end());
    dims[axis] = 0;
    for (int i = 0; i < n; ++i) {
      const Tensor& t = ctx->input(i);
      bool same = t.dtype() == type && t.dims() == rank;
      for (int d = 0; same && d < rank; ++d) same = d == axis || t.dim_size(d) == first.dim_size(d);
      if (!same) {
        return ctx->InvalidArgument("value ", i, " of shape ", t.shape().DebugString(),
                                    " does not match value 0 of shape ",
                                    first.shape().DebugString(), " outside axis ", axis);
      }
      dims[axis] += t.dim_size(static_cast<int>(axis));
    }
    Tensor* out = ctx->allocate_output(0, TensorShape(dims));
    if (out->NumElements() == 0) return absl::OkStatus();
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= dims[d];
    for (int64_t d = axis + 1; d < rank; ++d) inner *= dims[d];
    int64_t po = 0;  // The next output element.
    for (int64_t o = 0; o < outer; ++o) {
      for (int i = 0; i < n; ++i) {
        const Tensor& t = ctx->input(i);
        const int64_t row = t.dim_size(static_cast<int>(axis)) * inner;
        if (row == 0) continue;
        CopyElements(t, o * row, 1, out, po, 1, row);
        po += row;
      }
    }
    return absl::OkStatus();
  }
};
REGISTER_KERNEL("ConcatV2", ConcatV2Op);

}  // namespace
}  // namespace dflow
