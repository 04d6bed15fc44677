// Kernels for HorovodAllreduce, HorovodGroupedAllreduce, HorovodBroadcast and HorovodAllgather
// (float, int32, int64). Each hands its tensors to the process's MpiContext and blocks until
// every rank has submitted the same names and the collective ran (or failed on every rank with
// an error naming the rank at fault): mpi_context.h, negotiation.h, docs/distributed.md.
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "graph/status_macros.h"
#include "kernels/collective/mpi_context.h"
#include "kernels/op_kernel.h"

namespace dflow {
namespace {

// The request every collective sends: its name (the node's), what it is, this rank's tensor.
CollectiveWork MakeWork(const std::string& name, CollectiveKind kind, const Tensor& t,
                        int64_t attr) {
  CollectiveWork work;
  work.request.name = name;
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

// HorovodAllreduce's and HorovodGroupedAllreduce's attrs, checked.
struct AllreduceAttrs {
  int64_t reduce_op = 1;
  float prescale = 1.0f;
  float postscale = 1.0f;

  absl::Status Parse(const Node& node) {
    int64_t process_set_id = 0;
    DFLOW_RETURN_IF_ERROR(GetNodeAttr(node, "reduce_op", &reduce_op));
    DFLOW_RETURN_IF_ERROR(GetNodeAttr(node, "prescale_factor", &prescale));
    DFLOW_RETURN_IF_ERROR(GetNodeAttr(node, "postscale_factor", &postscale));
    DFLOW_RETURN_IF_ERROR(GetNodeAttr(node, "process_set_id", &process_set_id));
    if (reduce_op == static_cast<int64_t>(ReduceOp::kAdasum)) {
      return absl::UnimplementedError("reduce_op 2 (Adasum) is not supported");
    }
    if (reduce_op < 0 || reduce_op > 5) {
      return absl::InvalidArgumentError(absl::StrCat(
          "reduce_op ", reduce_op, " is not one of Horovod's (0 average, 1 sum, 3 min, 4 max, "
          "5 product)"));
    }
    if (process_set_id != 0) {
      return absl::UnimplementedError(absl::StrCat(
          "process_set_id ", process_set_id, ": only the global process set (0) is supported"));
    }
    return absl::OkStatus();
  }

  // Reduces inputs [0, n) into outputs [0, n) in one submission: tensor i as `names[i]`.
  absl::Status Run(OpKernelContext* ctx, const std::vector<std::string>& names) const {
    DFLOW_ASSIGN_OR_RETURN(MpiContext * mpi, MpiContext::Get());
    const int n = static_cast<int>(names.size());
    std::vector<CollectiveWork> works;
    works.reserve(n);
    std::vector<CollectiveWork*> submit;
    std::vector<Tensor*> outs;
    for (int i = 0; i < n; ++i) {
      const Tensor& in = ctx->input(i);
      Tensor* out = ctx->allocate_output(i, in.shape());
      works.push_back(MakeWork(names[i], CollectiveKind::kAllreduce, in, reduce_op));
      works.back().buffer = out->data();
      works.back().keep_alive = {*out};
      submit.push_back(&works.back());
      outs.push_back(out);
      DFLOW_RETURN_IF_ERROR(ForKernelType(in.dtype(), [&](auto zero) {
        using T = decltype(zero);
        Scale(in.flat<T>().data(), out->flat<T>().data(), in.NumElements(), prescale);
      }));
    }
    DFLOW_RETURN_IF_ERROR(mpi->RunAll(submit));
    const bool average = reduce_op == static_cast<int64_t>(ReduceOp::kAverage);
    const double post = average ? double{postscale} / mpi->size() : double{postscale};
    for (Tensor* out : outs) {
      DFLOW_RETURN_IF_ERROR(ForKernelType(out->dtype(), [&](auto zero) {
        using T = decltype(zero);
        T* data = out->flat<T>().data();
        Scale(data, data, out->NumElements(), post);
      }));
    }
    return absl::OkStatus();
  }
};

class HorovodAllreduceOp : public OpKernel {
 public:
  explicit HorovodAllreduceOp(const Node& node) : OpKernel(node) {
    absl::Status s = attrs_.Parse(node);
    if (!s.ok()) SetConstructionError(s);
  }

  absl::Status Compute(OpKernelContext* ctx) override {
    return attrs_.Run(ctx, {node().name()});
  }

 private:
  AllreduceAttrs attrs_;
};

REGISTER_KERNEL("HorovodAllreduce", HorovodAllreduceOp, "T", {DT_FLOAT, DT_INT32, DT_INT64});

// ---- HorovodGroupedAllreduce: every tensor submitted at once, so the coordinator fuses them.

class HorovodGroupedAllreduceOp : public OpKernel {
 public:
  explicit HorovodGroupedAllreduceOp(const Node& node) : OpKernel(node) {
    absl::Status s = attrs_.Parse(node);
    if (!s.ok()) SetConstructionError(s);
  }

  absl::Status Compute(OpKernelContext* ctx) override {
    // Horovod's names for the group's tensors: "<node>_<i>of<n>", i from 1.
    const int n = ctx->num_inputs();
    std::vector<std::string> names;
    for (int i = 1; i <= n; ++i) names.push_back(absl::StrCat(node().name(), "_", i, "of", n));
    return attrs_.Run(ctx, names);
  }

 private:
  AllreduceAttrs attrs_;
};

REGISTER_KERNEL("HorovodGroupedAllreduce", HorovodGroupedAllreduceOp, "T",
                {DT_FLOAT, DT_INT32, DT_INT64});

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
    CollectiveWork work = MakeWork(node().name(), CollectiveKind::kBroadcast, in, root_rank_);
    work.buffer = out->data();
    work.keep_alive = {*out};
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
    CollectiveWork work = MakeWork(node().name(), CollectiveKind::kAllgather, in, 0);
    if (in.dims() == 0) {
      work.local = OpKernelContext::InvalidArgument(
          "cannot gather a scalar: tensor must have rank >= 1");
    }
    work.send = in.data();
    work.keep_alive = {in};
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
