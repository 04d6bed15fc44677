// Kernels for math ops. Float work goes to oneDNN primitives (matmul, binary, eltwise,
// reduction, sum), created once per input shape and cached in the kernel; integer types, and the
// cases oneDNN cannot express (src0 broadcast in a non-commutative op, ArgMax, Equal, Cast),
// use plain loops.
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "kernels/dnnl_util.h"
#include "kernels/op_kernel.h"
#include "ops/shape_inference.h"

namespace dflow {
namespace {

using dnnl::memory;

// ---------------------------------------------------------------------------------------------
// Helpers.

// Runs `fn` (which creates or executes oneDNN primitives), turning oneDNN errors into a status.
template <typename Fn>
absl::Status DnnlCall(absl::string_view what, Fn&& fn) {
  try {
    fn();
  } catch (const dnnl::error& e) {
    return absl::InternalError(absl::StrCat("oneDNN ", what, " failed: ", e.what()));
  }
  return absl::OkStatus();
}


absl::Status CheckType(const Tensor& t, DataType want, absl::string_view what) {
  if (!t.IsInitialized()) return OpKernelContext::InvalidArgument(what, " is not initialized");
  if (t.dtype() != want) {
    return OpKernelContext::InvalidArgument(what, " must be ", DataTypeString(want), " but is ",
                                            DataTypeString(t.dtype()));
  }
  return absl::OkStatus();
}

// The output of a broadcasting element-wise op on x and y (both of the node's input type), of
// the broadcast shape; fails naming the mismatched type or shapes.
absl::StatusOr<Tensor*> AllocateBroadcastOutput(OpKernelContext* ctx, const Tensor& a,
                                                const Tensor& b) {
  const DataType type = ctx->node().input_type(0);
  absl::Status s = CheckType(a, type, "x");
  if (s.ok()) s = CheckType(b, type, "y");
  if (!s.ok()) return s;
  absl::StatusOr<TensorShape> shape = BroadcastShapes(a.shape(), b.shape());
  if (!shape.ok()) {
    return ctx->InvalidArgument("incompatible shapes: ", a.shape().DebugString(), " vs ",
                                b.shape().DebugString());
  }
  return ctx->allocate_output(0, *shape);
}

// Row-major strides of `shape` seen as the last dims of a rank-`rank` shape; 0 for missing
// leading dims and for dims of size 1 (so a broadcast dimension re-reads the same element).
// Per-dim strides, inline so that element-wise loops do not allocate.
using Strides = absl::InlinedVector<int64_t, 6>;

Strides BroadcastStrides(const TensorShape& shape, int rank) {
  Strides strides(rank, 0);
  int64_t stride = 1;
  for (int i = shape.dims() - 1; i >= 0; --i) {
    const int o = i + rank - shape.dims();
    strides[o] = shape.dim_size(i) == 1 ? 0 : stride;
    stride *= shape.dim_size(i);
  }
  return strides;
}

// Calls fn(i, oa, ob) for each element i of `shape` in row-major order, with oa and ob the
// offsets given by strides `sa` and `sb` (each of shape's rank).
template <typename Fn>
void ForEachIndex(const TensorShape& shape, const Strides& sa, const Strides& sb, Fn&& fn) {
  const int rank = shape.dims();
  const int64_t n = shape.num_elements();
  if (n == 0) return;
  if (rank == 0) {
    fn(int64_t{0}, int64_t{0}, int64_t{0});
    return;
  }
  const int64_t inner = shape.dim_size(rank - 1);
  const int64_t ia = sa[rank - 1], ib = sb[rank - 1];
  Strides idx(rank, 0);
  int64_t oa = 0, ob = 0;
  for (int64_t base = 0; base < n; base += inner) {
    for (int64_t j = 0; j < inner; ++j) fn(base + j, oa + j * ia, ob + j * ib);
    for (int d = rank - 2; d >= 0; --d) {
      oa += sa[d];
      ob += sb[d];
      if (++idx[d] < shape.dim_size(d)) break;
      oa -= sa[d] * shape.dim_size(d);
      ob -= sb[d] * shape.dim_size(d);
      idx[d] = 0;
    }
  }
}

// out[i] = op(a[.], b[.]) with numpy broadcasting of both operands to `out_shape`.
template <typename T, typename U, typename Op>
void BroadcastLoop(const Tensor& a, const Tensor& b, const TensorShape& out_shape, Tensor* out,
                   Op op) {
  const int rank = out_shape.dims();
  const T* pa = a.flat<T>().data();
  const T* pb = b.flat<T>().data();
  U* po = out->flat<U>().data();
  ForEachIndex(out_shape, BroadcastStrides(a.shape(), rank), BroadcastStrides(b.shape(), rank),
               [&](int64_t i, int64_t ia, int64_t ib) { po[i] = op(pa[ia], pb[ib]); });
}

// Integer arithmetic wraps around (two's complement) instead of overflowing.
template <typename T, bool kIntegral = std::is_integral_v<T>>
struct WrapType { using type = T; };
template <typename T>
struct WrapType<T, true> { using type = std::make_unsigned_t<T>; };
template <typename T>
using Wide = typename WrapType<T>::type;
template <typename T>
T WrapAdd(T a, T b) { return static_cast<T>(static_cast<Wide<T>>(a) + static_cast<Wide<T>>(b)); }
template <typename T>
T WrapSub(T a, T b) { return static_cast<T>(static_cast<Wide<T>>(a) - static_cast<Wide<T>>(b)); }
template <typename T>
T WrapMul(T a, T b) { return static_cast<T>(static_cast<Wide<T>>(a) * static_cast<Wide<T>>(b)); }


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
// MatMul: oneDNN matmul; transposes are expressed by the strides of the operands' descriptors.

class MatMulOp : public OpKernel {
 public:
  explicit MatMulOp(const Node& node) : OpKernel(node) {
    absl::Status s = GetNodeAttr(node, "transpose_a", &transpose_a_);
    if (s.ok()) s = GetNodeAttr(node, "transpose_b", &transpose_b_);
    if (!s.ok()) SetConstructionError(s);
  }

  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& a = ctx->input(0);
    const Tensor& b = ctx->input(1);
    if (!a.IsInitialized() || !b.IsInitialized()) {
      return ctx->InvalidArgument(a.IsInitialized() ? "b" : "a", " is not initialized");
    }
    absl::StatusOr<MatMulDims> d = MatMulDimsOf(a, b, transpose_a_, transpose_b_);
    if (!d.ok()) return d.status();
    Tensor* out = ctx->allocate_output(0, TensorShape({d->m, d->n}));
    if (d->m == 0 || d->n == 0) return absl::OkStatus();
    if (d->k == 0) {
      std::fill(out->flat<float>().begin(), out->flat<float>().end(), 0.0f);
      return absl::OkStatus();
    }
    CacheKey key = ShapeKey({&a.shape(), &b.shape()});
    return DnnlCall("matmul", [&] {
      Entry* e = cache_.Find(key);
      if (e == nullptr) {
        dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(d->A(), d->B(), d->C()),
                                        ctx->engine());
        auto entry = std::make_unique<Entry>();
        entry->prim = dnnl::matmul(pd);
        entry->a = memory(d->A(), ctx->engine(), nullptr);
        entry->b = memory(d->B(), ctx->engine(), nullptr);
        entry->c = memory(d->C(), ctx->engine(), nullptr);
        e = cache_.Insert(key, std::move(entry));
      }
      RunPrimitive(e->prim, ctx->stream(),
                   {{DNNL_ARG_SRC, e->a, a.data()},
                    {DNNL_ARG_WEIGHTS, e->b, b.data()},
                    {DNNL_ARG_DST, e->c, out->data()}});
    });
  }

