// Fusion within one step (part of horovod_mpi_test_bin, run by horovod_mpi_test.sh under
// mpirun -np 2 and -np 3): a HorovodGroupedAllreduce of many small tensors, and a
// DistributedOptimizer step over many small variables, each run as exactly one MPI allreduce
// (MpiContext::allreduce_calls, counted on every rank), with results equal to closed forms of
// the ranks' values.
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "kernels/collective/mpi_context.h"
#include "ops/array_ops.h"
#include "ops/collective/horovod_ops.h"
#include "ops/collective/horovod_training.h"
#include "ops/gradients.h"
#include "ops/math_ops.h"
#include "ops/reduction_ops.h"
#include "ops/state_ops.h"
#include "ops/training.h"
#include "tests/mpi/horovod_test_util.h"

namespace dflow {
namespace {

using test::Make;
using test::Values;

constexpr int kTensors = 20;

class GroupedAllreduceMpiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<MpiContext*> mpi = MpiContext::Get();
    ASSERT_TRUE(mpi.ok()) << mpi.status();
    mpi_ = *mpi;
    ASSERT_GE(mpi_->size(), 2) << "run under mpirun -np 2 or more (horovod_mpi_test.sh)";
    r_ = mpi_->rank();
    n_ = mpi_->size();
  }
  MpiContext* mpi_ = nullptr;
  int r_ = 0;
  int n_ = 1;
};

TEST_F(GroupedAllreduceMpiTest, TwentySmallTensorsSumInOneMpiCall) {
  // Tensor k (k + 1 floats) on rank r: element j is k + r j. Summed: n k + j n(n-1)/2.
  Scope root = Scope::NewRootScope();
  std::vector<Output> tensors;
  for (int k = 0; k < kTensors; ++k) {
    std::vector<float> v(k + 1);
    for (int j = 0; j <= k; ++j) v[j] = static_cast<float>(k + r_ * j);
    tensors.push_back(ops::Const(root, Make<float>({k + 1}, v)));
  }
  ops::HorovodGroupedAllreduce group(root.WithOpName("grouped_sum"), tensors, {});
  ASSERT_TRUE(root.ok()) << root.status();
  const int64_t calls_before = mpi_->allreduce_calls();
  const int64_t fused_before = mpi_->fused_tensors();
  absl::StatusOr<std::vector<Tensor>> out = test::Run(root, group.sum);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(mpi_->allreduce_calls() - calls_before, 1);
  EXPECT_EQ(mpi_->fused_tensors() - fused_before, kTensors);
  for (int k = 0; k < kTensors; ++k) {
    std::vector<float> expected(k + 1);
    for (int j = 0; j <= k; ++j) expected[j] = static_cast<float>(n_ * k + j * n_ * (n_ - 1) / 2);
    EXPECT_EQ(Values<float>((*out)[k]), expected) << "tensor " << k;
  }
}

TEST_F(GroupedAllreduceMpiTest, AverageWithScaleFactorsAndInt32Max) {
  // Average of (2 * [r, 1]) * 0.5 over ranks: [(n-1)/2, 1]. int32 max of [r, -r]: [n-1, 0].
  Scope root = Scope::NewRootScope();
  std::vector<Output> floats, ints;
  for (int k = 0; k < 4; ++k) {
    floats.push_back(ops::Const(root, Make<float>({2}, {float(r_), 1.0f})));
    ints.push_back(ops::Const(root, Make<int32_t>({2}, {r_ + k, -r_})));
  }
  ops::HorovodGroupedAllreduce avg(
      root.WithOpName("grouped_avg"), floats,
      ops::HorovodAllreduce::ReduceOp(ops::kHorovodAverage).PrescaleFactor(2).PostscaleFactor(
          0.5f));
  ops::HorovodGroupedAllreduce max(root.WithOpName("grouped_max"), ints,
                                   ops::HorovodAllreduce::ReduceOp(ops::kHorovodMax));
  ASSERT_TRUE(root.ok()) << root.status();
  std::vector<Output> fetch = avg.sum;
  fetch.insert(fetch.end(), max.sum.begin(), max.sum.end());
  absl::StatusOr<std::vector<Tensor>> out = test::Run(root, fetch);
  ASSERT_TRUE(out.ok()) << out.status();
  for (int k = 0; k < 4; ++k) {
    EXPECT_EQ(Values<float>((*out)[k]), (std::vector<float>{(n_ - 1) / 2.0f, 1.0f}));
    EXPECT_EQ(Values<int32_t>((*out)[4 + k]), (std::vector<int32_t>{n_ - 1 + k, 0}));
  }
}

