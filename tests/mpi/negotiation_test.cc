// The coordinator's decisions on made-up cycle messages (no MPI): names matched across ranks in
// any submission order, fusion up to the byte threshold, checks naming the rank, stall warnings
// and timeouts naming the missing ranks, ranks that shut down, and the wire format.
#include "kernels/collective/negotiation.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace dflow {
namespace {

CollectiveRequest Allreduce(const std::string& name, std::vector<int64_t> dims,
                            DataType dtype = DT_FLOAT, int64_t reduce_op = 1) {
  CollectiveRequest r;
  r.name = name;
  r.kind = CollectiveKind::kAllreduce;
  r.dtype = dtype;
  r.dims = std::move(dims);
  r.attr = reduce_op;
  return r;
}

CycleMessage Message(std::vector<CollectiveRequest> requests) {
  CycleMessage m;
  m.requests = std::move(requests);
  return m;
}

CoordinatorOptions Options(int64_t fusion_threshold) {
  CoordinatorOptions o;
  o.fusion_threshold = fusion_threshold;
  o.stall_check = absl::Seconds(5);
  o.stall_shutdown = absl::Seconds(60);
  return o;
}

const absl::Time kT0 = absl::FromUnixSeconds(1000);

TEST(NegotiationTest, OppositeOrdersBecomeOneOrder) {
  Coordinator c(2, Options(0));  // No fusion.
  std::vector<std::string> warnings;
  c.Add(0, Message({Allreduce("a", {1})}), kT0);
  c.Add(1, Message({Allreduce("b", {1})}), kT0);
  EXPECT_TRUE(c.Decide(kT0, &warnings).actions.empty());  // Neither is ready on both ranks.
  c.Add(0, Message({Allreduce("b", {1})}), kT0);
  c.Add(1, Message({Allreduce("a", {1})}), kT0);
  CycleResponse r = c.Decide(kT0, &warnings);
  ASSERT_EQ(r.actions.size(), 2u);
  EXPECT_EQ(r.actions[0].names, std::vector<std::string>{"b"});  // Completed first.
  EXPECT_EQ(r.actions[1].names, std::vector<std::string>{"a"});
  EXPECT_TRUE(warnings.empty());
}

TEST(NegotiationTest, FusesSmallAllreducesUpToTheThreshold) {
  // Five float tensors of 4 elements (16 bytes) and threshold 40: groups of 2, 2, 1; an int32
  // and a max of the same size each go alone (another dtype, another reduction); an average
  // fuses with sums.
  Coordinator c(3, Options(40));
  std::vector<CollectiveRequest> reqs;
  for (int k = 0; k < 5; ++k) {
    reqs.push_back(Allreduce("t" + std::to_string(k), {4}, DT_FLOAT, k == 4 ? 0 : 1));
  }
  reqs.push_back(Allreduce("i", {4}, DT_INT32));
  reqs.push_back(Allreduce("m", {2, 2}, DT_FLOAT, 4));
  for (int rank = 0; rank < 3; ++rank) c.Add(rank, Message(reqs), kT0);
  std::vector<std::string> warnings;
  CycleResponse r = c.Decide(kT0, &warnings);
  ASSERT_EQ(r.actions.size(), 5u);
  EXPECT_EQ(r.actions[0].names, (std::vector<std::string>{"t0", "t1"}));
  EXPECT_EQ(r.actions[1].names, (std::vector<std::string>{"t2", "t3"}));
  EXPECT_EQ(r.actions[2].names, (std::vector<std::string>{"t4"}));
  EXPECT_EQ(r.actions[3].names, (std::vector<std::string>{"i"}));
  EXPECT_EQ(r.actions[4].names, (std::vector<std::string>{"m"}));
  for (const CollectiveAction& a : r.actions) EXPECT_EQ(a.error_code, absl::StatusCode::kOk);
}

TEST(NegotiationTest, MismatchesNameTheRank) {
  Coordinator c(3, Options(1 << 20));
  CollectiveRequest bad_shape = Allreduce("s", {3});
  CollectiveRequest bad_dtype = Allreduce("d", {1}, DT_INT64);
  CollectiveRequest failed = Allreduce("f", {1});
  failed.error = "Reshape failed";
  c.Add(0, Message({Allreduce("s", {2}), Allreduce("d", {1}), Allreduce("f", {1})}), kT0);
  c.Add(1, Message({Allreduce("s", {2}), Allreduce("d", {1}), failed}), kT0);
  c.Add(2, Message({bad_shape, bad_dtype, Allreduce("f", {1})}), kT0);
  std::vector<std::string> warnings;
  CycleResponse r = c.Decide(kT0, &warnings);
  ASSERT_EQ(r.actions.size(), 3u);
  EXPECT_EQ(r.actions[0].error_code, absl::StatusCode::kInvalidArgument);
  EXPECT_NE(r.actions[0].error.find("'s': rank 2's tensor (shape [3]) does not match rank 0's"),
            std::string::npos)
      << r.actions[0].error;
  EXPECT_NE(r.actions[1].error.find("rank 2's tensor is int64 but rank 0's is float"),
            std::string::npos)
      << r.actions[1].error;
  EXPECT_EQ(r.actions[2].error_code, absl::StatusCode::kAborted);
  EXPECT_NE(r.actions[2].error.find("rank 1 failed at this collective: Reshape failed"),
            std::string::npos)
      << r.actions[2].error;
}

TEST(NegotiationTest, AllgatherSizesAndInnerDims) {
  Coordinator c(2, Options(1 << 20));
  CollectiveRequest g0 = Allreduce("g", {3, 2});
  g0.kind = CollectiveKind::kAllgather;
  CollectiveRequest g1 = g0;
  g1.dims = {0, 2};
  CollectiveRequest h0 = g0, h1 = g0;
  h0.name = h1.name = "h";
  h1.dims = {3, 5};
  c.Add(0, Message({g0, h0}), kT0);
  c.Add(1, Message({g1, h1}), kT0);
  std::vector<std::string> warnings;
  CycleResponse r = c.Decide(kT0, &warnings);
  ASSERT_EQ(r.actions.size(), 2u);
  EXPECT_EQ(r.actions[0].dim0s, (std::vector<int64_t>{3, 0}));
  EXPECT_NE(r.actions[1].error.find("only dimension 0 may differ"), std::string::npos);
}

TEST(NegotiationTest, StallWarnsThenFailsNamingTheMissingRanks) {
  Coordinator c(3, Options(1 << 20));
  c.Add(0, Message({Allreduce("x", {1})}), kT0);
  c.Add(2, Message({Allreduce("x", {1})}), kT0 + absl::Seconds(1));
  std::vector<std::string> warnings;
  EXPECT_TRUE(c.Decide(kT0 + absl::Seconds(4), &warnings).actions.empty());
  EXPECT_TRUE(warnings.empty());
  EXPECT_TRUE(c.Decide(kT0 + absl::Seconds(6), &warnings).actions.empty());
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("HorovodAllreduce 'x': ranks 0, 2 waiting for rank 1 for 6s"),
            std::string::npos)
      << warnings[0];
  CycleResponse r = c.Decide(kT0 + absl::Seconds(61), &warnings);
  ASSERT_EQ(r.actions.size(), 1u);
  EXPECT_EQ(r.actions[0].error_code, absl::StatusCode::kDeadlineExceeded);
  EXPECT_NE(r.actions[0].error.find("'x': rank 1 did not reach it within 1m"), std::string::npos)
      << r.actions[0].error;
  EXPECT_TRUE(c.Decide(kT0 + absl::Seconds(62), &warnings).actions.empty());  // Gone.
}

