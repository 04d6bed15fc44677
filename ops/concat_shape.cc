#include "ops/concat_shape.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "ops/shape_inference.h"

namespace dflow {
namespace concat {

absl::StatusOr<int> ValuesRank(InferenceContext* ctx, int first, int n) {
  int rank = -1;
  for (int i = first; i < first + n; ++i) {
    const int r = ctx->input(i).dims();
    if (r < 0) continue;
    if (rank >= 0 && r != rank) {
      return ctx->Error(absl::StrCat("values must have the same rank, but value 0 is ",
                                     ctx->input(first).DebugString(), " and value ", i - first,
                                     " is ", ctx->input(i).DebugString()));
    }
    rank = r;
  }
  return rank;
}

absl::Status SetJoinedShape(InferenceContext* ctx, int first, int n, int rank, int64_t axis) {
  std::vector<int64_t> dims(rank, -1);
  int64_t total = 0;
  for (int i = first; i < first + n; ++i) {
    const PartialTensorShape& in = ctx->input(i);
    if (in.unknown_rank()) {
      total = -1;
      continue;
    }
    for (int d = 0; d < rank; ++d) {
      const int64_t size = in.dim_size(d);
      if (d == axis) {
        total = (total < 0 || size < 0) ? -1 : total + size;
      } else if (size >= 0) {
        if (dims[d] >= 0 && dims[d] != size) {
          return ctx->Error(absl::StrCat("dimension ", d, " of the values differs: ",
                                         ctx->input(first).DebugString(), " vs ",
                                         in.DebugString()));
        }
        dims[d] = size;
      }
    }
  }
  dims[axis] = total;
  ctx->set_output(0, PartialTensorShape(dims));
  return absl::OkStatus();
}

}  // namespace concat
}  // namespace dflow
