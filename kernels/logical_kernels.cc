// Kernels for equality, logic and selection (Equal, NotEqual, LogicalAnd, LogicalOr, LogicalNot,
// Select, SelectV2) and the bool reductions All and Any: loops (oneDNN has no bool type), the
// binary ones through the broadcasting loop of kernels/broadcast.h.
#include <algorithm>
#include <cstring>
#include <string>
#include <type_traits>

#include "absl/strings/str_cat.h"
#include "graph/status_macros.h"
#include "kernels/broadcast.h"
#include "kernels/op_kernel.h"
#include "ops/shape_inference.h"

namespace dflow {
namespace {

// ---------------------------------------------------------------------------------------------
// Equal, NotEqual: a broadcasting loop.

template <bool kNot>
class EqualityOp : public OpKernel {
 public:
  explicit EqualityOp(const Node& node) : OpKernel(node) {
    absl::Status s = GetNodeAttr(node, "incompatible_shape_error", &incompatible_shape_error_);
    if (!s.ok()) SetConstructionError(s);
  }

  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& a = ctx->input(0);
    const Tensor& b = ctx->input(1);
    const DataType type = node().input_type(0);
    DFLOW_RETURN_IF_ERROR(CheckInput(a, "x", type));
    DFLOW_RETURN_IF_ERROR(CheckInput(b, "y", type));
    absl::StatusOr<TensorShape> out_shape = BroadcastShapes(a.shape(), b.shape());
    if (!out_shape.ok()) {
      if (incompatible_shape_error_) {
        return ctx->InvalidArgument("incompatible shapes: ", a.shape().DebugString(), " vs ",
                                    b.shape().DebugString());
      }
      ctx->allocate_output(0, TensorShape())->flat<bool>()[0] = kNot;
      return absl::OkStatus();
    }
    Tensor* out = ctx->allocate_output(0, *out_shape);
    const bool known = VisitDataType(type, [&](auto tag) {
      using T = decltype(tag);
      BroadcastLoop<T, bool>(a, b, *out_shape, out, [](T x, T y) { return (x == y) != kNot; });
    });
    if (type == DT_STRING) {
      BroadcastLoop<std::string, bool>(
          a, b, *out_shape, out,
          [](const std::string& x, const std::string& y) { return (x == y) != kNot; });
      return absl::OkStatus();
    }
    if (!known) return ctx->InvalidArgument("unsupported type ", DataTypeString(type));
    return absl::OkStatus();
  }

 private:
  bool incompatible_shape_error_ = true;
};
REGISTER_KERNEL("Equal", EqualityOp<false>);
REGISTER_KERNEL("NotEqual", EqualityOp<true>);

// ---------------------------------------------------------------------------------------------
// LogicalAnd, LogicalOr, LogicalNot

template <bool kAnd>
class LogicalBinaryOp : public OpKernel {
 public:
  explicit LogicalBinaryOp(const Node& node) : OpKernel(node) {}

  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& a = ctx->input(0);
    const Tensor& b = ctx->input(1);
    DFLOW_RETURN_IF_ERROR(CheckInput(a, "x", DT_BOOL));
    DFLOW_RETURN_IF_ERROR(CheckInput(b, "y", DT_BOOL));
    absl::StatusOr<TensorShape> shape = BroadcastShapes(a.shape(), b.shape());
    if (!shape.ok()) {
      return ctx->InvalidArgument("incompatible shapes: ", a.shape().DebugString(), " vs ",
                                  b.shape().DebugString());
    }
    Tensor* out = ctx->allocate_output(0, *shape);
    BroadcastLoop<bool, bool>(a, b, *shape, out,
                              [](bool x, bool y) { return kAnd ? (x && y) : (x || y); });
    return absl::OkStatus();
  }
};
REGISTER_KERNEL("LogicalAnd", LogicalBinaryOp<true>);
REGISTER_KERNEL("LogicalOr", LogicalBinaryOp<false>);

