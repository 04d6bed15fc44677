// Max, Min, ArgMin and Cumsum: results against plain loops over axis combinations (negative,
// int64, keep_dims), odd shapes and batch 1, TensorFlow's identities for empty reductions,
// integer types, ties, errors, and the gradients against central differences.
#include <cmath>
#include <limits>
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

struct AxesCase {
  TensorShape shape;
  std::vector<int32_t> axes;
};

std::vector<AxesCase> AxesCases() {
  return {{{3, 4}, {1}},          {{3, 4}, {0}},         {{3, 4}, {-1}},      {{3, 4}, {0, 1}},
          {{2, 3, 5}, {0, 2}},    {{2, 3, 5}, {1}},      {{2, 3, 5}, {-2, -1}}, {{1, 7}, {0}},
          {{1, 7}, {1}},          {{257, 3}, {0}},       {{3, 4}, {}},        {{7}, {0}},
          {{0, 3}, {0}},          {{3, 0}, {1}},         {{2, 1, 3}, {1}}};
}

std::vector<bool> Reduced(const AxesCase& c) {
  std::vector<bool> reduced(c.shape.dims(), false);
  for (int32_t a : c.axes) reduced[a < 0 ? a + c.shape.dims() : a] = true;
  return reduced;
}

TensorShape OutShape(const AxesCase& c, bool keep_dims) {
  std::vector<bool> reduced = Reduced(c);
  TensorShape out;
  for (int d = 0; d < c.shape.dims(); ++d) {
    if (!reduced[d]) {
      out.AddDim(c.shape.dim_size(d));
    } else if (keep_dims) {
      out.AddDim(1);
    }
  }
  return out;
}

TEST(MaxMin, FloatMatchesPlainLoopsIncludingEmptyReductions) {
  for (const AxesCase& c : AxesCases()) {
    for (bool keep_dims : {false, true}) {
      Scope root = Scope::NewRootScope();
      Tensor xv = RandomTensor(c.shape, 7, -5.f, 5.f);
      auto x = ops::Placeholder(root, DT_FLOAT);
      const int64_t naxes = static_cast<int64_t>(c.axes.size());
      auto axes = ops::Const(root, Int32Tensor({naxes}, c.axes));
      absl::StatusOr<std::vector<Tensor>> out =
          RunGraph(root, {{x, xv}},
                   {ops::Max(root, x, axes, ops::Max::KeepDims(keep_dims)),
                    ops::Min(root, x, axes, ops::Min::KeepDims(keep_dims))});
      ASSERT_TRUE(out.ok()) << out.status();
      const std::string what = c.shape.DebugString() + (keep_dims ? " keep" : "");
      const TensorShape expected_shape = OutShape(c, keep_dims);
      // Exact: a max or min is one of the inputs (or the +-inf identity).
      EXPECT_EQ((*out)[0].shape(), expected_shape) << what;
      EXPECT_EQ((*out)[1].shape(), expected_shape) << what;
      EXPECT_EQ(ValuesOf<float>((*out)[0]), ToFloats(ReduceExtremeRef(xv, Reduced(c), true)))
          << what;
      EXPECT_EQ(ValuesOf<float>((*out)[1]), ToFloats(ReduceExtremeRef(xv, Reduced(c), false)))
          << what;
    }
  }
}

TEST(MaxMin, EmptyReductionIdentitiesAndIntegers) {
  Scope root = Scope::NewRootScope();
  auto empty_f = ops::Const(root, Tensor(DT_FLOAT, TensorShape({0, 2})));
  auto empty_i = ops::Const(root, Tensor(DT_INT32, TensorShape({2, 0})));
  auto ints = ops::Const(root, Make<int64_t>({2, 3}, {4, -9, 2, 7, 7, -1}));
  absl::StatusOr<std::vector<Tensor>> out = RunGraph(
      root, {},
      {ops::Max(root, empty_f, 0), ops::Min(root, empty_f, 0), ops::Max(root, empty_i, 1),
       ops::Min(root, empty_i, 1), ops::Max(root, ints, int64_t{1}), ops::Min(root, ints, 0),
       ops::Max(root, ints, ops::Const(root, Int32Tensor({2}, {0, 1})))});
  ASSERT_TRUE(out.ok()) << out.status();
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(ValuesOf<float>((*out)[0]), (std::vector<float>{-inf, -inf}));
  EXPECT_EQ(ValuesOf<float>((*out)[1]), (std::vector<float>{inf, inf}));
  EXPECT_EQ(ValuesOf<int32_t>((*out)[2]), (std::vector<int32_t>(2, INT32_MIN)));
  EXPECT_EQ(ValuesOf<int32_t>((*out)[3]), (std::vector<int32_t>(2, INT32_MAX)));
  EXPECT_EQ(ValuesOf<int64_t>((*out)[4]), (std::vector<int64_t>{4, 7}));
  EXPECT_EQ(ValuesOf<int64_t>((*out)[5]), (std::vector<int64_t>{4, -9, -1}));
  EXPECT_EQ(ValuesOf<int64_t>((*out)[6]), (std::vector<int64_t>{7}));
}

