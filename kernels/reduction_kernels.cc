// Kernels for reductions: Sum, Mean, Prod, Max and Min (oneDNN reduction on float, loops
// otherwise), AddN (oneDNN sum on float), ArgMax, ArgMin and ReducedShape (loops). Cumsum is in
// cumsum_kernels.cc, All and Any in logical_kernels.cc.
#include <algorithm>
#include <limits>
#include <memory>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "graph/status_macros.h"
#include "kernels/broadcast.h"
#include "kernels/dnnl_util.h"
#include "kernels/op_kernel.h"
#include "ops/shape_inference.h"

namespace dflow {
namespace {

using dnnl::memory;

// ---------------------------------------------------------------------------------------------
// Helpers.

// Per dim: whether it is reduced (inline, so that reductions do not allocate).
using DimMask = absl::InlinedVector<bool, 8>;

// Which dims of a rank-`rank` tensor of `shape` the `axes` reduce; fails on an axis out of range.
absl::StatusOr<DimMask> ReducedDims(absl::Span<const int64_t> axes, const TensorShape& shape) {
  const int rank = shape.dims();
  DimMask reduced(rank, false);
  for (int64_t a : axes) {
    if (a < -rank || a >= rank) {
      return OpKernelContext::InvalidArgument("reduction axis ", a,
                                              " is out of range for input shape ",
                                              shape.DebugString());
    }
    reduced[a < 0 ? a + rank : a] = true;
  }
  return reduced;
}

// ---------------------------------------------------------------------------------------------
// Reductions: oneDNN reduction on float (src and dst of equal rank: dst has the keep_dims
// shape, then the output is presented with the requested one); loops for integers.

enum class ReduceKind { kSum, kMean, kProd, kMax, kMin };

// The identity of a reduction, which an empty one gives: TensorFlow's -inf / +inf for float
// Max / Min, the type's lowest / highest for integers.
template <ReduceKind kKind, typename T>
T ReduceInit() {
  using L = std::numeric_limits<T>;
  switch (kKind) {
    case ReduceKind::kProd: return T{1};
    case ReduceKind::kMax: return L::has_infinity ? -L::infinity() : L::lowest();
    case ReduceKind::kMin: return L::has_infinity ? L::infinity() : L::max();
    default: return T{0};
  }
}

// acc combined with v (integer sums and products wrap).
template <ReduceKind kKind, typename T>
T ReduceCombine(T acc, T v) {
  switch (kKind) {
    case ReduceKind::kProd: return WrapMul<T>(acc, v);
    case ReduceKind::kMax: return v > acc ? v : acc;
    case ReduceKind::kMin: return v < acc ? v : acc;
    default: return WrapAdd<T>(acc, v);
  }
}

template <ReduceKind kKind>
class ReductionOp : public OpKernel {
 public:
  explicit ReductionOp(const Node& node) : OpKernel(node) {
    absl::Status s = GetNodeAttr(node, "keep_dims", &keep_dims_);
    if (!s.ok()) SetConstructionError(s);
  }

  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& x = ctx->input(0);
    const DataType type = node().input_type(0);
    DFLOW_RETURN_IF_ERROR(CheckInput(x, "input", type));
    DFLOW_ASSIGN_OR_RETURN(IntList axes, IntValues(ctx->input(1), "reduction_indices"));
    DFLOW_ASSIGN_OR_RETURN(DimMask reduced, ReducedDims(axes, x.shape()));
    TensorShape keep_shape, out_shape;
    for (int d = 0; d < x.dims(); ++d) {
      keep_shape.AddDim(reduced[d] ? 1 : x.dim_size(d));
      if (!reduced[d]) {
        out_shape.AddDim(x.dim_size(d));
      } else if (keep_dims_) {
        out_shape.AddDim(1);
      }
    }
    if (keep_shape == x.shape()) {  // Nothing to combine: every reduced dim has size 1.
      ctx->set_output(0, *x.Reshaped(out_shape));
      return absl::OkStatus();
    }
    Tensor result = ctx->allocate_temp(node().output_type(0), keep_shape);
    const int64_t out_n = keep_shape.num_elements();
    if (out_n > 0) {
      if (type == DT_FLOAT && UseBlockLoop(x, reduced)) {
        BlockLoop(x, reduced, &result);
      } else if (type == DT_FLOAT && x.NumElements() > 0 && x.dims() <= DNNL_MAX_NDIMS) {
        ReduceDnnl(ctx, x, keep_shape, &result);
      } else if (type == DT_FLOAT) {
        Loop<float, double>(x, keep_shape, &result);
      } else if (type == DT_INT32) {
        Loop<int32_t, int32_t>(x, keep_shape, &result);
      } else if (type == DT_INT64) {
        Loop<int64_t, int64_t>(x, keep_shape, &result);
      } else {
        return ctx->InvalidArgument("unsupported type ", DataTypeString(type));
      }
    }
    ctx->set_output(0, *result.Reshaped(out_shape));
    return absl::OkStatus();
  }

