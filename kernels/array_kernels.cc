// Kernels for array ops: Placeholder, Const, Identity, NoOp, Reshape, Shape, Fill, ZerosLike,
// OnesLike, ExpandDims. These move or describe data; none has a oneDNN primitive.
#include <cstring>

#include "absl/strings/str_cat.h"
#include "kernels/op_kernel.h"

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
    absl::StatusOr<std::vector<int64_t>> dims = IntValues(ctx->input(1), "shape");
    if (!dims.ok()) return dims.status();
    int unknown = -1;
    int64_t known = 1;
    for (size_t i = 0; i < dims->size(); ++i) {
      const int64_t d = (*dims)[i];
      if (d == -1 && unknown < 0) {
        unknown = static_cast<int>(i);
      } else if (d < 0) {
        return ctx->InvalidArgument("shape ", TensorShape(*dims).DebugString(),
                                    " has a negative or second -1 dimension");
      } else {
        known *= d;
      }
    }
    if (unknown >= 0) {
      if (known == 0 || in.NumElements() % known != 0) {
        return ctx->InvalidArgument("cannot reshape a tensor of ", in.NumElements(),
                                    " elements to ", TensorShape(*dims).DebugString());
      }
      (*dims)[unknown] = in.NumElements() / known;
    }
    absl::StatusOr<Tensor> out = in.Reshaped(TensorShape(*dims));
    if (!out.ok()) return out.status();
    ctx->set_output(0, *out);
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

// Writes `value` (a one-element tensor of out's dtype) into every element of `out`.
void FillWith(Tensor* out, const void* value) {
  VisitDataType(out->dtype(), [&](auto zero) {
    using T = decltype(zero);
    const T v = *static_cast<const T*>(value);
    for (T& x : out->flat<T>()) x = v;
  });
}

class FillOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) override {
    absl::StatusOr<std::vector<int64_t>> dims = IntValues(ctx->input(0), "dims");
    if (!dims.ok()) return dims.status();
    for (int64_t d : *dims) {
      if (d < 0) return ctx->InvalidArgument("dims has a negative dimension ", d);
    }
    const Tensor& value = ctx->input(1);
    if (value.NumElements() != 1 || value.dims() != 0) {
      return ctx->InvalidArgument("value must be a scalar, got shape ",
                                  value.shape().DebugString());
    }
    FillWith(ctx->allocate_output(0, TensorShape(*dims)), value.data());
    return absl::OkStatus();
  }
};
REGISTER_KERNEL("Fill", FillOp);

template <int kValue>
class ConstantLikeOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) override {
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
    absl::StatusOr<std::vector<int64_t>> axis = IntValues(ctx->input(1), "dim");
    if (!axis.ok()) return axis.status();
    if (axis->size() != 1) return ctx->InvalidArgument("dim must hold exactly one value");
    int64_t a = (*axis)[0];
    const int rank = in.dims();
    if (a < -rank - 1 || a > rank) {
      return ctx->InvalidArgument("dim ", a, " is out of range for rank ", rank);
    }
    if (a < 0) a += rank + 1;
    std::vector<int64_t> dims(in.shape().dim_sizes().begin(), in.shape().dim_sizes().end());
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
    absl::StatusOr<std::vector<int64_t>> s0 = IntValues(ctx->input(0), "s0");
    if (!s0.ok()) return s0.status();
    absl::StatusOr<std::vector<int64_t>> s1 = IntValues(ctx->input(1), "s1");
    if (!s1.ok()) return s1.status();
    const int rank = static_cast<int>(std::max(s0->size(), s1->size()));
    std::vector<int64_t> r0, r1;
    for (int d = 0; d < rank; ++d) {
      const int i0 = d - (rank - static_cast<int>(s0->size()));
      const int i1 = d - (rank - static_cast<int>(s1->size()));
      const int64_t a = i0 >= 0 ? (*s0)[i0] : 1, b = i1 >= 0 ? (*s1)[i1] : 1;
      if (a != b && a != 1 && b != 1) {
        return ctx->InvalidArgument("incompatible shapes ", TensorShape(*s0).DebugString(),
                                    " and ", TensorShape(*s1).DebugString());
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

}  // namespace
}  // namespace dflow
