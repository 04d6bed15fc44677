// Kernels for ScatterAdd, ScatterSub and ScatterUpdate: plain loops over the selected rows of
// the variable, every index checked first (an out-of-range index changes nothing and is an
// error, as on TensorFlow's CPU). The variable is copied first when its buffer is shared (copy
// on write), so a tensor read earlier keeps its values.
#include <cstring>
#include <type_traits>
#include <mutex>
#include <vector>

#include "absl/strings/str_cat.h"
#include "graph/status_macros.h"
#include "kernels/index_kernels.h"
#include "kernels/op_kernel.h"

namespace dflow {
namespace {

enum class ScatterKind { kAdd, kSub, kUpdate };

template <ScatterKind kKind>
class ScatterOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) override {
    Variable* var = ctx->ref_input(0);
    const Tensor& indices = ctx->input(1);
    const Tensor& updates = ctx->input(2);
    if (indices.dtype() != DT_INT32 && indices.dtype() != DT_INT64) {
      return ctx->InvalidArgument("indices must be int32 or int64, got ",
                                  DataTypeString(indices.dtype()));
    }
    std::lock_guard<VariableMutex> lock(var->mu);
    if (!var->value.IsInitialized()) return UninitializedError(*var);
    Tensor& params = var->value;
    if (params.dims() < 1) {
      return ctx->InvalidArgument("ref of ", var->name, " must be at least 1-D, got shape ",
                                  params.shape().DebugString());
    }
    if (updates.dtype() != params.dtype()) {
      return ctx->InvalidArgument("updates must be ", DataTypeString(params.dtype()),
                                  " as variable ", var->name, ", got ",
                                  DataTypeString(updates.dtype()));
    }
    const bool scalar = updates.dims() == 0;
    if (!scalar) {
      std::vector<int64_t> want(indices.shape().dim_sizes().begin(),
                                indices.shape().dim_sizes().end());
      want.insert(want.end(), params.shape().dim_sizes().begin() + 1,
                  params.shape().dim_sizes().end());
      if (TensorShape(want) != updates.shape()) {
        return ctx->InvalidArgument(
            "Must have updates.shape = indices.shape + params.shape[1:] or updates.shape = [], "
            "got updates.shape ", updates.shape().DebugString(), ", indices.shape ",
            indices.shape().DebugString(), ", params.shape ", params.shape().DebugString());
      }
    }
    const int64_t rows = params.dim_size(0);
    const int64_t row = rows == 0 ? 0 : params.NumElements() / rows;
    std::vector<int64_t> idx(indices.NumElements());
    for (size_t i = 0; i < idx.size(); ++i) {
      idx[i] = indices.dtype() == DT_INT32 ? int64_t{indices.flat<int32_t>()[i]}
                                           : indices.flat<int64_t>()[i];
      if (idx[i] < 0 || idx[i] >= rows) {
        return ctx->InvalidArgument("indices[", i, "] = ", idx[i], " is not in [0, ", rows, ")");
      }
    }
    if (!params.BufferIsExclusive()) params = params.DeepCopy();
    ctx->set_output_ref(0, var);
    return VisitDataTypeOrError(params.dtype(), [&](auto zero) {
      using T = decltype(zero);
      T* dst = params.flat<T>().data();
      const T* src = updates.flat<T>().data();
      for (size_t i = 0; i < idx.size(); ++i) {
        T* d = dst + idx[i] * row;
        const T* s = scalar ? src : src + static_cast<int64_t>(i) * row;
        for (int64_t j = 0; j < row; ++j) {
          const T u = scalar ? s[0] : s[j];
          if constexpr (kKind == ScatterKind::kUpdate) {
            d[j] = u;
          } else if constexpr (std::is_same_v<T, bool>) {
            d[j] = u;  // Excluded by the schemas' types.
          } else if constexpr (kKind == ScatterKind::kAdd) {
            d[j] = static_cast<T>(d[j] + u);
          } else {
            d[j] = static_cast<T>(d[j] - u);
          }
        }
      }
    });
  }
};
REGISTER_KERNEL("ScatterAdd", ScatterOp<ScatterKind::kAdd>, "T",
                {DT_FLOAT, DT_DOUBLE, DT_INT32, DT_INT64});
REGISTER_KERNEL("ScatterSub", ScatterOp<ScatterKind::kSub>, "T",
                {DT_FLOAT, DT_DOUBLE, DT_INT32, DT_INT64});
REGISTER_KERNEL("ScatterUpdate", ScatterOp<ScatterKind::kUpdate>);

}  // namespace
}  // namespace dflow
