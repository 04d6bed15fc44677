// MatMul: results against a plain-loop reference for every transpose combination, shape and
// dtype errors at graph build and run time, and the gradient against central differences.
#include "ops/math_ops.h"

#include <cmath>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "ops/standard_ops.h"
#include "runtime/session.h"
#include "tests/gradient_checker.h"
#include "tests/reference.h"
#include "tests/test_util.h"

namespace dflow {
namespace test {
namespace {

constexpr double kGradTolerance = 5e-3;

// ---------------------------------------------------------------------------------------------
// MatMul.

TEST(MatMul, MatchesPlainLoopForEveryTransposeCombination) {
  struct Case { int64_t m, k, n; };
  // One row (m = 1) runs as a loop up to 2^16 weights: row lengths below 16 (its flat path),
  // 8, 16 and more (by column blocks), inner dimensions that end in a partial period or block.
  for (Case c : {Case{1, 5, 3}, Case{7, 1, 4}, Case{4, 6, 1}, Case{257, 13, 10}, Case{1, 1, 1},
                 Case{1, 784, 10}, Case{1, 9, 8}, Case{1, 17, 16}, Case{1, 100, 23},
                 Case{1, 3, 7}, Case{1, 600, 1000}, Case{1, 50, 1}, Case{1, 31, 3},
                 Case{1, 64, 5}, Case{1, 45, 12}, Case{1, 29, 15}}) {
    for (bool ta : {false, true}) {
      for (bool tb : {false, true}) {
        Scope root = Scope::NewRootScope();
        Tensor a = RandomTensor(ta ? TensorShape({c.k, c.m}) : TensorShape({c.m, c.k}), 1);
        Tensor b = RandomTensor(tb ? TensorShape({c.n, c.k}) : TensorShape({c.k, c.n}), 2);
        auto pa = ops::Placeholder(root, DT_FLOAT);
        auto pb = ops::Placeholder(root, DT_FLOAT);
        // A fed b as it is; a Const b on oneDNN through its transposed copy.
        for (bool const_b : {false, true}) {
          auto y = ops::MatMul(root, pa, const_b ? ops::Const(root, b) : Output(pb),
                               ops::MatMul::TransposeA(ta).TransposeB(tb));
          absl::StatusOr<Tensor> out = RunOne(root, y, {{pa, a}, {pb, b}});
          ASSERT_TRUE(out.ok()) << out.status();
          ExpectTensorNear(*out, TensorShape({c.m, c.n}), MatMulRef(a, b, ta, tb), 1e-4f);
        }
      }
    }
  }
}

// An inner dimension of 1 (a batch-1 weight gradient) is one rounded product per element, +0
// for a -0 product (a matmul's sum starts at +0), whether the kernel's loop (up to 64K outputs)
// or oneDNN computes it.
TEST(MatMul, OuterProductsAreExactProducts) {
  struct Case { int64_t m, n; };
  for (Case c : {Case{784, 10}, Case{5, 17}, Case{3, 8}, Case{2, 3}, Case{40, 3}, Case{9, 9},
                 Case{300, 300}}) {
    for (bool ta : {false, true}) {
      for (bool tb : {false, true}) {
        SCOPED_TRACE(absl::StrCat(c.m, "x", c.n, " ta=", ta, " tb=", tb));
        Tensor a = RandomTensor(ta ? TensorShape({1, c.m}) : TensorShape({c.m, 1}), 5);
        Tensor b = RandomTensor(tb ? TensorShape({c.n, 1}) : TensorShape({1, c.n}), 6);
        float* pa = static_cast<float*>(a.data());
        pa[0] = -0.0f;  // -0 x b[j] and 0 x (negative b[j]) are -0 products.
        if (c.m > 1) pa[1] = 0.0f;
        Scope root = Scope::NewRootScope();
        auto ya = ops::Placeholder(root, DT_FLOAT);
        auto yb = ops::Placeholder(root, DT_FLOAT);
        auto y = ops::MatMul(root, ya, yb, ops::MatMul::TransposeA(ta).TransposeB(tb));
        absl::StatusOr<Tensor> out = RunOne(root, y, {{ya, a}, {yb, b}});
        ASSERT_TRUE(out.ok()) << out.status();
        ASSERT_EQ(out->shape(), TensorShape({c.m, c.n}));
        const float* pb = static_cast<const float*>(b.data());
        const float* got = static_cast<const float*>(out->data());
        int mismatches = 0;
        for (int64_t i = 0; i < c.m; ++i) {
          for (int64_t j = 0; j < c.n; ++j) {
            volatile float product = pa[i] * pb[j];
            const float expected = product == 0.0f ? 0.0f : static_cast<float>(product);
            const float g = got[i * c.n + j];
            mismatches += g != expected || std::signbit(g) != std::signbit(expected);
          }
        }
        EXPECT_EQ(mismatches, 0);
      }
    }
  }
}

TEST(MatMul, TransposeBMatchesPlainLoop) {
  Scope root = Scope::NewRootScope();
  // [[1,2,3],[4,5,6]] x [[1,0,1],[2,1,0]]^T = [[4,4],[10,13]].
  auto a = ops::Const(root, FloatTensor({2, 3}, {1, 2, 3, 4, 5, 6}));
  auto b = ops::Const(root, FloatTensor({2, 3}, {1, 0, 1, 2, 1, 0}));
  auto y = ops::MatMul(root, a, b, ops::MatMul::TransposeB(true));
  EXPECT_EQ(y.shape(), PartialTensorShape({2, 2}));
  absl::StatusOr<Tensor> out = RunOne(root, y);
  ASSERT_TRUE(out.ok()) << out.status();
  ExpectTensorNear(*out, TensorShape({2, 2}), {4, 4, 10, 13});
}

TEST(MatMul, ReusesItsKernelAcrossBatchSizes) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({-1, 6}));
  auto w = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({6, 3}));
  auto y = ops::MatMul(root, x, w);
  EXPECT_EQ(y.shape(), PartialTensorShape({-1, 3}));
  absl::StatusOr<std::unique_ptr<Session>> session = Session::Create(root);
  ASSERT_TRUE(session.ok()) << session.status();
  Tensor wv = RandomTensor({6, 3}, 9);
  for (int64_t batch : {7, 1, 257, 7, 1}) {
    Tensor xv = RandomTensor({batch, 6}, 100 + batch);
    std::vector<Tensor> out;
    ASSERT_TRUE((*session)->Run({{x, xv}, {w, wv}}, {y}, {}, &out).ok());
    ExpectTensorNear(out[0], TensorShape({batch, 3}), MatMulRef(xv, wv, false, false),
                     1e-4f);
  }
}

