// Kernels for HorovodAllreduce, HorovodBroadcast and HorovodAllgather (float, int32, int64), on
// the process's MpiContext. Each runs its collective synchronously inside Compute, holding the
// context's mutex, so one process never interleaves two collectives.
//
// Every collective starts with a handshake: each rank contributes a small header (whether it
// failed locally, which collective by node-name hash, dtype, shape, the attr that must agree)
// and every rank checks all headers. So mismatched tensors, a local error on one rank, or ranks
// that reached different collectives give the same clear error on every rank instead of a
// hang or garbage. A rank that never reaches the collective at all (it failed earlier, or is
// at a non-collective op forever) still blocks the others: see docs/distributed.md.
#include <cstdint>
#include <cstring>
#include <mutex>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "graph/status_macros.h"
#include "kernels/collective/mpi_context.h"
#include "kernels/op_kernel.h"

namespace dflow {
namespace {

enum HeaderField { kStatus, kKind, kName, kDtype, kDims, kDim0, kInner, kAttr, kHeaderLen };
enum Kind : int64_t { kAllreduce = 1, kBroadcast = 2, kAllgather = 3 };

// FNV-1a: stable across processes (absl::Hash is seeded per process).
uint64_t Fnv1a(const void* data, size_t len, uint64_t h = 1469598103934665603ull) {
  const unsigned char* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < len; ++i) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

int64_t AsInt64(uint64_t v) {
  int64_t r;
  std::memcpy(&r, &v, sizeof(r));
  return r;
}

// All ranks' headers, size() * kHeaderLen values, once every rank agrees; else the same error
// on every rank. `local` is this rank's own error, if any, reported in its place.
absl::StatusOr<std::vector<int64_t>> Handshake(MpiContext* mpi, const Node& node, Kind kind,
                                               const Tensor& t, int64_t attr,
                                               absl::string_view attr_name, bool same_dim0,
                                               const absl::Status& local) {
  int64_t mine[kHeaderLen] = {};
  mine[kStatus] = local.ok() ? 0 : 1;
  mine[kKind] = kind;
  mine[kName] = AsInt64(Fnv1a(node.name().data(), node.name().size()));
  mine[kDtype] = t.dtype();
  mine[kDims] = t.dims();
  mine[kDim0] = t.dims() > 0 ? t.dim_size(0) : -1;
  uint64_t inner = Fnv1a(nullptr, 0);
  for (int d = 1; d < t.dims(); ++d) {
    const int64_t size = t.dim_size(d);
    inner = Fnv1a(&size, sizeof(size), inner);
  }
  mine[kInner] = AsInt64(inner);
  mine[kAttr] = attr;
  std::vector<int64_t> all(static_cast<size_t>(mpi->size()) * kHeaderLen);
  DFLOW_RETURN_IF_ERROR(mpi->AllgatherInt64(mine, kHeaderLen, all.data()));
  for (int r = 0; r < mpi->size(); ++r) {
    if (all[r * kHeaderLen + kStatus] != 0) {
      if (r == mpi->rank()) return local;
      return absl::AbortedError(absl::StrCat("rank ", r, " failed at this collective"));
    }
  }
  const int64_t* first = all.data();
  for (int r = 1; r < mpi->size(); ++r) {
    const int64_t* h = all.data() + r * kHeaderLen;
    if (h[kKind] != first[kKind] || h[kName] != first[kName]) {
      return absl::FailedPreconditionError(absl::StrCat(
          "rank ", r, " reached a different collective than rank 0; every rank must run the "
          "same collectives in the same order (docs/distributed.md)"));
    }
    if (h[kDtype] != first[kDtype]) {
      return absl::InvalidArgumentError(absl::StrCat(
          "rank ", r, "'s tensor is ", DataTypeString(static_cast<DataType>(h[kDtype])),
          " but rank 0's is ", DataTypeString(static_cast<DataType>(first[kDtype]))));
    }
    if (h[kDims] != first[kDims] || h[kInner] != first[kInner] ||
        (same_dim0 && h[kDim0] != first[kDim0])) {
      return absl::InvalidArgumentError(absl::StrCat(
          "rank ", r, "'s tensor (rank ", h[kDims], ", dim 0 of ", h[kDim0],
          ") does not match rank 0's (rank ", first[kDims], ", dim 0 of ", first[kDim0], ")",
          same_dim0 ? "; shapes must be equal" : "; only dimension 0 may differ"));
    }
    if (h[kAttr] != first[kAttr]) {
      return absl::InvalidArgumentError(absl::StrCat("rank ", r, " has ", attr_name, " ",
                                                     h[kAttr], " but rank 0 has ",
                                                     first[kAttr]));
    }
  }
  return all;
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
    std::lock_guard<std::mutex> lock(mpi->mutex());
    const Tensor& in = ctx->input(0);
    DFLOW_RETURN_IF_ERROR(Handshake(mpi, node(), kAllreduce, in, reduce_op_, "reduce_op",
                                    /*same_dim0=*/true, absl::OkStatus())
                              .status());
    Tensor* out = ctx->allocate_output(0, in.shape());
    const bool average = reduce_op_ == static_cast<int64_t>(ReduceOp::kAverage);
    const ReduceOp op = average ? ReduceOp::kSum : static_cast<ReduceOp>(reduce_op_);
    const double post = average ? double{postscale_} / mpi->size() : double{postscale_};
    absl::Status status;
    DFLOW_RETURN_IF_ERROR(ForKernelType(in.dtype(), [&](auto zero) {
      using T = decltype(zero);
      T* data = out->flat<T>().data();
      Scale(in.flat<T>().data(), data, in.NumElements(), prescale_);
      status = mpi->Allreduce(data, in.NumElements(), in.dtype(), op);
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
    std::lock_guard<std::mutex> lock(mpi->mutex());
    const Tensor& in = ctx->input(0);
    DFLOW_RETURN_IF_ERROR(Handshake(mpi, node(), kBroadcast, in, root_rank_, "root_rank",
                                    /*same_dim0=*/true, absl::OkStatus())
                              .status());
    Tensor* out = ctx->allocate_output(0, in.shape());
    if (mpi->rank() == root_rank_ && in.TotalBytes() > 0) {
      std::memcpy(out->data(), in.data(), in.TotalBytes());
    }
    return mpi->Broadcast(out->data(), in.NumElements(), in.dtype(),
                          static_cast<int>(root_rank_));
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
    std::lock_guard<std::mutex> lock(mpi->mutex());
    const Tensor& in = ctx->input(0);
    const absl::Status local =
        in.dims() == 0 ? OpKernelContext::InvalidArgument(
                             "cannot gather a scalar: tensor must have rank >= 1")
                       : absl::OkStatus();
    DFLOW_ASSIGN_OR_RETURN(std::vector<int64_t> headers,
                           Handshake(mpi, node(), kAllgather, in, 0, "", /*same_dim0=*/false,
                                     local));
    int64_t inner = 1;  // Elements per row: the product of dims 1..
    for (int d = 1; d < in.dims(); ++d) inner *= in.dim_size(d);
    std::vector<int64_t> counts(mpi->size());
    int64_t rows = 0;
    for (int r = 0; r < mpi->size(); ++r) {
      const int64_t dim0 = headers[r * kHeaderLen + kDim0];
      counts[r] = dim0 * inner;
      rows += dim0;
    }
    TensorShape shape = in.shape();
    shape.set_dim(0, rows);
    Tensor* out = ctx->allocate_output(0, shape);
    return mpi->Allgatherv(in.data(), counts, in.dtype(), out->data());
  }
};

REGISTER_KERNEL("HorovodAllgather", HorovodAllgatherOp, "T", {DT_FLOAT, DT_INT32, DT_INT64});

}  // namespace
}  // namespace dflow
