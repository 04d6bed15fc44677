// Reductions (Sum, Mean, Prod) and ArgMax: results against plain loops over every axis subset
// and hand-computed values, axis errors, and the gradients against central differences.
#include "ops/math_ops.h"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "ops/gradients.h"
#include "ops/standard_ops.h"
#include "tests/gradient_checker.h"
#include "tests/reference.h"
#include "tests/test_util.h"

namespace dflow {
namespace test {
namespace {

constexpr double kGradTolerance = 5e-3;

// ---------------------------------------------------------------------------------------------
// Reductions.

// Every subset of axes of a rank-3 tensor, given positively and negatively, keep_dims both ways.
void CheckReductionAgainstLoop(const std::string& kind) {
  const TensorShape shape({2, 3, 5});
  Tensor xv = RandomTensor(shape, 77, 0.5f, 1.5f);
  for (int mask = 0; mask < 8; ++mask) {
    for (bool negative : {false, true}) {
      for (bool keep_dims : {false, true}) {
        std::vector<int> axes;
        std::vector<bool> reduced(3, false);
        TensorShape expected_shape;
        for (int d = 0; d < 3; ++d) {
          if (mask & (1 << d)) {
            axes.push_back(negative ? d - 3 : d);
            reduced[d] = true;
            if (keep_dims) expected_shape.AddDim(1);
          } else {
            expected_shape.AddDim(shape.dim_size(d));
          }
        }
        Scope root = Scope::NewRootScope();
        auto x = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape(shape));
        Tensor axes_t = Make<int32_t>({static_cast<int64_t>(axes.size())},
                                      std::vector<int32_t>(axes.begin(), axes.end()));
        Output y;
        if (kind == "sum") y = ops::Sum(root, x, axes_t, ops::Sum::KeepDims(keep_dims));
        if (kind == "mean") y = ops::Mean(root, x, axes_t, ops::Mean::KeepDims(keep_dims));
        if (kind == "prod") y = ops::Prod(root, x, axes_t, ops::Prod::KeepDims(keep_dims));
        ASSERT_TRUE(root.ok()) << root.status();
        const std::string what = kind + " mask " + std::to_string(mask) +
                                 (negative ? " negative" : "") + (keep_dims ? " keep_dims" : "");
        EXPECT_EQ(y.shape(), PartialTensorShape(expected_shape)) << what;
        absl::StatusOr<Tensor> out = RunOne(root, y, {{x, xv}});
        ASSERT_TRUE(out.ok()) << what << ": " << out.status();
        SCOPED_TRACE(what);
        ExpectTensorNear(*out, expected_shape, ToFloats(ReduceRef(xv, reduced, kind)), 1e-5f);
      }
    }
  }
}

TEST(Sum, MatchesPlainLoopOverEveryAxisSubset) { CheckReductionAgainstLoop("sum"); }
TEST(Mean, MatchesPlainLoopOverEveryAxisSubset) { CheckReductionAgainstLoop("mean"); }
TEST(Prod, MatchesPlainLoopOverEveryAxisSubset) { CheckReductionAgainstLoop("prod"); }

TEST(Sum, HandComputedScalarAndNegativeAxes) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Const(root, FloatTensor({2, 3}, {1, 2, 3, 4, 5, 6}));
  absl::StatusOr<Tensor> rows = RunOne(root, ops::Sum(root, x, 1));
  ASSERT_TRUE(rows.ok()) << rows.status();
  ExpectTensorNear(*rows, TensorShape({2}), {6, 15});
  absl::StatusOr<Tensor> cols = RunOne(root, ops::Sum(root, x, -2, ops::Sum::KeepDims(true)));
  ASSERT_TRUE(cols.ok()) << cols.status();
  ExpectTensorNear(*cols, TensorShape({1, 3}), {5, 7, 9});
  absl::StatusOr<Tensor> all = RunOne(root, ops::Mean(root, x, {0, 1}));
  ASSERT_TRUE(all.ok()) << all.status();
  ExpectTensorNear(*all, TensorShape({}), {3.5f});
  Tensor axes64 = Make<int64_t>({1}, {0});
  absl::StatusOr<Tensor> mean64 = RunOne(root, ops::Mean(root, x, axes64));
  ASSERT_TRUE(mean64.ok()) << mean64.status();
  ExpectTensorNear(*mean64, TensorShape({3}), {2.5f, 3.5f, 4.5f});
}

TEST(Sum, BatchOf257AndBatchOf1MatchPlainLoop) {
  for (int64_t batch : {257, 1}) {
    Scope root = Scope::NewRootScope();
    auto x = ops::Placeholder(root, DT_FLOAT);
    auto y0 = ops::Sum(root, x, 0);
    auto y1 = ops::Mean(root, x, 1);
    Tensor xv = RandomTensor({batch, 10}, 3);
    absl::StatusOr<std::vector<Tensor>> out = test::RunGraph(root, {{x, xv}}, {y0, y1});
    ASSERT_TRUE(out.ok()) << out.status();
    ExpectTensorNear((*out)[0], TensorShape({10}),
                     ToFloats(ReduceRef(xv, {true, false}, "sum")), 1e-4f);
    ExpectTensorNear((*out)[1], TensorShape({batch}),
                     ToFloats(ReduceRef(xv, {false, true}, "mean")), 1e-5f);
  }
}

TEST(Sum, EmptyAxesReturnTheInput) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Const(root, FloatTensor({2, 2}, {1, 2, 3, 4}));
  auto y = ops::Sum(root, x, Make<int32_t>({0}, {}));
  EXPECT_EQ(y.shape(), PartialTensorShape({2, 2}));
  absl::StatusOr<Tensor> out = RunOne(root, y);
  ASSERT_TRUE(out.ok()) << out.status();
  ExpectTensorNear(*out, TensorShape({2, 2}), {1, 2, 3, 4});
}

