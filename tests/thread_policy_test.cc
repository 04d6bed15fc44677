#include "runtime/thread_policy.h"

#include "gtest/gtest.h"

namespace dflow {
namespace {

// The injected clock and /proc/loadavg reading.
int64_t fake_now_ns = 0;
int fake_runnable = 0;
int runnable_reads = 0;
int64_t FakeNow() { return fake_now_ns; }
int FakeRunnable() {
  ++runnable_reads;
  return fake_runnable;
}

constexpr int64_t kMs = 1'000'000;
constexpr int64_t kBig = 1 << 20;  // Input elements well above the size rule's threshold.

class ThreadPolicyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fake_now_ns = 0;
    fake_runnable = 0;
    runnable_reads = 0;
  }
  static ThreadPolicy::Options TwoCpus() {
    ThreadPolicy::Options o;
    o.cpus = 2;
    o.sample_interval_ns = 10 * kMs;
    o.quiet_samples_to_grow = 2;
    return o;
  }
  // TeamSize(2, kBig) after setting the clock and the runnable count.
  static int At(int64_t ms, int runnable, ThreadPolicy& p) {
    fake_now_ns = ms * kMs;
    fake_runnable = runnable;
    return p.TeamSize(2, kBig);
  }
};

TEST_F(ThreadPolicyTest, SmallNodesAndSingleThreadRunsNeverSample) {
  ThreadPolicy p(TwoCpus(), FakeNow, FakeRunnable);
  EXPECT_EQ(p.TeamSize(2, 16383), 1);
  EXPECT_EQ(p.TeamSize(1, kBig), 1);
  EXPECT_EQ(p.TeamSize(0, kBig), 1);
  EXPECT_EQ(runnable_reads, 0);
  EXPECT_EQ(p.TeamSize(2, 16384), 2);  // The threshold itself gets a team.
  EXPECT_EQ(runnable_reads, 1);
}

TEST_F(ThreadPolicyTest, QuietMachineKeepsTheRequestedTeam) {
  ThreadPolicy p(TwoCpus(), FakeNow, FakeRunnable);
  // Our caller and our spinning worker are the only runnable tasks.
  EXPECT_EQ(At(0, 2, p), 2);
  EXPECT_EQ(At(10, 1, p), 2);
  EXPECT_EQ(At(20, 2, p), 2);
  EXPECT_EQ(runnable_reads, 3);
}

TEST_F(ThreadPolicyTest, SamplesAtMostOncePerInterval) {
  ThreadPolicy p(TwoCpus(), FakeNow, FakeRunnable);
  EXPECT_EQ(At(0, 2, p), 2);
  // A competitor appears, but the next sample is due at 10 ms.
  EXPECT_EQ(At(3, 4, p), 2);
  EXPECT_EQ(At(9, 4, p), 2);
  EXPECT_EQ(runnable_reads, 1);
  EXPECT_EQ(At(10, 4, p), 1);
  EXPECT_EQ(runnable_reads, 2);
  // The interval restarts at the sample: the next one is at 20 ms.
  EXPECT_EQ(At(19, 1, p), 1);
  EXPECT_EQ(runnable_reads, 2);
}

TEST_F(ThreadPolicyTest, ShrinksAtOnceAndGrowsAfterConsecutiveQuietSamples) {
  ThreadPolicy p(TwoCpus(), FakeNow, FakeRunnable);
  EXPECT_EQ(At(0, 2, p), 2);
  // 2 competing threads + our 2: two others, no CPU left for a worker.
  EXPECT_EQ(At(10, 4, p), 1);
  // On one thread: 2 others + our caller.
  EXPECT_EQ(At(20, 3, p), 1);
  // The competitor stops: one quiet sample is not enough,
  EXPECT_EQ(At(30, 1, p), 1);
  // a contended one in between starts the count again,
  EXPECT_EQ(At(40, 3, p), 1);
  EXPECT_EQ(At(50, 1, p), 1);
  // two in a row grow the team.
  EXPECT_EQ(At(60, 1, p), 2);
}

TEST_F(ThreadPolicyTest, OneCompetingThreadLeavesNoCpuForAWorker) {
  ThreadPolicy p(TwoCpus(), FakeNow, FakeRunnable);
  EXPECT_EQ(At(0, 2, p), 2);
  // 1 other + our caller + our spinning worker on 2 CPUs.
  EXPECT_EQ(At(10, 3, p), 1);
  // On one thread: 1 other + our caller fill the 2 CPUs; the worker would wait for one.
  EXPECT_EQ(At(20, 2, p), 1);
  EXPECT_EQ(At(30, 2, p), 1);
}

TEST_F(ThreadPolicyTest, MoreCpusThanRequestedThreads) {
  ThreadPolicy::Options o = TwoCpus();
  o.cpus = 4;
  ThreadPolicy p(o, FakeNow, FakeRunnable);
  // Allowed 4, in use at most 4: 5 runnable means one other, so 3 CPUs remain, of which a run
  // asking for 2 takes 2.
  EXPECT_EQ(At(0, 5, p), 2);
  EXPECT_EQ(p.Allowed(), 3);
  // 3 runnable besides the 3 we may use: one CPU left.
  EXPECT_EQ(At(10, 6, p), 1);
  EXPECT_EQ(p.Allowed(), 1);
}

TEST_F(ThreadPolicyTest, UnknownLoadKeepsAllCpus) {
  ThreadPolicy p(TwoCpus(), FakeNow, FakeRunnable);
  EXPECT_EQ(At(0, 4, p), 1);
  EXPECT_EQ(At(10, -1, p), 1);  // Unknown counts as quiet, so growing still takes two samples.
  EXPECT_EQ(At(20, -1, p), 2);
}

TEST_F(ThreadPolicyTest, CheckOffGivesAllCpusWithoutSampling) {
  ThreadPolicy p(TwoCpus(), FakeNow, FakeRunnable);
  p.SetContentionCheck(false);
  EXPECT_EQ(At(0, 4, p), 2);
  EXPECT_EQ(runnable_reads, 0);
  p.SetContentionCheck(true);
  EXPECT_EQ(At(10, 4, p), 1);
  EXPECT_EQ(runnable_reads, 1);
}

TEST_F(ThreadPolicyTest, CheckOffInOptions) {
  ThreadPolicy::Options o = TwoCpus();
  o.contention_check = false;
  ThreadPolicy p(o, FakeNow, FakeRunnable);
  EXPECT_EQ(At(0, 4, p), 2);
  EXPECT_EQ(At(10, 4, p), 2);
  EXPECT_EQ(runnable_reads, 0);
}

TEST(ThreadPolicyLoadavgTest, ReadsARunnableCount) {
  // The reading includes the calling thread, when /proc is there at all.
  const int runnable = ThreadPolicy::ReadRunnableTasks();
  EXPECT_TRUE(runnable == -1 || runnable >= 1) << runnable;
}

}  // namespace
}  // namespace dflow
