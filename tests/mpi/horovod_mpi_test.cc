// The Horovod collectives across ranks: run by horovod_mpi_test.sh under
// `mpirun --allow-run-as-root --oversubscribe -np 2` and `-np 3`. Every rank runs the same
// tests in the same order and checks its own results against values computed by hand from the
// rank formulas below (rank r of n contributes values made from r). HorovodMpiFailureTest
// needs a short HOROVOD_STALL_SHUTDOWN_TIME_SECONDS (the script sets 3) and skips without it.
#include <chrono>
#include <cstdio>
#include <functional>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "graph/status_macros.h"
#include "gtest/gtest.h"
#include "kernels/collective/mpi_context.h"
#include "ops/array_ops.h"
#include "ops/collective/horovod_ops.h"
#include "ops/collective/horovod_training.h"
#include "ops/gradients.h"
#include "ops/math_ops.h"
#include "ops/node_builder.h"
#include "ops/reduction_ops.h"
#include "ops/shape_ops.h"
#include "ops/state_ops.h"
#include "ops/training.h"
#include "tests/mpi/horovod_test_util.h"

namespace dflow {
namespace {

using test::Make;
using test::Values;

class HorovodMpiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<MpiContext*> mpi = MpiContext::Get();
    ASSERT_TRUE(mpi.ok()) << mpi.status();
    r_ = (*mpi)->rank();
    n_ = (*mpi)->size();
    ASSERT_GE(n_, 2) << "run under mpirun -np 2 or more (horovod_mpi_test.sh)";
  }
  // One allreduce of the fed `x` with `attrs`.
  absl::StatusOr<Tensor> Allreduce(const Tensor& x, const ops::HorovodAllreduce::Attrs& attrs) {
    Scope root = Scope::NewRootScope();
    auto p = ops::Placeholder(root.WithOpName("x"), x.dtype());
    auto y = ops::HorovodAllreduce(root.WithOpName("allreduce"), p, attrs);
    DFLOW_ASSIGN_OR_RETURN(std::vector<Tensor> out, test::Run(root, {y}, {{p, x}}));
    return out[0];
  }
  int r_ = 0;
  int n_ = 1;
};

TEST_F(HorovodMpiTest, SumFloat) {
  // Rank r: [r + 1, 2 (r + 1), -r]; summed: [n(n+1)/2, n(n+1), -n(n-1)/2].
  const float r = r_, n = n_;
  absl::StatusOr<Tensor> y = Allreduce(Make<float>({3}, {r + 1, 2 * (r + 1), -r}), {});
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ(Values<float>(*y),
            (std::vector<float>{n * (n + 1) / 2, n * (n + 1), -n * (n - 1) / 2}));
}

TEST_F(HorovodMpiTest, AverageFloat) {
  // Rank r: [r, 10, 2r]; averaged: [(n-1)/2, 10, n-1].
  const float r = r_, n = n_;
  absl::StatusOr<Tensor> y = Allreduce(Make<float>({3}, {r, 10, 2 * r}),
                                       ops::HorovodAllreduce::ReduceOp(ops::kHorovodAverage));
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ(Values<float>(*y), (std::vector<float>{(n - 1) / 2, 10, n - 1}));
}

TEST_F(HorovodMpiTest, ScaleFactors) {
  // Rank r: [r + 1] * 3, summed, * 0.5: 1.5 n(n+1)/2.
  const float n = n_;
  absl::StatusOr<Tensor> y =
      Allreduce(Make<float>({1}, {static_cast<float>(r_ + 1)}),
                ops::HorovodAllreduce::Attrs().PrescaleFactor(3).PostscaleFactor(0.5f));
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_FLOAT_EQ(Values<float>(*y)[0], 1.5f * n * (n + 1) / 2);
}

