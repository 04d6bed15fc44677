// Kernels of the TensorArray and stack ops (ops/tensor_array_ops.h), with TensorFlow's rules:
// an element is written once (gradient arrays add up repeated writes), a read of an element
// never written gives zeros when the element shape is fully known and is an error otherwise, a
// clear_after_read array cannot be read twice at one index, and only dynamic_size arrays grow.
#include <algorithm>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "graph/status_macros.h"
#include "kernels/op_kernel.h"

namespace dflow {
namespace {

using Ctx = OpKernelContext;

absl::StatusOr<RunResources*> Resources(Ctx* ctx) {
  if (ctx->resources() == nullptr) {
    return absl::FailedPreconditionError("TensorArrays and stacks exist only within a run");
  }
  return ctx->resources();
}

absl::StatusOr<TensorArray*> GetArray(Ctx* ctx) {
  DFLOW_ASSIGN_OR_RETURN(RunResources * r, Resources(ctx));
  return r->GetTensorArray(ctx->input(0));
}

absl::StatusOr<int32_t> Index(const Tensor& t, const char* what) {
  if (t.dtype() != DT_INT32 || t.dims() != 0) {
    return absl::InvalidArgumentError(absl::StrCat(what, " must be an int32 scalar"));
  }
  return t.scalar<int32_t>();
}

// Checks that `value` may be element `index` of `array` (dtype, shape, bounds) and grows a
// dynamic array to hold it.
absl::Status CheckWrite(TensorArray* array, int64_t index, const Tensor& value) {
  if (value.dtype() != array->dtype) {
    return absl::InvalidArgumentError(absl::StrCat("TensorArray of ", DataTypeString(array->dtype),
                                                   " cannot hold a ", DataTypeString(value.dtype())));
  }
  if (!array->element_shape.IsCompatibleWith(value.shape())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "could not write to TensorArray index ", index, ": element shape ",
        array->element_shape.DebugString(), " does not fit value of shape ",
        value.shape().DebugString()));
  }
  if (index < 0) return absl::InvalidArgumentError(absl::StrCat("negative index ", index));
  if (index >= static_cast<int64_t>(array->values.size())) {
    if (!array->dynamic_size) {
      return absl::InvalidArgumentError(absl::StrCat(
          "tried to write to index ", index, " but the array is not resizeable and has size ",
          array->values.size()));
    }
    array->values.resize(index + 1);
    array->written.resize(index + 1, false);
  }
  return absl::OkStatus();
}

absl::Status Write(TensorArray* array, int64_t index, Tensor value, bool aggregate) {
  DFLOW_RETURN_IF_ERROR(CheckWrite(array, index, value));
  if (array->written[index]) {
    if (!aggregate) {
      return absl::InvalidArgumentError(absl::StrCat(
          "could not write to TensorArray index ", index,
          " because it has already been written to"));
    }
    Tensor& old = array->values[index];
    if (old.shape() != value.shape() || value.dtype() != DT_FLOAT) {
      return absl::InvalidArgumentError(absl::StrCat("cannot add writes of different shapes at index ", index));
    }
    Tensor sum = old.DeepCopy();
    auto s = sum.flat<float>();
    auto v = value.flat<float>();
    for (int64_t i = 0; i < s.size(); ++i) s[i] += v[i];
    old = std::move(sum);
    return absl::OkStatus();
  }
  array->values[index] = std::move(value);
  array->written[index] = true;
  return absl::OkStatus();
}

absl::StatusOr<Tensor> Read(TensorArray* array, int64_t index) {
  if (index < 0 || index >= static_cast<int64_t>(array->values.size())) {
    return absl::InvalidArgumentError(absl::StrCat("tried to read from index ", index,
                                                   " but the array has size ", array->values.size()));
  }
  if (!array->written[index]) {
    absl::StatusOr<TensorShape> shape = array->element_shape.AsTensorShape();
    if (!shape.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "could not read from TensorArray index ", index,
          ": it was never written and the element shape ", array->element_shape.DebugString(),
          " is not fully defined"));
    }
    Tensor zeros(array->dtype, *shape);
    std::memset(zeros.data(), 0, zeros.TotalBytes());
    return zeros;
  }
  if (!array->values[index].IsInitialized()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "could not read index ", index, " twice because it was cleared after a previous read "
        "(perhaps try setting clear_after_read = false?)"));
  }
  Tensor value = array->values[index];
  if (array->clear_after_read) array->values[index] = Tensor();
  return value;
}