 private:
  struct Entry {
    dnnl::primitive prim;
    memory a, b, c;
  };
  bool transpose_a_ = false;
  bool transpose_b_ = false;
  ShapeCache<Entry> cache_;
};
REGISTER_KERNEL("MatMul", MatMulOp, "T", {DT_FLOAT});

// ---------------------------------------------------------------------------------------------
// Broadcasting binary ops: oneDNN binary when only src1 needs broadcasting (swapping the
// operands of commutative ops when it is the first), else a broadcasting loop.

struct AddFn {
  static constexpr dnnl::algorithm kAlg = dnnl::algorithm::binary_add;
  static constexpr bool kCommutative = true;
  template <typename T>
  static T Apply(T a, T b) { return WrapAdd(a, b); }
};
struct SubFn {
  static constexpr dnnl::algorithm kAlg = dnnl::algorithm::binary_sub;
  static constexpr bool kCommutative = false;
  template <typename T>
  static T Apply(T a, T b) { return WrapSub(a, b); }
};
struct MulFn {
  static constexpr dnnl::algorithm kAlg = dnnl::algorithm::binary_mul;
  static constexpr bool kCommutative = true;
  template <typename T>
  static T Apply(T a, T b) { return WrapMul(a, b); }
};
struct DivFn {
  static constexpr dnnl::algorithm kAlg = dnnl::algorithm::binary_div;
  static constexpr bool kCommutative = false;
  template <typename T>
  static T Apply(T a, T b) { return a / b; }  // Float only (RealDiv).
};
struct MaxFn {
  static constexpr dnnl::algorithm kAlg = dnnl::algorithm::binary_max;
  static constexpr bool kCommutative = true;
  template <typename T>
  static T Apply(T a, T b) {
    if constexpr (std::is_floating_point_v<T>) {
      if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<T>::quiet_NaN();
    }
    return a >= b ? a : b;
  }
};