TEST_F(HorovodMpiTest, MinMaxInt32) {
  // Rank r: [r, -r, 5]: min [0, -(n-1), 5], max [n-1, 0, 5].
  const Tensor x = Make<int32_t>({3}, {r_, -r_, 5});
  absl::StatusOr<Tensor> lo = Allreduce(x, ops::HorovodAllreduce::ReduceOp(ops::kHorovodMin));
  ASSERT_TRUE(lo.ok()) << lo.status();
  EXPECT_EQ(Values<int32_t>(*lo), (std::vector<int32_t>{0, -(n_ - 1), 5}));
  absl::StatusOr<Tensor> hi = Allreduce(x, ops::HorovodAllreduce::ReduceOp(ops::kHorovodMax));
  ASSERT_TRUE(hi.ok()) << hi.status();
  EXPECT_EQ(Values<int32_t>(*hi), (std::vector<int32_t>{n_ - 1, 0, 5}));
}

TEST_F(HorovodMpiTest, SumAndProductInt64) {
  // Rank r: [2^40 + r, r + 2]: sum [n 2^40 + n(n-1)/2, ...]; product of (r + 2): 2..n+1 = (n+1)!.
  const int64_t big = int64_t{1} << 40;
  const Tensor x = Make<int64_t>({2}, {big + r_, r_ + 2});
  absl::StatusOr<Tensor> sum = Allreduce(x, {});
  ASSERT_TRUE(sum.ok()) << sum.status();
  EXPECT_EQ(Values<int64_t>(*sum)[0], n_ * big + int64_t{n_} * (n_ - 1) / 2);
  absl::StatusOr<Tensor> prod =
      Allreduce(x, ops::HorovodAllreduce::ReduceOp(ops::kHorovodProduct));
  ASSERT_TRUE(prod.ok()) << prod.status();
  int64_t factorial = 1;
  for (int k = 2; k <= n_ + 1; ++k) factorial *= k;
  EXPECT_EQ(Values<int64_t>(*prod)[1], factorial);
}

TEST_F(HorovodMpiTest, EmptyAllreduce) {
  absl::StatusOr<Tensor> y = Allreduce(Make<float>({0, 4}, {}), {});
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ(y->shape(), TensorShape({0, 4}));
}

TEST_F(HorovodMpiTest, LegacyNodeWithOnlyTSums) {
  // A node as Horovod's first versions wrote it: only T (the defaults fill the rest).
  Scope root = Scope::NewRootScope();
  auto x = ops::Const(root, Make<int32_t>({2}, {r_, 1}));
  absl::StatusOr<Node*> node =
      NodeBuilder("legacy", "HorovodAllreduce").Input(x).Attr("T", DT_INT32).Finalize(root.graph());
  ASSERT_TRUE(node.ok()) << node.status();
  absl::StatusOr<std::vector<Tensor>> out = test::Run(root, {Output(*node, 0)});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(Values<int32_t>((*out)[0]), (std::vector<int32_t>{n_ * (n_ - 1) / 2, n_}));
}

TEST_F(HorovodMpiTest, BroadcastFromRoot1) {
  // Rank r: [10 r + 1, 10 r + 2]; every rank gets rank 1's [11, 12].
  Scope root = Scope::NewRootScope();
  const float r = r_;
  auto f = ops::HorovodBroadcast(root.WithOpName("bf"),
                                 Make<float>({2}, {10 * r + 1, 10 * r + 2}), 1);
  auto i = ops::HorovodBroadcast(root.WithOpName("bi"), Make<int64_t>({1}, {int64_t{r_} * 7}), 1);
  absl::StatusOr<std::vector<Tensor>> out = test::Run(root, {f, i});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(Values<float>((*out)[0]), (std::vector<float>{11, 12}));
  EXPECT_EQ(Values<int64_t>((*out)[1]), (std::vector<int64_t>{7}));
}