TEST(Sum, ReducingSizeOneDimsOnlyDropsThem) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Const(root, FloatTensor({1, 3, 1}, {1, 2, 3}));
  absl::StatusOr<Tensor> out = RunOne(root, ops::Mean(root, x, {0, 2}));
  ASSERT_TRUE(out.ok()) << out.status();
  ExpectTensorNear(*out, TensorShape({3}), {1, 2, 3});
}

TEST(Sum, ZeroSizedReductionGivesZerosAndMeanGivesNaN) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT);
  auto sum = ops::Sum(root, x, 0);
  auto mean = ops::Mean(root, x, 0);
  absl::StatusOr<std::vector<Tensor>> out =
      test::RunGraph(root, {{x, Tensor(DT_FLOAT, {0, 3})}}, {sum, mean});
  ASSERT_TRUE(out.ok()) << out.status();
  ExpectTensorNear((*out)[0], TensorShape({3}), {0, 0, 0});
  for (float v : (*out)[1].flat<float>()) EXPECT_TRUE(std::isnan(v));
}

TEST(Sum, IntegerInputsMatchHandComputedValues) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Const(root, Make<int32_t>({2, 3}, {1, 2, 3, 4, 5, 6}));
  auto x64 = ops::Const(root, Make<int64_t>({2, 2}, {10, 20, 30, 41}));
  absl::StatusOr<Tensor> s = RunOne(root, ops::Sum(root, x, 0));
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(ValuesOf<int32_t>(*s), (std::vector<int32_t>{5, 7, 9}));
  absl::StatusOr<Tensor> m = RunOne(root, ops::Mean(root, x64, 1));
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(ValuesOf<int64_t>(*m), (std::vector<int64_t>{15, 35}));  // Integer division.
  absl::StatusOr<Tensor> p = RunOne(root, ops::Prod(root, x, {0, 1}));
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->scalar<int32_t>(), 720);
}

TEST(Sum, ShapeFunctionUsesConstantAxesElseRank) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({-1, 5, 6}));
  EXPECT_EQ(ops::Sum(root, x, 1).shape(), PartialTensorShape({-1, 6}));
  EXPECT_EQ(ops::Sum(root, x, {-1, 0}, ops::Sum::KeepDims(true)).shape(),
            PartialTensorShape({1, 5, 1}));
  auto scalar_axis = ops::Placeholder(root, DT_INT32, ops::Placeholder::Shape(TensorShape()));
  auto vector_axes = ops::Placeholder(root, DT_INT32, ops::Placeholder::Shape({2}));
  EXPECT_EQ(ops::Sum(root, x, scalar_axis).shape(), PartialTensorShape({-1, -1}));
  EXPECT_EQ(ops::Mean(root, x, vector_axes, ops::Mean::KeepDims(true)).shape(),
            PartialTensorShape({-1, -1, -1}));
  EXPECT_TRUE(ops::Mean(root, x, vector_axes).shape().unknown_rank());
  auto unknown = ops::Placeholder(root, DT_FLOAT);
  EXPECT_TRUE(ops::Sum(root, unknown, 0).shape().unknown_rank());
  ASSERT_TRUE(root.ok()) << root.status();
}

TEST(Sum, AxisOutOfRangeAtGraphBuildNamesTheShape) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({-1, 5}));
  ops::Sum(root.WithOpName("bad_sum"), x, 2);
  ASSERT_FALSE(root.ok());
  const std::string msg(root.status().message());
  EXPECT_TRUE(absl::StrContains(msg, "'bad_sum'")) << msg;
  EXPECT_TRUE(absl::StrContains(msg, "[?,5]")) << msg;
}

