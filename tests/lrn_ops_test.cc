// Tests of LRN and LRNGrad: a hand-computed value, random odd shapes (batch 1, windows wider
// than the channels, radius 0) against a plain windowed sum in double, the bias <= 0 loop path,
// the gradient through central differences, LRNGrad against the derivative written out, and
// input checks.
#include <algorithm>
#include <cmath>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "ops/array_ops.h"
#include "ops/lrn_ops.h"
#include "tests/test_util.h"

namespace dflow {
namespace test {
namespace {

// y[p, d] = x[p, d] / (bias + alpha * sum_{|k - d| <= r, 0 <= k < c} x[p, k]^2)^beta.
std::vector<double> LrnRef(const Tensor& x, const ops::LRNAttrs& a) {
  const int64_t c = x.dim_size(3);
  const float* px = x.flat<float>().data();
  std::vector<double> y(x.NumElements());
  for (int64_t i = 0; i < x.NumElements(); ++i) {
    const int64_t p = i / c, d = i % c;
    double s = 0;
    for (int64_t k = 0; k < c; ++k) {
      if (std::abs(k - d) <= a.depth_radius) s += double{px[p * c + k]} * px[p * c + k];
    }
    y[i] = px[i] / std::pow(a.bias + a.alpha * s, a.beta);
  }
  return y;
}

TEST(LrnTest, HandComputed) {
  // One pixel, channels {1, 2, 3}, radius 1, bias 1, alpha 0.5, beta 1:
  // y0 = 1 / (1 + 0.5 * 5), y1 = 2 / (1 + 0.5 * 14), y2 = 3 / (1 + 0.5 * 13).
  Scope root = Scope::NewRootScope();
  Output y = ops::LRN(root, ops::Const(root, FloatTensor({1, 1, 1, 3}, {1, 2, 3})),
                      ops::LRNAttrs().DepthRadius(1).Alpha(0.5f).Beta(1));
  absl::StatusOr<Tensor> out = RunOne(root, y, {});
  ASSERT_TRUE(out.ok()) << out.status();
  ExpectTensorNear(*out, TensorShape({1, 1, 1, 3}), {1 / 3.5f, 2 / 8.0f, 3 / 7.5f}, 1e-6f);
}

struct LrnCase {
  TensorShape shape;
  ops::LRNAttrs attrs;
};

std::vector<LrnCase> Cases() {
  return {{{1, 3, 5, 7}, ops::LRNAttrs()},
          {{2, 4, 3, 9}, ops::LRNAttrs().DepthRadius(2).Bias(2).Alpha(1e-4f).Beta(0.75f)},
          {{1, 1, 1, 3}, ops::LRNAttrs().DepthRadius(7).Bias(0.5f).Alpha(0.3f).Beta(0.6f)},
          {{3, 2, 2, 5}, ops::LRNAttrs().DepthRadius(0).Alpha(0.7f).Beta(1.3f)},
          {{1, 2, 3, 11}, ops::LRNAttrs().DepthRadius(3).Bias(0).Alpha(2).Beta(0.5f)}};
}

TEST(LrnTest, MatchesReference) {
  uint64_t seed = 3;
  for (const LrnCase& c : Cases()) {
    SCOPED_TRACE(absl::StrCat(c.shape.DebugString(), " r ", c.attrs.depth_radius, " bias ",
                              c.attrs.bias));
    const Tensor x = RandomTensor(c.shape, seed++, -2.0f, 2.0f);
    Scope root = Scope::NewRootScope();
    absl::StatusOr<Tensor> y = RunOne(root, ops::LRN(root, ops::Const(root, x), c.attrs), {});
    ASSERT_TRUE(y.ok()) << y.status();
    ExpectNear(ValuesOf<float>(*y), LrnRef(x, c.attrs), 2e-5, "LRN");
  }
}

TEST(LrnTest, GradientMatchesCentralDifferences) {
  uint64_t seed = 30;
  for (const LrnCase& c : Cases()) {
    SCOPED_TRACE(c.shape.DebugString());
    Scope root = Scope::NewRootScope();
    auto x = ops::Placeholder(root, DT_FLOAT);
    Tensor xv = RandomTensor(c.shape, seed++, 0.3f, 1.5f);
    ExpectGradientOk(root, {{x, xv}}, ops::LRN(root, x, c.attrs),
                     absl::StrCat("LRN ", c.shape.DebugString()));
  }
}

// LRNGrad reads the output image it is given, as TensorFlow's: dx_k = g_k n_k^-beta
// - 2 alpha beta x_k sum_{|d - k| <= r} g_d y_d / n_d.
TEST(LrnTest, LrnGradUsesTheGivenOutputImage) {
  const ops::LRNAttrs a = ops::LRNAttrs().DepthRadius(1).Bias(1.5f).Alpha(0.2f).Beta(0.7f);
  const TensorShape s({1, 1, 2, 4});
  const Tensor g = RandomTensor(s, 1), x = RandomTensor(s, 2), y = RandomTensor(s, 3);
  Scope root = Scope::NewRootScope();
  Output dx = ops::LRNGrad(root, ops::Const(root, g), ops::Const(root, x), ops::Const(root, y), a);
  absl::StatusOr<Tensor> out = RunOne(root, dx, {});
  ASSERT_TRUE(out.ok()) << out.status();
  std::vector<double> expected;
  const float *pg = g.flat<float>().data(), *px = x.flat<float>().data(),
              *py = y.flat<float>().data();
  for (int p = 0; p < 2; ++p) {
    std::vector<double> n(4);
    for (int d = 0; d < 4; ++d) {
      double s2 = 0;
      for (int k = std::max(0, d - 1); k <= std::min(3, d + 1); ++k) s2 += px[p * 4 + k] * px[p * 4 + k];
      n[d] = a.bias + a.alpha * s2;
    }
    for (int k = 0; k < 4; ++k) {
      double sum = 0;
      for (int d = std::max(0, k - 1); d <= std::min(3, k + 1); ++d) {
        sum += pg[p * 4 + d] * py[p * 4 + d] / n[d];
      }
      expected.push_back(pg[p * 4 + k] * std::pow(n[k], -a.beta) -
                         2 * a.alpha * a.beta * px[p * 4 + k] * sum);
    }
  }
  ExpectNear(ValuesOf<float>(*out), expected, 1e-5, "LRNGrad");
}

TEST(LrnTest, BadInputsAreErrors) {
  Scope root = Scope::NewRootScope();
  ops::LRN(root, ops::Const(root, FloatTensor({2, 3}, {1, 2, 3, 4, 5, 6})));
  EXPECT_TRUE(absl::StrContains(ErrorOf(root), "rank")) << ErrorOf(root);

  Scope run = Scope::NewRootScope();
  auto x = ops::Placeholder(run, DT_FLOAT);
  absl::StatusOr<Tensor> r = RunOne(run, ops::LRN(run, x), {{x, FloatTensor({3}, {1, 2, 3})}},
                                    Unoptimized());
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(absl::StrContains(r.status().message(), "4-D")) << r.status();

  Scope bad = Scope::NewRootScope();
  auto g = ops::Placeholder(bad, DT_FLOAT);
  const Tensor img = RandomTensor({1, 2, 2, 3}, 5);
  r = RunOne(bad, ops::LRNGrad(bad, g, ops::Const(bad, img), ops::Const(bad, img)),
             {{g, RandomTensor({1, 2, 2, 4}, 6)}}, Unoptimized());
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(absl::StrContains(r.status().message(), "same shape")) << r.status();
}

}  // namespace
}  // namespace test
}  // namespace dflow
