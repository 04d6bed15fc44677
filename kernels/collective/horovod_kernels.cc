// Kernels for HorovodAllreduce, HorovodBroadcast and HorovodAllgather (float, int32, int64).
// Each hands its tensor to the process's MpiContext and blocks until every rank has submitted
// the same node name and the collective ran (or failed on every rank with an error naming the
// rank at fault): mpi_context.h, negotiation.h, docs/distributed.md.
#include <cstdint>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "graph/status_macros.h"
#include "kernels/collective/mpi_context.h"
#include "kernels/op_kernel.h"

namespace dflow {
namespace {

// The request every collective sends: the node's name, what it is, and this rank's tensor.
CollectiveWork MakeWork(const Node& node, CollectiveKind kind, const Tensor& t, int64_t attr) {
  CollectiveWork work;
  work.request.name = node.name();
  work.request.kind = kind;
  work.request.dtype = t.dtype();
  work.request.dims.assign(t.shape().dim_sizes().begin(), t.shape().dim_sizes().end());
  work.request.attr = attr;
  work.count = t.NumElements();
  return work;
}

// out = in * factor; integers are scaled in double and truncated toward zero.
template <typename T>
void Scale(const T* in, T* out, int64_t n, double factor) {
  if (factor == 1.0) {
    if (in != out && n > 0) std::memcpy(out, in, sizeof(T) * n);
    return;
  }
  for (int64_t i = 0; i < n; ++i) out[i] = static_cast<T>(static_cast<double>(in[i]) * factor);
}

// Calls fn(T{}) for the kernels' dtypes.
template <typename Fn>
absl::Status ForKernelType(DataType dtype, Fn fn) {
  switch (dtype) {
    case DT_FLOAT: fn(float{}); return absl::OkStatus();
    case DT_INT32: fn(int32_t{}); return absl::OkStatus();
    case DT_INT64: fn(int64_t{}); return absl::OkStatus();
    default:
      return absl::UnimplementedError(
          absl::StrCat("no collective kernel for dtype ", DataTypeString(dtype)));
  }
}

// ---- HorovodAllreduce

class HorovodAllreduceOp : public OpKernel {
 public:
  explicit HorovodAllreduceOp(const Node& node) : OpKernel(node) {
    int64_t process_set_id = 0;
    absl::Status s = GetNodeAttr(node, "reduce_op", &reduce_op_);
    if (s.ok()) s = GetNodeAttr(node, "prescale_factor", &prescale_);
    if (s.ok()) s = GetNodeAttr(node, "postscale_factor", &postscale_);
    if (s.ok()) s = GetNodeAttr(node, "process_set_id", &process_set_id);
    if (s.ok() && reduce_op_ == static_cast<int64_t>(ReduceOp::kAdasum)) {
      s = absl::UnimplementedError("reduce_op 2 (Adasum) is not supported");
    } else if (s.ok() && (reduce_op_ < 0 || reduce_op_ > 5)) {
      s = absl::InvalidArgumentError(absl::StrCat(
          "reduce_op ", reduce_op_, " is not one of Horovod's (0 average, 1 sum, 3 min, 4 max, "
          "5 product)"));
    } else if (s.ok() && process_set_id != 0) {
      s = absl::UnimplementedError(absl::StrCat(
          "process_set_id ", process_set_id, ": only the global process set (0) is supported"));
    }
    if (!s.ok()) SetConstructionError(s);
  }

  absl::Status Compute(OpKernelContext* ctx) override {
    DFLOW_ASSIGN_OR_RETURN(MpiContext * mpi, MpiContext::Get());
    const Tensor& in = ctx->input(0);
    Tensor* out = ctx->allocate_output(0, in.shape());
    CollectiveWork work = MakeWork(node(), CollectiveKind::kAllreduce, in, reduce_op_);
    work.buffer = out->data();
    const bool average = reduce_op_ == static_cast<int64_t>(ReduceOp::kAverage);
    const double post = average ? double{postscale_} / mpi->size() : double{postscale_};
    absl::Status status;
    DFLOW_RETURN_IF_ERROR(ForKernelType(in.dtype(), [&](auto zero) {
      using T = decltype(zero);
      T* data = out->flat<T>().data();
      Scale(in.flat<T>().data(), data, in.NumElements(), prescale_);
      status = mpi->Run(&work);
      if (status.ok()) Scale(data, data, in.NumElements(), post);
    }));
    return status;
  }