 private:
  struct Entry {
    Primitive prim;
    memory src, dst;
  };

  // x seen as [outer, r, inner] when the reduced dims are one consecutive block.
  struct Block {
    int64_t outer = 1, r = 1, inner = 1;
  };
  static bool AsBlock(const Tensor& x, const DimMask& reduced, Block* b) {
    int first = -1, last = -1;
    for (int d = 0; d < x.dims(); ++d) {
      if (!reduced[d] || x.dim_size(d) == 1) continue;
      if (first < 0) first = d;
      last = d;
    }
    if (first < 0) return false;
    for (int d = 0; d < x.dims(); ++d) {
      const int64_t n = x.dim_size(d);
      if (d < first) {
        b->outer *= n;
      } else if (d > last) {
        b->inner *= n;
      } else if (reduced[d] || n == 1) {
        b->r *= n;
      } else {
        return false;  // A kept dim inside the reduced block.
      }
    }
    return true;
  }

  // oneDNN 2.6 runs small reductions and reductions over leading axes (bias gradients) on its
  // slow reference path: 16 us for a 100x10 sum that this loop does in under 1 us
  // (docs/benchmarks.md). Its JIT path wins only for large reductions over the last axis.
  static bool UseBlockLoop(const Tensor& x, const DimMask& reduced) {
    Block b;
    if (!AsBlock(x, reduced, &b)) return false;
    return b.inner > 1 || x.NumElements() < (int64_t{1} << 16);
  }

  // Sums (or multiplies) over the middle of [outer, r, inner], vectorizable along inner.
  void BlockLoop(const Tensor& x, const DimMask& reduced, Tensor* result) {
    Block b;
    AsBlock(x, reduced, &b);
    const float* px = x.flat<float>().data();
    float* po = result->flat<float>().data();
    const float init = ReduceInit<kKind, float>();
    for (int64_t o = 0; o < b.outer; ++o) {
      float* out = po + o * b.inner;
      for (int64_t i = 0; i < b.inner; ++i) out[i] = init;
      for (int64_t k = 0; k < b.r; ++k) {
        const float* in = px + (o * b.r + k) * b.inner;
        for (int64_t i = 0; i < b.inner; ++i) out[i] = ReduceCombine<kKind>(out[i], in[i]);
      }
      if constexpr (kKind == ReduceKind::kMean) {
        const float scale = 1.0f / static_cast<float>(b.r);
        for (int64_t i = 0; i < b.inner; ++i) out[i] *= scale;
      }
    }
  }