// Copies `count` elements of `src` from element src_off to `dst` (same dtype) from dst_off;
// strings as objects (their TotalBytes is 0), the rest as bytes.
void CopyFlat(const Tensor& src, int64_t src_off, int64_t count, Tensor* dst, int64_t dst_off) {
  if (count <= 0) return;
  if (src.dtype() == DT_STRING) {
    std::copy_n(src.flat<std::string>().data() + src_off, count,
                dst->flat<std::string>().data() + dst_off);
    return;
  }
  const size_t b = static_cast<size_t>(DataTypeSize(src.dtype()));
  std::memcpy(static_cast<char*>(dst->data()) + dst_off * b,
              static_cast<const char*>(src.data()) + src_off * b, static_cast<size_t>(count) * b);
}

// The rows [begin, begin + n) of `t` along dimension 0, as a new tensor of `shape`.
Tensor Rows(const Tensor& t, int64_t begin, int64_t n, const TensorShape& shape) {
  Tensor out(t.dtype(), shape);
  const int64_t row = t.dims() == 0 || t.dim_size(0) == 0 ? 0 : t.NumElements() / t.dim_size(0);
  CopyFlat(t, begin * row, n * row, &out, 0);
  return out;
}

// ---- TensorArrayV3, TensorArrayGradV3

class TensorArrayOp : public OpKernel {
 public:
  explicit TensorArrayOp(const Node& node) : OpKernel(node) {
    absl::Status s = GetAttr(node.attrs(), "dtype", &dtype_);
    if (s.ok()) s = GetAttr(node.attrs(), "element_shape", &element_shape_);
    if (s.ok()) s = GetAttr(node.attrs(), "dynamic_size", &dynamic_size_);
    if (s.ok()) s = GetAttr(node.attrs(), "clear_after_read", &clear_after_read_);
    if (!s.ok()) SetConstructionError(s);
  }
  absl::Status Compute(Ctx* ctx) override {
    DFLOW_ASSIGN_OR_RETURN(int32_t size, Index(ctx->input(0), "size"));
    if (size < 0) return Ctx::InvalidArgument("size must be >= 0, got ", size);
    DFLOW_ASSIGN_OR_RETURN(RunResources * r, Resources(ctx));
    auto array = std::make_unique<TensorArray>();
    array->dtype = dtype_;
    array->element_shape = element_shape_;
    array->dynamic_size = dynamic_size_;
    array->clear_after_read = clear_after_read_;
    array->values.resize(size);
    array->written.resize(size, false);
    ctx->set_output(0, r->AddTensorArray(std::move(array)));
    ctx->set_output(1, Tensor::Scalar<float>(0.0f));
    return absl::OkStatus();
  }

 private:
  DataType dtype_ = DT_INVALID;
  PartialTensorShape element_shape_;
  bool dynamic_size_ = false, clear_after_read_ = true;
};
REGISTER_KERNEL("TensorArrayV3", TensorArrayOp);