 private:
  int64_t reduce_op_ = 1;
  float prescale_ = 1.0f;
  float postscale_ = 1.0f;
};

REGISTER_KERNEL("HorovodAllreduce", HorovodAllreduceOp, "T", {DT_FLOAT, DT_INT32, DT_INT64});

// ---- HorovodBroadcast

class HorovodBroadcastOp : public OpKernel {
 public:
  explicit HorovodBroadcastOp(const Node& node) : OpKernel(node) {
    int64_t process_set_id = 0;
    absl::Status s = GetNodeAttr(node, "root_rank", &root_rank_);
    if (s.ok()) s = GetNodeAttr(node, "process_set_id", &process_set_id);
    if (s.ok() && process_set_id != 0) {
      s = absl::UnimplementedError(absl::StrCat(
          "process_set_id ", process_set_id, ": only the global process set (0) is supported"));
    }
    if (!s.ok()) SetConstructionError(s);
  }

  absl::Status Compute(OpKernelContext* ctx) override {
    DFLOW_ASSIGN_OR_RETURN(MpiContext * mpi, MpiContext::Get());
    if (root_rank_ < 0 || root_rank_ >= mpi->size()) {
      return OpKernelContext::InvalidArgument("root_rank ", root_rank_, " is not in [0, ",
                                              mpi->size(), ")");
    }
    const Tensor& in = ctx->input(0);
    Tensor* out = ctx->allocate_output(0, in.shape());
    if (mpi->rank() == root_rank_ && in.TotalBytes() > 0) {
      std::memcpy(out->data(), in.data(), in.TotalBytes());
    }
    CollectiveWork work = MakeWork(node(), CollectiveKind::kBroadcast, in, root_rank_);
    work.buffer = out->data();
    return mpi->Run(&work);
  }

 private:
  int64_t root_rank_ = 0;
};

REGISTER_KERNEL("HorovodBroadcast", HorovodBroadcastOp, "T", {DT_FLOAT, DT_INT32, DT_INT64});

// ---- HorovodAllgather

class HorovodAllgatherOp : public OpKernel {
 public:
  explicit HorovodAllgatherOp(const Node& node) : OpKernel(node) {
    int64_t process_set_id = 0;
    absl::Status s = GetNodeAttr(node, "process_set_id", &process_set_id);
    if (s.ok() && process_set_id != 0) {
      s = absl::UnimplementedError(absl::StrCat(
          "process_set_id ", process_set_id, ": only the global process set (0) is supported"));
    }
    if (!s.ok()) SetConstructionError(s);
  }

  absl::Status Compute(OpKernelContext* ctx) override {
    DFLOW_ASSIGN_OR_RETURN(MpiContext * mpi, MpiContext::Get());
    const Tensor& in = ctx->input(0);
    CollectiveWork work = MakeWork(node(), CollectiveKind::kAllgather, in, 0);
    if (in.dims() == 0) {
      work.local = OpKernelContext::InvalidArgument(
          "cannot gather a scalar: tensor must have rank >= 1");
    }
    work.send = in.data();
    for (int d = 1; d < in.dims(); ++d) work.inner *= in.dim_size(d);
    DFLOW_RETURN_IF_ERROR(mpi->Run(&work));
    int64_t rows = 0;
    for (int64_t dim0 : work.dim0s) rows += dim0;
    TensorShape shape = in.shape();
    shape.set_dim(0, rows);
    Tensor* out = ctx->allocate_output(0, shape);
    if (!work.gathered.empty()) std::memcpy(out->data(), work.gathered.data(), out->TotalBytes());
    return absl::OkStatus();
  }
};

REGISTER_KERNEL("HorovodAllgather", HorovodAllgatherOp, "T", {DT_FLOAT, DT_INT32, DT_INT64});

}  // namespace
}  // namespace dflow