  // Accumulates in Acc (double for float; the integer type itself, wrapping, for integers).
  template <typename T, typename Acc>
  void Loop(const Tensor& x, const TensorShape& keep_shape, Tensor* result) {
    const int64_t out_n = keep_shape.num_elements();
    const Acc init = ReduceInit<kKind, Acc>();
    absl::InlinedVector<Acc, 16> acc(out_n, init);  // Shapes' products stay inline.
    const T* px = x.flat<T>().data();
    const int rank = x.dims();
    const Strides out_strides = BroadcastStrides(keep_shape, rank);
    const Strides unused(rank, 0);
    ForEachIndex(x.shape(), out_strides, unused, [&](int64_t i, int64_t o, int64_t) {
      acc[o] = ReduceCombine<kKind, Acc>(acc[o], static_cast<Acc>(px[i]));
    });
    const int64_t count = out_n > 0 ? x.NumElements() / out_n : 0;
    T* po = result->flat<T>().data();
    for (int64_t j = 0; j < out_n; ++j) {
      if constexpr (kKind == ReduceKind::kMean) {
        if constexpr (std::is_floating_point_v<T>) {
          po[j] = static_cast<T>(acc[j] / static_cast<Acc>(count));  // 0/0 is NaN.
        } else {
          po[j] = count == 0 ? T{0} : static_cast<T>(acc[j] / static_cast<Acc>(count));
        }
      } else {
        po[j] = static_cast<T>(acc[j]);
      }
    }
  }

  void ReduceDnnl(OpKernelContext* ctx, const Tensor& x, const TensorShape& keep_shape,
                  Tensor* result) {
    typename ShapeCache<Entry>::Lease e = cache_.Get(ShapeKey({&x.shape(), &keep_shape}), [&] {
      const auto f32 = memory::data_type::f32;
      const dnnl::algorithm alg = kKind == ReduceKind::kSum    ? dnnl::algorithm::reduction_sum
                                  : kKind == ReduceKind::kMean ? dnnl::algorithm::reduction_mean
                                  : kKind == ReduceKind::kMax  ? dnnl::algorithm::reduction_max
                                  : kKind == ReduceKind::kMin  ? dnnl::algorithm::reduction_min
                                                               : dnnl::algorithm::reduction_mul;
      memory::desc src_md = PlainDesc(x.shape(), f32);
      memory::desc dst_md = PlainDesc(keep_shape, f32);
      auto entry = std::make_unique<Entry>();
      entry->prim = Primitive(dnnl::reduction::primitive_desc(
          dnnl::reduction::desc(alg, src_md, dst_md, 0.0f, 0.0f), KernelAttr(), ctx->engine()));
      entry->src = memory(src_md, ctx->engine(), nullptr);
      entry->dst = memory(dst_md, ctx->engine(), nullptr);
      return entry;
    });
    RunPrimitive(e->prim, ctx->stream(),
                 {{DNNL_ARG_SRC, e->src, x.data()}, {DNNL_ARG_DST, e->dst, result->data()}});
  }

  bool keep_dims_ = false;
  ShapeCache<Entry> cache_;
};
REGISTER_KERNEL("Sum", ReductionOp<ReduceKind::kSum>, "T", {DT_FLOAT, DT_INT32, DT_INT64});
REGISTER_KERNEL("Mean", ReductionOp<ReduceKind::kMean>, "T", {DT_FLOAT, DT_INT32, DT_INT64});
REGISTER_KERNEL("Prod", ReductionOp<ReduceKind::kProd>, "T", {DT_FLOAT, DT_INT32, DT_INT64});
REGISTER_KERNEL("Max", ReductionOp<ReduceKind::kMax>, "T", {DT_FLOAT, DT_INT32, DT_INT64});
REGISTER_KERNEL("Min", ReductionOp<ReduceKind::kMin>, "T", {DT_FLOAT, DT_INT32, DT_INT64});

// ---------------------------------------------------------------------------------------------
// AddN: oneDNN sum on float, a loop for integers.

class AddNOp : public OpKernel {
 public:
  explicit AddNOp(const Node& node) : OpKernel(node) {}

