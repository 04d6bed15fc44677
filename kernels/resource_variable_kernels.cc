// Kernels for resource variables (ops/resource_variable_ops.h). A handle is a DT_RESOURCE
// scalar holding the variable's id in the session's VariableStore; every kernel checks the
// handle names one of this session's variables. Updates copy the value first when a read still
// shares its buffer (copy on write). Plain loops: the updates are element-wise and small.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <mutex>
#include <string>
#include <type_traits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "graph/status_macros.h"
#include "kernels/index_kernels.h"
#include "kernels/op_kernel.h"

namespace dflow {
namespace {

// The variable `handle` (input `what`) names.
absl::StatusOr<Variable*> VariableOf(OpKernelContext* ctx, const Tensor& handle,
                                     absl::string_view what) {
  if (handle.dtype() != DT_RESOURCE || handle.dims() != 0) {
    return ctx->InvalidArgument(what, " must be a resource variable handle (a resource scalar), "
                                "got ", DataTypeString(handle.dtype()), " ",
                                handle.shape().DebugString());
  }
  Variable* var = ctx->variables()->FindById(*static_cast<const int64_t*>(handle.data()));
  if (var == nullptr) {
    return ctx->InvalidArgument(what, " names no variable of this session");
  }
  return var;
}

absl::Status Uninitialized(const Variable& var) {
  return absl::FailedPreconditionError(absl::StrCat(
      "Error while reading resource variable ", var.name,
      ". This could mean that the variable was uninitialized."));
}

// ---------------------------------------------------------------------------------------------
// VarHandleOp: looks the variable up (creating it uninitialized) once per kernel.

class VarHandleOp : public OpKernel {
 public:
  explicit VarHandleOp(const Node& node) : OpKernel(node), var_(node) {}
  absl::Status Compute(OpKernelContext* ctx) override {
    Tensor handle(DT_RESOURCE, TensorShape({}));
    *static_cast<int64_t*>(handle.data()) = var_.Get(ctx->variables())->id;
    ctx->set_output(0, std::move(handle));
    return absl::OkStatus();
  }

 private:
  VariableLookup var_;
};
REGISTER_KERNEL("VarHandleOp", VarHandleOp);

// ---------------------------------------------------------------------------------------------
// ReadVariableOp, VarIsInitializedOp

class ReadVariableOp : public OpKernel {
 public:
  explicit ReadVariableOp(const Node& node) : OpKernel(node), dtype_(node.output_type(0)) {}
  absl::Status Compute(OpKernelContext* ctx) override {
    DFLOW_ASSIGN_OR_RETURN(Variable * var, VariableOf(ctx, ctx->input(0), "resource"));
    Tensor value;
    {
      std::lock_guard<std::mutex> lock(var->mu.reader());
      value = var->value;
    }
    if (!value.IsInitialized()) return Uninitialized(*var);
    if (value.dtype() != dtype_) {
      return ctx->InvalidArgument("Trying to read variable ", var->name,
                                  " with wrong dtype. Expected ", DataTypeString(dtype_), " got ",
                                  DataTypeString(value.dtype()));
    }
    ctx->set_output(0, std::move(value));
    return absl::OkStatus();
  }

 private:
  DataType dtype_;
};
REGISTER_KERNEL("ReadVariableOp", ReadVariableOp);

class VarIsInitializedOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) override {
    DFLOW_ASSIGN_OR_RETURN(Variable * var, VariableOf(ctx, ctx->input(0), "resource"));
    bool initialized;
    {
      std::lock_guard<std::mutex> lock(var->mu.reader());
      initialized = var->value.IsInitialized();
    }
    ctx->set_output(0, Tensor::Scalar<bool>(initialized));
    return absl::OkStatus();
  }
};
REGISTER_KERNEL("VarIsInitializedOp", VarIsInitializedOp);

// ---------------------------------------------------------------------------------------------
// AssignVariableOp, AssignAddVariableOp, AssignSubVariableOp