TEST_F(HorovodMpiTest, AllgatherUnevenRows) {
  // Rank r has r + 1 rows [100 r + j, -j] (j = 0..r), int32; gathered rank by rank.
  std::vector<int32_t> mine, expected;
  for (int j = 0; j <= r_; ++j) mine.insert(mine.end(), {100 * r_ + j, -j});
  for (int s = 0; s < n_; ++s) {
    for (int j = 0; j <= s; ++j) expected.insert(expected.end(), {100 * s + j, -j});
  }
  Scope root = Scope::NewRootScope();
  auto p = ops::Placeholder(root.WithOpName("x"), DT_INT32);
  auto y = ops::HorovodAllgather(root.WithOpName("gather"), p);
  absl::StatusOr<std::vector<Tensor>> out =
      test::Run(root, {y}, {{p, Make<int32_t>({r_ + 1, 2}, mine)}});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ((*out)[0].shape(), TensorShape({static_cast<int64_t>(n_) * (n_ + 1) / 2, 2}));
  EXPECT_EQ(Values<int32_t>((*out)[0]), expected);
}

TEST_F(HorovodMpiTest, AllgatherWithAnEmptyRank) {
  // Rank r has r rows of [r, r, r] (rank 0 none), float.
  std::vector<float> mine(3 * r_, static_cast<float>(r_)), expected;
  for (int s = 0; s < n_; ++s) expected.insert(expected.end(), 3 * s, static_cast<float>(s));
  Scope root = Scope::NewRootScope();
  auto p = ops::Placeholder(root.WithOpName("x"), DT_FLOAT);
  auto y = ops::HorovodAllgather(root.WithOpName("gather"), p);
  absl::StatusOr<std::vector<Tensor>> out = test::Run(root, {y}, {{p, Make<float>({r_, 3}, mine)}});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ((*out)[0].shape(), TensorShape({static_cast<int64_t>(n_) * (n_ - 1) / 2, 3}));
  EXPECT_EQ(Values<float>((*out)[0]), expected);
}

TEST_F(HorovodMpiTest, MismatchedShapesFailOnEveryRankThenRecover) {
  // Rank r feeds r + 1 elements: every rank gets the same error, naming rank 1; nobody hangs,
  // and the next collective works.
  absl::StatusOr<Tensor> y = Allreduce(Make<float>({r_ + 1}, std::vector<float>(r_ + 1, 1)), {});
  ASSERT_FALSE(y.ok());
  EXPECT_EQ(y.status().code(), absl::StatusCode::kInvalidArgument) << y.status();
  EXPECT_NE(y.status().message().find("rank 1's tensor"), std::string::npos) << y.status();
  absl::StatusOr<Tensor> ok = Allreduce(Make<float>({1}, {1}), {});
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(Values<float>(*ok)[0], n_);
}

TEST_F(HorovodMpiTest, MismatchedRootRankFails) {
  Scope root = Scope::NewRootScope();
  auto y = ops::HorovodBroadcast(root.WithOpName("b"), Make<float>({1}, {1}), r_ == 0 ? 0 : 1);
  absl::StatusOr<std::vector<Tensor>> out = test::Run(root, {y});
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("root_rank"), std::string::npos) << out.status();
}

TEST_F(HorovodMpiTest, Gradients) {
  // L_r = sum(c_r * Allreduce_sum(x_r)) with c_r = r + 1: dL/dx on every rank is the allreduce
  // of the c_s, n(n+1)/2. L_r = sum(c_r * Broadcast(x, root 1)): Horovod's gradient averages
  // (n+1)/2 on root 1 and is zero elsewhere.
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT);
  const float c = r_ + 1, n = n_;
  auto reduced = ops::HorovodAllreduce(root.WithOpName("ar"), x);
  auto broadcast = ops::HorovodBroadcast(root.WithOpName("bc"), x, 1);
  auto loss_ar = ops::Sum(root, ops::Mul(root, reduced, c), {0});
  auto loss_bc = ops::Sum(root, ops::Mul(root, broadcast, c), {0});
  std::vector<Output> g_ar, g_bc;
  ASSERT_TRUE(AddSymbolicGradients(root, {loss_ar}, {x}, &g_ar).ok());
  ASSERT_TRUE(AddSymbolicGradients(root, {loss_bc}, {x}, &g_bc).ok());
  absl::StatusOr<std::vector<Tensor>> out =
      test::Run(root, {g_ar[0], g_bc[0]}, {{x, Make<float>({2}, {1, 2})}});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(Values<float>((*out)[0]), (std::vector<float>(2, n * (n + 1) / 2)));
  EXPECT_EQ(Values<float>((*out)[1]), (std::vector<float>(2, r_ == 1 ? (n + 1) / 2 : 0)));
}