TEST_F(GroupedAllreduceMpiTest, GradientIsAGroupedAllreduce) {
  // L_r = sum_k sum((r + 1) * Sum(x)_k): dL/dx_k on every rank is sum_s (s + 1) = n(n+1)/2.
  Scope root = Scope::NewRootScope();
  std::vector<Output> xs;
  for (int k = 0; k < 3; ++k) {
    xs.push_back(ops::Const(root, Make<float>({k + 1}, std::vector<float>(k + 1, 1.0f))));
  }
  ops::HorovodGroupedAllreduce group(root.WithOpName("grouped_for_grad"), xs, {});
  std::vector<Output> parts;
  for (const Output& y : group.sum) {
    parts.push_back(ops::Sum(root, ops::Mul(root, y, static_cast<float>(r_ + 1)), {0}));
  }
  auto loss = ops::AddN(root, parts);
  std::vector<Output> grads;
  ASSERT_TRUE(AddSymbolicGradients(root, {loss}, xs, &grads).ok()) << root.status();
  EXPECT_EQ(grads[0].node()->op(), "HorovodGroupedAllreduce");
  absl::StatusOr<std::vector<Tensor>> out = test::Run(root, grads);
  ASSERT_TRUE(out.ok()) << out.status();
  for (int k = 0; k < 3; ++k) {
    EXPECT_EQ(Values<float>((*out)[k]), std::vector<float>(k + 1, n_ * (n_ + 1) / 2.0f));
  }
}

// kTensors variables w_k (k + 1 floats, zero); rank r's loss sum_k Sum(w_k * c_k) with
// c_k[j] = k + r j has gradient c_k. One step of DistributedOptimizer(GradientDescent(1)) leaves
// w_k = -(combined gradient); `calls` gets the MPI allreduces that step took.
std::vector<std::vector<float>> OneStepOfManyVariables(bool weighted, int rank, MpiContext* mpi,
                                                       int64_t* calls) {
  Scope root = Scope::NewRootScope();
  std::vector<Output> ws;
  std::vector<Output> losses;
  for (int k = 0; k < kTensors; ++k) {
    auto w = ops::Variable(root.WithOpName(absl::StrCat("w", k)), {k + 1}, DT_FLOAT);
    ops::Assign(root.WithOpName(absl::StrCat("w", k, "/Assign")), w,
                ops::Const(root, 0.0f, TensorShape({k + 1})));
    std::vector<float> c(k + 1);
    for (int j = 0; j <= k; ++j) c[j] = static_cast<float>(k + rank * j);
    losses.push_back(ops::Sum(root, ops::Mul(root, w, ops::Const(root, Make<float>({k + 1}, c))),
                              {0}));
    ws.push_back(w);
  }
  auto loss = ops::AddN(root.WithOpName("loss"), losses);
  DistributedOptimizer opt{GradientDescentOptimizer(1.0f)};
  if (weighted) opt.WeightedByRows(ops::Const(root, int32_t{rank + 1}));
  Operation train = opt.Minimize(root.NewSubScope("train"), loss);
  Operation init = GlobalVariablesInitializer(root);
  EXPECT_TRUE(root.ok()) << root.status();
  if (!root.ok()) return {};
  auto session = Session::Create(root);
  EXPECT_TRUE(session.ok()) << session.status();
  if (!session.ok()) return {};
  EXPECT_TRUE((*session)->Run({init}).ok());
  const int64_t before = mpi->allreduce_calls();
  absl::Status s = (*session)->Run({train});
  *calls = mpi->allreduce_calls() - before;
  EXPECT_TRUE(s.ok()) << s;
  std::vector<Tensor> out;
  EXPECT_TRUE((*session)->Run({}, ws, {}, &out).ok());
  std::vector<std::vector<float>> values;
  for (const Tensor& t : out) values.push_back(Values<float>(t));
  return values;
}

TEST_F(GroupedAllreduceMpiTest, DistributedOptimizerStepIsOneMpiCall) {
  const float n = n_;
  for (bool weighted : {false, true}) {
    int64_t calls = -1;
    const std::vector<std::vector<float>> w =
        OneStepOfManyVariables(weighted, r_, mpi_, &calls);
    ASSERT_EQ(w.size(), static_cast<size_t>(kTensors));
    // Every gradient (and, weighted, the row count) in one fused allreduce.
    EXPECT_EQ(calls, 1) << (weighted ? "weighted" : "average");
    // Average: c_k[j] over ranks is k + j (n-1)/2. Weighted by rows r + 1 of T = n(n+1)/2:
    // sum_r (r+1)(k + r j) / T = k + j 2(n-1)/3.
    for (int k = 0; k < kTensors; ++k) {
      ASSERT_EQ(w[k].size(), static_cast<size_t>(k + 1));
      for (int j = 0; j <= k; ++j) {
        const float slope = weighted ? 2 * (n - 1) / 3 : (n - 1) / 2;
        EXPECT_FLOAT_EQ(w[k][j], -(k + j * slope))
            << (weighted ? "weighted" : "average") << " w" << k << "[" << j << "]";
      }
    }
  }
}

}  // namespace
}  // namespace dflow