TEST(Sum, AxisOutOfRangeAtRunTimeIsAnError) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT);
  auto axes = ops::Placeholder(root, DT_INT32);
  auto y = ops::Sum(root, x, axes);
  absl::StatusOr<Tensor> out =
      RunOne(root, y, {{x, RandomTensor({2, 3}, 1)}, {axes, Tensor::Scalar<int32_t>(-3)}});
  ASSERT_FALSE(out.ok());
  EXPECT_TRUE(absl::StrContains(out.status().message(), "-3")) << out.status();
  out = RunOne(root, y, {{x, RandomTensor({2, 3}, 1)}, {axes, Make<int32_t>({1, 1}, {0})}});
  EXPECT_FALSE(out.ok());
}

TEST(Sum, FloatAxesAreRejectedAtGraphBuild) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT);
  EXPECT_EQ(ops::Sum(root, x, 1.0f).node(), nullptr);
  EXPECT_FALSE(root.ok());
}

TEST(ReducedShape, SetsTheReducedAxesToOne) {
  Scope root = Scope::NewRootScope();
  auto y = ops::ReducedShape(root, Input({4, 5, 6}), Input({-1, 0}));
  EXPECT_EQ(y.shape(), PartialTensorShape({3}));
  absl::StatusOr<Tensor> out = RunOne(root, y);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(ValuesOf<int32_t>(*out), (std::vector<int32_t>{1, 5, 1}));
  absl::StatusOr<Tensor> bad = RunOne(root, ops::ReducedShape(root, Input({4, 5}), 2));
  EXPECT_FALSE(bad.ok());
}

// ---------------------------------------------------------------------------------------------
// ArgMax.

TEST(ArgMax, MatchesPlainLoopOnEveryAxis) {
  const TensorShape shape({3, 4, 5});
  Tensor xv = RandomTensor(shape, 8);
  auto x_at = [&](int64_t i, int64_t j, int64_t k) {
    return xv.flat<float>()[(i * 4 + j) * 5 + k];
  };
  for (int axis : {0, 1, 2, -1, -3}) {
    const int a = axis < 0 ? axis + 3 : axis;
    Scope root = Scope::NewRootScope();
    auto x = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape(shape));
    auto y = ops::ArgMax(root, x, axis);
    TensorShape out_shape = shape;
    out_shape.RemoveDim(a);
    EXPECT_EQ(y.shape(), PartialTensorShape(out_shape));
    absl::StatusOr<Tensor> out = RunOne(root, y, {{x, xv}});
    ASSERT_TRUE(out.ok()) << out.status();
    ASSERT_EQ(out->dtype(), DT_INT64);
    ASSERT_EQ(out->shape(), out_shape);
    std::vector<int64_t> expected;
    for (int64_t p = 0; p < out_shape.dim_size(0); ++p) {
      for (int64_t q = 0; q < out_shape.dim_size(1); ++q) {
        int64_t best = 0;
        float best_v = -std::numeric_limits<float>::infinity();
        for (int64_t r = 0; r < shape.dim_size(a); ++r) {
          const float v = a == 0 ? x_at(r, p, q) : a == 1 ? x_at(p, r, q) : x_at(p, q, r);
          if (v > best_v) {
            best_v = v;
            best = r;
          }
        }
        expected.push_back(best);
      }
    }
    EXPECT_EQ(ValuesOf<int64_t>(*out), expected) << "axis " << axis;
  }
}

TEST(ArgMax, TiesGoToTheFirstIndexAndOutputTypeInt32Works) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Const(root, FloatTensor({2, 3}, {1, 5, 5, 7, 2, 7}));
  auto y = ops::ArgMax(root, x, 1, ops::ArgMax::OutputType(DT_INT32));
  absl::StatusOr<Tensor> out = RunOne(root, y);
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->dtype(), DT_INT32);
  EXPECT_EQ(ValuesOf<int32_t>(*out), (std::vector<int32_t>{1, 0}));
  auto ints = ops::Const(root, Make<int32_t>({4}, {3, -1, 9, 2}));
  absl::StatusOr<Tensor> iout = RunOne(root, ops::ArgMax(root, ints, Tensor::Scalar<int64_t>(0)));
  ASSERT_TRUE(iout.ok()) << iout.status();
  EXPECT_EQ(iout->scalar<int64_t>(), 2);
}

