// Kernels for TopKV2 and Where: plain loops.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <type_traits>
#include <vector>

#include "graph/status_macros.h"
#include "kernels/index_kernels.h"
#include "kernels/op_kernel.h"

namespace dflow {
namespace {

// a ranks before b: the larger value first (NaN above every number), equal values by index.
template <typename T>
bool RanksBefore(const T* row, int64_t a, int64_t b) {
  const T x = row[a], y = row[b];
  if constexpr (std::is_floating_point_v<T>) {
    const bool nx = std::isnan(x), ny = std::isnan(y);
    if (nx || ny) return nx && !ny ? true : (nx == ny ? a < b : false);
  }
  return x > y || (x == y && a < b);
}

class TopKOp : public OpKernel {
 public:
  explicit TopKOp(const Node& node) : OpKernel(node) {}
  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& in = ctx->input(0);
    DFLOW_ASSIGN_OR_RETURN(int64_t k, ScalarIntInput(ctx->input(1), "k"));
    if (k < 0) return ctx->InvalidArgument("Need k >= 0, got ", k);
    if (in.dims() < 1) {
      return ctx->InvalidArgument("input must be >= 1-D, got shape ", in.shape().DebugString());
    }
    const int64_t n = in.dim_size(in.dims() - 1);
    if (n < k) {
      return ctx->InvalidArgument("input must have at least k columns. Had ", n, ", needed ", k);
    }
    TensorShape out_shape = in.shape();
    out_shape.set_dim(in.dims() - 1, k);
    Tensor* values = ctx->allocate_output(0, out_shape);
    Tensor* indices = ctx->allocate_output(1, out_shape);
    const int64_t rows = n == 0 ? 0 : in.NumElements() / n;
    bool ok = true;
    DFLOW_RETURN_IF_ERROR(VisitDataTypeOrError(in.dtype(), [&](auto zero) {
      using T = decltype(zero);
      if constexpr (std::is_same_v<T, bool>) {
        ok = false;
      } else {
        const T* src = in.flat<T>().data();
        T* pv = values->flat<T>().data();
        std::vector<int64_t> order(n);
        for (int64_t r = 0; r < rows; ++r) {
          const T* row = src + r * n;
          std::iota(order.begin(), order.end(), 0);
          std::partial_sort(order.begin(), order.begin() + k, order.end(),
                            [&](int64_t a, int64_t b) { return RanksBefore(row, a, b); });
          for (int64_t j = 0; j < k; ++j) {
            pv[r * k + j] = row[order[j]];
            if (indices->dtype() == DT_INT32) {
              indices->flat<int32_t>()[r * k + j] = static_cast<int32_t>(order[j]);
            } else {
              indices->flat<int64_t>()[r * k + j] = order[j];
            }
          }
        }
      }
    }));
    if (!ok) return ctx->InvalidArgument("TopKV2 does not take bool");
    return absl::OkStatus();
  }
};
REGISTER_KERNEL("TopKV2", TopKOp);

class WhereOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& in = ctx->input(0);
    const int rank = in.dims();
    std::vector<int64_t> found;
    DFLOW_RETURN_IF_ERROR(VisitDataTypeOrError(in.dtype(), [&](auto zero) {
      using T = decltype(zero);
      const T* p = in.flat<T>().data();
      for (int64_t i = 0; i < in.NumElements(); ++i) {
        if (p[i] != T(0)) found.push_back(i);
      }
    }));
    Tensor* out =
        ctx->allocate_output(0, TensorShape({static_cast<int64_t>(found.size()), rank}));
    int64_t* po = out->flat<int64_t>().data();
    const auto dims = in.shape().dim_sizes();
    for (size_t j = 0; j < found.size(); ++j) {
      int64_t flat = found[j];
      for (int d = rank - 1; d >= 0; --d) {
        po[j * rank + d] = flat % dims[d];
        flat /= dims[d];
      }
    }
    return absl::OkStatus();
  }
};
REGISTER_KERNEL("Where", WhereOp);

}  // namespace
}  // namespace dflow