// The gradient array of `handle` for `source`: same size and element shape, created on first use;
// repeated writes add up (gradients from several uses of one element).
class TensorArrayGradOp : public OpKernel {
 public:
  explicit TensorArrayGradOp(const Node& node) : OpKernel(node) {
    absl::Status s = GetAttr(node.attrs(), "source", &source_);
    if (!s.ok()) SetConstructionError(s);
  }
  absl::Status Compute(Ctx* ctx) override {
    DFLOW_ASSIGN_OR_RETURN(RunResources * r, Resources(ctx));
    DFLOW_ASSIGN_OR_RETURN(TensorArray * forward, r->GetTensorArray(ctx->input(0)));
    auto it = forward->grads.find(source_);
    if (it == forward->grads.end()) {
      auto grad = std::make_unique<TensorArray>();
      grad->dtype = forward->dtype;
      grad->element_shape = forward->element_shape;
      grad->clear_after_read = false;
      grad->multiple_writes_aggregate = true;
      grad->values.resize(forward->values.size());
      grad->written.resize(forward->values.size(), false);
      Tensor handle = r->AddTensorArray(std::move(grad));
      forward->grads[source_] = RunResources::Id(handle);
      ctx->set_output(0, handle);
    } else {
      ctx->set_output(0, RunResources::TensorArrayHandle(it->second));
    }
    ctx->set_output(1, ctx->input(1));
    return absl::OkStatus();
  }

 private:
  std::string source_;
};
REGISTER_KERNEL("TensorArrayGradV3", TensorArrayGradOp);

// ---- TensorArrayWriteV3, TensorArrayScatterV3, TensorArraySplitV3

class TensorArrayWriteOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(Ctx* ctx) override {
    DFLOW_ASSIGN_OR_RETURN(TensorArray * array, GetArray(ctx));
    DFLOW_ASSIGN_OR_RETURN(int32_t index, Index(ctx->input(1), "index"));
    DFLOW_RETURN_IF_ERROR(Write(array, index, ctx->input(2), array->multiple_writes_aggregate));
    ctx->set_output(0, ctx->input(3));
    return absl::OkStatus();
  }
};
REGISTER_KERNEL("TensorArrayWriteV3", TensorArrayWriteOp);

class TensorArrayScatterOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(Ctx* ctx) override {
    DFLOW_ASSIGN_OR_RETURN(TensorArray * array, GetArray(ctx));
    const Tensor& indices = ctx->input(1);
    const Tensor& value = ctx->input(2);
    DFLOW_RETURN_IF_ERROR(CheckInput(indices, "indices", DT_INT32, 1));
    if (value.dims() < 1 || value.dim_size(0) != indices.NumElements()) {
      return Ctx::InvalidArgument("value of shape ", value.shape().DebugString(),
                                  " must have one row per index (", indices.NumElements(), ")");
    }
    TensorShape row = value.shape();
    row.RemoveDim(0);
    auto idx = indices.flat<int32_t>();
    for (int64_t i = 0; i < idx.size(); ++i) {
      DFLOW_RETURN_IF_ERROR(Write(array, idx[i], Rows(value, i, 1, row), array->multiple_writes_aggregate));
    }
    ctx->set_output(0, ctx->input(3));
    return absl::OkStatus();
  }
};
REGISTER_KERNEL("TensorArrayScatterV3", TensorArrayScatterOp);

class TensorArraySplitOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(Ctx* ctx) override {
    DFLOW_ASSIGN_OR_RETURN(TensorArray * array, GetArray(ctx));
    const Tensor& value = ctx->input(1);
    const Tensor& lengths = ctx->input(2);
    DFLOW_RETURN_IF_ERROR(CheckInput(lengths, "lengths", DT_INT64, 1));
    if (value.dims() < 1) return Ctx::InvalidArgument("value must have rank >= 1");
    int64_t total = 0;
    for (int64_t n : lengths.flat<int64_t>()) {
      if (n < 0) return Ctx::InvalidArgument("negative length ", n);
      total += n;
    }
    if (total != value.dim_size(0)) {
      return Ctx::InvalidArgument("lengths add up to ", total, " but value has ",
                                  value.dim_size(0), " rows");
    }
    int64_t begin = 0;
    auto lens = lengths.flat<int64_t>();
    for (int64_t i = 0; i < lens.size(); ++i) {
      TensorShape piece = value.shape();
      piece.set_dim(0, lens[i]);
      DFLOW_RETURN_IF_ERROR(Write(array, i, Rows(value, begin, lens[i], piece), array->multiple_writes_aggregate));
      begin += lens[i];
    }
    ctx->set_output(0, ctx->input(3));
    return absl::OkStatus();
  }
};
REGISTER_KERNEL("TensorArraySplitV3", TensorArraySplitOp);