TEST_F(HorovodMpiTest, AllgatherGradient) {
  // Rank r gathers r + 1 rows of 2; L_r = sum(W_r * gathered), W_r[i][k] = (r + 1)(10 i + k).
  // Horovod's gradient: the average of the W_s, (n+1)/2 (10 i + k), at rank r's rows, which
  // start at r(r+1)/2.
  const int rows = n_ * (n_ + 1) / 2, offset = r_ * (r_ + 1) / 2;
  std::vector<float> w;
  for (int i = 0; i < rows; ++i) {
    for (int k = 0; k < 2; ++k) w.push_back((r_ + 1) * (10.0f * i + k));
  }
  std::vector<float> expected;
  for (int j = 0; j <= r_; ++j) {
    for (int k = 0; k < 2; ++k) expected.push_back((n_ + 1) / 2.0f * (10.0f * (offset + j) + k));
  }
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT);
  auto gathered = ops::HorovodAllgather(root.WithOpName("gather"), x);
  auto loss = ops::Sum(root, ops::Mul(root, gathered, Make<float>({rows, 2}, w)), {0, 1});
  std::vector<Output> grads;
  ASSERT_TRUE(AddSymbolicGradients(root, {loss}, {x}, &grads).ok()) << root.status();
  absl::StatusOr<std::vector<Tensor>> out = test::Run(
      root, {grads[0]}, {{x, Make<float>({r_ + 1, 2}, std::vector<float>(2 * (r_ + 1), 1))}});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ((*out)[0].shape(), TensorShape({r_ + 1, 2}));
  EXPECT_EQ(Values<float>((*out)[0]), expected);
}

TEST_F(HorovodMpiTest, BroadcastGlobalVariablesFromRoot1) {
  // Rank r initializes a = [r, r + 1] (float) and b = [10 r] (int32); after the broadcast every
  // rank holds rank 1's a = [1, 2], b = [10].
  Scope root = Scope::NewRootScope();
  auto a = ops::Variable(root.WithOpName("a"), {2}, DT_FLOAT);
  auto b = ops::Variable(root.WithOpName("b"), {1}, DT_INT32);
  ops::Assign(root, a, Make<float>({2}, {static_cast<float>(r_), r_ + 1.0f}));
  ops::Assign(root, b, Make<int32_t>({1}, {10 * r_}));
  Operation init = GlobalVariablesInitializer(root);
  Operation sync = BroadcastGlobalVariables(root, 1);
  ASSERT_TRUE(root.ok()) << root.status();
  absl::StatusOr<std::unique_ptr<Session>> session = Session::Create(root);
  ASSERT_TRUE(session.ok()) << session.status();
  ASSERT_TRUE((*session)->Run({init}).ok());
  absl::Status s = (*session)->Run({sync});
  ASSERT_TRUE(s.ok()) << s;
  std::vector<Tensor> out;
  s = (*session)->Run({}, {a, b}, {}, &out);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(Values<float>(out[0]), (std::vector<float>{1, 2}));
  EXPECT_EQ(Values<int32_t>(out[1]), (std::vector<int32_t>{10}));
}


// One allreduce (sum) of `x` named `name`, in a session of its own: for concurrent runs.
absl::StatusOr<Tensor> NamedAllreduce(const std::string& name, const Tensor& x) {
  Scope root = Scope::NewRootScope();
  auto y = ops::HorovodAllreduce(root.WithOpName(name), ops::Const(root, x));
  DFLOW_ASSIGN_OR_RETURN(std::vector<Tensor> out, test::Run(root, {y}));
  return out[0];
}

