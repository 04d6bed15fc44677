// Kernels for array ops that describe or re-view data: Placeholder, Const, Identity, NoOp,
// Reshape, Shape, Fill, ZerosLike, OnesLike, ExpandDims, BroadcastGradientArgs, Range, Rank,
// PreventGradient and Squeeze. None has a oneDNN primitive.
#include <algorithm>
#include <limits>
#include <string>
#include <cstring>
#include <type_traits>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "graph/status_macros.h"
#include "kernels/op_kernel.h"
#include "ops/array_ops.h"

namespace dflow {
namespace {

class PlaceholderOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) override {
    PartialTensorShape shape;
    GetAttr(node().attrs(), "shape", &shape).IgnoreError();
    return absl::InvalidArgumentError(absl::StrCat(
        "You must feed a value for placeholder tensor '", node().name(), "' with dtype ",
        DataTypeString(node().output_type(0)), " and shape ", shape.DebugString()));
  }
};
REGISTER_KERNEL("Placeholder", PlaceholderOp);

class ConstOp : public OpKernel {
 public:
  explicit ConstOp(const Node& node) : OpKernel(node) {
    absl::Status s = GetAttr(node.attrs(), "value", &value_);
    if (!s.ok()) SetConstructionError(s);
    value_.MarkImmutable();
  }
  absl::Status Compute(OpKernelContext* ctx) override {
    ctx->set_output(0, value_);
    return absl::OkStatus();
  }

 private:
  Tensor value_;
};
REGISTER_KERNEL("Const", ConstOp);

class IdentityOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) override {
    ctx->set_output(0, ctx->input(0));
    return absl::OkStatus();
  }
};
REGISTER_KERNEL("Identity", IdentityOp);

class NoOpOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) override { return absl::OkStatus(); }
};
REGISTER_KERNEL("NoOp", NoOpOp);

class ReshapeOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& in = ctx->input(0);
    DFLOW_ASSIGN_OR_RETURN(IntList dims, IntValues(ctx->input(1), "shape"));
    int unknown = -1;
    IntList known_dims;
    for (size_t i = 0; i < dims.size(); ++i) {
      const int64_t d = dims[i];
      if (d == -1 && unknown < 0) {
        unknown = static_cast<int>(i);
      } else if (d < 0) {
        return ctx->InvalidArgument("shape ", TensorShape(dims).DebugString(),
                                    " has a negative or second -1 dimension");
      } else {
        known_dims.push_back(d);
      }
    }
    const int64_t known = CheckedNumElements(known_dims);
    if (known < 0) {
      return ctx->InvalidArgument("shape ", TensorShape(dims).DebugString(),
                                  " has too many elements");
    }
    if (unknown >= 0) {
      if (known == 0 || in.NumElements() % known != 0) {
        return ctx->InvalidArgument("cannot reshape a tensor of ", in.NumElements(),
                                    " elements to ", TensorShape(dims).DebugString());
      }
      dims[unknown] = in.NumElements() / known;
    }
    DFLOW_ASSIGN_OR_RETURN(Tensor out, in.Reshaped(TensorShape(dims)));
    ctx->set_output(0, out);
    return absl::OkStatus();
  }
};
REGISTER_KERNEL("Reshape", ReshapeOp);

class ShapeOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) override {
    const TensorShape& shape = ctx->input(0).shape();
    Tensor* out = ctx->allocate_output(0, TensorShape({shape.dims()}));
    for (int i = 0; i < shape.dims(); ++i) {
      if (out->dtype() == DT_INT32) {
        out->flat<int32_t>()[i] = static_cast<int32_t>(shape.dim_size(i));
      } else {
        out->flat<int64_t>()[i] = shape.dim_size(i);
      }
    }
    return absl::OkStatus();
  }
};
REGISTER_KERNEL("Shape", ShapeOp);

// Writes `value` (a one-element tensor of out's dtype) into every element of `out`; false for
// a type it cannot (never a silently unfilled output).
bool FillWith(Tensor* out, const Tensor& value) {
  return VisitCopyableType(out->dtype(), [&](auto zero) {
    using T = decltype(zero);
    const T v = value.flat<T>()[0];
    for (T& x : out->flat<T>()) x = v;
  });
}

class FillOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) override {
    DFLOW_ASSIGN_OR_RETURN(IntList dims, IntValues(ctx->input(0), "dims"));
    if (CheckedNumElements(dims) < 0) {
      return ctx->InvalidArgument("dims ", TensorShape(dims).DebugString(),
                                  " has a negative dimension or too many elements");
    }
    const Tensor& value = ctx->input(1);
    if (value.NumElements() != 1 || value.dims() != 0) {
      return ctx->InvalidArgument("value must be a scalar, got shape ",
                                  value.shape().DebugString());
    }
    if (!FillWith(ctx->allocate_output(0, TensorShape(dims)), value)) {
      return ctx->InvalidArgument("unsupported type ", DataTypeString(value.dtype()));
    }
    return absl::OkStatus();
  }
};
REGISTER_KERNEL("Fill", FillOp);