class AssignVariableOp : public OpKernel {
 public:
  explicit AssignVariableOp(const Node& node) : OpKernel(node) {
    GetAttr(node.attrs(), "dtype", &dtype_).IgnoreError();
  }
  absl::Status Compute(OpKernelContext* ctx) override {
    DFLOW_ASSIGN_OR_RETURN(Variable * var, VariableOf(ctx, ctx->input(0), "resource"));
    const Tensor& value = ctx->input(1);
    if (value.dtype() != dtype_) {
      return ctx->InvalidArgument("value must be ", DataTypeString(dtype_), ", got ",
                                  DataTypeString(value.dtype()));
    }
    std::lock_guard<VariableMutex> lock(var->mu);
    if (var->value.IsInitialized() && var->value.dtype() != dtype_) {
      return ctx->InvalidArgument("Trying to assign variable ", var->name,
                                  " with wrong dtype. Expected ",
                                  DataTypeString(var->value.dtype()), " got ",
                                  DataTypeString(dtype_));
    }
    if (var->value.IsInitialized() && var->value.shape() == value.shape() &&
        var->value.BufferIsExclusive()) {
      // Nobody else sees the old value: overwrite it rather than allocate.
      if (value.dtype() == DT_STRING) {  // Objects, not bytes (TotalBytes is 0 for strings).
        std::copy_n(value.flat<std::string>().data(), value.NumElements(),
                    var->value.flat<std::string>().data());
      } else if (value.TotalBytes() > 0) {
        std::memcpy(var->value.data(), value.data(), value.TotalBytes());
      }
    } else {
      var->value = value.DeepCopy();  // The value's buffer may be shared with other tensors.
    }
    return absl::OkStatus();
  }

 private:
  DataType dtype_ = DT_INVALID;
};
REGISTER_KERNEL("AssignVariableOp", AssignVariableOp);

template <bool kAdd>
class AssignUpdateVariableOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) override {
    DFLOW_ASSIGN_OR_RETURN(Variable * var, VariableOf(ctx, ctx->input(0), "resource"));
    const Tensor& value = ctx->input(1);
    std::lock_guard<VariableMutex> lock(var->mu);
    if (!var->value.IsInitialized()) return Uninitialized(*var);
    if (var->value.dtype() != value.dtype()) {
      return ctx->InvalidArgument("value must be ", DataTypeString(var->value.dtype()),
                                  " as variable ", var->name, ", got ",
                                  DataTypeString(value.dtype()));
    }
    if (var->value.shape() != value.shape()) {
      return ctx->InvalidArgument("Cannot update variable ", var->name, " with shape ",
                                  var->value.shape().DebugString(), " using a Tensor with shape ",
                                  value.shape().DebugString(), ", shapes must be equal.");
    }
    if (var->value.dtype() == DT_BOOL || var->value.dtype() == DT_UINT8) {
      return ctx->InvalidArgument("unsupported type ", DataTypeString(value.dtype()));
    }
    if (!var->value.BufferIsExclusive()) var->value = var->value.DeepCopy();
    return VisitDataTypeOrError(value.dtype(), [&](auto zero) {
      using T = decltype(zero);
      if constexpr (!std::is_same_v<T, bool>) {
        auto dst = var->value.flat<T>();
        auto src = value.flat<T>();
        for (size_t i = 0; i < dst.size(); ++i) {
          if constexpr (std::is_integral_v<T>) {  // Wraps around, as two's complement.
            using U = std::make_unsigned_t<T>;
            dst[i] = static_cast<T>(kAdd ? U(dst[i]) + U(src[i]) : U(dst[i]) - U(src[i]));
          } else {
            dst[i] = kAdd ? dst[i] + src[i] : dst[i] - src[i];
          }
        }
      }
    });
  }
};
REGISTER_KERNEL("AssignAddVariableOp", AssignUpdateVariableOp<true>);
REGISTER_KERNEL("AssignSubVariableOp", AssignUpdateVariableOp<false>);

// ---------------------------------------------------------------------------------------------
// ResourceGather: rows along axis 0 of a snapshot of the value.

