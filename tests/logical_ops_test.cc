// Equality, logic and selection (NotEqual, LogicalAnd, LogicalOr, LogicalNot, Select, SelectV2)
// and the bool reductions All and Any: results against plain broadcasting loops and
// hand-computed values, TensorFlow 1.x's Select shapes, errors, and the gradients of Select and
// SelectV2 against central differences.
#include "ops/logical_ops.h"

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "ops/standard_ops.h"
#include "runtime/session.h"
#include "tests/gradient_checker.h"
#include "tests/reference.h"
#include "tests/test_util.h"

namespace dflow {
namespace test {
namespace {

struct BroadcastCase {
  TensorShape a, b, out;  // `out` worked out by hand.
};

std::vector<BroadcastCase> BroadcastCases() {
  return {{{3, 4}, {3, 4}, {3, 4}}, {{3, 4}, {4}, {3, 4}}, {{4}, {3, 4}, {3, 4}},
          {{3, 1}, {1, 4}, {3, 4}}, {{}, {2, 3}, {2, 3}},  {{2, 3}, {}, {2, 3}},
          {{1}, {1}, {1}},          {{}, {}, {}},          {{2, 3, 5}, {3, 1}, {2, 3, 5}},
          {{0, 3}, {3}, {0, 3}}};
}

// A bool tensor with a scrambled pattern.
Tensor Bools(const TensorShape& shape, int seed) {
  Tensor t(DT_BOOL, shape);
  for (int64_t i = 0; i < t.NumElements(); ++i) t.flat<bool>()[i] = (i * 5 + seed) % 3 == 0;
  return t;
}

// Small integers as floats, so that equal values occur.
Tensor SmallInts(const TensorShape& shape, int seed) {
  Tensor t(DT_FLOAT, shape);
  for (int64_t i = 0; i < t.NumElements(); ++i) {
    t.flat<float>()[i] = static_cast<float>((i * 7 + seed) % 3);
  }
  return t;
}

std::vector<bool> BoolValues(const Tensor& t) {
  return std::vector<bool>(t.flat<bool>().begin(), t.flat<bool>().end());
}

TEST(LogicalOps, MatchPlainLoopsWithBroadcasting) {
  for (const BroadcastCase& c : BroadcastCases()) {
    Scope root = Scope::NewRootScope();
    Tensor av = Bools(c.a, 1), bv = Bools(c.b, 2);
    Tensor fa = SmallInts(c.a, 1), fb = SmallInts(c.b, 2);
    auto a = ops::Placeholder(root, DT_BOOL);
    auto b = ops::Placeholder(root, DT_BOOL);
    auto x = ops::Placeholder(root, DT_FLOAT);
    auto y = ops::Placeholder(root, DT_FLOAT);
    absl::StatusOr<std::vector<Tensor>> out = RunGraph(
        root, {{a, av}, {b, bv}, {x, fa}, {y, fb}},
        {ops::LogicalAnd(root, a, b), ops::LogicalOr(root, a, b), ops::NotEqual(root, x, y),
         ops::NotEqual(root, a, b), ops::LogicalNot(root, a)});
    ASSERT_TRUE(out.ok()) << out.status();
    const std::string what = c.a.DebugString() + " " + c.b.DebugString();
    EXPECT_EQ(BoolValues((*out)[0]),
              (BroadcastRef<bool, bool>(av, bv, c.out, [](bool p, bool q) { return p && q; })))
        << what;
    EXPECT_EQ(BoolValues((*out)[1]),
              (BroadcastRef<bool, bool>(av, bv, c.out, [](bool p, bool q) { return p || q; })))
        << what;
    EXPECT_EQ(BoolValues((*out)[2]),
              (BroadcastRef<float, bool>(fa, fb, c.out, [](float p, float q) { return p != q; })))
        << what;
    EXPECT_EQ(BoolValues((*out)[3]),
              (BroadcastRef<bool, bool>(av, bv, c.out, [](bool p, bool q) { return p != q; })))
        << what;
    std::vector<bool> negated;
    for (bool v : av.flat<bool>()) negated.push_back(!v);
    EXPECT_EQ(BoolValues((*out)[4]), negated) << what;
    EXPECT_EQ((*out)[0].shape(), c.out);
  }
}

TEST(NotEqual, IntegerTypesAndIncompatibleShapes) {
  Scope root = Scope::NewRootScope();
  auto a = ops::Const(root, Make<int64_t>({3}, {1, 2, 3}));
  auto b = ops::Const(root, Make<int64_t>({3}, {1, 5, 3}));
  absl::StatusOr<Tensor> ne = RunOne(root, ops::NotEqual(root, a, b));
  ASSERT_TRUE(ne.ok());
  EXPECT_EQ(BoolValues(*ne), (std::vector<bool>{false, true, false}));

  // Without the error, unbroadcastable shapes compare as one scalar: not equal.
  Scope lax = Scope::NewRootScope();
  Output r = ops::NotEqual(lax, ops::Const(lax, FloatTensor({2}, {1, 2})),
                           ops::Const(lax, FloatTensor({3}, {1, 2, 3})),
                           ops::NotEqual::IncompatibleShapeError(false));
  absl::StatusOr<Tensor> v = RunOne(lax, r);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->shape(), TensorShape({}));
  EXPECT_TRUE(v->flat<bool>()[0]);

