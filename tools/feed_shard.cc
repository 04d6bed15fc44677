#include "tools/feed_shard.h"

#include "absl/strings/str_cat.h"
#include "ops/collective/mpi_world.h"
#include "ops/collective/shard.h"

namespace dflow {

absl::StatusOr<FeedShard> FeedShardFromEnv() {
  absl::StatusOr<MpiWorld> world = MpiWorldFromEnv();
  if (!world.ok()) return world.status();
  return FeedShard{world->rank, world->size};
}

std::string DescribeShard(const FeedShard& shard) {
  return absl::StrCat("rank ", shard.rank, " of ", shard.size, ": feeding rows [", shard.rank,
                      "*n/", shard.size, ", ", shard.rank + 1, "*n/", shard.size,
                      ") of dimension 0 of every feed");
}

absl::StatusOr<Tensor> ShardFeed(const Tensor& t, absl::string_view name, const FeedShard& shard) {
  if (shard.size == 1 || t.dims() == 0) return t;
  absl::StatusOr<Tensor> rows = ShardRows(t, shard.rank, shard.size);
  if (!rows.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--shard: feed '", name, "': ", rows.status().message()));
  }
  return rows;
}

}  // namespace dflow
