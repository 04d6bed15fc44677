// AddSymbolicGradients: graph structure, fan-out, broadcasting, pruning and errors. Per-op
// gradients are checked numerically in each op family's test.
#include "ops/gradients.h"

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "kernels/op_kernel.h"
#include "ops/op_registry.h"
#include "ops/shape_inference.h"
#include "ops/standard_ops.h"
#include "tests/gradient_checker.h"
#include "tests/test_util.h"

namespace dflow {

// A differentiable op that deliberately has no gradient function.
REGISTER_OP("TestOpWithoutGradient").Input("x: float").Output("y: float").SetShapeFn(UnchangedShape);

namespace {

TEST(AddSymbolicGradients, SumsFanOutWithAddN) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT);
  auto y = ops::Mul(root, x, x);  // dy/dx = 2x, reached along two edges.
  std::vector<Output> grads;
  ASSERT_TRUE(AddSymbolicGradients(root, {y}, {x}, &grads).ok()) << root.status();
  EXPECT_EQ(grads[0].node()->op(), "AddN");
  EXPECT_TRUE(absl::StartsWith(grads[0].node()->name(), "gradients/"));
  absl::StatusOr<Tensor> g = test::RunOne(root, grads[0], {{x, test::FloatTensor({3}, {1, -2, 3})}});
  ASSERT_TRUE(g.ok()) << g.status();
  test::ExpectTensorNear(*g, {3}, {2, -4, 6});
}

TEST(AddSymbolicGradients, UnbroadcastsTheBiasOfALinearLayer) {
  for (int batch : {1, 7}) {
    Scope root = Scope::NewRootScope();
    auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT, ops::Placeholder::Shape({-1, 4}));
    auto w = ops::Placeholder(root.WithOpName("w"), DT_FLOAT, ops::Placeholder::Shape({4, 3}));
    auto b = ops::Placeholder(root.WithOpName("b"), DT_FLOAT, ops::Placeholder::Shape({3}));
    auto y = ops::Add(root, ops::MatMul(root, x, w), b);
    absl::StatusOr<double> err = test::MaxGradientError(
        root, {{w, test::RandomTensor({4, 3}, 1)}, {b, test::RandomTensor({3}, 2)}}, y,
        {{x, test::RandomTensor({batch, 4}, 3)}});
    ASSERT_TRUE(err.ok()) << err.status();
    EXPECT_LT(*err, 2e-3) << "batch " << batch;
  }
}

TEST(AddSymbolicGradients, UnbroadcastsShapesKnownOnlyAtRunTime) {
  Scope root = Scope::NewRootScope();
  auto a = ops::Placeholder(root.WithOpName("a"), DT_FLOAT);  // Unknown rank.
  auto b = ops::Placeholder(root.WithOpName("b"), DT_FLOAT);
  auto y = ops::Mul(root, a, b);
  absl::StatusOr<double> err = test::MaxGradientError(
      root, {{a, test::RandomTensor({2, 1, 3}, 4)}, {b, test::RandomTensor({5, 1}, 5)}}, y);
  ASSERT_TRUE(err.ok()) << err.status();
  EXPECT_LT(*err, 2e-3);
}

TEST(AddSymbolicGradients, ReportsAnUnconnectedXOrGivesZerosWhenAsked) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT);
  auto z = ops::Placeholder(root.WithOpName("z"), DT_FLOAT);
  auto y = ops::Identity(root, x);
  std::vector<Output> grads;
  absl::Status s = AddSymbolicGradients(root, {y}, {z}, &grads);
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(absl::StrContains(s.message(), "'z' is not connected")) << s;

  GradientOptions zeros;
  zeros.zeros_for_unconnected = true;
  ASSERT_TRUE(AddSymbolicGradients(root, {y}, {z}, {}, &grads, zeros).ok());
  absl::StatusOr<Tensor> g = test::RunOne(root, grads[0], {{z, test::FloatTensor({2}, {5, 6})}});
  ASSERT_TRUE(g.ok()) << g.status();
  test::ExpectTensorNear(*g, {2}, {0, 0});
}

TEST(AddSymbolicGradients, NamesTheOpThatHasNoGradient) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT);
  Output y(AddOp(root.WithOpName("mystery"), "TestOpWithoutGradient", {x}));
  ASSERT_TRUE(root.ok()) << root.status();
  std::vector<Output> grads;
  absl::Status s = AddSymbolicGradients(root, {y}, {x}, &grads);
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(absl::StrContains(s.message(), "TestOpWithoutGradient")) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "mystery")) << s;
}

TEST(AddSymbolicGradients, DifferentiatesOnlyNodesBetweenXsAndYs) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT);
  auto side = ops::Placeholder(root.WithOpName("side"), DT_FLOAT);
  auto branch = ops::Exp(root.WithOpName("branch"), side);  // Not on a path from x.
  auto y = ops::Mul(root, ops::Identity(root, x), branch);
  std::vector<Output> grads;
  ASSERT_TRUE(AddSymbolicGradients(root, {y}, {x}, &grads).ok());
  for (Node* n : root.graph()->nodes()) {
    EXPECT_FALSE(absl::StrContains(n->name(), "branch_grad")) << n->name();
  }
  absl::StatusOr<Tensor> g = test::RunOne(
      root, grads[0], {{x, test::FloatTensor({1}, {3})}, {side, test::FloatTensor({1}, {0})}});
  ASSERT_TRUE(g.ok()) << g.status();
  test::ExpectTensorNear(*g, {1}, {1});  // d(x * e^0)/dx
}

}  // namespace
}  // namespace dflow
