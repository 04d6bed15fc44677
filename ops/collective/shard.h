// Splitting a global batch across ranks: rank r of n takes rows [r*rows/n, (r+1)*rows/n) of
// dimension 0, so the shards are contiguous, cover every row once and differ by at most one row.
#ifndef DFLOW_OPS_COLLECTIVE_SHARD_H_
#define DFLOW_OPS_COLLECTIVE_SHARD_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "graph/tensor.h"

namespace dflow {

struct RowRange {
  int64_t begin = 0;
  int64_t end = 0;  // Exclusive.
  int64_t size() const { return end - begin; }
};

// Rank `rank` of `num_ranks`'s rows of `rows`: [rank*rows/num_ranks, (rank+1)*rows/num_ranks).
RowRange ShardRange(int64_t rows, int rank, int num_ranks);

// A copy of rows [range.begin, range.end) of dimension 0 of `t`. InvalidArgument for a scalar
// or a range outside [0, dim 0].
absl::StatusOr<Tensor> SliceRows(const Tensor& t, RowRange range);

// SliceRows(t, ShardRange(t.dim_size(0), rank, num_ranks)); `t` itself when num_ranks is 1.
absl::StatusOr<Tensor> ShardRows(const Tensor& t, int rank, int num_ranks);

}  // namespace dflow

#endif  // DFLOW_OPS_COLLECTIVE_SHARD_H_