  absl::Status Compute(OpKernelContext* ctx) override {
    const int n = ctx->num_inputs();
    if (n < 1) return ctx->InvalidArgument("AddN needs at least one input");
    const DataType type = node().input_type(0);
    const Tensor& first = ctx->input(0);
    for (int i = 0; i < n; ++i) {
      DFLOW_RETURN_IF_ERROR(CheckInput(ctx->input(i), absl::StrCat("input ", i), type));
      if (ctx->input(i).shape() != first.shape()) {
        return ctx->InvalidArgument("inputs must all have the same shape, but input 0 is ",
                                    first.shape().DebugString(), " and input ", i, " is ",
                                    ctx->input(i).shape().DebugString());
      }
    }
    if (n == 1) {
      ctx->set_output(0, first);
      return absl::OkStatus();
    }
    Tensor* out = ctx->allocate_output(0, first.shape());
    const int64_t count = first.NumElements();
    if (count == 0) return absl::OkStatus();
    switch (type) {
      case DT_FLOAT: return SumDnnl(ctx, out);
      case DT_INT32: return Loop<int32_t>(ctx, out);
      case DT_INT64: return Loop<int64_t>(ctx, out);
      default: return ctx->InvalidArgument("unsupported type ", DataTypeString(type));
    }
  }

 private:
  template <typename T>
  absl::Status Loop(OpKernelContext* ctx, Tensor* out) {
    absl::Span<T> o = out->flat<T>();
    std::copy(ctx->input(0).flat<T>().begin(), ctx->input(0).flat<T>().end(), o.begin());
    for (int i = 1; i < ctx->num_inputs(); ++i) {
      absl::Span<const T> in = ctx->input(i).flat<T>();
      for (size_t j = 0; j < o.size(); ++j) o[j] = WrapAdd(o[j], in[j]);
    }
    return absl::OkStatus();
  }

  absl::Status SumDnnl(OpKernelContext* ctx, Tensor* out) {
    const int n = ctx->num_inputs();
    // Element-wise: only the element count matters for the primitive.
    const int64_t count = out->NumElements();
    ShapeCache<Entry>::Lease e = cache_.Get({count}, [&] {
      memory::desc md({count}, memory::data_type::f32, memory::dims{1});
      std::vector<memory::desc> srcs(n, md);
      auto entry = std::make_unique<Entry>();
      entry->prim = Primitive(dnnl::sum::primitive_desc(md, std::vector<float>(n, 1.0f), srcs,
                                                        ctx->engine(), KernelAttr()));
      entry->srcs.reserve(n);
      for (int i = 0; i < n; ++i) entry->srcs.emplace_back(md, ctx->engine(), nullptr);
      entry->dst = memory(md, ctx->engine(), nullptr);
      for (int i = 0; i < n; ++i) {
        entry->args.push_back({DNNL_ARG_MULTIPLE_SRC + i, entry->srcs[i], nullptr});
      }
      entry->args.push_back({DNNL_ARG_DST, entry->dst, nullptr});
      return entry;
    });
    for (int i = 0; i < n; ++i) e->args[i].buffer = ctx->input(i).data();
    e->args[n].buffer = out->data();
    RunPrimitive(e->prim, ctx->stream(), e->args);
    return absl::OkStatus();
  }