class ResourceGatherOp : public OpKernel {
 public:
  explicit ResourceGatherOp(const Node& node) : OpKernel(node), dtype_(node.output_type(0)) {
    int64_t batch_dims = 0;
    GetAttr(node.attrs(), "batch_dims", &batch_dims).IgnoreError();
    if (batch_dims != 0) {
      SetConstructionError(absl::UnimplementedError("ResourceGather with batch_dims != 0"));
    }
  }
  absl::Status Compute(OpKernelContext* ctx) override {
    DFLOW_ASSIGN_OR_RETURN(Variable * var, VariableOf(ctx, ctx->input(0), "resource"));
    const Tensor& indices = ctx->input(1);
    if (indices.dtype() != DT_INT32 && indices.dtype() != DT_INT64) {
      return ctx->InvalidArgument("indices must be int32 or int64, got ",
                                  DataTypeString(indices.dtype()));
    }
    Tensor params;
    {
      std::lock_guard<std::mutex> lock(var->mu.reader());
      params = var->value;
    }
    if (!params.IsInitialized()) return Uninitialized(*var);
    if (params.dtype() != dtype_) {
      return ctx->InvalidArgument("Trying to read variable ", var->name,
                                  " with wrong dtype. Expected ", DataTypeString(dtype_), " got ",
                                  DataTypeString(params.dtype()));
    }
    if (params.dims() < 1) {
      return ctx->InvalidArgument("params must be at least 1 dimensional");
    }
    const int64_t n = params.dim_size(0);
    const int64_t row = n == 0 ? 0 : params.NumElements() / n;
    std::vector<int64_t> idx(indices.NumElements());
    for (size_t i = 0; i < idx.size(); ++i) {
      idx[i] = indices.dtype() == DT_INT32 ? int64_t{indices.flat<int32_t>()[i]}
                                           : indices.flat<int64_t>()[i];
      if (idx[i] < 0 || idx[i] >= n) {
        return ctx->InvalidArgument("indices[", i, "] = ", idx[i], " is not in [0, ", n, ")");
      }
    }
    std::vector<int64_t> dims(indices.shape().dim_sizes().begin(),
                              indices.shape().dim_sizes().end());
    dims.insert(dims.end(), params.shape().dim_sizes().begin() + 1,
                params.shape().dim_sizes().end());
    Tensor* out = ctx->allocate_output(0, TensorShape(dims));
    if (params.dtype() == DT_STRING) {  // Objects, not bytes.
      const std::string* src = params.flat<std::string>().data();
      std::string* dst = out->flat<std::string>().data();
      for (size_t i = 0; i < idx.size(); ++i) std::copy_n(src + idx[i] * row, row, dst + i * row);
      return absl::OkStatus();
    }
    const size_t bytes = static_cast<size_t>(row) * DataTypeSize(params.dtype());
    const char* src = static_cast<const char*>(params.data());
    char* dst = static_cast<char*>(out->data());
    for (size_t i = 0; i < idx.size(); ++i) {
      if (bytes > 0) std::memcpy(dst + i * bytes, src + idx[i] * bytes, bytes);
    }
    return absl::OkStatus();
  }

 private:
  DataType dtype_;
};
REGISTER_KERNEL("ResourceGather", ResourceGatherOp);

// ---------------------------------------------------------------------------------------------
// ResourceApplyGradientDescent, ResourceApplyMomentum, ResourceApplyAdam

// The handles' distinct variables, locked in address order (no deadlock between concurrent
// updates of overlapping sets), each initialized, float, of `grad`'s shape and copied when
// shared. `names` name the handle inputs in errors.
class LockedFloatVariables {
 public:
  absl::Status Lock(OpKernelContext* ctx, std::initializer_list<int> inputs,
                    const Tensor& grad) {
    for (int i : inputs) {
      DFLOW_ASSIGN_OR_RETURN(Variable * v, VariableOf(ctx, ctx->input(i), "a variable handle"));
      vars_.push_back(v);
    }
    std::vector<Variable*> order = vars_;
    std::sort(order.begin(), order.end());
    order.erase(std::unique(order.begin(), order.end()), order.end());
    for (Variable* v : order) locks_.emplace_back(v->mu);
    if (grad.dtype() != DT_FLOAT) {
      return ctx->InvalidArgument("grad must be float, got ", DataTypeString(grad.dtype()));
    }
    for (Variable* v : order) {
      if (!v->value.IsInitialized()) return Uninitialized(*v);
      if (v->value.dtype() != DT_FLOAT || v->value.shape() != grad.shape()) {
        return ctx->InvalidArgument("variable ", v->name, " (",
                                    DataTypeString(v->value.dtype()), " ",
                                    v->value.shape().DebugString(),
                                    ") must be float of the gradient's shape ",
                                    grad.shape().DebugString());
      }
      if (!v->value.BufferIsExclusive()) v->value = v->value.DeepCopy();
    }
    return absl::OkStatus();
  }
  float* data(int k) { return vars_[k]->value.flat<float>().data(); }

 private:
  std::vector<Variable*> vars_;
  std::vector<std::unique_lock<VariableMutex>> locks_;
};

