// BatchMatMul and BatchMatMulV2 on oneDNN's matmul primitive, which takes batch dimensions (and
// broadcasts those of size 1). Both operands are described with the output's rank, padded with
// leading 1s; adj_x / adj_y are swapped strides of the last two dims, so nothing is copied.
// Built once per shape pair.
#include <algorithm>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "graph/status_macros.h"
#include "graph/tensor.h"
#include "kernels/dnnl_util.h"
#include "kernels/op_kernel.h"
#include "oneapi/dnnl/dnnl.hpp"

namespace dflow {
namespace {

using dnnl::memory;

// A row-major [batch..., rows, cols] operand of `rank` dims (leading 1s added), read transposed
// in its last two dims when `adj`.
memory::desc OperandDesc(const TensorShape& s, int rank, bool adj) {
  const int r = s.dims();
  memory::dims dims(rank, 1), strides(rank, 0);
  for (int i = 0; i < r; ++i) dims[rank - r + i] = s.dim_size(i);
  const int64_t rows = dims[rank - 2], cols = dims[rank - 1];
  int64_t stride = rows * cols;
  for (int i = rank - 3; i >= 0; --i) {
    strides[i] = stride;
    stride *= dims[i];
  }
  if (adj) {  // Logical (i, j) is stored at (j, i): i steps 1, j a stored row (cols).
    std::swap(dims[rank - 2], dims[rank - 1]);
    strides[rank - 2] = 1;
    strides[rank - 1] = cols;
  } else {
    strides[rank - 2] = cols;
    strides[rank - 1] = 1;
  }
  return memory::desc(dims, memory::data_type::f32, strides);
}

template <bool kBroadcast>
class BatchMatMulOp : public OpKernel {
 public:
  explicit BatchMatMulOp(const Node& node) : OpKernel(node) {
    absl::Status s = GetNodeAttr(node, "adj_x", &adj_x_);
    if (s.ok()) s = GetNodeAttr(node, "adj_y", &adj_y_);
    if (!s.ok()) SetConstructionError(s);
  }

  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& x = ctx->input(0);
    const Tensor& y = ctx->input(1);
    DFLOW_RETURN_IF_ERROR(CheckInput(x, "x", DT_FLOAT));
    DFLOW_RETURN_IF_ERROR(CheckInput(y, "y", DT_FLOAT));
    if (x.dims() < 2 || y.dims() < 2) {
      return OpKernelContext::InvalidArgument("x and y must have rank >= 2 but have shapes ",
                                              x.shape().DebugString(), " and ",
                                              y.shape().DebugString());
    }
    if (!kBroadcast && x.dims() != y.dims()) {
      return OpKernelContext::InvalidArgument("x ", x.shape().DebugString(), " and y ",
                                              y.shape().DebugString(),
                                              " must have the same rank");
    }
    const int xr = x.dims(), yr = y.dims(), rank = std::max(xr, yr);
    const int64_t m = x.dim_size(adj_x_ ? xr - 1 : xr - 2);
    const int64_t k = x.dim_size(adj_x_ ? xr - 2 : xr - 1);
    const int64_t ky = y.dim_size(adj_y_ ? yr - 1 : yr - 2);
    const int64_t n = y.dim_size(adj_y_ ? yr - 2 : yr - 1);
    if (k != ky) {
      return OpKernelContext::InvalidArgument(
          "the inner dimensions of x ", x.shape().DebugString(), " and y ",
          y.shape().DebugString(), " differ: ", k, " vs. ", ky);
    }
    std::vector<int64_t> out(rank);
    for (int i = 0; i < rank - 2; ++i) {
      const int xi = i - (rank - xr), yi = i - (rank - yr);
      const int64_t a = xi >= 0 ? x.dim_size(xi) : 1, b = yi >= 0 ? y.dim_size(yi) : 1;
      if (a != b && a != 1 && b != 1) {
        return OpKernelContext::InvalidArgument(
            "the batch dimensions of x ", x.shape().DebugString(), " and y ",
            y.shape().DebugString(), kBroadcast ? " do not broadcast" : " must be equal");
      }
      if (!kBroadcast && a != b) {
        return OpKernelContext::InvalidArgument("the batch dimensions of x ",
                                                x.shape().DebugString(), " and y ",
                                                y.shape().DebugString(), " must be equal");
      }
      out[i] = a == 1 ? b : a;
    }
    out[rank - 2] = m;
    out[rank - 1] = n;
    Tensor* z = ctx->allocate_output(0, TensorShape(absl::MakeConstSpan(out)));
    if (z->NumElements() == 0) return absl::OkStatus();
    if (k == 0 || x.NumElements() == 0 || y.NumElements() == 0) {
      std::fill(z->flat<float>().begin(), z->flat<float>().end(), 0.0f);
      return absl::OkStatus();
    }
    typename ShapeCache<Entry>::Lease e = cache_.Get(ShapeKey({&x.shape(), &y.shape()}), [&] {
      const memory::desc a = OperandDesc(x.shape(), rank, adj_x_);
      const memory::desc b = OperandDesc(y.shape(), rank, adj_y_);
      const memory::desc c = OperandDesc(z->shape(), rank, false);
      auto entry = std::make_unique<Entry>();
      entry->prim = Primitive(dnnl::matmul::primitive_desc(dnnl::matmul::desc(a, b, c),
                                                           KernelAttr(), ctx->engine()));
      entry->a = memory(a, ctx->engine(), nullptr);
      entry->b = memory(b, ctx->engine(), nullptr);
      entry->c = memory(c, ctx->engine(), nullptr);
      return entry;
    });
    RunPrimitive(e->prim, ctx->stream(),
                 {{DNNL_ARG_SRC, e->a, x.data()},
                  {DNNL_ARG_WEIGHTS, e->b, y.data()},
                  {DNNL_ARG_DST, e->c, z->data()}});
    return absl::OkStatus();
  }

 private:
  struct Entry {
    Primitive prim;
    memory a, b, c;
  };
  bool adj_x_ = false, adj_y_ = false;
  ShapeCache<Entry> cache_;
};

REGISTER_KERNEL("BatchMatMul", BatchMatMulOp<false>, "T", {DT_FLOAT});
REGISTER_KERNEL("BatchMatMulV2", BatchMatMulOp<true>, "T", {DT_FLOAT});

}  // namespace
}  // namespace dflow