class LogicalNotOp : public OpKernel {
 public:
  explicit LogicalNotOp(const Node& node) : OpKernel(node) {}

  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& x = ctx->input(0);
    DFLOW_RETURN_IF_ERROR(CheckInput(x, "x", DT_BOOL));
    Tensor* out = ctx->allocate_output(0, x.shape());
    const bool* px = x.flat<bool>().data();
    bool* po = out->flat<bool>().data();
    for (int64_t i = 0; i < x.NumElements(); ++i) po[i] = !px[i];
    return absl::OkStatus();
  }
};
REGISTER_KERNEL("LogicalNot", LogicalNotOp);

// ---------------------------------------------------------------------------------------------
// Select: per element, per row (a condition vector for t of rank >= 2) or all at once (a
// scalar condition). Elements are copied as bytes (the choice does not depend on the type),
// strings as std::string objects.

// Select's and SelectV2's inputs: a bool condition, then t and e of the node's `type`.
absl::Status CheckSelectInputs(const Tensor& cond, const Tensor& t, const Tensor& e,
                               DataType type) {
  DFLOW_RETURN_IF_ERROR(CheckInput(cond, "condition", DT_BOOL));
  DFLOW_RETURN_IF_ERROR(CheckInput(t, "t", type));
  return CheckInput(e, "e", type);
}

class SelectOp : public OpKernel {
 public:
  explicit SelectOp(const Node& node) : OpKernel(node) {}

  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& cond = ctx->input(0);
    const Tensor& t = ctx->input(1);
    const Tensor& e = ctx->input(2);
    const DataType type = node().input_type(1);
    DFLOW_RETURN_IF_ERROR(CheckSelectInputs(cond, t, e, type));
    if (t.shape() != e.shape()) {
      return ctx->InvalidArgument("t ", t.shape().DebugString(), " and e ",
                                  e.shape().DebugString(), " must have the same shape");
    }
    if (cond.dims() == 0) {  // All of t or all of e.
      ctx->set_output(0, cond.flat<bool>()[0] ? t : e);
      return absl::OkStatus();
    }
    int64_t rows = 0;  // Elements chosen per condition value.
    if (cond.dims() == 1 && t.dims() >= 2) {
      if (cond.dim_size(0) != t.dim_size(0)) {
        return ctx->InvalidArgument("condition ", cond.shape().DebugString(),
                                    " must have one value per row of t ",
                                    t.shape().DebugString());
      }
      rows = cond.dim_size(0) == 0 ? 0 : t.NumElements() / cond.dim_size(0);
    } else if (cond.shape() == t.shape()) {
      rows = 1;
    } else {
      return ctx->InvalidArgument("condition ", cond.shape().DebugString(),
                                  " must be a scalar, of t's shape ", t.shape().DebugString(),
                                  ", or a vector of its first dimension");
    }
    Tensor* out = ctx->allocate_output(0, t.shape());
    const bool* pc = cond.flat<bool>().data();
    if (type == DT_STRING) {
      const std::string* pt = t.flat<std::string>().data();
      const std::string* pe = e.flat<std::string>().data();
      std::string* po = out->flat<std::string>().data();
      for (int64_t i = 0; i < cond.NumElements(); ++i) {
        std::copy_n((pc[i] ? pt : pe) + i * rows, rows, po + i * rows);
      }
      return absl::OkStatus();
    }
    const size_t bytes = static_cast<size_t>(rows) * DataTypeSize(type);
    const char* pt = static_cast<const char*>(t.data());
    const char* pe = static_cast<const char*>(e.data());
    char* po = static_cast<char*>(out->data());
    for (int64_t i = 0; i < cond.NumElements(); ++i) {
      std::memcpy(po + i * bytes, (pc[i] ? pt : pe) + i * bytes, bytes);
    }
    return absl::OkStatus();
  }
};
REGISTER_KERNEL("Select", SelectOp);

// ---------------------------------------------------------------------------------------------
// SelectV2: condition, t and e broadcast together.