template <typename Fn>
class BinaryOp : public OpKernel {
 public:
  explicit BinaryOp(const Node& node) : OpKernel(node) {}

  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& a = ctx->input(0);
    const Tensor& b = ctx->input(1);
    const DataType type = node().input_type(0);
    absl::StatusOr<Tensor*> allocated = AllocateBroadcastOutput(ctx, a, b);
    if (!allocated.ok()) return allocated.status();
    Tensor* out = *allocated;
    const TensorShape& out_shape = out->shape();
    if (out->NumElements() == 0) return absl::OkStatus();
    switch (type) {
      case DT_FLOAT: return ComputeFloat(ctx, a, b, out_shape, out);
      case DT_INT32: return Loop<int32_t>(a, b, out_shape, out);
      case DT_INT64: return Loop<int64_t>(a, b, out_shape, out);
      default:
        return ctx->InvalidArgument("unsupported type ", DataTypeString(type));
    }
  }

 private:
  enum class Mode { kDirect, kSwapped, kLoop };
  struct Entry {
    Mode mode = Mode::kLoop;
    dnnl::primitive prim;
    memory src0, src1, dst;
  };

  template <typename T>
  absl::Status Loop(const Tensor& a, const Tensor& b, const TensorShape& out_shape, Tensor* out) {
    BroadcastLoop<T, T>(a, b, out_shape, out, [](T x, T y) { return Fn::template Apply<T>(x, y); });
    return absl::OkStatus();
  }

  absl::Status ComputeFloat(OpKernelContext* ctx, const Tensor& a, const Tensor& b,
                            const TensorShape& out_shape, Tensor* out) {
    CacheKey key = ShapeKey({&a.shape(), &b.shape()});
    Entry* e = cache_.Find(key);
    if (e == nullptr) {
      auto entry = std::make_unique<Entry>();
      const int rank = std::max(out_shape.dims(), 1);
      const int64_t n = out_shape.num_elements();
      if (rank <= DNNL_MAX_NDIMS) {
        if (a.NumElements() == n) {
          entry->mode = Mode::kDirect;
        } else if (Fn::kCommutative && b.NumElements() == n) {
          entry->mode = Mode::kSwapped;
        }
      }
      if (entry->mode != Mode::kLoop) {
        const Tensor& s0 = entry->mode == Mode::kDirect ? a : b;
        const Tensor& s1 = entry->mode == Mode::kDirect ? b : a;
        // Should oneDNN refuse the problem, the loop handles it (and is remembered).
        absl::Status s = DnnlCall("binary primitive creation", [&] {
          const auto f32 = memory::data_type::f32;
          memory::desc md0 = PlainDesc(s0.shape(), f32, rank);
          memory::desc md1 = PlainDesc(s1.shape(), f32, rank);
          memory::desc mdd = PlainDesc(out_shape, f32, rank);
          dnnl::binary::primitive_desc pd(dnnl::binary::desc(Fn::kAlg, md0, md1, mdd),
                                          ctx->engine());
          entry->prim = dnnl::binary(pd);
          entry->src0 = memory(md0, ctx->engine(), nullptr);
          entry->src1 = memory(md1, ctx->engine(), nullptr);
          entry->dst = memory(mdd, ctx->engine(), nullptr);
        });
        if (!s.ok()) entry->mode = Mode::kLoop;
      }
      e = cache_.Insert(std::move(key), std::move(entry));
    }
    if (e->mode == Mode::kLoop) return Loop<float>(a, b, out_shape, out);
    const bool direct = e->mode == Mode::kDirect;
    return DnnlCall("binary", [&] {
      RunPrimitive(e->prim, ctx->stream(),
                   {{DNNL_ARG_SRC_0, e->src0, (direct ? a : b).data()},
                    {DNNL_ARG_SRC_1, e->src1, (direct ? b : a).data()},
                    {DNNL_ARG_DST, e->dst, out->data()}});
    });
  }

  ShapeCache<Entry> cache_;
};
REGISTER_KERNEL("Add", BinaryOp<AddFn>, "T", {DT_FLOAT, DT_INT32, DT_INT64});
REGISTER_KERNEL("AddV2", BinaryOp<AddFn>, "T", {DT_FLOAT, DT_INT32, DT_INT64});
REGISTER_KERNEL("Sub", BinaryOp<SubFn>, "T", {DT_FLOAT, DT_INT32, DT_INT64});
REGISTER_KERNEL("Mul", BinaryOp<MulFn>, "T", {DT_FLOAT, DT_INT32, DT_INT64});
REGISTER_KERNEL("RealDiv", BinaryOp<DivFn>, "T", {DT_FLOAT});
REGISTER_KERNEL("Div", BinaryOp<DivFn>, "T", {DT_FLOAT});
REGISTER_KERNEL("Maximum", BinaryOp<MaxFn>, "T", {DT_FLOAT, DT_INT32, DT_INT64});

// ---------------------------------------------------------------------------------------------
// FloorDiv and FloorMod: broadcasting loops. Integer division by zero is an error; the integer
// minimum divided by -1 wraps (as negation does).