  struct Entry {
    Primitive prim;
    std::vector<memory> srcs;
    memory dst;
    std::vector<BoundArg> args;  // Over srcs and dst; buffers set per call.
  };
  ShapeCache<Entry> cache_;
};
REGISTER_KERNEL("AddN", AddNOp, "T", {DT_FLOAT, DT_INT32, DT_INT64});

// ---------------------------------------------------------------------------------------------
// ArgMax, ArgMin: loops (oneDNN has no index-producing reduction).

template <bool kMin>
class ArgMaxOp : public OpKernel {
 public:
  explicit ArgMaxOp(const Node& node) : OpKernel(node) {}

  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& x = ctx->input(0);
    DFLOW_RETURN_IF_ERROR(CheckInput(x, "input", node().input_type(0)));
    DFLOW_ASSIGN_OR_RETURN(IntList dim, IntValues(ctx->input(1), "dimension"));
    if (dim.size() != 1) {
      return ctx->InvalidArgument("dimension must hold one value, got shape ",
                                  ctx->input(1).shape().DebugString());
    }
    const int rank = x.dims();
    if (rank == 0) return ctx->InvalidArgument("input must have rank >= 1, got a scalar");
    const int64_t axis_in = dim[0];
    if (axis_in < -rank || axis_in >= rank) {
      return ctx->InvalidArgument("dimension ", axis_in, " is out of range for input shape ",
                                  x.shape().DebugString());
    }
    const int axis = static_cast<int>(axis_in < 0 ? axis_in + rank : axis_in);
    const int64_t len = x.dim_size(axis);
    TensorShape out_shape = x.shape();
    out_shape.RemoveDim(axis);
    if (len == 0 && out_shape.num_elements() > 0) {
      return ctx->InvalidArgument("cannot take the ", kMin ? "argmin" : "argmax",
                                  " over empty dimension ", axis,
                                  " of shape ", x.shape().DebugString());
    }
    Tensor* out = ctx->allocate_output(0, out_shape);
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < axis; ++d) outer *= x.dim_size(d);
    for (int d = axis + 1; d < rank; ++d) inner *= x.dim_size(d);
    bool handled = false;
    VisitDataType(x.dtype(), [&](auto in_tag) {
      using T = decltype(in_tag);
      if constexpr (!std::is_same_v<T, bool>) {
        if (out->dtype() == DT_INT32) {
          Loop<T, int32_t>(x, outer, len, inner, out);
          handled = true;
        } else if (out->dtype() == DT_INT64) {
          Loop<T, int64_t>(x, outer, len, inner, out);
          handled = true;
        }
      }
    });
    if (!handled) {
      return ctx->InvalidArgument("unsupported types ", DataTypeString(x.dtype()), " -> ",
                                  DataTypeString(out->dtype()));
    }
    return absl::OkStatus();
  }

 private:
  template <typename T, typename Index>
  static void Loop(const Tensor& x, int64_t outer, int64_t len, int64_t inner, Tensor* out) {
    const T* px = x.flat<T>().data();
    Index* po = out->flat<Index>().data();
    for (int64_t o = 0; o < outer; ++o) {
      const T* base = px + o * len * inner;
      for (int64_t i = 0; i < inner; ++i) {
        int64_t best = 0;
        for (int64_t k = 1; k < len; ++k) {
          const T v = base[k * inner + i], b = base[best * inner + i];
          if (kMin ? v < b : v > b) best = k;
        }
        po[o * inner + i] = static_cast<Index>(best);
      }
    }
  }
};
REGISTER_KERNEL("ArgMax", ArgMaxOp<false>);
REGISTER_KERNEL("ArgMin", ArgMaxOp<true>);

// ---------------------------------------------------------------------------------------------
// ReducedShape: input_shape with the reduced axes set to 1.

class ReducedShapeOp : public OpKernel {
 public:
  explicit ReducedShapeOp(const Node& node) : OpKernel(node) {}

  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& shape = ctx->input(0);
    DFLOW_RETURN_IF_ERROR(CheckInput(shape, "input_shape", DT_INT32));
    if (shape.dims() != 1) {
      return ctx->InvalidArgument("input_shape must be a vector, got shape ",
                                  shape.shape().DebugString());
    }
    DFLOW_ASSIGN_OR_RETURN(IntList axes, IntValues(ctx->input(1), "axes"));
    const int64_t rank = shape.NumElements();
    Tensor* out = ctx->allocate_output(0, shape.shape());
    std::copy(shape.flat<int32_t>().begin(), shape.flat<int32_t>().end(),
              out->flat<int32_t>().begin());
    for (int64_t a : axes) {
      if (a < -rank || a >= rank) {
        return ctx->InvalidArgument("axis ", a, " is out of range for rank ", rank);
      }
      out->flat<int32_t>()[a < 0 ? a + rank : a] = 1;
    }
    return absl::OkStatus();
  }
};
REGISTER_KERNEL("ReducedShape", ReducedShapeOp);

}  // namespace
}  // namespace dflow