// ---- TensorArrayReadV3, TensorArrayGatherV3, TensorArrayConcatV3

class TensorArrayReadOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(Ctx* ctx) override {
    DFLOW_ASSIGN_OR_RETURN(TensorArray * array, GetArray(ctx));
    DFLOW_ASSIGN_OR_RETURN(int32_t index, Index(ctx->input(1), "index"));
    DFLOW_ASSIGN_OR_RETURN(Tensor value, Read(array, index));
    ctx->set_output(0, std::move(value));
    return absl::OkStatus();
  }
};
REGISTER_KERNEL("TensorArrayReadV3", TensorArrayReadOp);

class TensorArrayGatherOp : public OpKernel {
 public:
  explicit TensorArrayGatherOp(const Node& node) : OpKernel(node) {
    absl::Status s = GetAttr(node.attrs(), "element_shape", &element_shape_);
    if (!s.ok()) SetConstructionError(s);
  }
  absl::Status Compute(Ctx* ctx) override {
    DFLOW_ASSIGN_OR_RETURN(TensorArray * array, GetArray(ctx));
    const Tensor& indices = ctx->input(1);
    DFLOW_RETURN_IF_ERROR(CheckInput(indices, "indices", DT_INT32, 1));
    std::vector<Tensor> parts;
    for (int32_t i : indices.flat<int32_t>()) {
      DFLOW_ASSIGN_OR_RETURN(Tensor part, Read(array, i));
      if (!parts.empty() && part.shape() != parts[0].shape()) {
        return Ctx::InvalidArgument("TensorArray has elements of different shapes: ",
                                    parts[0].shape().DebugString(), " and ",
                                    part.shape().DebugString());
      }
      parts.push_back(std::move(part));
    }
    TensorShape element;
    if (!parts.empty()) {
      element = parts[0].shape();
    } else {
      PartialTensorShape known = element_shape_.unknown_rank() ? array->element_shape : element_shape_;
      absl::StatusOr<TensorShape> full = known.AsTensorShape();
      if (!full.ok()) {
        return Ctx::InvalidArgument("gathering no elements needs a fully defined element shape, got ",
                                    known.DebugString());
      }
      element = *full;
    }
    std::vector<int64_t> dims = {static_cast<int64_t>(parts.size())};
    dims.insert(dims.end(), element.dim_sizes().begin(), element.dim_sizes().end());
    const TensorShape shape(absl::MakeConstSpan(dims));
    Tensor* out = ctx->allocate_output(0, shape);
    int64_t at = 0;
    for (const Tensor& p : parts) {
      CopyFlat(p, 0, p.NumElements(), out, at);
      at += p.NumElements();
    }
    return absl::OkStatus();
  }

 private:
  PartialTensorShape element_shape_;
};
REGISTER_KERNEL("TensorArrayGatherV3", TensorArrayGatherOp);

class TensorArrayConcatOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(Ctx* ctx) override {
    DFLOW_ASSIGN_OR_RETURN(TensorArray * array, GetArray(ctx));
    std::vector<Tensor> parts;
    int64_t rows = 0;
    for (int64_t i = 0; i < static_cast<int64_t>(array->values.size()); ++i) {
      DFLOW_ASSIGN_OR_RETURN(Tensor part, Read(array, i));
      if (part.dims() < 1) return Ctx::InvalidArgument("element ", i, " is a scalar; cannot concatenate");
      if (!parts.empty()) {
        TensorShape a = part.shape(), b = parts[0].shape();
        a.set_dim(0, 0);
        b.set_dim(0, 0);
        if (a != b) return Ctx::InvalidArgument("elements differ beyond dimension 0");
      }
      rows += part.dim_size(0);
      parts.push_back(std::move(part));
    }
    if (parts.empty()) return Ctx::InvalidArgument("concatenating an empty TensorArray");
    TensorShape shape = parts[0].shape();
    shape.set_dim(0, rows);
    Tensor* out = ctx->allocate_output(0, shape);
    Tensor* lengths = ctx->allocate_output(1, TensorShape({static_cast<int64_t>(parts.size())}));
    int64_t at = 0;
    for (size_t i = 0; i < parts.size(); ++i) {
      CopyFlat(parts[i], 0, parts[i].NumElements(), out, at);
      at += parts[i].NumElements();
      lengths->flat<int64_t>()[i] = parts[i].dim_size(0);
    }
    return absl::OkStatus();
  }
};
REGISTER_KERNEL("TensorArrayConcatV3", TensorArrayConcatOp);

