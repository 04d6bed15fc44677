// Tests of the pooling ops (MaxPool, MaxPoolGrad, AvgPool, AvgPoolGrad): every op against the
// plain nested-loop references of tests/reference.h (SAME and VALID, odd sizes, batch 1 and 3),
// hand-computed values, ties, attr and shape errors, and every gradient against central
// differences.
#include <cmath>
#include <cstdint>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ops/array_ops.h"
#include "ops/conv_ops.h"
#include "ops/op_registry.h"
#include "runtime/session.h"
#include "tests/gradient_checker.h"
#include "tests/reference.h"
#include "tests/test_util.h"

namespace dflow {
namespace test {
namespace {

using ::testing::HasSubstr;

// ---------------------------------------------------------------------------------------------
// Pooling against the references.

const std::vector<PoolCase>& PoolCases() {
  static const auto* cases = new std::vector<PoolCase>{
      // n, h, w, c, kh, kw, sh, sw, same
      {1, 4, 4, 1, 2, 2, 2, 2, false},
      {3, 5, 7, 2, 2, 2, 2, 2, false},
      {3, 5, 7, 2, 2, 2, 2, 2, true},
      {1, 5, 7, 3, 3, 3, 1, 1, true},
      {3, 7, 5, 4, 3, 3, 2, 2, true},
      {2, 7, 5, 1, 3, 2, 2, 1, false},
      {1, 5, 7, 2, 5, 5, 3, 3, true},
      {2, 6, 6, 16, 3, 3, 2, 2, true},
      {1, 3, 3, 2, 1, 1, 1, 1, false},
      {2, 8, 9, 32, 2, 2, 2, 2, true},   // The CNN's pool, many channels, a padded column.
      {1, 9, 8, 6, 3, 2, 3, 2, false},   // Disjoint 3x2 windows, a row left over.
  };
  return *cases;
}

TEST(MaxPoolTest, MatchesReference) {
  uint64_t seed = 400;
  for (const PoolCase& p : PoolCases()) {
    SCOPED_TRACE(p.Name());
    Scope root = Scope::NewRootScope();
    auto x = ops::Placeholder(root, DT_FLOAT);
    auto y = ops::MaxPool(root, x, p.Ksize(), p.Strides(), p.Padding());
    // All negative: SAME padding must never win.
    Tensor xv = RandomTensor(p.In(), seed++, -2.0f, -1.0f);
    absl::StatusOr<Tensor> out = RunOne(root, y, {{x, xv}});
    ASSERT_TRUE(out.ok()) << out.status();
    ExpectTensorNear(*out, p.Out(), MaxPoolRef(p, xv));
  }
}

TEST(MaxPoolTest, HandComputedValues) {
  std::vector<float> v(16);
  std::iota(v.begin(), v.end(), 1.0f);
  const Tensor x = FloatTensor({1, 4, 4, 1}, v);
  {
    Scope root = Scope::NewRootScope();
    auto y = ops::MaxPool(root, ops::Const(root, x), {1, 2, 2, 1}, {1, 2, 2, 1}, "VALID");
    absl::StatusOr<Tensor> out = RunOne(root, y);
    ASSERT_TRUE(out.ok()) << out.status();
    ExpectTensorNear(*out, TensorShape({1, 2, 2, 1}), {6, 8, 14, 16});
  }
  {  // 3x3 windows, stride 2, SAME on 4x4: rows/cols {0,1,2} and {2,3} (the pad is after).
    Scope root = Scope::NewRootScope();
    auto y = ops::MaxPool(root, ops::Const(root, x), {1, 3, 3, 1}, {1, 2, 2, 1}, "SAME");
    absl::StatusOr<Tensor> out = RunOne(root, y);
    ASSERT_TRUE(out.ok()) << out.status();
    ExpectTensorNear(*out, TensorShape({1, 2, 2, 1}), {11, 12, 15, 16});
  }
}

TEST(MaxPoolGradTest, MatchesReference) {
  uint64_t seed = 500;
  for (const PoolCase& p : PoolCases()) {
    SCOPED_TRACE(p.Name());
    Scope root = Scope::NewRootScope();
    auto x = ops::Placeholder(root, DT_FLOAT);
    auto g = ops::Placeholder(root, DT_FLOAT);
    auto y = ops::MaxPool(root, x, p.Ksize(), p.Strides(), p.Padding());
    auto dx = ops::MaxPoolGrad(root, x, y, g, p.Ksize(), p.Strides(), p.Padding());
    // Values on a coarse grid, so that windows have ties.
    Tensor xv = RandomTensor(p.In(), seed++, -2.0f, 2.0f);
    for (float& e : xv.flat<float>()) e = std::round(e * 2) / 2;
    Tensor gv = RandomTensor(p.Out(), seed++);
    absl::StatusOr<Tensor> out = RunOne(root, dx, {{x, xv}, {g, gv}});
    ASSERT_TRUE(out.ok()) << out.status();
    ExpectTensorNear(*out, p.In(), MaxPoolGradRef(p, xv, gv));
  }
}

TEST(MaxPoolGradTest, TiesGoToTheFirstMaximum) {
  auto run = [](const Tensor& x, std::vector<int64_t> ksize, std::vector<int64_t> strides,
                const Tensor& g) {
    Scope root = Scope::NewRootScope();
    auto xc = ops::Const(root, x);
    auto y = ops::MaxPool(root, xc, ksize, strides, "VALID");
    absl::StatusOr<Tensor> out =
        RunOne(root, ops::MaxPoolGrad(root, xc, y, ops::Const(root, g), ksize, strides, "VALID"));
    EXPECT_TRUE(out.ok()) << out.status();
    return out.ok() ? *out : Tensor();
  };
  // One 2x2 window of equal values: all to the top-left.
  ExpectTensorNear(run(FloatTensor({1, 2, 2, 1}, {5, 5, 5, 5}), {1, 2, 2, 1}, {1, 2, 2, 1},
                       FloatTensor({1, 1, 1, 1}, {1})),
                   TensorShape({1, 2, 2, 1}), {1, 0, 0, 0});
  // Row-major: in [[1, 3], [3, 2]] the maximum 3 at (0, 1) comes before (1, 0).
  ExpectTensorNear(run(FloatTensor({1, 2, 2, 1}, {1, 3, 3, 2}), {1, 2, 2, 1}, {1, 2, 2, 1},
                       FloatTensor({1, 1, 1, 1}, {7})),
                   TensorShape({1, 2, 2, 1}), {0, 7, 0, 0});
  // Overlapping windows of width 2, stride 1, over [1, 3, 2]: both pick the 3, gradients add.
  ExpectTensorNear(run(FloatTensor({1, 1, 3, 1}, {1, 3, 2}), {1, 1, 2, 1}, {1, 1, 1, 1},
                       FloatTensor({1, 1, 2, 1}, {10, 20})),
                   TensorShape({1, 1, 3, 1}), {0, 30, 0});
  // Six channels of one 2x2 window (vector lanes and a scalar tail): channel k holds its
  // maximum k % 4 in row-major cell k % 4, the other cells tie below it or equal it later.
  std::vector<float> x6(24), g6(6), want6(24, 0.f);
  for (int cell = 0; cell < 4; ++cell) {
    for (int k = 0; k < 6; ++k) x6[cell * 6 + k] = cell >= k % 4 ? 1.f : 0.f;
  }
  for (int k = 0; k < 6; ++k) {
    g6[k] = k + 1.f;
    want6[(k % 4) * 6 + k] = k + 1.f;  // The first cell holding the maximum 1.
  }
  ExpectTensorNear(run(FloatTensor({1, 2, 2, 6}, x6), {1, 2, 2, 1}, {1, 2, 2, 1},
                       FloatTensor({1, 1, 1, 6}, g6)),
                   TensorShape({1, 2, 2, 6}), want6);
  // Over [2, 2, 2] each window picks its own first element.
  ExpectTensorNear(run(FloatTensor({1, 1, 3, 1}, {2, 2, 2}), {1, 1, 2, 1}, {1, 1, 1, 1},
                       FloatTensor({1, 1, 2, 1}, {10, 20})),
                   TensorShape({1, 1, 3, 1}), {10, 20, 0});
}

TEST(MaxPoolTest, Errors) {
  auto build = [](std::vector<int64_t> ksize, std::vector<int64_t> strides, const char* padding,
                  ops::MaxPool::Attrs attrs, TensorShape shape) {
    Scope root = Scope::NewRootScope();
    ops::MaxPool(root, ops::Const(root, 0.0f, shape), ksize, strides, padding, attrs);
    EXPECT_FALSE(root.ok());
    return ErrorOf(root);
  };
  const TensorShape s({1, 5, 5, 2});
  EXPECT_THAT(build({1, 2, 2}, {1, 2, 2, 1}, "VALID", {}, s), HasSubstr("ksize must have 4"));
  EXPECT_THAT(build({1, 2, 2, 1}, {1, 2, 1}, "VALID", {}, s), HasSubstr("strides must have 4"));
  EXPECT_THAT(build({2, 2, 2, 1}, {1, 2, 2, 1}, "VALID", {}, s), HasSubstr("batch and depth"));
  EXPECT_THAT(build({1, 2, 2, 1}, {1, 2, 2, 1}, "VALID", ops::MaxPool::DataFormat("NCHW"), s),
              HasSubstr("NCHW"));
  EXPECT_THAT(build({1, 2, 2, 1}, {1, 2, 2, 1}, "EXPLICIT", {}, s), HasSubstr("EXPLICIT"));
  EXPECT_THAT(build({1, 6, 2, 1}, {1, 2, 2, 1}, "VALID", {}, s),
              HasSubstr("window height (6) is larger than the input height (5)"));
  EXPECT_THAT(build({1, 2, 2, 1}, {1, 2, 2, 1}, "VALID", {}, TensorShape({5, 5, 2})),
              HasSubstr("4-D"));

  // MaxPoolGrad with a grad of the wrong shape, at run time.
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT);
  auto g = ops::Placeholder(root, DT_FLOAT);
  auto y = ops::MaxPool(root, x, {1, 2, 2, 1}, {1, 2, 2, 1}, "VALID");
  auto dx = ops::MaxPoolGrad(root, x, y, g, {1, 2, 2, 1}, {1, 2, 2, 1}, "VALID");
  absl::StatusOr<Tensor> out =
      RunOne(root, dx, {{x, RandomTensor({1, 4, 4, 2}, 1)}, {g, RandomTensor({1, 3, 2, 2}, 2)}});
  ASSERT_FALSE(out.ok());
  EXPECT_THAT(std::string(out.status().message()), HasSubstr("grad has shape [1,3,2,2]"));
}

TEST(AvgPoolTest, MatchesReference) {
  uint64_t seed = 600;
  for (const PoolCase& p : PoolCases()) {
    SCOPED_TRACE(p.Name());
    Scope root = Scope::NewRootScope();
    auto x = ops::Placeholder(root, DT_FLOAT);
    auto y = ops::AvgPool(root, x, p.Ksize(), p.Strides(), p.Padding());
    Tensor xv = RandomTensor(p.In(), seed++);
    absl::StatusOr<Tensor> out = RunOne(root, y, {{x, xv}});
    ASSERT_TRUE(out.ok()) << out.status();
    ExpectTensorNear(*out, p.Out(), AvgPoolRef(p, xv));
  }
}

TEST(AvgPoolTest, HandComputedValuesExcludePadding) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Const(root, FloatTensor({1, 3, 3, 1}, {1, 2, 3, 4, 5, 6, 7, 8, 9}));
  auto y = ops::AvgPool(root, x, {1, 2, 2, 1}, {1, 1, 1, 1}, "SAME");
  absl::StatusOr<Tensor> out = RunOne(root, y);
  ASSERT_TRUE(out.ok()) << out.status();
  ExpectTensorNear(*out, TensorShape({1, 3, 3, 1}), {3, 4, 4.5f, 6, 7, 7.5f, 7.5f, 8.5f, 9});
}

TEST(AvgPoolGradTest, MatchesReference) {
  uint64_t seed = 700;
  for (const PoolCase& p : PoolCases()) {
    SCOPED_TRACE(p.Name());
    Scope root = Scope::NewRootScope();
    auto g = ops::Placeholder(root, DT_FLOAT);
    auto dx = ops::AvgPoolGrad(root, ops::Const(root, Sizes(p.In())), g, p.Ksize(), p.Strides(),
                               p.Padding());
    ASSERT_TRUE(root.ok()) << root.status();
    EXPECT_EQ(dx.shape(), PartialTensorShape(p.In()));
    Tensor gv = RandomTensor(p.Out(), seed++);
    absl::StatusOr<Tensor> out = RunOne(root, dx, {{g, gv}});
    ASSERT_TRUE(out.ok()) << out.status();
    ExpectTensorNear(*out, p.In(), AvgPoolGradRef(p, gv));
  }
}

// ---------------------------------------------------------------------------------------------
// Gradients against central differences. The pools (and the convolutions in the composed
// network) are piecewise linear, so a large step keeps float rounding out of the differences.

constexpr double kGradTolerance = 2e-3;
constexpr double kStep = 1e-2;

// Distinct values at least 0.05 apart (a scaled random permutation): no ties, and a step of
// 0.01 never changes which element is a window's maximum.
Tensor DistinctValues(const TensorShape& shape, uint64_t seed) {
  std::vector<float> v(shape.num_elements());
  std::iota(v.begin(), v.end(), 0.0f);
  std::shuffle(v.begin(), v.end(), std::mt19937_64(seed));
  for (float& e : v) e = (e - v.size() / 2.0f) * 0.05f;
  return FloatTensor(shape, v);
}

TEST(PoolGradientTest, MaxPool) {
  for (const PoolCase& p : std::vector<PoolCase>{{1, 5, 5, 2, 3, 3, 2, 2, true},
                                                 {3, 4, 5, 1, 2, 2, 2, 2, false},
                                                 {1, 4, 4, 2, 3, 2, 1, 1, true}}) {
    SCOPED_TRACE(p.Name());
    Scope root = Scope::NewRootScope();
    auto x = ops::Placeholder(root, DT_FLOAT);
    auto y = ops::MaxPool(root, x, p.Ksize(), p.Strides(), p.Padding());
    absl::StatusOr<double> err =
        test::MaxGradientError(root, {{x, DistinctValues(p.In(), 37)}}, y, {}, kStep);
    ASSERT_TRUE(err.ok()) << err.status();
    EXPECT_LT(*err, kGradTolerance);
  }
}

TEST(PoolGradientTest, AvgPool) {
  for (const PoolCase& p : std::vector<PoolCase>{{1, 5, 5, 2, 3, 3, 2, 2, true},
                                                 {3, 4, 5, 1, 2, 2, 2, 2, false}}) {
    SCOPED_TRACE(p.Name());
    Scope root = Scope::NewRootScope();
    auto x = ops::Placeholder(root, DT_FLOAT);
    auto y = ops::AvgPool(root, x, p.Ksize(), p.Strides(), p.Padding());
    absl::StatusOr<double> err =
        test::MaxGradientError(root, {{x, RandomTensor(p.In(), 38)}}, y, {}, kStep);
    ASSERT_TRUE(err.ok()) << err.status();
    EXPECT_LT(*err, kGradTolerance);
  }
}

TEST(PoolGradientTest, AvgPoolGrad) {
  const PoolCase p{2, 5, 5, 2, 3, 3, 2, 2, true};
  Scope root = Scope::NewRootScope();
  auto g = ops::Placeholder(root, DT_FLOAT);
  auto dx = ops::AvgPoolGrad(root, ops::Const(root, Sizes(p.In())), g, p.Ksize(), p.Strides(),
                             p.Padding());
  absl::StatusOr<double> err =
      test::MaxGradientError(root, {{g, RandomTensor(p.Out(), 39)}}, dx, {}, kStep);
  ASSERT_TRUE(err.ok()) << err.status();
  EXPECT_LT(*err, kGradTolerance);
}

// A small CNN end to end: conv -> max pool -> conv (stride 2) -> avg pool, all gradients at once.
TEST(PoolGradientTest, ComposedNetwork) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT);
  auto f1 = ops::Placeholder(root, DT_FLOAT);
  auto f2 = ops::Placeholder(root, DT_FLOAT);
  auto h = ops::Conv2D(root, x, f1, {1, 1, 1, 1}, "SAME");
  auto p = ops::AvgPool(root, h, {1, 2, 2, 1}, {1, 2, 2, 1}, "SAME");
  auto y = ops::Conv2D(root, p, f2, {1, 2, 2, 1}, "VALID");
  absl::StatusOr<double> err = test::MaxGradientError(
      root,
      {{x, RandomTensor({2, 6, 5, 2}, 40)},
       {f1, RandomTensor({3, 3, 2, 3}, 41)},
       {f2, RandomTensor({2, 2, 3, 2}, 42)}},
      y, {}, kStep);
  ASSERT_TRUE(err.ok()) << err.status();
  EXPECT_LT(*err, kGradTolerance);
}

TEST(ConvOpsRegistryTest, MaxPoolGradIsNotDifferentiable) {
  const OpDef* op = OpRegistry::Global()->Find("MaxPoolGrad");
  ASSERT_NE(op, nullptr);
  EXPECT_FALSE(op->differentiable);
  for (const char* name : {"Conv2D", "Conv2DBackpropInput", "Conv2DBackpropFilter", "MaxPool",
                           "AvgPool", "AvgPoolGrad"}) {
    const OpDef* d = OpRegistry::Global()->Find(name);
    ASSERT_NE(d, nullptr) << name;
    EXPECT_TRUE(d->grad_fn != nullptr) << name;
  }
}

}  // namespace
}  // namespace test
}  // namespace dflow
