// Kernels for element-wise math ops. Float work goes to oneDNN primitives (binary, eltwise),
// created once per input shape and cached in the kernel; integer types, and the cases oneDNN
// cannot express (src0 broadcast in a non-commutative op, Pow, Cast, Floor), and small float
// add/sub/mul/div, use the broadcasting loop of kernels/broadcast.h. Equal and NotEqual are in logical_kernels.cc.
#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <type_traits>
#include <utility>

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

// The output of a broadcasting element-wise op on x and y (both of the node's input type), of
// the broadcast shape; fails naming the mismatched type or shapes.
absl::StatusOr<Tensor*> AllocateBroadcastOutput(OpKernelContext* ctx, const Tensor& a,
                                                const Tensor& b) {
  const DataType type = ctx->node().input_type(0);
  DFLOW_RETURN_IF_ERROR(CheckInput(a, "x", type));
  DFLOW_RETURN_IF_ERROR(CheckInput(b, "y", type));
  absl::StatusOr<TensorShape> shape = BroadcastShapes(a.shape(), b.shape());
  if (!shape.ok()) {
    return ctx->InvalidArgument("incompatible shapes: ", a.shape().DebugString(), " vs ",
                                b.shape().DebugString());
  }
  return ctx->allocate_output(0, *shape);
}

// The common front of a broadcasting binary kernel: inputs x and y, the broadcast output, and
// (when kSkipEmpty) nothing to do when it is empty; Derived::ComputeOutput does the rest (no
// virtual call).
template <typename Derived, bool kSkipEmpty = true>
class BroadcastBinaryKernel : public OpKernel {
 public:
  explicit BroadcastBinaryKernel(const Node& node) : OpKernel(node) {}

  absl::Status Compute(OpKernelContext* ctx) final {
    const Tensor& a = ctx->input(0);
    const Tensor& b = ctx->input(1);
    DFLOW_ASSIGN_OR_RETURN(Tensor* out, AllocateBroadcastOutput(ctx, a, b));
    if (kSkipEmpty && out->NumElements() == 0) return absl::OkStatus();
    return static_cast<Derived*>(this)->ComputeOutput(ctx, a, b, out->shape(), out);
  }
};

// ---------------------------------------------------------------------------------------------
// Broadcasting binary ops: oneDNN binary when only src1 needs broadcasting (swapping the
// operands of commutative ops when it is the first), else a broadcasting loop. kExactLoop: the
// loop gives oneDNN's results bit for bit, so it also runs outputs of at most kLoopMaxElements
// (not Maximum/Minimum, whose loop propagates NaN where oneDNN's max/min do not).

struct AddFn {
  static constexpr bool kExactLoop = true;
  static constexpr bool kSquareResult = false;
  static constexpr dnnl::algorithm kAlg = dnnl::algorithm::binary_add;
  static constexpr bool kCommutative = true;
  template <typename T>
  static T Apply(T a, T b) { return WrapAdd(a, b); }
};
struct SubFn {
  static constexpr bool kExactLoop = true;
  static constexpr bool kSquareResult = false;
  static constexpr dnnl::algorithm kAlg = dnnl::algorithm::binary_sub;
  static constexpr bool kCommutative = false;
  template <typename T>
  static T Apply(T a, T b) { return WrapSub(a, b); }
};
struct MulFn {
  static constexpr bool kExactLoop = true;
  static constexpr bool kSquareResult = false;
  static constexpr dnnl::algorithm kAlg = dnnl::algorithm::binary_mul;
  static constexpr bool kCommutative = true;
  template <typename T>
  static T Apply(T a, T b) { return WrapMul(a, b); }
};
struct DivFn {
  static constexpr bool kExactLoop = true;
  static constexpr bool kSquareResult = false;
  static constexpr dnnl::algorithm kAlg = dnnl::algorithm::binary_div;
  static constexpr bool kCommutative = false;
  template <typename T>
  static T Apply(T a, T b) { return a / b; }  // Float only (RealDiv).
};
struct MaxFn {
  static constexpr bool kExactLoop = false;
  static constexpr bool kSquareResult = false;
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

struct MinFn {
  static constexpr bool kExactLoop = false;
  static constexpr bool kSquareResult = false;
  static constexpr dnnl::algorithm kAlg = dnnl::algorithm::binary_min;
  static constexpr bool kCommutative = true;
  template <typename T>
  static T Apply(T a, T b) {
    if constexpr (std::is_floating_point_v<T>) {
      if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<T>::quiet_NaN();
    }
    return a <= b ? a : b;
  }
};
// (a - b)^2: oneDNN's sub with a square post-op; commutative since the square is even.
struct SquaredDifferenceFn {
  static constexpr bool kExactLoop = true;
  static constexpr bool kSquareResult = true;
  static constexpr dnnl::algorithm kAlg = dnnl::algorithm::binary_sub;
  static constexpr bool kCommutative = true;
  template <typename T>
  static T Apply(T a, T b) {
    const T d = WrapSub(a, b);
    return WrapMul(d, d);
  }
};

template <typename Fn>
class BinaryOp : public BroadcastBinaryKernel<BinaryOp<Fn>> {
 public:
  explicit BinaryOp(const Node& node) : BroadcastBinaryKernel<BinaryOp<Fn>>(node) {}

