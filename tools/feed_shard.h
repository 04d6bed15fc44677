// session_run --shard: under mpirun, rank r of N is fed rows [r*n/N, (r+1)*n/N) of dimension 0
// of every feed (n: the feed's dimension 0; with --steps/--batch_size, of each global batch).
// Scalars have no rows and are fed whole. Outside mpirun: rank 0 of 1, the whole feed.
#ifndef DFLOW_TOOLS_FEED_SHARD_H_
#define DFLOW_TOOLS_FEED_SHARD_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "graph/tensor.h"

namespace dflow {

struct FeedShard {
  int rank = 0;
  int size = 1;
};

// This process's shard from mpirun's environment (OMPI_COMM_WORLD_RANK/_SIZE).
absl::StatusOr<FeedShard> FeedShardFromEnv();

// "rank 1 of 2: feeding rows [r*n/2, (r+1)*n/2) of dimension 0 of every feed".
std::string DescribeShard(const FeedShard& shard);

// The shard's rows of `t` (a copy), or `t` itself for a scalar or a single shard. Errors name
// the feed `name`.
absl::StatusOr<Tensor> ShardFeed(const Tensor& t, absl::string_view name, const FeedShard& shard);

}  // namespace dflow

#endif  // DFLOW_TOOLS_FEED_SHARD_H_