  Scope strict = Scope::NewRootScope();
  ops::NotEqual(strict, ops::Const(strict, FloatTensor({2}, {1, 2})),
                ops::Const(strict, FloatTensor({3}, {1, 2, 3})));
  EXPECT_FALSE(strict.ok());
}

TEST(LogicalOps, NonBoolInputsAreAGraphBuildError) {
  Scope root = Scope::NewRootScope();
  ops::LogicalAnd(root, ops::Const(root, 1.0f), ops::Const(root, true));
  EXPECT_TRUE(absl::StrContains(ErrorOf(root), "bool")) << ErrorOf(root);
}

// ---------------------------------------------------------------------------------------------
// Select (TensorFlow 1.x)

TEST(Select, PerElementPerRowAndScalarConditions) {
  Scope root = Scope::NewRootScope();
  auto t = ops::Const(root, FloatTensor({2, 2}, {1, 2, 3, 4}));
  auto e = ops::Const(root, FloatTensor({2, 2}, {5, 6, 7, 8}));
  auto elementwise = ops::Const(root, Make<bool>({2, 2}, {true, false, false, true}));
  auto rows = ops::Const(root, Make<bool>({2}, {true, false}));
  absl::StatusOr<std::vector<Tensor>> out = RunGraph(
      root, {}, {ops::Select(root, elementwise, t, e), ops::Select(root, rows, t, e),
                 ops::Select(root, ops::Const(root, Make<bool>({}, {false})), t, e)});
  ASSERT_TRUE(out.ok()) << out.status();
  ExpectTensorNear((*out)[0], TensorShape({2, 2}), {1, 6, 7, 4});
  ExpectTensorNear((*out)[1], TensorShape({2, 2}), {1, 2, 7, 8});
  ExpectTensorNear((*out)[2], TensorShape({2, 2}), {5, 6, 7, 8});
}

TEST(Select, RowConditionOnOddShapesAndBatchOne) {
  for (TensorShape shape : {TensorShape({1, 5}), TensorShape({7, 3, 2}), TensorShape({5, 1}),
                            TensorShape({0, 3})}) {
    Scope root = Scope::NewRootScope();
    Tensor cond = Bools({shape.dim_size(0)}, 1);
    Tensor tv = RandomTensor(shape, 2), ev = RandomTensor(shape, 3);
    absl::StatusOr<Tensor> out = RunOne(
        root, ops::Select(root, ops::Const(root, cond), ops::Const(root, tv), ops::Const(root, ev)));
    ASSERT_TRUE(out.ok()) << out.status();
    std::vector<float> expected;
    const int64_t row = shape.dim_size(0) == 0 ? 0 : shape.num_elements() / shape.dim_size(0);
    for (int64_t i = 0; i < shape.num_elements(); ++i) {
      expected.push_back(cond.flat<bool>()[i / row] ? tv.flat<float>()[i] : ev.flat<float>()[i]);
    }
    ExpectTensorNear(*out, shape, expected);
  }
}

TEST(Select, IntegerAndBoolValues) {
  Scope root = Scope::NewRootScope();
  auto c = ops::Const(root, Make<bool>({3}, {false, true, false}));
  absl::StatusOr<std::vector<Tensor>> out = RunGraph(
      root, {},
      {ops::Select(root, c, ops::Const(root, Make<int64_t>({3}, {1, 2, 3})),
                   ops::Const(root, Make<int64_t>({3}, {-1, -2, -3}))),
       ops::Select(root, c, ops::Const(root, Make<bool>({3}, {true, true, true})),
                   ops::Const(root, Make<bool>({3}, {false, false, false})))});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(ValuesOf<int64_t>((*out)[0]), (std::vector<int64_t>{-1, 2, -3}));
  EXPECT_EQ(BoolValues((*out)[1]), (std::vector<bool>{false, true, false}));
}

TEST(Select, BadShapesAreAnErrorAtBuildAndRunTime) {
  Scope root = Scope::NewRootScope();
  ops::Select(root, ops::Const(root, Make<bool>({3}, {true, true, false})),
              ops::Const(root, FloatTensor({2, 2}, {1, 2, 3, 4})),
              ops::Const(root, FloatTensor({2, 2}, {1, 2, 3, 4})));
  EXPECT_TRUE(absl::StrContains(ErrorOf(root), "one value per row")) << ErrorOf(root);
  Scope root2 = Scope::NewRootScope();
  ops::Select(root2, ops::Const(root2, Make<bool>({}, {true})), ops::Const(root2, FloatTensor({2}, {1, 2})),
              ops::Const(root2, FloatTensor({3}, {1, 2, 3})));
  EXPECT_TRUE(absl::StrContains(ErrorOf(root2), "same shape")) << ErrorOf(root2);

  Scope run = Scope::NewRootScope();
  auto c = ops::Placeholder(run, DT_BOOL);
  auto t = ops::Placeholder(run, DT_FLOAT);
  auto e = ops::Placeholder(run, DT_FLOAT);
  Output s = ops::Select(run, c, t, e);
  // A [2, 2] condition for [2, 3] values: neither per element nor per row.
  absl::StatusOr<Tensor> r = RunOne(run, s,
                                    {{c, Bools({2, 2}, 0)},
                                     {t, RandomTensor({2, 3}, 1)},
                                     {e, RandomTensor({2, 3}, 2)}},
                                    Unoptimized());
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(absl::StrContains(r.status().message(), "condition")) << r.status();
  // A vector condition for vector values must match element for element.
  r = RunOne(run, s, {{c, Bools({2}, 0)}, {t, RandomTensor({3}, 1)}, {e, RandomTensor({3}, 2)}},
             Unoptimized());
  ASSERT_FALSE(r.ok());
}

TEST(Select, GradientGoesToTheChosenBranch) {
  for (bool rows : {false, true}) {
    Scope root = Scope::NewRootScope();
    auto t = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({3, 2}));
    auto e = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({3, 2}));
    Tensor cond = rows ? Bools({3}, 1) : Bools({3, 2}, 1);
    Output y = ops::Select(root, ops::Const(root, cond), t, e);
    ExpectGradientOk(root, {{t, RandomTensor({3, 2}, 1)}, {e, RandomTensor({3, 2}, 2)}},
                     ops::Mul(root, y, y), rows ? "rows" : "elements");
  }
}

