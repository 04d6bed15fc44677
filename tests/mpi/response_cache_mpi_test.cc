// The response cache across ranks (part of horovod_mpi_test_bin, run by horovod_mpi_test.sh
// under mpirun -np 2 and -np 3): a repeated collective runs from the cache without rank 0
// (MpiContext::cached_runs / negotiated_runs, counted on every rank), a changed shape or
// reduction goes through rank 0 again, opposite submission orders of cached names complete, a
// cached name some ranks reach late leaves the cache and still completes, and one submission
// mixing cached and new names runs both. Sums are closed forms of the ranks' values.
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "kernels/collective/mpi_context.h"
#include "ops/array_ops.h"
#include "ops/collective/horovod_ops.h"
#include "tests/mpi/horovod_test_util.h"

namespace dflow {
namespace {

using test::Values;

class ResponseCacheMpiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<MpiContext*> mpi = MpiContext::Get();
    ASSERT_TRUE(mpi.ok()) << mpi.status();
    mpi_ = *mpi;
    ASSERT_GE(mpi_->size(), 2) << "run under mpirun -np 2 or more (horovod_mpi_test.sh)";
    if (mpi_->options().cache_capacity == 0) GTEST_SKIP() << "HOROVOD_CACHE_CAPACITY=0";
    r_ = mpi_->rank();
    n_ = mpi_->size();
  }
  // Sums `values` (this rank's) as the collective `name` through MpiContext::Run.
  absl::Status Sum(const std::string& name, std::vector<float>* values, int64_t reduce_op = 1) {
    CollectiveWork work = Work(name, values, reduce_op);
    return mpi_->Run(&work);
  }
  static CollectiveWork Work(const std::string& name, std::vector<float>* values,
                             int64_t reduce_op = 1) {
    CollectiveWork work;
    work.request.name = name;
    work.request.kind = CollectiveKind::kAllreduce;
    work.request.dtype = DT_FLOAT;
    work.request.dims = {static_cast<int64_t>(values->size())};
    work.request.attr = reduce_op;
    work.buffer = values->data();
    work.count = static_cast<int64_t>(values->size());
    return work;
  }
  int64_t Cached() const { return mpi_->cached_runs(); }
  int64_t Negotiated() const { return mpi_->negotiated_runs(); }

  MpiContext* mpi_ = nullptr;
  float r_ = 0;
  float n_ = 1;
};

TEST_F(ResponseCacheMpiTest, RepeatedSessionRunsHitTheCache) {
  // One graph's HorovodAllreduce of [r + 1, r] run 5 times: the first through rank 0, the other
  // four from the cache. Sum: [n(n+1)/2, n(n-1)/2].
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT);
  auto y = ops::HorovodAllreduce(root.WithOpName("cache_repeated"), x);
  std::unique_ptr<Session> session = *Session::Create(root);
  const int64_t cached = Cached(), negotiated = Negotiated();
  for (int i = 0; i < 5; ++i) {
    std::vector<Tensor> out;
    ASSERT_TRUE(session->Run({{x, test::Make<float>({2}, {r_ + 1, r_})}}, {y}, {}, &out).ok());
    EXPECT_EQ(Values<float>(out[0]),
              (std::vector<float>{n_ * (n_ + 1) / 2, n_ * (n_ - 1) / 2}))
        << "run " << i;
  }
  EXPECT_EQ(Negotiated() - negotiated, 1);
  EXPECT_EQ(Cached() - cached, 4);
}

TEST_F(ResponseCacheMpiTest, AChangedShapeOrReductionGoesThroughRank0Again) {
  // "cache_shape" as [r] (2 floats), again (cached), as 3 floats (changed: rank 0), again
  // (cached), as a max (changed), again (cached). Sum of r: n(n-1)/2; max: n - 1.
  const int64_t cached = Cached(), negotiated = Negotiated();
  for (int64_t length : {2, 2, 3, 3}) {
    std::vector<float> v(length, r_);
    ASSERT_TRUE(Sum("cache_shape", &v).ok());
    EXPECT_EQ(v, std::vector<float>(length, n_ * (n_ - 1) / 2));
  }
  for (int i = 0; i < 2; ++i) {
    std::vector<float> v(3, r_);
    ASSERT_TRUE(Sum("cache_shape", &v, /*reduce_op=*/4).ok());
    EXPECT_EQ(v, std::vector<float>(3, n_ - 1));
  }
  EXPECT_EQ(Negotiated() - negotiated, 3);
  EXPECT_EQ(Cached() - cached, 3);
}