TEST_F(HorovodMpiTest, OppositeOrdersComplete) {
  // Rank 0 submits "first" and, 200 ms later, "second"; the other ranks the other way round.
  // Matched by name, both finish: first sums r + 1 -> n(n+1)/2, second sums 10 -> 10 n.
  absl::StatusOr<Tensor> first, second;
  auto run_first = [&] { first = NamedAllreduce("first", Make<float>({1}, {r_ + 1.0f})); };
  auto run_second = [&] { second = NamedAllreduce("second", Make<int64_t>({2}, {10, 10})); };
  std::thread early(r_ == 0 ? std::function<void()>(run_first) : run_second);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  std::thread late(r_ == 0 ? std::function<void()>(run_second) : run_first);
  early.join();
  late.join();
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(Values<float>(*first)[0], n_ * (n_ + 1) / 2.0f);
  EXPECT_EQ(Values<int64_t>(*second), (std::vector<int64_t>{10 * n_, 10 * n_}));
}

TEST_F(HorovodMpiTest, ManySmallConcurrentAllreducesSum) {
  // 24 concurrent allreduces of 3 floats [k, r, 1] (k: the tensor, r: the rank), fused when
  // they meet in one cycle: tensor k sums to [n k, n(n-1)/2, n].
  constexpr int kTensors = 24;
  MpiContext* mpi = *MpiContext::Get();
  const int64_t calls_before = mpi->allreduce_calls();
  std::vector<absl::StatusOr<Tensor>> out(kTensors);
  std::vector<std::thread> threads;
  for (int k = 0; k < kTensors; ++k) {
    threads.emplace_back([&, k] {
      out[k] = NamedAllreduce(absl::StrCat("small_", k),
                              Make<float>({3}, {float(k), float(r_), 1.0f}));
    });
  }
  for (std::thread& t : threads) t.join();
  for (int k = 0; k < kTensors; ++k) {
    ASSERT_TRUE(out[k].ok()) << out[k].status();
    EXPECT_EQ(Values<float>(*out[k]),
              (std::vector<float>{float(n_ * k), n_ * (n_ - 1) / 2.0f, float(n_)}))
        << "tensor " << k;
  }
  const int64_t calls = mpi->allreduce_calls() - calls_before;
  EXPECT_LE(calls, kTensors);
  if (r_ == 0) {
    std::printf("%d allreduces ran as %lld MPI calls (%lld tensors fused so far)\n", kTensors,
                static_cast<long long>(calls), static_cast<long long>(mpi->fused_tensors()));
  }
}

TEST_F(HorovodMpiTest, AllgatherInt64UnevenAndAllEmpty) {
  // Rank r has 2 - (r % 2) rows [r, 2^40 + r] (int64): rows of 2, 1, 2, ...
  std::vector<int64_t> mine, expected;
  const int64_t big = int64_t{1} << 40;
  for (int s = 0; s < n_; ++s) {
    for (int j = 0; j < 2 - (s % 2); ++j) {
      expected.insert(expected.end(), {s, big + s});
      if (s == r_) mine.insert(mine.end(), {s, big + s});
    }
  }
  Scope root = Scope::NewRootScope();
  auto p = ops::Placeholder(root.WithOpName("x"), DT_INT64);
  auto y = ops::HorovodAllgather(root.WithOpName("gather64"), p);
  auto q = ops::Placeholder(root.WithOpName("e"), DT_INT32);
  auto empty = ops::HorovodAllgather(root.WithOpName("gather_empty"), q);
  absl::StatusOr<std::vector<Tensor>> out = test::Run(
      root, {y, empty},
      {{p, Make<int64_t>({2 - (r_ % 2), 2}, mine)}, {q, Make<int32_t>({0, 5}, {})}});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ((*out)[0].shape(), TensorShape({static_cast<int64_t>(expected.size() / 2), 2}));
  EXPECT_EQ(Values<int64_t>((*out)[0]), expected);
  EXPECT_EQ((*out)[1].shape(), TensorShape({0, 5}));
}

