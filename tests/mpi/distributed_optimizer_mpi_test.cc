// DistributedOptimizer across ranks (part of horovod_mpi_test_bin, run by horovod_mpi_test.sh
// under mpirun -np 2 and -np 3): one gradient-descent step with learning rate 1 leaves
// w = -(combined gradient), checked against the closed forms of the ranks' gradients.
#include <cstdint>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/collective/mpi_context.h"
#include "ops/array_ops.h"
#include "ops/collective/horovod_training.h"
#include "ops/math_ops.h"
#include "ops/reduction_ops.h"
#include "ops/state_ops.h"
#include "ops/training.h"
#include "tests/mpi/horovod_test_util.h"

namespace dflow {
namespace {

using test::Make;
using test::Values;

// w = [0, 0]; rank r's loss Sum(w * c) with c = [1, r] has gradient c. One step of
// DistributedOptimizer(GradientDescent(1)) then leaves w = -(combined gradient).
std::vector<float> OneStep(bool weighted, int rank) {
  Scope root = Scope::NewRootScope();
  auto w = ops::Variable(root.WithOpName("w"), {2}, DT_FLOAT);
  ops::Assign(root.WithOpName("w/Assign"), w, ops::Const(root, 0.0f, TensorShape({2})));
  auto c = ops::Const(root, Make<float>({2}, {1.0f, static_cast<float>(rank)}));
  auto loss = ops::Sum(root.WithOpName("loss"), ops::Mul(root, w, c), {0});
  DistributedOptimizer opt{GradientDescentOptimizer(1.0f)};
  if (weighted) opt.WeightedByRows(ops::Const(root, int32_t{rank + 1}));
  Operation train = opt.Minimize(root.NewSubScope("train"), loss);
  Operation init = GlobalVariablesInitializer(root);
  EXPECT_TRUE(root.ok()) << root.status();
  if (!root.ok()) return {};
  auto session = Session::Create(root);
  EXPECT_TRUE(session.ok()) << session.status();
  EXPECT_TRUE((*session)->Run({init}).ok());
  absl::Status s = (*session)->Run({train});
  EXPECT_TRUE(s.ok()) << s;
  std::vector<Tensor> out;
  EXPECT_TRUE((*session)->Run({}, {w}, {}, &out).ok());
  return out.empty() ? std::vector<float>{} : Values<float>(out[0]);
}

TEST(DistributedOptimizerMpi, AveragesGradients) {
  MpiContext* mpi = *MpiContext::Get();
  const float n = mpi->size();
  // The average of [1, r] over r < n: [1, (n-1)/2].
  const std::vector<float> w = OneStep(false, mpi->rank());
  ASSERT_EQ(w.size(), 2u);
  EXPECT_FLOAT_EQ(w[0], -1.0f);
  EXPECT_FLOAT_EQ(w[1], -(n - 1) / 2);
}

TEST(DistributedOptimizerMpi, WeightsGradientsByRows) {
  MpiContext* mpi = *MpiContext::Get();
  const float n = mpi->size();
  // Rank r holds r+1 rows of T = n(n+1)/2: sum_r [1, r] (r+1)/T = [1, 2(n-1)/3].
  const std::vector<float> w = OneStep(true, mpi->rank());
  ASSERT_EQ(w.size(), 2u);
  EXPECT_FLOAT_EQ(w[0], -1.0f);
  EXPECT_FLOAT_EQ(w[1], -2 * (n - 1) / 3);
}

}  // namespace
}  // namespace dflow
