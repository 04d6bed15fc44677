// The Horovod collectives across ranks: run by horovod_mpi_test.sh under
// `mpirun --allow-run-as-root --oversubscribe -np 2` and `-np 3`. Every rank runs the same
// tests in the same order and checks its own results against values computed by hand from the
// rank formulas below (rank r of n contributes values made from r).
#include <cstdint>
#include <cstdlib>
#include <vector>

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

TEST_F(HorovodMpiTest, DifferentCollectivesFailInsteadOfMixing) {
  // Rank 0 runs node "a", the others node "b": the handshake sees different names.
  Scope root = Scope::NewRootScope();
  auto y = ops::HorovodAllreduce(root.WithOpName(r_ == 0 ? "a" : "b"), Make<float>({1}, {1}));
  absl::StatusOr<std::vector<Tensor>> out = test::Run(root, {y});
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), absl::StatusCode::kFailedPrecondition) << out.status();
  EXPECT_NE(out.status().message().find("different collective"), std::string::npos)
      << out.status();
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

// Only with DFLOW_MPI_TEST_EXIT_RANK=k (horovod_mpi_test.sh): rank k exits before the
// collective the others are blocked in; mpirun must then end the job with a non-zero status
// naming that rank, not hang (the script checks).
TEST_F(HorovodMpiTest, ExitingRankEndsTheJob) {
  const char* exit_rank = std::getenv("DFLOW_MPI_TEST_EXIT_RANK");
  if (exit_rank == nullptr) GTEST_SKIP() << "run by horovod_mpi_test.sh";
  if (r_ == std::atoi(exit_rank)) std::exit(3);
  absl::StatusOr<Tensor> y = Allreduce(Make<float>({1}, {1}), {});
  ADD_FAILURE() << "the allreduce returned without the exited rank: "
                << (y.ok() ? "ok" : y.status().ToString());
}

}  // namespace
}  // namespace dflow
