// Optimizers and variable initialization.
#include "ops/training.h"

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "ops/standard_ops.h"
#include "runtime/session.h"
#include "tests/test_util.h"

namespace dflow {
namespace {

TEST(GradientDescentOptimizer, FitsALineByLeastSquares) {
  // y = 3x - 1 on 8 points; loss = mean((w*x + b - y)^2).
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT, ops::Placeholder::Shape({8}));
  auto y = ops::Placeholder(root.WithOpName("y"), DT_FLOAT, ops::Placeholder::Shape({8}));
  auto w = ops::Variable(root.WithOpName("w"), {1}, DT_FLOAT);
  auto b = ops::Variable(root.WithOpName("b"), {1}, DT_FLOAT);
  ops::Assign(root, w, Input({0.f}));
  ops::Assign(root, b, Input({0.f}));
  auto err = ops::Sub(root, ops::Add(root, ops::Mul(root, w, x), b), y);
  auto loss = ops::Mean(root, ops::Square(root, err), {0});
  Operation train = GradientDescentOptimizer(0.1f).Minimize(root, loss);
  Operation init = GlobalVariablesInitializer(root);
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_EQ(train.node()->op(), "NoOp");
  EXPECT_EQ(train.node()->control_inputs().size(), 2u);

  std::vector<float> xs, ys;
  for (int i = 0; i < 8; ++i) {
    xs.push_back(i / 4.f - 1);
    ys.push_back(3 * xs.back() - 1);
  }
  std::vector<std::pair<Output, Tensor>> feeds = {{x, test::FloatTensor({8}, xs)},
                                                  {y, test::FloatTensor({8}, ys)}};
  absl::StatusOr<std::unique_ptr<Session>> s = Session::Create(root);
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE((*s)->Run({init}).ok());
  std::vector<Tensor> out;
  for (int step = 0; step < 500; ++step) {
    ASSERT_TRUE((*s)->Run(feeds, {}, {train}, &out).ok());
  }
  ASSERT_TRUE((*s)->Run(feeds, {w, b, loss}, {}, &out).ok());
  EXPECT_NEAR(out[0].flat<float>()[0], 3.f, 1e-3);
  EXPECT_NEAR(out[1].flat<float>()[0], -1.f, 1e-3);
  EXPECT_LT(out[2].scalar<float>(), 1e-6);
}

TEST(GradientDescentOptimizer, ReportsALossWithoutVariables) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT);
  Operation train = GradientDescentOptimizer(0.5f).Minimize(root, ops::Identity(root, x));
  EXPECT_EQ(train.node(), nullptr);
  EXPECT_TRUE(absl::StrContains(root.status().message(), "depends on no variables"));
}

TEST(GlobalVariablesInitializer, ReportsAVariableWithoutAnAssign) {
  Scope root = Scope::NewRootScope();
  ops::Variable(root.WithOpName("lonely"), {1}, DT_FLOAT);
  GlobalVariablesInitializer(root);
  EXPECT_TRUE(absl::StrContains(root.status().message(), "'lonely' has no Assign"));
}

}  // namespace
}  // namespace dflow