TEST(MatMul, EmptyInnerDimensionGivesZeros) {
  Scope root = Scope::NewRootScope();
  auto a = ops::Placeholder(root, DT_FLOAT);
  auto b = ops::Placeholder(root, DT_FLOAT);
  auto y = ops::MatMul(root, a, b);
  absl::StatusOr<Tensor> out =
      RunOne(root, y, {{a, Tensor(DT_FLOAT, {2, 0})}, {b, Tensor(DT_FLOAT, {0, 3})}});
  ASSERT_TRUE(out.ok()) << out.status();
  ExpectTensorNear(*out, TensorShape({2, 3}), {0, 0, 0, 0, 0, 0});
}

TEST(MatMul, InnerDimensionMismatchAtGraphBuildNamesNodeAndBothShapes) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({-1, 784}));
  auto w = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({10, 784}));
  auto y = ops::MatMul(root.WithOpName("fc"), x, w);
  EXPECT_EQ(y.node(), nullptr);
  ASSERT_FALSE(root.ok());
  const std::string msg(root.status().message());
  EXPECT_TRUE(absl::StrContains(msg, "'fc'")) << msg;
  EXPECT_TRUE(absl::StrContains(msg, "[?,784]")) << msg;
  EXPECT_TRUE(absl::StrContains(msg, "[10,784]")) << msg;
}

