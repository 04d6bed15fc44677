// Kernel for Cumsum: a loop over x seen as [outer, len, inner] (oneDNN has no scan primitive),
// vectorizable along the contiguous inner elements.
#include <cstdint>

#include "graph/status_macros.h"
#include "kernels/broadcast.h"
#include "kernels/op_kernel.h"

namespace dflow {
namespace {

class CumsumOp : public OpKernel {
 public:
  explicit CumsumOp(const Node& node) : OpKernel(node) {
    absl::Status s = GetNodeAttr(node, "exclusive", &exclusive_);
    if (s.ok()) s = GetNodeAttr(node, "reverse", &reverse_);
    if (!s.ok()) SetConstructionError(s);
  }

  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& x = ctx->input(0);
    const DataType type = node().input_type(0);
    DFLOW_RETURN_IF_ERROR(CheckInput(x, "x", type));
    const Tensor& axis_t = ctx->input(1);
    if (axis_t.dims() != 0) {
      return ctx->InvalidArgument("axis must be a scalar, got shape ",
                                  axis_t.shape().DebugString());
    }
    DFLOW_ASSIGN_OR_RETURN(IntList axis_v, IntValues(axis_t, "axis"));
    const int rank = x.dims();
    const int64_t a = axis_v[0];
    if (a < -rank || a >= rank) {
      return ctx->InvalidArgument("axis ", a, " is out of range [", -rank, ", ", rank,
                                  ") for input shape ", x.shape().DebugString());
    }
    const int axis = static_cast<int>(a < 0 ? a + rank : a);
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < axis; ++d) outer *= x.dim_size(d);
    for (int d = axis + 1; d < rank; ++d) inner *= x.dim_size(d);
    const int64_t len = x.dim_size(axis);
    Tensor* out = ctx->allocate_output(0, x.shape());
    if (x.NumElements() == 0) return absl::OkStatus();
    switch (type) {
      case DT_FLOAT: Scan<float>(x, outer, len, inner, out); break;
      case DT_INT32: Scan<int32_t>(x, outer, len, inner, out); break;
      case DT_INT64: Scan<int64_t>(x, outer, len, inner, out); break;
      default: return ctx->InvalidArgument("unsupported type ", DataTypeString(type));
    }
    return absl::OkStatus();
  }

 private:
  // Along the axis, forward or (reverse_) backward; an exclusive step writes the running sum
  // before adding its own element.
  template <typename T>
  void Scan(const Tensor& x, int64_t outer, int64_t len, int64_t inner, Tensor* out) const {
    const T* px = x.flat<T>().data();
    T* po = out->flat<T>().data();
    for (int64_t o = 0; o < outer; ++o) {
      const int64_t base = o * len * inner;
      for (int64_t step = 0; step < len; ++step) {
        const int64_t k = reverse_ ? len - 1 - step : step;
        const int64_t prev = reverse_ ? k + 1 : k - 1;  // The step before, along the scan.
        const T* in = px + base + k * inner;
        T* dst = po + base + k * inner;
        if (step == 0) {
          for (int64_t i = 0; i < inner; ++i) dst[i] = exclusive_ ? T{0} : in[i];
          continue;
        }
        const T* acc = po + base + prev * inner;
        const T* in_prev = px + base + prev * inner;
        for (int64_t i = 0; i < inner; ++i) {
          dst[i] = WrapAdd(acc[i], exclusive_ ? in_prev[i] : in[i]);
        }
      }
    }
  }

  bool exclusive_ = false;
  bool reverse_ = false;
};
REGISTER_KERNEL("Cumsum", CumsumOp, "T", {DT_FLOAT, DT_INT32, DT_INT64});

}  // namespace
}  // namespace dflow
