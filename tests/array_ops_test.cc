// Array ops: Const, Identity, Reshape, Shape, Fill, ZerosLike, OnesLike, ExpandDims,
// BroadcastGradientArgs.
#include "ops/array_ops.h"

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "ops/standard_ops.h"
#include "tests/gradient_checker.h"
#include "tests/test_util.h"

namespace dflow {
namespace {

std::vector<int64_t> Ints(const Tensor& t) {
  std::vector<int64_t> v;
  if (t.dtype() == DT_INT32) {
    for (int32_t x : t.flat<int32_t>()) v.push_back(x);
  } else {
    for (int64_t x : t.flat<int64_t>()) v.push_back(x);
  }
  return v;
}

TEST(Reshape, InfersTheMinusOneDimensionAndKeepsRowMajorOrder) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT);
  auto y = ops::Reshape(root, x, {-1, 2});
  absl::StatusOr<Tensor> out = test::RunOne(root, y, {{x, test::FloatTensor({3, 2, 1}, {1, 2, 3, 4, 5, 6})}});
  ASSERT_TRUE(out.ok()) << out.status();
  test::ExpectTensorNear(*out, {3, 2}, {1, 2, 3, 4, 5, 6});
}

TEST(Reshape, ShapeFunctionUsesAConstantShape) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({-1, 28, 28, 1}));
  auto y = ops::Reshape(root, x, {-1, 784});
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(y.shape().DebugString(), "[?,784]");
  auto fixed = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({2, 3}));
  auto bad = ops::Reshape(root.WithOpName("bad"), fixed, {4, 2});
  EXPECT_FALSE(root.ok());
  EXPECT_TRUE(absl::StrContains(root.status().message(), "Reshape node 'bad'")) << root.status();
}

TEST(Reshape, RejectsAnIncompatibleElementCountAtRunTime) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT);
  auto y = ops::Reshape(root.WithOpName("r"), x, {4, -1});
  absl::StatusOr<Tensor> out = test::RunOne(root, y, {{x, test::FloatTensor({6}, {1, 2, 3, 4, 5, 6})}});
  EXPECT_FALSE(out.ok());
  EXPECT_TRUE(absl::StrContains(out.status().message(), "Reshape node 'r'")) << out.status();
}

TEST(Shape, ReturnsTheRunTimeShapeAsInt32) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT);
  absl::StatusOr<Tensor> out = test::RunOne(root, ops::Shape(root, x), {{x, Tensor(DT_FLOAT, {257, 1, 3})}});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->dtype(), DT_INT32);
  EXPECT_EQ(Ints(*out), (std::vector<int64_t>{257, 1, 3}));
}

TEST(Fill, FillsTheGivenShapeWithTheScalar) {
  Scope root = Scope::NewRootScope();
  absl::StatusOr<Tensor> out = test::RunOne(root, ops::Fill(root, {2, 3}, 1.5f));
  ASSERT_TRUE(out.ok()) << out.status();
  test::ExpectTensorNear(*out, {2, 3}, {1.5, 1.5, 1.5, 1.5, 1.5, 1.5});
}

TEST(ZerosLikeAndOnesLike, MatchTheInputShapeAndType) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT);
  absl::StatusOr<std::vector<Tensor>> out = test::RunGraph(
      root, {{x, test::FloatTensor({1, 3}, {7, 8, 9})}}, {ops::ZerosLike(root, x), ops::OnesLike(root, x)});
  ASSERT_TRUE(out.ok());
  test::ExpectTensorNear((*out)[0], {1, 3}, {0, 0, 0});
  test::ExpectTensorNear((*out)[1], {1, 3}, {1, 1, 1});
}

TEST(ExpandDims, InsertsAnAxisCountingNegativeFromTheEnd) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({2, 3}));
  auto front = ops::ExpandDims(root, x, 0);
  auto back = ops::ExpandDims(root, x, -1);
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(front.shape().DebugString(), "[1,2,3]");
  EXPECT_EQ(back.shape().DebugString(), "[2,3,1]");
  absl::StatusOr<Tensor> out = test::RunOne(root, back, {{x, test::FloatTensor({2, 3}, {1, 2, 3, 4, 5, 6})}});
  ASSERT_TRUE(out.ok());
  test::ExpectTensorNear(*out, {2, 3, 1}, {1, 2, 3, 4, 5, 6});
}

TEST(BroadcastGradientArgs, ListsTheAxesEachOperandWasBroadcastAlong) {
  Scope root = Scope::NewRootScope();
  Node* n = AddOp(root, "BroadcastGradientArgs", {Input({2, 1, 3}), Input({5, 1})});
  ASSERT_NE(n, nullptr) << root.status();
  absl::StatusOr<std::vector<Tensor>> out = test::RunGraph(root, {}, {Output(n, 0), Output(n, 1)});
  ASSERT_TRUE(out.ok()) << out.status();
  // Output shape [2,5,3]: s0 [2,1,3] broadcasts along axis 1; s1 [5,1] along 0 and 2.
  EXPECT_EQ(Ints((*out)[0]), (std::vector<int64_t>{1}));
  EXPECT_EQ(Ints((*out)[1]), (std::vector<int64_t>{0, 2}));
}

TEST(ReshapeAndExpandDims, GradientsMatchCentralDifferences) {
  for (int batch : {1, 7}) {
    Scope root = Scope::NewRootScope();
    auto x = ops::Placeholder(root, DT_FLOAT);
    auto y = ops::ExpandDims(root, ops::Reshape(root, x, {-1}), 1);
    absl::StatusOr<double> err = test::MaxGradientError(root, {{x, test::RandomTensor({batch, 3}, 9)}}, y);
    ASSERT_TRUE(err.ok()) << err.status();
    EXPECT_LT(*err, 1e-3);
  }
}

}  // namespace
}  // namespace dflow