TEST(MaxMin, AxisOutOfRangeIsAnErrorAtBuildAndRunTime) {
  Scope root = Scope::NewRootScope();
  ops::Max(root, ops::Const(root, FloatTensor({2, 2}, {1, 2, 3, 4})), 2);
  EXPECT_TRUE(absl::StrContains(ErrorOf(root), "out of range")) << ErrorOf(root);
  Scope run = Scope::NewRootScope();
  auto axis = ops::Placeholder(run, DT_INT32);
  absl::StatusOr<Tensor> r = RunOne(
      run, ops::Min(run, ops::Const(run, FloatTensor({2, 2}, {1, 2, 3, 4})), axis),
      {{axis, Int32Tensor({1}, {-3})}});
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(absl::StrContains(r.status().message(), "out of range")) << r.status();
}

TEST(MaxMinGrads, MatchNumericWithDistinctValues) {
  for (const AxesCase& c : AxesCases()) {
    if (c.shape.num_elements() == 0 || c.shape.num_elements() > 64) continue;
    for (bool keep_dims : {false, true}) {
      for (bool max : {true, false}) {
        Scope root = Scope::NewRootScope();
        auto x = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape(c.shape));
        // Distinct values a step apart, so that the extreme of each group is unique.
        Tensor xv(DT_FLOAT, c.shape);
        for (int64_t i = 0; i < xv.NumElements(); ++i) {
          xv.flat<float>()[i] = 0.1f * static_cast<float>((i * 37) % 101);
        }
        const int64_t naxes = static_cast<int64_t>(c.axes.size());
        auto axes = ops::Const(root, Int32Tensor({naxes}, c.axes));
        Output y = max ? Output(ops::Max(root, x, axes, ops::Max::KeepDims(keep_dims)))
                       : Output(ops::Min(root, x, axes, ops::Min::KeepDims(keep_dims)));
        ExpectGradientOk(root, {{x, xv}}, y,
                         std::string(max ? "Max " : "Min ") + c.shape.DebugString());
      }
    }
  }
}

TEST(MaxMinGrads, TiesShareTheGradientEvenly) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({2, 3}));
  std::vector<Output> grads;
  ASSERT_TRUE(AddSymbolicGradients(root, {ops::Max(root, x, 1)}, {x}, &grads).ok());
  absl::StatusOr<Tensor> g = RunOne(root, grads[0], {{x, FloatTensor({2, 3}, {3, 1, 3, 0, 5, 2})}});
  ASSERT_TRUE(g.ok()) << g.status();
  ExpectTensorNear(*g, TensorShape({2, 3}), {0.5f, 0, 0.5f, 0, 1, 0});
}

// ---------------------------------------------------------------------------------------------
// ArgMin

TEST(ArgMin, MatchesPlainLoopOverEachAxisWithOutputTypes) {
  for (TensorShape shape : {TensorShape({3, 4}), TensorShape({2, 3, 5}), TensorShape({1, 7}),
                            TensorShape({7}), TensorShape({4, 1})}) {
    for (int axis = -shape.dims(); axis < shape.dims(); ++axis) {
      Scope root = Scope::NewRootScope();
      Tensor xv = RandomTensor(shape, 3);
      auto x = ops::Const(root, xv);
      absl::StatusOr<std::vector<Tensor>> out = RunGraph(
          root, {},
          {ops::ArgMin(root, x, axis), ops::ArgMin(root, x, int64_t{axis},
                                                   ops::ArgMin::OutputType(DT_INT32))});
      ASSERT_TRUE(out.ok()) << out.status();
      EXPECT_EQ((*out)[0].dtype(), DT_INT64);
      EXPECT_EQ((*out)[1].dtype(), DT_INT32);
      const int a = axis < 0 ? axis + shape.dims() : axis;
      int64_t outer = 1, inner = 1;
      for (int d = 0; d < a; ++d) outer *= shape.dim_size(d);
      for (int d = a + 1; d < shape.dims(); ++d) inner *= shape.dim_size(d);
      std::vector<int64_t> expected;
      for (int64_t o = 0; o < outer; ++o) {
        for (int64_t i = 0; i < inner; ++i) {
          int64_t best = 0;
          for (int64_t k = 0; k < shape.dim_size(a); ++k) {
            const int64_t at = (o * shape.dim_size(a) + k) * inner + i;
            const int64_t bat = (o * shape.dim_size(a) + best) * inner + i;
            if (xv.flat<float>()[at] < xv.flat<float>()[bat]) best = k;
          }
          expected.push_back(best);
        }
      }
      EXPECT_EQ(Ints((*out)[0]), expected) << shape.DebugString() << " axis " << axis;
      EXPECT_EQ(Ints((*out)[1]), expected);
    }
  }
}