TEST(NegotiationTest, ARankThatShutDownFailsWhatWaitsForItAtOnce) {
  Coordinator c(2, Options(1 << 20));
  c.Add(0, Message({Allreduce("x", {1})}), kT0);
  CycleMessage bye;
  bye.shutdown = true;
  c.Add(1, bye, kT0);
  EXPECT_TRUE(c.shut_down(1));
  std::vector<std::string> warnings;
  CycleResponse r = c.Decide(kT0, &warnings);
  ASSERT_EQ(r.actions.size(), 1u);
  EXPECT_EQ(r.actions[0].error_code, absl::StatusCode::kAborted);
  EXPECT_NE(r.actions[0].error.find("rank 1 shut down"), std::string::npos) << r.actions[0].error;
}

TEST(NegotiationTest, WireFormatRoundTripsAndRejectsTruncation) {
  CycleMessage m = Message({Allreduce("a/b", {2, 0}, DT_INT32, 3)});
  m.requests[0].error = "oops";
  m.shutdown = true;
  absl::StatusOr<CycleMessage> back = ParseCycleMessage(SerializeCycleMessage(m));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(back->shutdown);
  ASSERT_EQ(back->requests.size(), 1u);
  EXPECT_EQ(back->requests[0].name, "a/b");
  EXPECT_EQ(back->requests[0].dims, (std::vector<int64_t>{2, 0}));
  EXPECT_EQ(back->requests[0].dtype, DT_INT32);
  EXPECT_EQ(back->requests[0].attr, 3);
  EXPECT_EQ(back->requests[0].error, "oops");
  CycleResponse r;
  r.fatal = "rank 1 lost";
  CollectiveAction a;
  a.names = {"x", "y"};
  a.kind = CollectiveKind::kAllgather;
  a.error_code = absl::StatusCode::kAborted;
  a.error = "e";
  a.dim0s = {1, 2};
  r.actions.push_back(a);
  const std::string bytes = SerializeCycleResponse(r);
  absl::StatusOr<CycleResponse> rb = ParseCycleResponse(bytes);
  ASSERT_TRUE(rb.ok()) << rb.status();
  EXPECT_EQ(rb->fatal, "rank 1 lost");
  EXPECT_EQ(rb->actions[0].names, a.names);
  EXPECT_EQ(rb->actions[0].dim0s, a.dim0s);
  EXPECT_EQ(rb->actions[0].error_code, absl::StatusCode::kAborted);
  EXPECT_FALSE(ParseCycleResponse(bytes.substr(0, bytes.size() - 3)).ok());
  EXPECT_FALSE(ParseCycleMessage("xy").ok());
}

}  // namespace
}  // namespace dflow