template <typename T>
T FloorDivValue(T x, T y) {
  if constexpr (std::is_integral_v<T>) {
    if (y == -1) return WrapSub(T{0}, x);
    const T q = x / y;  // Truncates toward zero.
    return (x % y != 0 && ((x < 0) != (y < 0))) ? static_cast<T>(q - 1) : q;
  } else {
    return std::floor(x / y);
  }
}

template <typename T>
T FloorModValue(T x, T y) {
  if constexpr (std::is_integral_v<T>) {
    if (y == -1) return T{0};
    const T r = x % y;  // Takes the sign of x.
    return (r != 0 && ((r < 0) != (y < 0))) ? static_cast<T>(r + y) : r;
  } else {
    const T r = std::fmod(x, y);
    return (r != 0 && ((r < 0) != (y < 0))) ? r + y : r;
  }
}

template <bool kMod>
class FloorDivModOp : public OpKernel {
 public:
  explicit FloorDivModOp(const Node& node) : OpKernel(node) {}

  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& a = ctx->input(0);
    const Tensor& b = ctx->input(1);
    const DataType type = node().input_type(0);
    absl::StatusOr<Tensor*> allocated = AllocateBroadcastOutput(ctx, a, b);
    if (!allocated.ok()) return allocated.status();
    Tensor* out = *allocated;
    const TensorShape& out_shape = out->shape();
    if (out->NumElements() == 0) return absl::OkStatus();
    switch (type) {
      case DT_FLOAT: return Loop<float>(ctx, a, b, out_shape, out);
      case DT_INT32: return Loop<int32_t>(ctx, a, b, out_shape, out);
      case DT_INT64: return Loop<int64_t>(ctx, a, b, out_shape, out);
      default: return ctx->InvalidArgument("unsupported type ", DataTypeString(type));
    }
  }

 private:
  template <typename T>
  absl::Status Loop(OpKernelContext* ctx, const Tensor& a, const Tensor& b,
                    const TensorShape& out_shape, Tensor* out) {
    if constexpr (std::is_integral_v<T>) {
      // Every element of y is used when the output is not empty.
      for (T v : b.flat<T>()) {
        if (v == 0) return ctx->InvalidArgument("integer division by zero");
      }
    }
    BroadcastLoop<T, T>(a, b, out_shape, out, [](T x, T y) {
      return kMod ? FloorModValue<T>(x, y) : FloorDivValue<T>(x, y);
    });
    return absl::OkStatus();
  }
};
REGISTER_KERNEL("FloorDiv", FloorDivModOp<false>, "T", {DT_FLOAT, DT_INT32, DT_INT64});

// Div on integers: truncation toward zero, as C++ (and TensorFlow's Div kernel) divides.
class TruncateDivOp : public OpKernel {
 public:
  explicit TruncateDivOp(const Node& node) : OpKernel(node) {}

  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& a = ctx->input(0);
    const Tensor& b = ctx->input(1);
    absl::StatusOr<Tensor*> allocated = AllocateBroadcastOutput(ctx, a, b);
    if (!allocated.ok()) return allocated.status();
    Tensor* out = *allocated;
    const TensorShape& out_shape = out->shape();
    if (out->NumElements() == 0) return absl::OkStatus();
    return node().input_type(0) == DT_INT32 ? Loop<int32_t>(ctx, a, b, out_shape, out)
                                            : Loop<int64_t>(ctx, a, b, out_shape, out);
  }

 private:
  template <typename T>
  absl::Status Loop(OpKernelContext* ctx, const Tensor& a, const Tensor& b,
                    const TensorShape& out_shape, Tensor* out) {
    for (T v : b.flat<T>()) {
      if (v == 0) return ctx->InvalidArgument("integer division by zero");
    }
    BroadcastLoop<T, T>(a, b, out_shape, out, [](T x, T y) {
      // The one overflowing quotient wraps, as integer arithmetic does elsewhere in dflow.
      if (y == -1) return WrapSub(T{0}, x);
      return static_cast<T>(x / y);
    });
    return absl::OkStatus();
  }
};
REGISTER_KERNEL("Div", TruncateDivOp, "T", {DT_INT32, DT_INT64});
REGISTER_KERNEL("FloorMod", FloorDivModOp<true>, "T", {DT_FLOAT, DT_INT32, DT_INT64});

// ---------------------------------------------------------------------------------------------
// Less, LessEqual, Greater, GreaterEqual: broadcasting loops to bool.

enum class Compare { kLess, kLessEqual, kGreater, kGreaterEqual };