template <int kValue>
class ConstantLikeOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) override {
    if (ctx->input(0).dtype() == DT_STRING) {
      // TensorFlow's ZerosLike of strings is empty strings; its OnesLike has no string kernel.
      if (kValue != 0) return ctx->InvalidArgument("OnesLike is not defined for string tensors");
      Tensor* out = ctx->allocate_output(0, ctx->input(0).shape());
      for (std::string& s : out->flat<std::string>()) s.clear();
      return absl::OkStatus();
    }
    Tensor* out = ctx->allocate_output(0, ctx->input(0).shape());
    if (!VisitDataType(out->dtype(), [&](auto zero) {
          using T = decltype(zero);
          for (T& x : out->flat<T>()) x = static_cast<T>(kValue);
        })) {
      return ctx->InvalidArgument("unsupported type ", DataTypeString(out->dtype()));
    }
    return absl::OkStatus();
  }
};
REGISTER_KERNEL("ZerosLike", ConstantLikeOp<0>);
REGISTER_KERNEL("OnesLike", ConstantLikeOp<1>);

class ExpandDimsOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& in = ctx->input(0);
    DFLOW_ASSIGN_OR_RETURN(IntList axis, IntValues(ctx->input(1), "dim"));
    if (axis.size() != 1) return ctx->InvalidArgument("dim must hold exactly one value");
    int64_t a = axis[0];
    const int rank = in.dims();
    if (a < -rank - 1 || a > rank) {
      return ctx->InvalidArgument("dim ", a, " is out of range for rank ", rank);
    }
    if (a < 0) a += rank + 1;
    IntList dims(in.shape().dim_sizes().begin(), in.shape().dim_sizes().end());
    dims.insert(dims.begin() + a, 1);
    ctx->set_output(0, *in.Reshaped(TensorShape(dims)));
    return absl::OkStatus();
  }
};
REGISTER_KERNEL("ExpandDims", ExpandDimsOp);

class BroadcastGradientArgsOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) override {
    DFLOW_ASSIGN_OR_RETURN(IntList s0, IntValues(ctx->input(0), "s0"));
    DFLOW_ASSIGN_OR_RETURN(IntList s1, IntValues(ctx->input(1), "s1"));
    const int rank = static_cast<int>(std::max(s0.size(), s1.size()));
    std::vector<int64_t> r0, r1;
    for (int d = 0; d < rank; ++d) {
      const int i0 = d - (rank - static_cast<int>(s0.size()));
      const int i1 = d - (rank - static_cast<int>(s1.size()));
      const int64_t a = i0 >= 0 ? s0[i0] : 1, b = i1 >= 0 ? s1[i1] : 1;
      if (a != b && a != 1 && b != 1) {
        return ctx->InvalidArgument("incompatible shapes ", TensorShape(s0).DebugString(),
                                    " and ", TensorShape(s1).DebugString());
      }
      if (i0 < 0 || (a == 1 && b != 1)) r0.push_back(d);
      if (i1 < 0 || (b == 1 && a != 1)) r1.push_back(d);
    }
    for (int k = 0; k < 2; ++k) {
      const std::vector<int64_t>& r = k == 0 ? r0 : r1;
      Tensor* out = ctx->allocate_output(k, TensorShape({static_cast<int64_t>(r.size())}));
      for (size_t i = 0; i < r.size(); ++i) {
        if (out->dtype() == DT_INT32) {
          out->flat<int32_t>()[i] = static_cast<int32_t>(r[i]);
        } else {
          out->flat<int64_t>()[i] = r[i];
        }
      }
    }
    return absl::OkStatus();
  }
};
REGISTER_KERNEL("BroadcastGradientArgs", BroadcastGradientArgsOp);

class RangeOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& start = ctx->input(0);
    const Tensor& limit = ctx->input(1);
    const Tensor& delta = ctx->input(2);
    const char* names[] = {"start", "limit", "delta"};
    for (int i = 0; i < 3; ++i) {
      if (ctx->input(i).dims() != 0) {
        return ctx->InvalidArgument(names[i], " must be a scalar, got shape ",
                                    ctx->input(i).shape().DebugString());
      }
    }
    DFLOW_ASSIGN_OR_RETURN(int64_t size, RangeSize(start, limit, delta));
    Tensor* out = ctx->allocate_output(0, TensorShape({size}));
    bool handled = false;
    VisitDataType(out->dtype(), [&](auto zero) {
      using T = decltype(zero);
      if constexpr (std::is_same_v<T, int32_t> || std::is_same_v<T, int64_t> ||
                    std::is_same_v<T, float> || std::is_same_v<T, double>) {
        const T s = start.scalar<T>(), d = delta.scalar<T>();
        T* po = out->flat<T>().data();
        if constexpr (std::is_integral_v<T>) {
          // Every value lies between start and limit; the arithmetic wraps (unsigned) so that
          // i * delta may exceed the type on the way.
          using U = std::make_unsigned_t<T>;
          for (int64_t i = 0; i < size; ++i) {
            po[i] = static_cast<T>(static_cast<U>(s) + static_cast<U>(i) * static_cast<U>(d));
          }
        } else {
          for (int64_t i = 0; i < size; ++i) {
            po[i] = static_cast<T>(static_cast<double>(s) + static_cast<double>(i) * d);
          }
        }
        handled = true;
      }
    });
    if (!handled) return ctx->InvalidArgument("unsupported type ", DataTypeString(out->dtype()));
    return absl::OkStatus();
  }
};
REGISTER_KERNEL("Range", RangeOp);

class RankOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) override {
    ctx->allocate_output(0, TensorShape())->flat<int32_t>()[0] = ctx->input(0).dims();
    return absl::OkStatus();
  }
};
REGISTER_KERNEL("Rank", RankOp);

REGISTER_KERNEL("PreventGradient", IdentityOp);
REGISTER_KERNEL("PlaceholderWithDefault", IdentityOp);  // Runs only when not fed.

class SqueezeOp : public OpKernel {
 public:
  explicit SqueezeOp(const Node& node) : OpKernel(node) {
    absl::Status s = GetNodeAttr(node, "squeeze_dims", &axes_);
    if (!s.ok()) SetConstructionError(s);
  }
  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& in = ctx->input(0);
    const int rank = in.dims();
    std::vector<bool> squeeze(rank, axes_.empty());
    for (int64_t a : axes_) {
      if (a < -rank || a >= rank) {
        return ctx->InvalidArgument("squeeze dim ", a, " is out of range for shape ",
                                    in.shape().DebugString());
      }
      const int d = static_cast<int>(a < 0 ? a + rank : a);
      if (in.dim_size(d) != 1) {
        return ctx->InvalidArgument("cannot squeeze dim ", d, " of shape ",
                                    in.shape().DebugString(), ": its size is not 1");
      }
      squeeze[d] = true;
    }
    std::vector<int64_t> dims;
    for (int d = 0; d < rank; ++d) {
      if (!squeeze[d] || in.dim_size(d) != 1) dims.push_back(in.dim_size(d));
    }
    ctx->set_output(0, *in.Reshaped(TensorShape(dims)));
    return absl::OkStatus();
  }

 private:
  std::vector<int64_t> axes_;
};
REGISTER_KERNEL("Squeeze", SqueezeOp);

REGISTER_KERNEL("StopGradient", IdentityOp);

// Unique: a hash map from value to its first position; y in order of first appearance.
class UniqueOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& x = ctx->input(0);
    if (x.dims() != 1) {
      return ctx->InvalidArgument("unique expects a 1D vector, got shape ",
                                  x.shape().DebugString());
    }
    const DataType out_idx = node().output_type(1);
    if (out_idx == DT_INT32 && x.NumElements() > std::numeric_limits<int32_t>::max()) {
      return ctx->InvalidArgument("unique does not support input sizes that fit int32 only, got ",
                                  x.NumElements(), " elements");
    }
    bool typed = false;
    VisitDataType(x.dtype(), [&](auto zero) {
      using T = decltype(zero);
      typed = true;
      const auto in = x.flat<T>();
      // Keyed by value (==), as TensorFlow: 0.0 and -0.0 are one value, each NaN its own.
      absl::flat_hash_map<T, int64_t> first;
      std::vector<int64_t> idx(in.size());
      std::vector<T> values;
      for (size_t i = 0; i < in.size(); ++i) {
        auto [it, inserted] = first.try_emplace(in[i], static_cast<int64_t>(values.size()));
        if (inserted) values.push_back(in[i]);
        idx[i] = it->second;
      }
      Tensor* y = ctx->allocate_output(0, TensorShape({static_cast<int64_t>(values.size())}));
      std::copy(values.begin(), values.end(), y->flat<T>().begin());
      Tensor* out = ctx->allocate_output(1, x.shape());
      if (out_idx == DT_INT32) {
        auto o = out->flat<int32_t>();
        for (size_t i = 0; i < idx.size(); ++i) o[i] = static_cast<int32_t>(idx[i]);
      } else {
        auto o = out->flat<int64_t>();
        for (size_t i = 0; i < idx.size(); ++i) o[i] = idx[i];
      }
    });
    if (!typed) return ctx->InvalidArgument("unsupported type ", DataTypeString(x.dtype()));
    return absl::OkStatus();
  }
};
REGISTER_KERNEL("Unique", UniqueOp);

}  // namespace
}  // namespace dflow