TEST(ArgMax, BadDimensionOrScalarInputIsAnError) {
  {
    Scope root = Scope::NewRootScope();
    auto x = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({-1, 10}));
    ops::ArgMax(root.WithOpName("bad_argmax"), x, 2);
    ASSERT_FALSE(root.ok());
    EXPECT_TRUE(absl::StrContains(root.status().message(), "[?,10]")) << root.status();
  }
  {
    Scope root = Scope::NewRootScope();
    ops::ArgMax(root, 3.0f, 0);
    EXPECT_FALSE(root.ok());
  }
  {
    Scope root = Scope::NewRootScope();
    auto x = ops::Placeholder(root, DT_FLOAT);
    auto d = ops::Placeholder(root, DT_INT32);
    auto y = ops::ArgMax(root, x, d);
    ASSERT_TRUE(root.ok());
    EXPECT_FALSE(
        RunOne(root, y, {{x, RandomTensor({2, 3}, 1)}, {d, Tensor::Scalar<int32_t>(5)}}).ok());
    EXPECT_FALSE(RunOne(root, y, {{x, Tensor(DT_FLOAT, {2, 0})}, {d, Tensor::Scalar<int32_t>(1)}})
                     .ok());
  }
}

// ---------------------------------------------------------------------------------------------
// Gradients, against central differences.

TEST(ReductionGrads, MatchNumericForAxesKeepDimsAndBatches) {
  struct Case {
    TensorShape shape;
    std::vector<int> axes;
  };
  std::vector<Case> cases = {
      {{7, 3}, {0}},     {{7, 3}, {1}},        {{7, 3}, {-1}},    {{1, 3}, {0, 1}},
      {{7, 3}, {}},      {{2, 3, 4}, {0, 2}},  {{2, 3, 4}, {1}},  {{1, 1}, {0}},
      {{5}, {0}},        {{2, 3, 4}, {-3, -1, 1}},
  };
  for (const std::string kind : {"sum", "mean", "prod"}) {
    for (const Case& c : cases) {
      for (bool keep_dims : {false, true}) {
        for (bool static_shape : {true, false}) {
          Scope root = Scope::NewRootScope();
          Output x = FloatPlaceholder(root, c.shape, static_shape);
          Tensor axes = Make<int32_t>({static_cast<int64_t>(c.axes.size())},
                                      std::vector<int32_t>(c.axes.begin(), c.axes.end()));
          Output y;
          if (kind == "sum") y = ops::Sum(root, x, axes, ops::Sum::KeepDims(keep_dims));
          if (kind == "mean") y = ops::Mean(root, x, axes, ops::Mean::KeepDims(keep_dims));
          if (kind == "prod") y = ops::Prod(root, x, axes, ops::Prod::KeepDims(keep_dims));
          std::string axes_text;
          for (int a : c.axes) axes_text += std::to_string(a) + " ";
          ExpectGradientOk(root, {{x, RandomTensor(c.shape, 41, 0.5f, 1.5f)}}, y,
                           kind + " " + c.shape.DebugString() + " axes " + axes_text +
                               (keep_dims ? "keep_dims " : "") +
                               (static_shape ? "static" : "dynamic"));
        }
      }
    }
  }
}

TEST(ReductionGrads, AxesFedAtRunTime) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT);
  auto axes = ops::Placeholder(root, DT_INT32);
  auto y = ops::Mean(root, x, axes);
  ASSERT_TRUE(root.ok());
  absl::StatusOr<double> err = MaxGradientError(root, {{x, RandomTensor({7, 3}, 2)}}, y,
                                                {{axes, Make<int32_t>({1}, {0})}});
  ASSERT_TRUE(err.ok()) << err.status();
  EXPECT_LT(*err, kGradTolerance);
}

TEST(ProdGrad, HandlesZerosInTheReducedGroup) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({3, 4}));
  auto y = ops::Prod(root, x, 1);
  // Row 0 has no zero, row 1 one zero, row 2 two zeros.
  Tensor xv = FloatTensor({3, 4}, {0.5f, 1.5f, -2, 1.1f, 0.7f, 0, 1.3f, 2, 0, 1.2f, 0, 0.9f});
  ExpectGradientOk(root, {{x, xv}}, y, "Prod with zeros");
  // And by hand: d/dx of row 1 = [0, 0.7*1.3*2, 0, 0] at the zero only.
  std::vector<Output> grads;
  ASSERT_TRUE(AddSymbolicGradients(root, {y}, {x}, &grads).ok());
  absl::StatusOr<Tensor> g = RunOne(root, grads[0], {{x, xv}});
  ASSERT_TRUE(g.ok()) << g.status();
  ExpectTensorNear(*g, TensorShape({3, 4}),
                   {1.5f * -2 * 1.1f, 0.5f * -2 * 1.1f, 0.5f * 1.5f * 1.1f, 0.5f * 1.5f * -2,
                    0, 0.7f * 1.3f * 2, 0, 0, 0, 0, 0, 0});
}

TEST(ArgMaxGrad, NoGradientFlowsThroughArgMax) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT);
  auto y = ops::Cast(root, ops::ArgMax(root, x, 0), DT_FLOAT);
  std::vector<Output> grads;
  EXPECT_FALSE(AddSymbolicGradients(root, {y}, {x}, &grads).ok());
}

}  // namespace
}  // namespace test
}  // namespace dflow
