// The response cache on made-up requests (no MPI): bits assigned lowest-free, hits and changed
// requests, fusion of hits, the control vector's AND computing "every rank" and "any rank",
// and rank 0's watch over partial hits. Expected values are worked out by hand.
#include "kernels/collective/response_cache.h"

#include <cstdlib>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace dflow {
namespace {

CollectiveRequest Request(const std::string& name, std::vector<int64_t> dims,
                          CollectiveKind kind = CollectiveKind::kAllreduce,
                          DataType dtype = DT_FLOAT, int64_t attr = 1) {
  CollectiveRequest r;
  r.name = name;
  r.kind = kind;
  r.dtype = dtype;
  r.dims = std::move(dims);
  r.attr = attr;
  return r;
}

// The bitwise AND of every rank's encoded vector: what MPI_Allreduce(MPI_BAND) returns.
std::vector<uint64_t> And(const std::vector<ControlVector>& ranks) {
  std::vector<uint64_t> out = ranks[0].Encode();
  for (const ControlVector& v : ranks) {
    const std::vector<uint64_t> e = v.Encode();
    for (size_t i = 0; i < out.size(); ++i) out[i] &= e[i];
  }
  return out;
}

TEST(ResponseCacheTest, BitsAreLowestFreeAndLookupsCompareTheWholeRequest) {
  ResponseCache cache(4);
  cache.Insert(Request("a", {2}));
  cache.Insert(Request("b", {3}));
  cache.Insert(Request("c", {4}, CollectiveKind::kBroadcast, DT_INT32, 0));
  cache.Insert(Request("g", {5}, CollectiveKind::kAllgather));  // Never cached.
  cache.Insert(Request("a", {7}));                             // Present: unchanged.
  EXPECT_EQ(cache.size(), 3);
  int bit = -1;
  EXPECT_EQ(cache.Find(Request("b", {3}), &bit), ResponseCache::Lookup::kHit);
  EXPECT_EQ(bit, 1);
  EXPECT_EQ(cache.Find(Request("a", {2}), &bit), ResponseCache::Lookup::kHit);
  EXPECT_EQ(bit, 0);
  EXPECT_EQ(cache.Find(Request("a", {3}), &bit), ResponseCache::Lookup::kChanged);  // Shape.
  EXPECT_EQ(bit, 0);
  EXPECT_EQ(cache.Find(Request("a", {2}, CollectiveKind::kAllreduce, DT_FLOAT, 0), &bit),
            ResponseCache::Lookup::kChanged);  // reduce_op.
  EXPECT_EQ(cache.Find(Request("c", {4}, CollectiveKind::kBroadcast, DT_INT32, 1), &bit),
            ResponseCache::Lookup::kChanged);  // root_rank.
  EXPECT_EQ(bit, 2);
  CollectiveRequest failed = Request("b", {3});
  failed.error = "this rank failed";
  EXPECT_EQ(cache.Find(failed, &bit), ResponseCache::Lookup::kChanged);
  EXPECT_EQ(cache.Find(Request("g", {5}, CollectiveKind::kAllgather), &bit),
            ResponseCache::Lookup::kMiss);
  // Erasing "a" frees bit 0, which the next insert takes; then 4 entries: full.
  cache.Erase(0);
  EXPECT_EQ(cache.Find(Request("a", {2}), &bit), ResponseCache::Lookup::kMiss);
  cache.Insert(Request("d", {1}));
  EXPECT_EQ(cache.Find(Request("d", {1}), &bit), ResponseCache::Lookup::kHit);
  EXPECT_EQ(bit, 0);
  cache.Insert(Request("e", {1}));
  cache.Insert(Request("f", {1}));  // Full: not cached.
  EXPECT_EQ(cache.size(), 4);
  EXPECT_EQ(cache.Find(Request("e", {1}), &bit), ResponseCache::Lookup::kHit);
  EXPECT_EQ(bit, 3);
  EXPECT_EQ(cache.Find(Request("f", {1}), &bit), ResponseCache::Lookup::kMiss);
  EXPECT_EQ(ResponseCache(0).words(), 0);
  EXPECT_EQ(ResponseCache(64).words(), 1);
  EXPECT_EQ(ResponseCache(65).words(), 2);
}

TEST(ResponseCacheTest, HitsRunInBitOrderFusedByDtypeAndReduction) {
  // Bits 0..5: float sum 4 elements (16 B), float average 4 (fuses with sums), int32 sum 4,
  // float max 4, broadcast, float sum 4. Threshold 40 B: {0, 1} (32 B), {2}, {3}, {4}, {5}
  // (0+1+5 would be 48 B).
  ResponseCache cache(8);
  cache.Insert(Request("s0", {4}));
  cache.Insert(Request("avg", {4}, CollectiveKind::kAllreduce, DT_FLOAT, 0));
  cache.Insert(Request("i32", {4}, CollectiveKind::kAllreduce, DT_INT32, 1));
  cache.Insert(Request("max", {4}, CollectiveKind::kAllreduce, DT_FLOAT, 4));
  cache.Insert(Request("bc", {4}, CollectiveKind::kBroadcast, DT_FLOAT, 0));
  cache.Insert(Request("s5", {2, 2}));
  BitSet bits(cache.words());
  for (int b : {5, 4, 3, 2, 1, 0}) bits.Set(b);
  std::vector<CollectiveAction> actions = cache.Actions(bits, 40);
  ASSERT_EQ(actions.size(), 5u);
  EXPECT_EQ(actions[0].names, (std::vector<std::string>{"s0", "avg"}));
  EXPECT_EQ(actions[1].names, std::vector<std::string>{"i32"});
  EXPECT_EQ(actions[2].names, std::vector<std::string>{"max"});
  EXPECT_EQ(actions[3].names, std::vector<std::string>{"bc"});
  EXPECT_EQ(actions[3].kind, CollectiveKind::kBroadcast);
  EXPECT_EQ(actions[4].names, std::vector<std::string>{"s5"});
  // Threshold 48 B: s5 joins the first group; fusion off (0): six actions.
  EXPECT_EQ(cache.Actions(bits, 48)[0].names, (std::vector<std::string>{"s0", "avg", "s5"}));
  EXPECT_EQ(cache.Actions(bits, 0).size(), 6u);
  // Only bit 3 set: one action.
  BitSet one(cache.words());
  one.Set(3);
  EXPECT_EQ(cache.Actions(one, 40).size(), 1u);
}

TEST(ResponseCacheTest, ControlVectorAndComputesEveryAndAnyRank) {
  // Three ranks, 2 words (bits up to 127): rank 0 has hits {1, 70}, rank 1 {1, 70, 3}, rank 2
  // {1, 3}; rank 1 invalidates 9, rank 2 needs negotiation; nobody shuts down.
  std::vector<ControlVector> ranks(3, ControlVector(2));
  for (int b : {1, 70}) ranks[0].hits.Set(b);
  for (int b : {1, 70, 3}) ranks[1].hits.Set(b);
  for (int b : {1, 3}) ranks[2].hits.Set(b);
  ranks[1].invalid.Set(9);
  ranks[2].need_negotiation = true;
  EXPECT_EQ(ranks[0].Encode().size(), 7u);  // 1 + 3 * 2 words.
  ControlResult r = ControlResult::Decode(And(ranks), 2);
  EXPECT_TRUE(r.any_negotiation);
  EXPECT_FALSE(r.any_shutdown);
  EXPECT_EQ(r.all_hits.Bits(), std::vector<int>{1});
  EXPECT_EQ(r.any_hits.Bits(), (std::vector<int>{1, 3, 70}));
  EXPECT_EQ(r.any_invalid.Bits(), std::vector<int>{9});
  // One rank shutting down, nobody negotiating, no hits.
  std::vector<ControlVector> quiet(2, ControlVector(1));
  quiet[1].shutdown = true;
  ControlResult q = ControlResult::Decode(And(quiet), 1);
  EXPECT_FALSE(q.any_negotiation);
  EXPECT_TRUE(q.any_shutdown);
  EXPECT_FALSE(q.all_hits.Any());
  EXPECT_FALSE(q.any_hits.Any());
  EXPECT_FALSE(q.any_invalid.Any());
}

TEST(ResponseCacheTest, PartialHitsAreReportedAfterTheDelay) {
  const absl::Time t0 = absl::FromUnixSeconds(1000);
  auto result = [](std::vector<int> all, std::vector<int> any) {
    ControlResult r;
    r.all_hits = BitSet(1);
    r.any_hits = BitSet(1);
    r.any_invalid = BitSet(1);
    for (int b : all) r.all_hits.Set(b);
    for (int b : any) r.any_hits.Set(b);
    return r;
  };
  PartialHits partial;
  // Bit 2 partial from t0, bit 5 run by everyone: nothing yet.
  EXPECT_TRUE(partial.Update(result({5}, {2, 5}), t0, absl::Seconds(1)).empty());
  EXPECT_TRUE(
      partial.Update(result({}, {2}), t0 + absl::Milliseconds(999), absl::Seconds(1)).empty());
  EXPECT_EQ(partial.Update(result({}, {2, 7}), t0 + absl::Seconds(1), absl::Seconds(1)),
            std::vector<int>{2});
  // Bit 2 completed, so its clock restarts if it becomes partial again; bit 7 since t0 + 1 s.
  EXPECT_TRUE(partial.Update(result({2}, {2, 7}), t0 + absl::Seconds(1.5), absl::Seconds(1))
                  .empty());
  EXPECT_EQ(partial.Update(result({}, {2, 7}), t0 + absl::Seconds(2), absl::Seconds(1)),
            std::vector<int>{7});
}

TEST(ResponseCacheTest, CapacityFromTheEnvironment) {
  unsetenv("HOROVOD_CACHE_CAPACITY");
  EXPECT_EQ(CoordinatorOptions::FromEnv()->cache_capacity, 1024);  // Horovod's default.
  ASSERT_EQ(setenv("HOROVOD_CACHE_CAPACITY", "0", 1), 0);
  EXPECT_EQ(CoordinatorOptions::FromEnv()->cache_capacity, 0);
  ASSERT_EQ(setenv("HOROVOD_CACHE_CAPACITY", "100", 1), 0);
  EXPECT_EQ(CoordinatorOptions::FromEnv()->cache_capacity, 100);
  for (const char* bad : {"-1", "lots", "2000000"}) {
    ASSERT_EQ(setenv("HOROVOD_CACHE_CAPACITY", bad, 1), 0);
    absl::StatusOr<CoordinatorOptions> o = CoordinatorOptions::FromEnv();
    ASSERT_FALSE(o.ok()) << bad;
    EXPECT_NE(std::string(o.status().message()).find("HOROVOD_CACHE_CAPACITY"), std::string::npos);
  }
  unsetenv("HOROVOD_CACHE_CAPACITY");
}

}  // namespace
}  // namespace dflow