// ---------------------------------------------------------------------------------------------
// SelectV2

TEST(SelectV2, MatchesPlainLoopWithThreeWayBroadcasting) {
  struct Case {
    TensorShape c, t, e, out;
  };
  std::vector<Case> cases = {
      {{3, 4}, {3, 4}, {3, 4}, {3, 4}}, {{4}, {3, 4}, {}, {3, 4}},
      {{3, 1}, {1, 4}, {4}, {3, 4}},    {{}, {2, 3}, {2, 3}, {2, 3}},
      {{2, 1, 5}, {3, 1}, {1}, {2, 3, 5}}, {{1}, {1}, {1}, {1}},
      {{}, {}, {}, {}},                 {{0, 1}, {1, 3}, {3}, {0, 3}},
  };
  for (const Case& k : cases) {
    Scope root = Scope::NewRootScope();
    Tensor cv = Bools(k.c, 1), tv = RandomTensor(k.t, 2), ev = RandomTensor(k.e, 3);
    auto c = ops::Placeholder(root, DT_BOOL);
    auto t = ops::Placeholder(root, DT_FLOAT);
    auto e = ops::Placeholder(root, DT_FLOAT);
    absl::StatusOr<Tensor> out =
        RunOne(root, ops::SelectV2(root, c, t, e), {{c, cv}, {t, tv}, {e, ev}});
    ASSERT_TRUE(out.ok()) << out.status();
    ExpectTensorNear(*out, k.out, SelectV2Ref(cv, tv, ev, k.out));
  }
}