template <Compare kCmp>
class ComparisonOp : public OpKernel {
 public:
  explicit ComparisonOp(const Node& node) : OpKernel(node) {}

  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& a = ctx->input(0);
    const Tensor& b = ctx->input(1);
    const DataType type = node().input_type(0);
    absl::StatusOr<Tensor*> allocated = AllocateBroadcastOutput(ctx, a, b);
    if (!allocated.ok()) return allocated.status();
    Tensor* out = *allocated;
    const TensorShape& out_shape = out->shape();
    bool handled = false;
    VisitDataType(type, [&](auto tag) {
      using T = decltype(tag);
      if constexpr (!std::is_same_v<T, bool>) {
        BroadcastLoop<T, bool>(a, b, out_shape, out, [](T x, T y) {
          switch (kCmp) {
            case Compare::kLess: return x < y;
            case Compare::kLessEqual: return x <= y;
            case Compare::kGreater: return x > y;
            case Compare::kGreaterEqual: return x >= y;
          }
          return false;
        });
        handled = true;
      }
    });
    if (!handled) return ctx->InvalidArgument("unsupported type ", DataTypeString(type));
    return absl::OkStatus();
  }
};
REGISTER_KERNEL("Less", ComparisonOp<Compare::kLess>);
REGISTER_KERNEL("LessEqual", ComparisonOp<Compare::kLessEqual>);
REGISTER_KERNEL("Greater", ComparisonOp<Compare::kGreater>);
REGISTER_KERNEL("GreaterEqual", ComparisonOp<Compare::kGreaterEqual>);

// ---------------------------------------------------------------------------------------------
// Element-wise unary ops: oneDNN eltwise on float, loops for integers (Neg, Square).

struct LogFn {
  static constexpr dnnl::algorithm kAlg = dnnl::algorithm::eltwise_log;
  static constexpr float kAlpha = 0.0f, kBeta = 0.0f;
};
struct ExpFn {
  static constexpr dnnl::algorithm kAlg = dnnl::algorithm::eltwise_exp;
  static constexpr float kAlpha = 0.0f, kBeta = 0.0f;
};
struct SqrtFn {
  static constexpr dnnl::algorithm kAlg = dnnl::algorithm::eltwise_sqrt;
  static constexpr float kAlpha = 0.0f, kBeta = 0.0f;
};
struct NegFn {
  static constexpr dnnl::algorithm kAlg = dnnl::algorithm::eltwise_linear;  // alpha * x + beta
  static constexpr float kAlpha = -1.0f, kBeta = 0.0f;
  template <typename T>
  static T Apply(T x) { return WrapSub(T{0}, x); }
};
struct SquareFn {
  static constexpr dnnl::algorithm kAlg = dnnl::algorithm::eltwise_square;
  static constexpr float kAlpha = 0.0f, kBeta = 0.0f;
  template <typename T>
  static T Apply(T x) { return WrapMul(x, x); }
};

template <typename Fn, bool kHasIntLoop>
class UnaryOp : public OpKernel {
 public:
  explicit UnaryOp(const Node& node) : OpKernel(node) {}

  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& x = ctx->input(0);
    const DataType type = node().input_type(0);
    absl::Status s = CheckType(x, type, "x");
    if (!s.ok()) return s;
    Tensor* out = ctx->allocate_output(0, x.shape());
    const int64_t n = x.NumElements();
    if (n == 0) return absl::OkStatus();
    if (type != DT_FLOAT) {
      if constexpr (kHasIntLoop) {
        if (type == DT_INT32) return Loop<int32_t>(x, out);
        if (type == DT_INT64) return Loop<int64_t>(x, out);
      }
      return ctx->InvalidArgument("unsupported type ", DataTypeString(type));
    }
    return DnnlCall("eltwise", [&] {
      // Element-wise: only the element count matters for the primitive.
      if (!prim_ || n != cached_n_) {
        memory::desc md({n}, memory::data_type::f32, memory::dims{1});
        dnnl::eltwise_forward::primitive_desc pd(
            dnnl::eltwise_forward::desc(dnnl::prop_kind::forward_inference, Fn::kAlg, md,
                                        Fn::kAlpha, Fn::kBeta),
            ctx->engine());
        prim_ = dnnl::eltwise_forward(pd);
        src_ = memory(md, ctx->engine(), nullptr);
        dst_ = memory(md, ctx->engine(), nullptr);
        cached_n_ = n;
      }
      RunPrimitive(prim_, ctx->stream(),
                   {{DNNL_ARG_SRC, src_, x.data()}, {DNNL_ARG_DST, dst_, out->data()}});
    });
  }

 private:
  template <typename T>
  absl::Status Loop(const Tensor& x, Tensor* out) {
    const T* px = x.flat<T>().data();
    T* po = out->flat<T>().data();
    for (int64_t i = 0; i < x.NumElements(); ++i) po[i] = Fn::template Apply<T>(px[i]);
    return absl::OkStatus();
  }

  dnnl::primitive prim_;
  memory src_, dst_;
  int64_t cached_n_ = -1;
};
using LogOp = UnaryOp<LogFn, false>;
using ExpOp = UnaryOp<ExpFn, false>;
using SqrtOp = UnaryOp<SqrtFn, false>;
using NegOp = UnaryOp<NegFn, true>;
using SquareOp = UnaryOp<SquareFn, true>;
REGISTER_KERNEL("Log", LogOp, "T", {DT_FLOAT});
REGISTER_KERNEL("Exp", ExpOp, "T", {DT_FLOAT});
REGISTER_KERNEL("Sqrt", SqrtOp, "T", {DT_FLOAT});
REGISTER_KERNEL("Neg", NegOp, "T", {DT_FLOAT, DT_INT32, DT_INT64});
REGISTER_KERNEL("Square", SquareOp, "T", {DT_FLOAT, DT_INT32, DT_INT64});