  absl::Status ComputeOutput(OpKernelContext* ctx, const Tensor& a, const Tensor& b,
                             const TensorShape& out_shape, Tensor* out) {
    const DataType type = this->node().input_type(0);
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
    Primitive prim;
    memory src0, src1, dst;
  };

  template <typename T>
  absl::Status Loop(const Tensor& a, const Tensor& b, const TensorShape& out_shape, Tensor* out) {
    BroadcastLoop<T, T>(a, b, out_shape, out, [](T x, T y) { return Fn::template Apply<T>(x, y); });
    return absl::OkStatus();
  }

  absl::Status ComputeFloat(OpKernelContext* ctx, const Tensor& a, const Tensor& b,
                            const TensorShape& out_shape, Tensor* out) {
    // The loop rounds as oneDNN does (one IEEE operation per element), so it can stand in for
    // small tensors.
    if (Fn::kExactLoop && out->NumElements() <= kLoopMaxElements) {
      return Loop<float>(a, b, out_shape, out);
    }
    {
      typename ShapeCache<Entry>::Lease e = cache_.Get(
          ShapeKey({&a.shape(), &b.shape()}), [&] { return MakeEntry(ctx, a, b, out_shape); });
      if (e->mode != Mode::kLoop) {
        const bool direct = e->mode == Mode::kDirect;
        RunPrimitive(e->prim, ctx->stream(),
                     {{DNNL_ARG_SRC_0, e->src0, (direct ? a : b).data()},
                      {DNNL_ARG_SRC_1, e->src1, (direct ? b : a).data()},
                      {DNNL_ARG_DST, e->dst, out->data()}});
        return absl::OkStatus();
      }
    }
    return Loop<float>(a, b, out_shape, out);
  }