absl::StatusOr<float> FloatScalar(OpKernelContext* ctx, int i, absl::string_view what) {
  const Tensor& t = ctx->input(i);
  if (t.dtype() != DT_FLOAT || t.dims() != 0) {
    return ctx->InvalidArgument(what, " must be a float scalar, got ", DataTypeString(t.dtype()),
                                " ", t.shape().DebugString());
  }
  return t.scalar<float>();
}

class ResourceApplyGradientDescentOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) override {
    DFLOW_ASSIGN_OR_RETURN(const float alpha, FloatScalar(ctx, 1, "alpha"));
    const Tensor& delta = ctx->input(2);
    LockedFloatVariables vars;
    DFLOW_RETURN_IF_ERROR(vars.Lock(ctx, {0}, delta));
    float* var = vars.data(0);
    const float* d = delta.flat<float>().data();
    for (int64_t i = 0; i < delta.NumElements(); ++i) var[i] -= alpha * d[i];
    return absl::OkStatus();
  }
};
REGISTER_KERNEL("ResourceApplyGradientDescent", ResourceApplyGradientDescentOp, "T", {DT_FLOAT});

class ResourceApplyMomentumOp : public OpKernel {
 public:
  explicit ResourceApplyMomentumOp(const Node& node) : OpKernel(node) {
    GetAttr(node.attrs(), "use_nesterov", &nesterov_).IgnoreError();
  }
  absl::Status Compute(OpKernelContext* ctx) override {
    DFLOW_ASSIGN_OR_RETURN(const float lr, FloatScalar(ctx, 2, "lr"));
    DFLOW_ASSIGN_OR_RETURN(const float momentum, FloatScalar(ctx, 4, "momentum"));
    const Tensor& grad = ctx->input(3);
    LockedFloatVariables vars;
    DFLOW_RETURN_IF_ERROR(vars.Lock(ctx, {0, 1}, grad));
    float* var = vars.data(0);
    float* accum = vars.data(1);
    const float* g = grad.flat<float>().data();
    for (int64_t i = 0; i < grad.NumElements(); ++i) {
      accum[i] = accum[i] * momentum + g[i];
      var[i] -= nesterov_ ? g[i] * lr + accum[i] * momentum * lr : lr * accum[i];
    }
    return absl::OkStatus();
  }

 private:
  bool nesterov_ = false;
};
REGISTER_KERNEL("ResourceApplyMomentum", ResourceApplyMomentumOp, "T", {DT_FLOAT});

class ResourceApplyAdamOp : public OpKernel {
 public:
  explicit ResourceApplyAdamOp(const Node& node) : OpKernel(node) {
    GetAttr(node.attrs(), "use_nesterov", &nesterov_).IgnoreError();
  }
  absl::Status Compute(OpKernelContext* ctx) override {
    DFLOW_ASSIGN_OR_RETURN(const float beta1_power, FloatScalar(ctx, 3, "beta1_power"));
    DFLOW_ASSIGN_OR_RETURN(const float beta2_power, FloatScalar(ctx, 4, "beta2_power"));
    DFLOW_ASSIGN_OR_RETURN(const float lr, FloatScalar(ctx, 5, "lr"));
    DFLOW_ASSIGN_OR_RETURN(const float beta1, FloatScalar(ctx, 6, "beta1"));
    DFLOW_ASSIGN_OR_RETURN(const float beta2, FloatScalar(ctx, 7, "beta2"));
    DFLOW_ASSIGN_OR_RETURN(const float epsilon, FloatScalar(ctx, 8, "epsilon"));
    const Tensor& grad = ctx->input(9);
    LockedFloatVariables vars;
    DFLOW_RETURN_IF_ERROR(vars.Lock(ctx, {0, 1, 2}, grad));
    float* var = vars.data(0);
    float* m = vars.data(1);
    float* v = vars.data(2);
    const float* g = grad.flat<float>().data();
    const float lr_t = lr * std::sqrt(1 - beta2_power) / (1 - beta1_power);
    for (int64_t i = 0; i < grad.NumElements(); ++i) {
      m[i] += (g[i] - m[i]) * (1 - beta1);
      v[i] += (g[i] * g[i] - v[i]) * (1 - beta2);
      const float step = nesterov_ ? m[i] * beta1 + (1 - beta1) * g[i] : m[i];
      var[i] -= lr_t * step / (std::sqrt(v[i]) + epsilon);
    }
    return absl::OkStatus();
  }

 private:
  bool nesterov_ = false;
};
REGISTER_KERNEL("ResourceApplyAdam", ResourceApplyAdamOp, "T", {DT_FLOAT});

}  // namespace
}  // namespace dflow