// ---------------------------------------------------------------------------------------------
// Floor: a loop. oneDNN's eltwise_round rounds half to even; it has no floor algorithm.

class FloorOp : public OpKernel {
 public:
  explicit FloorOp(const Node& node) : OpKernel(node) {}

  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& x = ctx->input(0);
    const DataType type = node().input_type(0);
    absl::Status s = CheckType(x, type, "x");
    if (!s.ok()) return s;
    Tensor* out = ctx->allocate_output(0, x.shape());
    if (type == DT_FLOAT) return Loop<float>(x, out);
    if (type == DT_DOUBLE) return Loop<double>(x, out);
    return ctx->InvalidArgument("unsupported type ", DataTypeString(type));
  }

 private:
  template <typename T>
  static absl::Status Loop(const Tensor& x, Tensor* out) {
    const T* px = x.flat<T>().data();
    T* po = out->flat<T>().data();
    const int64_t n = x.NumElements();
    for (int64_t i = 0; i < n; ++i) po[i] = std::floor(px[i]);
    return absl::OkStatus();
  }
};
REGISTER_KERNEL("Floor", FloorOp, "T", {DT_FLOAT, DT_DOUBLE});

// ---------------------------------------------------------------------------------------------
// Reductions: oneDNN reduction on float (src and dst of equal rank: dst has the keep_dims
// shape, then the output is presented with the requested one); loops for integers.