  static std::unique_ptr<Entry> MakeEntry(OpKernelContext* ctx, const Tensor& a, const Tensor& b,
                                          const TensorShape& out_shape) {
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
    if (entry->mode == Mode::kLoop) return entry;
    const Tensor& s0 = entry->mode == Mode::kDirect ? a : b;
    const Tensor& s1 = entry->mode == Mode::kDirect ? b : a;
    const auto f32 = memory::data_type::f32;
    memory::desc md0 = PlainDesc(s0.shape(), f32, rank);
    memory::desc md1 = PlainDesc(s1.shape(), f32, rank);
    memory::desc mdd = PlainDesc(out_shape, f32, rank);
    // Should oneDNN refuse the problem, the loop handles it (and is remembered); a fallback,
    // not an error, so this is the one exception a kernel catches.
    try {
      dnnl::primitive_attr attr;
      if constexpr (Fn::kSquareResult) {
        dnnl::post_ops square;
        square.append_eltwise(1.0f, dnnl::algorithm::eltwise_square, 0.0f, 0.0f);
        attr.set_post_ops(square);
      }
      entry->prim = Primitive(dnnl::binary::primitive_desc(
          dnnl::binary::desc(Fn::kAlg, md0, md1, mdd), KernelAttr(attr), ctx->engine()));
    } catch (const dnnl::error&) {
      entry->mode = Mode::kLoop;
      return entry;
    }
    entry->src0 = memory(md0, ctx->engine(), nullptr);
    entry->src1 = memory(md1, ctx->engine(), nullptr);
    entry->dst = memory(mdd, ctx->engine(), nullptr);
    return entry;
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
REGISTER_KERNEL("Minimum", BinaryOp<MinFn>, "T", {DT_FLOAT, DT_INT32, DT_INT64});
REGISTER_KERNEL("SquaredDifference", BinaryOp<SquaredDifferenceFn>, "T",
                {DT_FLOAT, DT_INT32, DT_INT64});

// ---------------------------------------------------------------------------------------------
// Pow: a broadcasting loop (oneDNN's binary has no pow). Integers are raised by repeated
// squaring, wrapping; a negative integer exponent is an error, as in TensorFlow.

template <typename T>
T IntPow(T base, T exp) {
  T result = 1;
  while (exp > 0) {
    if (exp & 1) result = WrapMul(result, base);
    base = WrapMul(base, base);
    exp >>= 1;
  }
  return result;
}

class PowOp : public BroadcastBinaryKernel<PowOp> {
 public:
  explicit PowOp(const Node& node) : BroadcastBinaryKernel(node) {}

  absl::Status ComputeOutput(OpKernelContext* ctx, const Tensor& a, const Tensor& b,
                             const TensorShape& out_shape, Tensor* out) {
    switch (node().input_type(0)) {
      case DT_FLOAT:
        BroadcastLoop<float, float>(a, b, out_shape, out,
                                    [](float x, float y) { return std::pow(x, y); });
        return absl::OkStatus();
      case DT_INT32: return IntLoop<int32_t>(ctx, a, b, out_shape, out);
      case DT_INT64: return IntLoop<int64_t>(ctx, a, b, out_shape, out);
      default:
        return ctx->InvalidArgument("unsupported type ", DataTypeString(node().input_type(0)));
    }
  }

 private:
  template <typename T>
  static absl::Status IntLoop(OpKernelContext* ctx, const Tensor& a, const Tensor& b,
                              const TensorShape& out_shape, Tensor* out) {
    for (T v : b.flat<T>()) {  // Every element of y is used when the output is not empty.
      if (v < 0) return ctx->InvalidArgument("Integers to negative integer powers are not allowed");
    }
    BroadcastLoop<T, T>(a, b, out_shape, out, [](T x, T y) { return IntPow<T>(x, y); });
    return absl::OkStatus();
  }
};
REGISTER_KERNEL("Pow", PowOp, "T", {DT_FLOAT, DT_INT32, DT_INT64});

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
class FloorDivModOp : public BroadcastBinaryKernel<FloorDivModOp<kMod>> {
 public:
  explicit FloorDivModOp(const Node& node) : BroadcastBinaryKernel<FloorDivModOp<kMod>>(node) {}

  absl::Status ComputeOutput(OpKernelContext* ctx, const Tensor& a, const Tensor& b,
                             const TensorShape& out_shape, Tensor* out) {
    const DataType type = this->node().input_type(0);
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
class TruncateDivOp : public BroadcastBinaryKernel<TruncateDivOp> {
 public:
  explicit TruncateDivOp(const Node& node) : BroadcastBinaryKernel(node) {}

  absl::Status ComputeOutput(OpKernelContext* ctx, const Tensor& a, const Tensor& b,
                             const TensorShape& out_shape, Tensor* out) {
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

// An empty output still checks the type (the kernel is registered for every type).
template <Compare kCmp>
class ComparisonOp : public BroadcastBinaryKernel<ComparisonOp<kCmp>, /*kSkipEmpty=*/false> {
 public:
  explicit ComparisonOp(const Node& node)
      : BroadcastBinaryKernel<ComparisonOp<kCmp>, false>(node) {}

  absl::Status ComputeOutput(OpKernelContext* ctx, const Tensor& a, const Tensor& b,
                             const TensorShape& out_shape, Tensor* out) {
    const DataType type = this->node().input_type(0);
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
    DFLOW_RETURN_IF_ERROR(CheckInput(x, "x", type));
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
    // Element-wise: only the element count matters for the primitive.
    eltwise_.Run({n}, x.data(), out->data(), ctx->engine(), ctx->stream(),
                 [](const memory::desc& md, const dnnl::engine& engine) {
                   return dnnl::eltwise_forward::primitive_desc(
                       dnnl::eltwise_forward::desc(dnnl::prop_kind::forward_inference, Fn::kAlg,
                                                   md, Fn::kAlpha, Fn::kBeta),
                       KernelAttr(), engine);
                 });
    return absl::OkStatus();
  }

 private:
  template <typename T>
  absl::Status Loop(const Tensor& x, Tensor* out) {
    const T* px = x.flat<T>().data();
    T* po = out->flat<T>().data();
    for (int64_t i = 0; i < x.NumElements(); ++i) po[i] = Fn::template Apply<T>(px[i]);
    return absl::OkStatus();
  }

  SrcDstPrimitive eltwise_;
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
    DFLOW_RETURN_IF_ERROR(CheckInput(x, "x", type));
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
    DFLOW_RETURN_IF_ERROR(CheckInput(x, "x", src_));
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

}  // namespace
}  // namespace dflow
