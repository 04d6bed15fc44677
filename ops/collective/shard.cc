#include "ops/collective/shard.h"

#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"

namespace dflow {

RowRange ShardRange(int64_t rows, int rank, int num_ranks) {
  return {rows * rank / num_ranks, rows * (rank + 1) / num_ranks};
}

absl::StatusOr<Tensor> SliceRows(const Tensor& t, RowRange range) {
  if (t.dims() == 0) {
    return absl::InvalidArgumentError("cannot take rows of a scalar: it has no dimension 0");
  }
  const int64_t rows = t.dim_size(0);
  if (range.begin < 0 || range.end < range.begin || range.end > rows) {
    return absl::InvalidArgumentError(absl::StrCat("rows [", range.begin, ", ", range.end,
                                                   ") are outside a dimension 0 of ", rows));
  }
  std::vector<int64_t> dims(t.shape().dim_sizes().begin(), t.shape().dim_sizes().end());
  dims[0] = range.size();
  TensorShape shape(dims);
  absl::StatusOr<Tensor> out = Tensor::Allocate(t.dtype(), shape);
  if (!out.ok()) return out.status();
  const size_t row_bytes = rows == 0 ? 0 : t.TotalBytes() / static_cast<size_t>(rows);
  if (out->TotalBytes() > 0) {
    std::memcpy(out->data(), static_cast<const char*>(t.data()) + range.begin * row_bytes,
                out->TotalBytes());
  }
  return out;
}

absl::StatusOr<Tensor> ShardRows(const Tensor& t, int rank, int num_ranks) {
  if (num_ranks == 1) return t;
  if (t.dims() == 0) {
    return absl::InvalidArgumentError("cannot shard a scalar: it has no dimension 0");
  }
  return SliceRows(t, ShardRange(t.dim_size(0), rank, num_ranks));
}

}  // namespace dflow