TEST(MatMul, TransposeBResolvesTheSameShapes) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({-1, 784}));
  auto w = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({10, 784}));
  auto y = ops::MatMul(root, x, w, ops::MatMul::TransposeB(true));
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_EQ(y.shape(), PartialTensorShape({-1, 10}));
}

TEST(MatMul, NonMatrixInputIsAGraphBuildError) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({3}));
  auto w = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({3, 4}));
  ops::MatMul(root, x, w);
  ASSERT_FALSE(root.ok());
  EXPECT_TRUE(absl::StrContains(root.status().message(), "[3]")) << root.status();
}

TEST(MatMul, MismatchFedAtRunTimeIsAnError) {
  Scope root = Scope::NewRootScope();
  auto a = ops::Placeholder(root, DT_FLOAT);
  auto b = ops::Placeholder(root, DT_FLOAT);
  auto y = ops::MatMul(root, a, b);
  absl::StatusOr<Tensor> out =
      RunOne(root, y, {{a, RandomTensor({2, 3}, 1)}, {b, RandomTensor({4, 5}, 2)}});
  ASSERT_FALSE(out.ok());
  EXPECT_TRUE(absl::StrContains(out.status().message(), "[2,3]")) << out.status();
  EXPECT_TRUE(absl::StrContains(out.status().message(), "[4,5]")) << out.status();
  out = RunOne(root, y, {{a, RandomTensor({2, 3, 1}, 1)}, {b, RandomTensor({3, 5}, 2)}});
  EXPECT_FALSE(out.ok());
}

TEST(MatMul, IntegerInputsAreRejectedAtGraphBuild) {
  Scope root = Scope::NewRootScope();
  auto a = ops::Placeholder(root, DT_INT32);
  ops::MatMul(root, a, a);
  ASSERT_FALSE(root.ok());
  EXPECT_TRUE(absl::StrContains(root.status().message(), "int32")) << root.status();
}

// ---------------------------------------------------------------------------------------------
// Gradients, against central differences.

TEST(MatMulGrad, MatchesNumericForEveryTransposeCombinationAndBatch) {
  for (int64_t batch : {1, 7}) {
    for (bool ta : {false, true}) {
      for (bool tb : {false, true}) {
        const int64_t k = 4, n = 3;
        Scope root = Scope::NewRootScope();
        TensorShape a_shape = ta ? TensorShape({k, batch}) : TensorShape({batch, k});
        TensorShape b_shape = tb ? TensorShape({n, k}) : TensorShape({k, n});
        auto a = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape(a_shape));
        auto b = ops::Placeholder(root, DT_FLOAT);  // Shape known only at run time.
        auto y = ops::MatMul(root, a, b, ops::MatMul::TransposeA(ta).TransposeB(tb));
        ExpectGradientOk(root, {{a, RandomTensor(a_shape, 1)}, {b, RandomTensor(b_shape, 2)}}, y,
                         "MatMul batch " + std::to_string(batch) + (ta ? " ta" : "") +
                             (tb ? " tb" : ""));
      }
    }
  }
}

TEST(Gradients, SquaredErrorOfALinearModelMatchesNumeric) {
  for (int64_t batch : {1, 7}) {
    Scope root = Scope::NewRootScope();
    auto x = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({-1, 4}));
    auto w = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({4, 3}));
    auto b = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({3}));
    auto t = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({-1, 3}));
    auto pred = ops::Add(root, ops::MatMul(root, x, w), b);
    auto loss = ops::Mean(root, ops::Square(root, ops::Sub(root, pred, t)), {0, 1});
    ASSERT_TRUE(root.ok()) << root.status();
    absl::StatusOr<double> err = MaxGradientError(
        root, {{w, RandomTensor({4, 3}, 1)}, {b, RandomTensor({3}, 2)}}, loss,
        {{x, RandomTensor({batch, 4}, 3)}, {t, RandomTensor({batch, 3}, 4)}});
    ASSERT_TRUE(err.ok()) << err.status();
    EXPECT_LT(*err, kGradTolerance) << "batch " << batch;
  }
}

}  // namespace
}  // namespace test
}  // namespace dflow