enum class ReduceKind { kSum, kMean, kProd };

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
    absl::Status s = CheckType(x, type, "input");
    if (!s.ok()) return s;
    absl::StatusOr<IntList> axes = IntValues(ctx->input(1), "reduction_indices");
    if (!axes.ok()) return axes.status();
    absl::StatusOr<DimMask> reduced = ReducedDims(*axes, x.shape());
    if (!reduced.ok()) return reduced.status();
    TensorShape keep_shape, out_shape;
    for (int d = 0; d < x.dims(); ++d) {
      keep_shape.AddDim((*reduced)[d] ? 1 : x.dim_size(d));
      if (!(*reduced)[d]) {
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
      if (type == DT_FLOAT && UseBlockLoop(x, *reduced)) {
        BlockLoop(x, *reduced, &result);
      } else if (type == DT_FLOAT && x.NumElements() > 0 && x.dims() <= DNNL_MAX_NDIMS) {
        s = ReduceDnnl(ctx, x, keep_shape, &result);
      } else if (type == DT_FLOAT) {
        Loop<float, double>(x, keep_shape, &result);
      } else if (type == DT_INT32) {
        Loop<int32_t, int32_t>(x, keep_shape, &result);
      } else if (type == DT_INT64) {
        Loop<int64_t, int64_t>(x, keep_shape, &result);
      } else {
        return ctx->InvalidArgument("unsupported type ", DataTypeString(type));
      }
      if (!s.ok()) return s;
    }
    ctx->set_output(0, *result.Reshaped(out_shape));
    return absl::OkStatus();
  }

 private:
  struct Entry {
    dnnl::primitive prim;
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
    const float init = kKind == ReduceKind::kProd ? 1.0f : 0.0f;
    for (int64_t o = 0; o < b.outer; ++o) {
      float* out = po + o * b.inner;
      for (int64_t i = 0; i < b.inner; ++i) out[i] = init;
      for (int64_t k = 0; k < b.r; ++k) {
        const float* in = px + (o * b.r + k) * b.inner;
        for (int64_t i = 0; i < b.inner; ++i) {
          if constexpr (kKind == ReduceKind::kProd) {
            out[i] *= in[i];
          } else {
            out[i] += in[i];
          }
        }
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
    const Acc init = kKind == ReduceKind::kProd ? Acc{1} : Acc{0};
    absl::InlinedVector<Acc, 16> acc(out_n, init);  // Shapes' products stay inline.
    const T* px = x.flat<T>().data();
    const int rank = x.dims();
    const Strides out_strides = BroadcastStrides(keep_shape, rank);
    const Strides unused(rank, 0);
    ForEachIndex(x.shape(), out_strides, unused, [&](int64_t i, int64_t o, int64_t) {
      if constexpr (kKind == ReduceKind::kProd) {
        acc[o] = WrapMul<Acc>(acc[o], static_cast<Acc>(px[i]));
      } else {
        acc[o] = WrapAdd<Acc>(acc[o], static_cast<Acc>(px[i]));
      }
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

  absl::Status ReduceDnnl(OpKernelContext* ctx, const Tensor& x, const TensorShape& keep_shape,
                          Tensor* result) {
    CacheKey key = ShapeKey({&x.shape(), &keep_shape});
    return DnnlCall("reduction", [&] {
      Entry* e = cache_.Find(key);
      if (e == nullptr) {
        const auto f32 = memory::data_type::f32;
        const dnnl::algorithm alg = kKind == ReduceKind::kSum    ? dnnl::algorithm::reduction_sum
                                    : kKind == ReduceKind::kMean ? dnnl::algorithm::reduction_mean
                                                                 : dnnl::algorithm::reduction_mul;
        memory::desc src_md = PlainDesc(x.shape(), f32);
        memory::desc dst_md = PlainDesc(keep_shape, f32);
        dnnl::reduction::primitive_desc pd(dnnl::reduction::desc(alg, src_md, dst_md, 0.0f, 0.0f),
                                           ctx->engine());
        auto entry = std::make_unique<Entry>();
        entry->prim = dnnl::reduction(pd);
        entry->src = memory(src_md, ctx->engine(), nullptr);
        entry->dst = memory(dst_md, ctx->engine(), nullptr);
        e = cache_.Insert(key, std::move(entry));
      }
      RunPrimitive(e->prim, ctx->stream(),
                   {{DNNL_ARG_SRC, e->src, x.data()}, {DNNL_ARG_DST, e->dst, result->data()}});
    });
  }

  bool keep_dims_ = false;
  ShapeCache<Entry> cache_;
};
REGISTER_KERNEL("Sum", ReductionOp<ReduceKind::kSum>, "T", {DT_FLOAT, DT_INT32, DT_INT64});
REGISTER_KERNEL("Mean", ReductionOp<ReduceKind::kMean>, "T", {DT_FLOAT, DT_INT32, DT_INT64});
REGISTER_KERNEL("Prod", ReductionOp<ReduceKind::kProd>, "T", {DT_FLOAT, DT_INT32, DT_INT64});

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
      absl::Status s = CheckType(ctx->input(i), type, absl::StrCat("input ", i));
      if (!s.ok()) return s;
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
    return DnnlCall("sum", [&] {
      // Element-wise: only the element count matters for the primitive.
      const int64_t count = out->NumElements();
      if (!prim_ || count != cached_count_) {
        memory::desc md({count}, memory::data_type::f32, memory::dims{1});
        std::vector<memory::desc> srcs(n, md);
        dnnl::sum::primitive_desc pd(md, std::vector<float>(n, 1.0f), srcs, ctx->engine());
        prim_ = dnnl::sum(pd);
        srcs_.clear();
        args_.clear();
        for (int i = 0; i < n; ++i) {
          srcs_.emplace_back(md, ctx->engine(), nullptr);
          args_.push_back({DNNL_ARG_MULTIPLE_SRC + i, srcs_[i].get()});
        }
        dst_ = memory(md, ctx->engine(), nullptr);
        args_.push_back({DNNL_ARG_DST, dst_.get()});
        cached_count_ = count;
      }
      for (int i = 0; i < n; ++i) {
        srcs_[i].set_data_handle(const_cast<void*>(ctx->input(i).data()));
      }
      dst_.set_data_handle(out->data());
      Execute(prim_, ctx->stream(), args_);
      ctx->stream().wait();
    });
  }

  dnnl::primitive prim_;
  std::vector<memory> srcs_;
  memory dst_;
  std::vector<dnnl_exec_arg_t> args_;  // Handles of srcs_ and dst_, for oneDNN's C API.
  int64_t cached_count_ = -1;
};
REGISTER_KERNEL("AddN", AddNOp, "T", {DT_FLOAT, DT_INT32, DT_INT64});

// ---------------------------------------------------------------------------------------------
// ArgMax: a loop (oneDNN has no index-producing reduction).

class ArgMaxOp : public OpKernel {
 public:
  explicit ArgMaxOp(const Node& node) : OpKernel(node) {}

  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& x = ctx->input(0);
    absl::Status s = CheckType(x, node().input_type(0), "input");
    if (!s.ok()) return s;
    absl::StatusOr<IntList> dim = IntValues(ctx->input(1), "dimension");
    if (!dim.ok()) return dim.status();
    if (dim->size() != 1) {
      return ctx->InvalidArgument("dimension must hold one value, got shape ",
                                  ctx->input(1).shape().DebugString());
    }
    const int rank = x.dims();
    if (rank == 0) return ctx->InvalidArgument("input must have rank >= 1, got a scalar");
    const int64_t axis_in = (*dim)[0];
    if (axis_in < -rank || axis_in >= rank) {
      return ctx->InvalidArgument("dimension ", axis_in, " is out of range for input shape ",
                                  x.shape().DebugString());
    }
    const int axis = static_cast<int>(axis_in < 0 ? axis_in + rank : axis_in);
    const int64_t len = x.dim_size(axis);
    TensorShape out_shape = x.shape();
    out_shape.RemoveDim(axis);
    if (len == 0 && out_shape.num_elements() > 0) {
      return ctx->InvalidArgument("cannot take the argmax over empty dimension ", axis,
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
          if (base[k * inner + i] > base[best * inner + i]) best = k;
        }
        po[o * inner + i] = static_cast<Index>(best);
      }
    }
  }
};
REGISTER_KERNEL("ArgMax", ArgMaxOp);