TEST_F(HorovodMpiTest, EmptyBroadcastAndInt32Average) {
  // An empty broadcast; an int32 average of [2r + 1] is (n^2) / n = n (exact).
  Scope root = Scope::NewRootScope();
  auto b = ops::HorovodBroadcast(root.WithOpName("empty_bcast"), Make<float>({0}, {}), 0);
  auto a = ops::HorovodAllreduce(root.WithOpName("avg32"), Make<int32_t>({1}, {2 * r_ + 1}),
                                 ops::HorovodAllreduce::ReduceOp(ops::kHorovodAverage));
  absl::StatusOr<std::vector<Tensor>> out = test::Run(root, {b, a});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ((*out)[0].shape(), TensorShape({0}));
  EXPECT_EQ(Values<int32_t>((*out)[1]), (std::vector<int32_t>{n_}));
}

// Needs a short stall shutdown time: each case waits for it once.
class HorovodMpiFailureTest : public HorovodMpiTest {
 protected:
  void SetUp() override {
    HorovodMpiTest::SetUp();
    if (std::getenv("HOROVOD_STALL_SHUTDOWN_TIME_SECONDS") == nullptr) {
      GTEST_SKIP() << "run by horovod_mpi_test.sh with HOROVOD_STALL_SHUTDOWN_TIME_SECONDS=3";
    }
  }
};

TEST_F(HorovodMpiFailureTest, RankRaisingAnErrorFailsTheOthersNamingIt) {
  // Rank 1's Reshape of 2 elements to [3] fails before its allreduce: it never submits it, and
  // the others fail after the shutdown time naming rank 1, not hang. Then all recover.
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT);
  auto y = ops::HorovodAllreduce(root.WithOpName("after_reshape"),
                                 ops::Reshape(root, x, Make<int32_t>({1}, {3})));
  const Tensor feed = r_ == 1 ? Make<float>({2}, {1, 2}) : Make<float>({3}, {1, 2, 3});
  absl::StatusOr<std::vector<Tensor>> out = test::Run(root, {y}, {{x, feed}});
  ASSERT_FALSE(out.ok());
  if (r_ != 1) {
    EXPECT_EQ(out.status().code(), absl::StatusCode::kDeadlineExceeded) << out.status();
    EXPECT_NE(out.status().message().find("HorovodAllreduce 'after_reshape': rank 1 did not "
                                          "reach it"),
              std::string::npos)
        << out.status();
  }
  // The failed rank is out at once; it waits past the others' timeout before the next one.
  if (r_ == 1) {
    absl::SleepFor((*MpiContext::Get())->options().stall_shutdown + absl::Seconds(1));
  }
  absl::StatusOr<Tensor> ok = NamedAllreduce("after_failure", Make<float>({1}, {1}));
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(Values<float>(*ok)[0], n_);
}

TEST_F(HorovodMpiFailureTest, DifferentNamesStallThenFailNamingTheMissingRanks) {
  // Rank 0 runs "only_on_0", the others "not_on_0": each waits for the other side, is warned
  // about, and fails after the shutdown time naming the ranks that never came.
  absl::StatusOr<Tensor> y =
      NamedAllreduce(r_ == 0 ? "only_on_0" : "not_on_0", Make<float>({1}, {1}));
  ASSERT_FALSE(y.ok());
  EXPECT_EQ(y.status().code(), absl::StatusCode::kDeadlineExceeded) << y.status();
  const std::string missing =
      r_ == 0 ? (n_ == 2 ? "rank 1 did not" : "ranks 1, 2 did not") : "rank 0 did not";
  EXPECT_NE(y.status().message().find(missing), std::string::npos) << y.status();
  // The two names reach the timeout a few ms apart: a side that failed first must not exit
  // (which would fail the other's name as "shut down" instead) before the other side failed.
  absl::StatusOr<Tensor> ok = NamedAllreduce("after_stall", Make<float>({1}, {1}));
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(Values<float>(*ok)[0], n_);
}

}  // namespace
}  // namespace dflow