class SelectV2Op : public OpKernel {
 public:
  explicit SelectV2Op(const Node& node) : OpKernel(node) {}

  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& cond = ctx->input(0);
    const Tensor& t = ctx->input(1);
    const Tensor& e = ctx->input(2);
    const DataType type = node().input_type(1);
    DFLOW_RETURN_IF_ERROR(CheckSelectInputs(cond, t, e, type));
    absl::StatusOr<TensorShape> te = BroadcastShapes(t.shape(), e.shape());
    absl::StatusOr<TensorShape> shape = te.ok() ? BroadcastShapes(cond.shape(), *te) : te;
    if (!shape.ok()) {
      return ctx->InvalidArgument("condition ", cond.shape().DebugString(), ", t ",
                                  t.shape().DebugString(), " and e ", e.shape().DebugString(),
                                  " do not broadcast together");
    }
    Tensor* out = ctx->allocate_output(0, *shape);
    const int rank = shape->dims();
    const Strides sc = BroadcastStrides(cond.shape(), rank);
    const bool* pc = cond.flat<bool>().data();
    const bool strings = type == DT_STRING;  // Copied as objects, the rest as bytes.
    const size_t size = strings ? sizeof(std::string) : DataTypeSize(type);
    const char* pt = static_cast<const char*>(t.data());
    const char* pe = static_cast<const char*>(e.data());
    char* po = static_cast<char*>(out->data());
    // t and e walk through ForEachIndex; the condition's offset is kept alongside.
    Strides idx(rank, 0);
    int64_t oc = 0;
    ForEachIndex(*shape, BroadcastStrides(t.shape(), rank), BroadcastStrides(e.shape(), rank),
                 [&](int64_t i, int64_t ot, int64_t oe) {
                   const char* from = pc[oc] ? pt + ot * size : pe + oe * size;
                   if (strings) {
                     *reinterpret_cast<std::string*>(po + i * size) =
                         *reinterpret_cast<const std::string*>(from);
                   } else {
                     std::memcpy(po + i * size, from, size);
                   }
                   for (int d = rank - 1; d >= 0; --d) {  // Advance the condition's offset.
                     oc += sc[d];
                     if (++idx[d] < shape->dim_size(d)) break;
                     oc -= sc[d] * shape->dim_size(d);
                     idx[d] = 0;
                   }
                 });
    return absl::OkStatus();
  }
};
REGISTER_KERNEL("SelectV2", SelectV2Op);

// ---------------------------------------------------------------------------------------------
// All, Any: bool reductions over axes; an empty reduction gives true (All) or false (Any).

template <bool kAll>
class BoolReductionOp : public OpKernel {
 public:
  explicit BoolReductionOp(const Node& node) : OpKernel(node) {
    absl::Status s = GetNodeAttr(node, "keep_dims", &keep_dims_);
    if (!s.ok()) SetConstructionError(s);
  }

  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& x = ctx->input(0);
    DFLOW_RETURN_IF_ERROR(CheckInput(x, "input", DT_BOOL));
    DFLOW_ASSIGN_OR_RETURN(IntList axes, IntValues(ctx->input(1), "reduction_indices"));
    const int rank = x.dims();
    absl::InlinedVector<bool, 8> reduced(rank, false);
    for (int64_t a : axes) {
      if (a < -rank || a >= rank) {
        return ctx->InvalidArgument("reduction axis ", a, " is out of range for input shape ",
                                    x.shape().DebugString());
      }
      reduced[a < 0 ? a + rank : a] = true;
    }
    TensorShape keep_shape, out_shape;
    for (int d = 0; d < rank; ++d) {
      keep_shape.AddDim(reduced[d] ? 1 : x.dim_size(d));
      if (!reduced[d]) {
        out_shape.AddDim(x.dim_size(d));
      } else if (keep_dims_) {
        out_shape.AddDim(1);
      }
    }
    Tensor* out = ctx->allocate_output(0, out_shape);
    bool* po = out->flat<bool>().data();
    for (int64_t i = 0; i < out->NumElements(); ++i) po[i] = kAll;
    const bool* px = x.flat<bool>().data();
    const Strides unused(rank, 0);
    ForEachIndex(x.shape(), BroadcastStrides(keep_shape, rank), unused,
                 [&](int64_t i, int64_t o, int64_t) {
                   if (px[i] != kAll) po[o] = !kAll;
                 });
    return absl::OkStatus();
  }

 private:
  bool keep_dims_ = false;
};
REGISTER_KERNEL("All", BoolReductionOp<true>);
REGISTER_KERNEL("Any", BoolReductionOp<false>);

}  // namespace
}  // namespace dflow