TEST(ArgMin, TiesGoToTheFirstIndexAndIntegersWork) {
  Scope root = Scope::NewRootScope();
  absl::StatusOr<std::vector<Tensor>> out = RunGraph(
      root, {},
      {ops::ArgMin(root, ops::Const(root, FloatTensor({5}, {2, 1, 3, 1, 1})), 0),
       ops::ArgMin(root, ops::Const(root, Make<int32_t>({2, 2}, {5, -3, -8, 9})), 1)});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(Ints((*out)[0]), (std::vector<int64_t>{1}));
  EXPECT_EQ(Ints((*out)[1]), (std::vector<int64_t>{1, 0}));
}

TEST(ArgMin, EmptyAxisIsAnError) {
  Scope root = Scope::NewRootScope();
  absl::StatusOr<Tensor> out =
      RunOne(root, ops::ArgMin(root, ops::Const(root, Tensor(DT_FLOAT, TensorShape({2, 0}))), 1));
  ASSERT_FALSE(out.ok());
  EXPECT_TRUE(absl::StrContains(out.status().message(), "argmin")) << out.status();
}

// ---------------------------------------------------------------------------------------------
// Cumsum

TEST(Cumsum, MatchesPlainLoopForEveryAxisAndMode) {
  for (TensorShape shape : {TensorShape({3, 4}), TensorShape({2, 3, 5}), TensorShape({1, 7}),
                            TensorShape({7}), TensorShape({4, 1}), TensorShape({0, 3})}) {
    for (int axis = -shape.dims(); axis < shape.dims(); ++axis) {
      for (bool exclusive : {false, true}) {
        for (bool reverse : {false, true}) {
          Scope root = Scope::NewRootScope();
          Tensor xv = RandomTensor(shape, 5);
          auto x = ops::Placeholder(root, DT_FLOAT);
          auto a = ops::Placeholder(root, DT_INT64);
          absl::StatusOr<Tensor> out = RunOne(
              root,
              ops::Cumsum(root, x, a, ops::Cumsum::Exclusive(exclusive).Reverse(reverse)),
              {{x, xv}, {a, Make<int64_t>({}, {axis})}});
          ASSERT_TRUE(out.ok()) << out.status();
          const int pos = axis < 0 ? axis + shape.dims() : axis;
          ExpectTensorNear(*out, shape, ToFloats(CumsumRef(xv, pos, exclusive, reverse)));
        }
      }
    }
  }
}

TEST(Cumsum, HandComputedIntegersAsTensorFlowDocumentsThem) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Const(root, Make<int32_t>({4}, {2, 4, 6, 8}));
  using C = ops::Cumsum;
  absl::StatusOr<std::vector<Tensor>> out = RunGraph(
      root, {},
      {C(root, x, 0), C(root, x, 0, C::Exclusive(true)), C(root, x, 0, C::Reverse(true)),
       C(root, x, 0, C::Exclusive(true).Reverse(true))});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(ValuesOf<int32_t>((*out)[0]), (std::vector<int32_t>{2, 6, 12, 20}));
  EXPECT_EQ(ValuesOf<int32_t>((*out)[1]), (std::vector<int32_t>{0, 2, 6, 12}));
  EXPECT_EQ(ValuesOf<int32_t>((*out)[2]), (std::vector<int32_t>{20, 18, 14, 8}));
  EXPECT_EQ(ValuesOf<int32_t>((*out)[3]), (std::vector<int32_t>{18, 14, 8, 0}));
}

TEST(Cumsum, BadAxesAreAnError) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT);
  auto a = ops::Placeholder(root, DT_INT32);
  Output y = ops::Cumsum(root, x, a);
  for (const Tensor& axis : {Int32Tensor({}, {2}), Int32Tensor({}, {-3}), Int32Tensor({1}, {0})}) {
    absl::StatusOr<Tensor> r =
        RunOne(root, y, {{x, RandomTensor({2, 2}, 1)}, {a, axis}}, Unoptimized());
    ASSERT_FALSE(r.ok()) << axis.shape().DebugString();
    EXPECT_TRUE(absl::StrContains(r.status().message(), "axis")) << r.status();
  }
  Scope build = Scope::NewRootScope();
  ops::Cumsum(build, ops::Const(build, FloatTensor({2}, {1, 2})),
              ops::Const(build, Int32Tensor({1}, {0})));
  EXPECT_TRUE(absl::StrContains(ErrorOf(build), "scalar")) << ErrorOf(build);
}

TEST(CumsumGrads, MatchNumericInEveryMode) {
  for (bool exclusive : {false, true}) {
    for (bool reverse : {false, true}) {
      for (int axis : {0, 1, -1}) {
        Scope root = Scope::NewRootScope();
        auto x = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({3, 4}));
        Output y = ops::Cumsum(root, x, axis, ops::Cumsum::Exclusive(exclusive).Reverse(reverse));
        ExpectGradientOk(root, {{x, RandomTensor({3, 4}, 9)}}, y,
                         absl::StrCat("axis ", axis, exclusive ? " exclusive" : "",
                                      reverse ? " reverse" : ""));
      }
    }
  }
}

}  // namespace
}  // namespace test
}  // namespace dflow