// ---- TensorArraySizeV3, TensorArrayCloseV3

class TensorArraySizeOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(Ctx* ctx) override {
    DFLOW_ASSIGN_OR_RETURN(TensorArray * array, GetArray(ctx));
    ctx->set_output(0, Tensor::Scalar<int32_t>(static_cast<int32_t>(array->values.size())));
    return absl::OkStatus();
  }
};
REGISTER_KERNEL("TensorArraySizeV3", TensorArraySizeOp);

// Closing only checks the handle: the run frees its resources when it ends.
class ResourceCloseOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(Ctx* ctx) override {
    DFLOW_ASSIGN_OR_RETURN(RunResources * r, Resources(ctx));
    if (node().op() == "StackCloseV2") return r->GetStack(ctx->input(0)).status();
    return r->GetTensorArray(ctx->input(0)).status();
  }
};
REGISTER_KERNEL("TensorArrayCloseV3", ResourceCloseOp);
REGISTER_KERNEL("StackCloseV2", ResourceCloseOp);

// ---- StackV2, StackPushV2, StackPopV2

class StackOp : public OpKernel {
 public:
  explicit StackOp(const Node& node) : OpKernel(node) {
    absl::Status s = GetAttr(node.attrs(), "elem_type", &dtype_);
    if (!s.ok()) SetConstructionError(s);
  }
  absl::Status Compute(Ctx* ctx) override {
    DFLOW_ASSIGN_OR_RETURN(int32_t max_size, Index(ctx->input(0), "max_size"));
    DFLOW_ASSIGN_OR_RETURN(RunResources * r, Resources(ctx));
    auto stack = std::make_unique<Stack>();
    stack->dtype = dtype_;
    stack->max_size = max_size < 0 ? -1 : max_size;
    ctx->set_output(0, r->AddStack(std::move(stack)));
    return absl::OkStatus();
  }

 private:
  DataType dtype_ = DT_INVALID;
};
REGISTER_KERNEL("StackV2", StackOp);

class StackPushOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(Ctx* ctx) override {
    DFLOW_ASSIGN_OR_RETURN(RunResources * r, Resources(ctx));
    DFLOW_ASSIGN_OR_RETURN(Stack * stack, r->GetStack(ctx->input(0)));
    const Tensor& elem = ctx->input(1);
    if (elem.dtype() != stack->dtype) {
      return Ctx::InvalidArgument("pushing ", DataTypeString(elem.dtype()), " on a stack of ",
                                  DataTypeString(stack->dtype));
    }
    if (stack->max_size >= 0 && static_cast<int64_t>(stack->values.size()) >= stack->max_size) {
      return Ctx::InvalidArgument("stack is full (max_size ", stack->max_size, ")");
    }
    stack->values.push_back(elem);
    ctx->set_output(0, elem);
    return absl::OkStatus();
  }
};
REGISTER_KERNEL("StackPushV2", StackPushOp);

class StackPopOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(Ctx* ctx) override {
    DFLOW_ASSIGN_OR_RETURN(RunResources * r, Resources(ctx));
    DFLOW_ASSIGN_OR_RETURN(Stack * stack, r->GetStack(ctx->input(0)));
    if (stack->values.empty()) return Ctx::InvalidArgument("popping from an empty stack");
    ctx->set_output(0, std::move(stack->values.back()));
    stack->values.pop_back();
    return absl::OkStatus();
  }
};
REGISTER_KERNEL("StackPopV2", StackPopOp);

}  // namespace
}  // namespace dflow
