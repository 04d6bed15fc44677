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
    const bool average = reduce_op == static_cast<int64_t>(ReduceOp::kAverage);
    // Applied by the collective as it writes the result (no pass of its own).
    const double post = average ? double{postscale} / mpi->size() : double{postscale};
    std::vector<CollectiveWork> works;
    works.reserve(n);
    std::vector<CollectiveWork*> submit;
    for (int i = 0; i < n; ++i) {
      const Tensor& in = ctx->input(i);
      Tensor* out = ctx->allocate_output(i, in.shape());
      works.push_back(MakeWork(names[i], CollectiveKind::kAllreduce, in, reduce_op));
      CollectiveWork& work = works.back();
      work.buffer = out->data();
      work.scale = post;
      work.keep_alive = {*out, in};
      if (prescale == 1.0f) {
        // MPI (or the fusion copy) reads the input where it is; an empty one is left alone.
        if (in.NumElements() > 0) work.send = in.data();
      } else {
        DFLOW_RETURN_IF_ERROR(
            ScaleElements(in.dtype(), in.data(), out->data(), in.NumElements(), prescale));
      }
      submit.push_back(&work);
    }
    return mpi->RunAll(submit);
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