TEST_F(ResponseCacheMpiTest, OppositeOrdersOfCachedNamesComplete) {
  // "order_a" and "order_b" cached first; then rank 0 submits a and, 200 ms later, b; the
  // others b then a. A rank's hits wait until every rank has them: both complete, from the
  // cache unless a stall (over 1 s) sent them to rank 0. Sums: a of 1 -> n, b of r -> n(n-1)/2.
  for (int round = 0; round < 3; ++round) {
    std::vector<float> a(4, 1.0f), b(1, r_);
    absl::Status sa, sb;
    auto run_a = [&] { sa = Sum("order_a", &a); };
    auto run_b = [&] { sb = Sum("order_b", &b); };
    if (round == 0) {  // Cache both, in the same order everywhere.
      run_a();
      run_b();
    } else {
      const int64_t before = Cached() + Negotiated();
      std::thread early(r_ == 0 ? std::function<void()>(run_a) : run_b);
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      std::thread late(r_ == 0 ? std::function<void()>(run_b) : run_a);
      early.join();
      late.join();
      EXPECT_EQ(Cached() + Negotiated() - before, 2);
    }
    ASSERT_TRUE(sa.ok()) << sa;
    ASSERT_TRUE(sb.ok()) << sb;
    EXPECT_EQ(a, std::vector<float>(4, n_));
    EXPECT_EQ(b, std::vector<float>(1, n_ * (n_ - 1) / 2));
  }
}

TEST_F(ResponseCacheMpiTest, ACachedNameReachedLateLeavesTheCacheAndCompletes) {
  // Cached, then rank 0 submits it at once and the others 1.5 s later: a partial hit for over
  // 1 s, so rank 0 drops it from every rank's cache and it completes through rank 0; the next
  // run is cached again. Sum of r + 2: n(n+3)/2.
  const float expected = n_ * (n_ + 3) / 2;
  std::vector<float> v(2, r_ + 2);
  ASSERT_TRUE(Sum("cache_late", &v).ok());
  const int64_t cached = Cached(), negotiated = Negotiated();
  if (r_ != 0) std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  v.assign(2, r_ + 2);
  ASSERT_TRUE(Sum("cache_late", &v).ok());
  EXPECT_EQ(v, std::vector<float>(2, expected));
  EXPECT_EQ(Negotiated() - negotiated, 1);
  EXPECT_EQ(Cached() - cached, 0);
  v.assign(2, r_ + 2);
  ASSERT_TRUE(Sum("cache_late", &v).ok());
  EXPECT_EQ(v, std::vector<float>(2, expected));
  EXPECT_EQ(Cached() - cached, 1);
}

TEST_F(ResponseCacheMpiTest, OneSubmissionMixesCachedAndNewNames) {
  // "mix_old" cached; then one RunAll of mix_old and a new name: one from the cache, one through
  // rank 0, in the same cycle. Sums: old of r -> n(n-1)/2, new of 3 -> 3n.
  std::vector<float> old_values(3, r_);
  ASSERT_TRUE(Sum("mix_old", &old_values).ok());
  const int64_t cached = Cached(), negotiated = Negotiated();
  old_values.assign(3, r_);
  std::vector<float> new_values(5, 3.0f);
  CollectiveWork old_work = Work("mix_old", &old_values);
  CollectiveWork new_work = Work("mix_new", &new_values);
  ASSERT_TRUE(mpi_->RunAll({&old_work, &new_work}).ok());
  EXPECT_EQ(old_values, std::vector<float>(3, n_ * (n_ - 1) / 2));
  EXPECT_EQ(new_values, std::vector<float>(5, 3 * n_));
  EXPECT_EQ(Cached() - cached, 1);
  EXPECT_EQ(Negotiated() - negotiated, 1);
}

TEST_F(ResponseCacheMpiTest, ALocalErrorOnACachedNameFailsEveryRankNamingIt) {
  // Cached; then the last rank submits it with its own error: every rank fails naming it, and
  // the name works again afterwards (through rank 0, then cached).
  std::vector<float> v(1, 1.0f);
  ASSERT_TRUE(Sum("cache_error", &v).ok());
  const int last = static_cast<int>(n_) - 1;
  CollectiveWork work = Work("cache_error", &v);
  if (static_cast<int>(r_) == last) work.local = absl::InvalidArgumentError("bad input here");
  absl::Status s = mpi_->Run(&work);
  ASSERT_FALSE(s.ok());
  if (static_cast<int>(r_) != last) {
    EXPECT_NE(std::string(s.message()).find(absl::StrCat("rank ", last, " failed")),
              std::string::npos)
        << s;
  }
  v.assign(1, 1.0f);
  ASSERT_TRUE(Sum("cache_error", &v).ok());
  EXPECT_EQ(v[0], n_);
}

}  // namespace
}  // namespace dflow