// ---------------------------------------------------------------------------------------------
// Equal: a broadcasting loop.

class EqualOp : public OpKernel {
 public:
  explicit EqualOp(const Node& node) : OpKernel(node) {
    absl::Status s = GetNodeAttr(node, "incompatible_shape_error", &incompatible_shape_error_);
    if (!s.ok()) SetConstructionError(s);
  }

  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& a = ctx->input(0);
    const Tensor& b = ctx->input(1);
    const DataType type = node().input_type(0);
    absl::Status s = CheckType(a, type, "x");
    if (s.ok()) s = CheckType(b, type, "y");
    if (!s.ok()) return s;
    absl::StatusOr<TensorShape> out_shape = BroadcastShapes(a.shape(), b.shape());
    if (!out_shape.ok()) {
      if (incompatible_shape_error_) {
        return ctx->InvalidArgument("incompatible shapes: ", a.shape().DebugString(), " vs ",
                                    b.shape().DebugString());
      }
      ctx->allocate_output(0, TensorShape())->flat<bool>()[0] = false;
      return absl::OkStatus();
    }
    Tensor* out = ctx->allocate_output(0, *out_shape);
    const bool known = VisitDataType(type, [&](auto tag) {
      using T = decltype(tag);
      BroadcastLoop<T, bool>(a, b, *out_shape, out, [](T x, T y) { return x == y; });
    });
    if (!known) return ctx->InvalidArgument("unsupported type ", DataTypeString(type));
    return absl::OkStatus();
  }

 private:
  bool incompatible_shape_error_ = true;
};
REGISTER_KERNEL("Equal", EqualOp);

// ---------------------------------------------------------------------------------------------
// Cast: a loop. Float to integer truncates toward zero and saturates; NaN becomes 0.

template <typename D, typename S>
D CastValue(S v) {
  if constexpr (std::is_same_v<D, bool>) {
    return v != S{0};
  } else if constexpr (std::is_floating_point_v<S> && std::is_integral_v<D>) {
    if (std::isnan(v)) return D{0};
    if (v <= static_cast<S>(std::numeric_limits<D>::min())) return std::numeric_limits<D>::min();
    if (v >= static_cast<S>(std::numeric_limits<D>::max())) return std::numeric_limits<D>::max();
    return static_cast<D>(v);
  } else {
    return static_cast<D>(v);
  }
}

class CastOp : public OpKernel {
 public:
  explicit CastOp(const Node& node) : OpKernel(node) {
    absl::Status s = GetNodeAttr(node, "SrcT", &src_);
    if (s.ok()) s = GetNodeAttr(node, "DstT", &dst_);
    if (!s.ok()) SetConstructionError(s);
  }

  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& x = ctx->input(0);
    absl::Status s = CheckType(x, src_, "x");
    if (!s.ok()) return s;
    if (src_ == dst_) {
      ctx->set_output(0, x);
      return absl::OkStatus();
    }
    Tensor* out = ctx->allocate_output(0, x.shape());
    bool handled = false;
    VisitDataType(src_, [&](auto src_tag) {
      using S = decltype(src_tag);
      VisitDataType(dst_, [&](auto dst_tag) {
        using D = decltype(dst_tag);
        const S* px = x.flat<S>().data();
        D* po = out->flat<D>().data();
        for (int64_t i = 0; i < x.NumElements(); ++i) po[i] = CastValue<D, S>(px[i]);
        handled = true;
      });
    });
    if (!handled) {
      return ctx->InvalidArgument("cannot cast ", DataTypeString(src_), " to ",
                                  DataTypeString(dst_));
    }
    return absl::OkStatus();
  }

 private:
  DataType src_ = DT_INVALID;
  DataType dst_ = DT_INVALID;
};
REGISTER_KERNEL("Cast", CastOp);

// ---------------------------------------------------------------------------------------------
// ReducedShape: input_shape with the reduced axes set to 1.

class ReducedShapeOp : public OpKernel {
 public:
  explicit ReducedShapeOp(const Node& node) : OpKernel(node) {}

  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& shape = ctx->input(0);
    absl::Status s = CheckType(shape, DT_INT32, "input_shape");
    if (!s.ok()) return s;
    if (shape.dims() != 1) {
      return ctx->InvalidArgument("input_shape must be a vector, got shape ",
                                  shape.shape().DebugString());
    }
    absl::StatusOr<IntList> axes = IntValues(ctx->input(1), "axes");
    if (!axes.ok()) return axes.status();
    const int64_t rank = shape.NumElements();
    Tensor* out = ctx->allocate_output(0, shape.shape());
    std::copy(shape.flat<int32_t>().begin(), shape.flat<int32_t>().end(),
              out->flat<int32_t>().begin());
    for (int64_t a : *axes) {
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