TEST(SelectV2, IncompatibleShapesAreAnError) {
  Scope root = Scope::NewRootScope();
  ops::SelectV2(root, ops::Const(root, Make<bool>({3}, {true, true, false})),
                ops::Const(root, FloatTensor({2}, {1, 2})), ops::Const(root, 0.0f));
  EXPECT_TRUE(absl::StrContains(ErrorOf(root), "broadcast")) << ErrorOf(root);
}

TEST(SelectV2, GradientsSumOverBroadcastOperands) {
  Scope root = Scope::NewRootScope();
  auto t = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({3, 1}));
  auto e = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({4}));
  Output y = ops::SelectV2(root, ops::Const(root, Bools({3, 4}, 2)), t, e);
  ExpectGradientOk(root, {{t, RandomTensor({3, 1}, 1)}, {e, RandomTensor({4}, 2)}},
                   ops::Mul(root, y, y), "SelectV2 [3,1] [4]");
}

// ---------------------------------------------------------------------------------------------
// All, Any

TEST(AllAny, MatchPlainLoopsOverAxesWithKeepDims) {
  struct Case {
    TensorShape shape;
    std::vector<int32_t> axes;
  };
  std::vector<Case> cases = {{{3, 4}, {1}},     {{3, 4}, {0}},     {{3, 4}, {-1}},
                             {{3, 4}, {0, 1}},  {{2, 3, 5}, {0, 2}}, {{1, 5}, {0}},
                             {{3, 4}, {}},      {{0, 3}, {0}},     {{3, 0}, {1}}};
  for (const Case& c : cases) {
    for (bool keep_dims : {false, true}) {
      Scope root = Scope::NewRootScope();
      Tensor xv = Bools(c.shape, 1);
      const int64_t naxes = static_cast<int64_t>(c.axes.size());
      auto axes = ops::Const(root, Int32Tensor({naxes}, c.axes));
      auto x = ops::Placeholder(root, DT_BOOL);
      absl::StatusOr<std::vector<Tensor>> out =
          RunGraph(root, {{x, xv}},
                   {ops::All(root, x, axes, ops::All::KeepDims(keep_dims)),
                    ops::Any(root, x, axes, ops::Any::KeepDims(keep_dims))});
      ASSERT_TRUE(out.ok()) << out.status();
      std::vector<bool> reduced(c.shape.dims(), false);
      for (int32_t a : c.axes) reduced[a < 0 ? a + c.shape.dims() : a] = true;
      // Via the float reference: all = min over {0, 1}, any = max.
      Tensor as_float(DT_FLOAT, c.shape);
      for (int64_t i = 0; i < xv.NumElements(); ++i) as_float.flat<float>()[i] = xv.flat<bool>()[i];
      std::vector<double> mins = ReduceExtremeRef(as_float, reduced, false);
      std::vector<double> maxs = ReduceExtremeRef(as_float, reduced, true);
      std::vector<bool> all, any;
      for (double v : mins) all.push_back(v > 0);  // +inf for an empty group: true.
      for (double v : maxs) any.push_back(v > 0);  // -inf for an empty group: false.
      EXPECT_EQ(BoolValues((*out)[0]), all) << c.shape.DebugString();
      EXPECT_EQ(BoolValues((*out)[1]), any) << c.shape.DebugString();
      TensorShape expected_shape;
      for (int d = 0; d < c.shape.dims(); ++d) {
        if (!reduced[d]) {
          expected_shape.AddDim(c.shape.dim_size(d));
        } else if (keep_dims) {
          expected_shape.AddDim(1);
        }
      }
      EXPECT_EQ((*out)[0].shape(), expected_shape);
    }
  }
}

TEST(AllAny, Int64AxesAndOutOfRangeAxes) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Const(root, Make<bool>({2, 2}, {true, false, true, true}));
  absl::StatusOr<Tensor> all = RunOne(root, ops::All(root, x, ops::Const(root, int64_t{1})));
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(BoolValues(*all), (std::vector<bool>{false, true}));

  Scope bad = Scope::NewRootScope();
  ops::Any(bad, ops::Const(bad, Make<bool>({2}, {true, false})), 1);
  EXPECT_TRUE(absl::StrContains(ErrorOf(bad), "out of range")) << ErrorOf(bad);
}

}  // namespace
}  // namespace test
}  // namespace dflow
