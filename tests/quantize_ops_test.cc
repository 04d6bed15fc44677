// Tests of the fake-quantization ops and their gradient ops: hand-computed nudged ranges and
// levels, the plain reference of tests/reference.h over random inputs for several num_bits and
// narrow_range, per-channel ranges, TensorFlow's min = max = 0 rule, attr and input checks, and
// the straight-through gradients built by the gradient functions (central differences do not
// apply: the quantizer's derivative is 0 almost everywhere, so the gradients are checked
// against the straight-through rule written out).
#include <cmath>
#include <cstdint>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ops/array_ops.h"
#include "ops/gradients.h"
#include "ops/quantize_ops.h"
#include "runtime/session.h"
#include "tests/gradient_checker.h"
#include "tests/reference.h"
#include "tests/test_util.h"

namespace dflow {
namespace test {
namespace {

using ::testing::HasSubstr;

TEST(FakeQuantTest, HandComputedNudging) {
  // [-1, 1] on 8 bits: scale s = 2/255; the zero point 1 / s is 127.49999 in float, so 127:
  // the range is [-127 s, 128 s].
  Scope root = Scope::NewRootScope();
  const Tensor x = FloatTensor({5}, {-2.0f, -1.0f, 0.0f, 0.55f, 0.9f});
  auto y = ops::FakeQuantWithMinMaxVars(root, ops::Const(root, x), ops::Const(root, -1.0f),
                                        ops::Const(root, 1.0f));
  // narrow_range: levels 1..255, scale t = 2/254, zero point 128: the range is [-1, 1].
  auto z = ops::FakeQuantWithMinMaxArgs(root, ops::Const(root, x),
                                        ops::FakeQuantAttrs().Min(-1).Max(1).NarrowRange(true));
  absl::StatusOr<std::vector<Tensor>> out = RunGraph(root, {}, {y, z});
  ASSERT_TRUE(out.ok()) << out.status();
  const float s = 2.0f / 255;
  ExpectTensorNear((*out)[0], TensorShape({5}), {-127 * s, -127 * s, 0, 70 * s, 115 * s}, 1e-6f);
  EXPECT_EQ((*out)[0].flat<float>()[2], 0.0f);  // Zero is exact.
  const float t = 2.0f / 254;
  ExpectTensorNear((*out)[1], TensorShape({5}), {-1, -1, 0, 70 * t, 114 * t}, 1e-6f);
}

TEST(FakeQuantTest, MatchesReference) {
  struct Case {
    float min, max;
    int bits;
    bool narrow;
  };
  uint64_t seed = 1;
  for (const Case& c : std::vector<Case>{{-6, 6, 8, false},
                                         {-1.3f, 2.9f, 8, true},
                                         {0.5f, 3.0f, 4, false},  // Range above 0: nudged to 0.
                                         {-3.0f, -0.25f, 2, false},
                                         {-0.7f, 1.1f, 16, false}}) {
    SCOPED_TRACE(absl::StrCat("[", c.min, ", ", c.max, "] bits ", c.bits, " narrow ", c.narrow));
    const Tensor x = RandomTensor({3, 7}, seed++, -8.0f, 8.0f);
    Scope root = Scope::NewRootScope();
    const ops::FakeQuantAttrs attrs =
        ops::FakeQuantAttrs().Min(c.min).Max(c.max).NumBits(c.bits).NarrowRange(c.narrow);
    auto args = ops::FakeQuantWithMinMaxArgs(root, ops::Const(root, x), attrs);
    auto vars = ops::FakeQuantWithMinMaxVars(root, ops::Const(root, x), ops::Const(root, c.min),
                                             ops::Const(root, c.max), attrs);
    absl::StatusOr<std::vector<Tensor>> out = RunGraph(root, {}, {args, vars});
    ASSERT_TRUE(out.ok()) << out.status();
    const FakeQuantRange r = NudgeRef(c.min, c.max, c.bits, c.narrow);
    EXPECT_LE(r.min, 0.0);
    EXPECT_GE(r.max, 0.0);
    std::vector<double> expected;
    for (float v : x.flat<float>()) expected.push_back(FakeQuantRef(v, r));
    ExpectNear(ValuesOf<float>((*out)[0]), expected, 1e-5, "Args");
    ExpectNear(ValuesOf<float>((*out)[1]), expected, 1e-5, "Vars");
  }
}

TEST(FakeQuantTest, PerChannel) {
  const Tensor x = RandomTensor({2, 3, 4}, 9, -3.0f, 3.0f);
  const std::vector<float> mins = {-1, -2.5f, 0, 0}, maxs = {1, 0.5f, 2, 0};  // Last: unset.
  Scope root = Scope::NewRootScope();
  auto y = ops::FakeQuantWithMinMaxVarsPerChannel(
      root, ops::Const(root, x), ops::Const(root, FloatTensor({4}, mins)),
      ops::Const(root, FloatTensor({4}, maxs)), ops::FakeQuantAttrs().NumBits(5));
  absl::StatusOr<Tensor> out = RunOne(root, y);
  ASSERT_TRUE(out.ok()) << out.status();
  std::vector<double> expected;
  auto xv = x.flat<float>();
  for (int64_t i = 0; i < x.NumElements(); ++i) {
    const int c = i % 4;
    expected.push_back(c == 3 ? 0.0 : FakeQuantRef(xv[i], NudgeRef(mins[c], maxs[c], 5, false)));
  }
  ExpectNear(ValuesOf<float>(*out), expected, 1e-5, "PerChannel");
}

// The corpus case octogonapus_keras_fakequant: dense_1/act_quant's range as its graph stores it
// (Consts min -9.24566650390625, max 16.269325256347656, num_bits 8, narrow_range false), fed
// the oracle's expected outputs. By hand: scale s = (max - min) / 255 = 0.10005879; the zero
// point -min / s = 92.40 rounds to 92, so the grid is (k - 92) s, k = 0..255. TensorFlow's
// output is a fixed point of the op (it is on the grid); the oracle's values are not, so
// TensorFlow.js did not fake-quantize (its converter maps the op to a copy of its input).
TEST(FakeQuantTest, CorpusRangeHandComputedAndTheOracleIsOffTheGrid) {
  const float min = -9.24566650390625f, max = 16.269325256347656f;
  const float s = (max - min) / 255;
  const Tensor oracle = FloatTensor(
      {4}, {0.05770115554332733f, 7.1382317543029785f, -2.017756938934326f, 11.125977516174316f});
  Scope root = Scope::NewRootScope();
  auto y = ops::FakeQuantWithMinMaxVars(root, ops::Const(root, oracle), ops::Const(root, min),
                                        ops::Const(root, max));
  auto twice = ops::FakeQuantWithMinMaxVars(root, y, ops::Const(root, min), ops::Const(root, max));
  absl::StatusOr<std::vector<Tensor>> out = RunGraph(root, {}, {y, twice});
  ASSERT_TRUE(out.ok()) << out.status();
  // Levels (x + 92 s) / s = 92.58, 163.34, 71.83, 203.19 round to 93, 163, 72, 203.
  ExpectTensorNear((*out)[0], TensorShape({4}), {1 * s, 71 * s, -20 * s, 111 * s}, 1e-5f);
  ExpectTensorNear((*out)[1], TensorShape({4}), {1 * s, 71 * s, -20 * s, 111 * s}, 1e-5f);
  for (int i = 0; i < 4; ++i) {
    // Off the grid by 100 times the case's atol (1e-4) or more.
    EXPECT_GT(std::fabs((*out)[0].flat<float>()[i] - oracle.flat<float>()[i]), 0.01f) << i;
  }
}

TEST(FakeQuantTest, UnsetRangeGivesZeros) {
  Scope root = Scope::NewRootScope();
  auto y = ops::FakeQuantWithMinMaxVars(root, ops::Const(root, {1.0f, -2.0f}),
                                        ops::Const(root, 0.0f), ops::Const(root, 0.0f));
  absl::StatusOr<Tensor> out = RunOne(root, y);
  ASSERT_TRUE(out.ok()) << out.status();
  ExpectTensorNear(*out, TensorShape({2}), {0, 0});
}

// The gradient functions' graphs: straight-through for x, the out-of-range sums for min / max.
TEST(FakeQuantGradientTest, StraightThrough) {
  const Tensor x = FloatTensor({2, 3}, {-5, -0.5f, 0.2f, 0.9f, 3, 1.1f});
  const Tensor g = FloatTensor({2, 3}, {1, 2, 3, 4, 5, 6});
  // Range [-1, 1] on 8 bits: nudged [-0.99608, 1.0039]; -5 below; 3 and 1.1 above.
  Scope root = Scope::NewRootScope();
  auto xp = ops::Placeholder(root, DT_FLOAT);
  auto gp = ops::Placeholder(root, DT_FLOAT);
  auto mn = ops::Placeholder(root, DT_FLOAT);
  auto mx = ops::Placeholder(root, DT_FLOAT);
  auto args = ops::FakeQuantWithMinMaxArgs(root, xp, ops::FakeQuantAttrs().Min(-1).Max(1));
  auto vars = ops::FakeQuantWithMinMaxVars(root, xp, mn, mx);
  auto per = ops::FakeQuantWithMinMaxVarsPerChannel(root, xp, ops::Reshape(root, mn, {1}),
                                                    ops::Reshape(root, mx, {1}));
  std::vector<Output> d_args, d_vars;
  ASSERT_TRUE(AddSymbolicGradients(root, {args}, {xp}, {gp}, &d_args).ok());
  ASSERT_TRUE(AddSymbolicGradients(root, {vars}, {xp, mn, mx}, {gp}, &d_vars).ok());
  ASSERT_TRUE(root.ok()) << root.status();
  absl::StatusOr<std::vector<Tensor>> out =
      RunGraph(root,
               {{xp, x}, {gp, g}, {mn, Tensor::Scalar<float>(-1)}, {mx, Tensor::Scalar<float>(1)}},
               {d_args[0], d_vars[0], d_vars[1], d_vars[2]});
  ASSERT_TRUE(out.ok()) << out.status();
  ExpectTensorNear((*out)[0], TensorShape({2, 3}), {0, 2, 3, 4, 0, 0});
  ExpectTensorNear((*out)[1], TensorShape({2, 3}), {0, 2, 3, 4, 0, 0});
  ExpectTensorNear((*out)[2], TensorShape({}), {1});
  ExpectTensorNear((*out)[3], TensorShape({}), {11});
  // Per channel, with x as [6, 1]: the same sums per channel.
  Scope root2 = Scope::NewRootScope();
  auto x2 = ops::Placeholder(root2, DT_FLOAT);
  auto g2 = ops::Placeholder(root2, DT_FLOAT);
  auto y2 = ops::FakeQuantWithMinMaxVarsPerChannel(root2, x2, ops::Const(root2, {-1.0f}),
                                                   ops::Const(root2, {1.0f}));
  ops::FakeQuantVarsGradient grad = ops::FakeQuantWithMinMaxVarsPerChannelGradient(
      root2, g2, x2, ops::Const(root2, {-1.0f}), ops::Const(root2, {1.0f}));
  ASSERT_TRUE(root2.ok()) << root2.status();
  out = RunGraph(root2, {{x2, FloatTensor({6, 1}, ValuesOf<float>(x))},
                         {g2, FloatTensor({6, 1}, ValuesOf<float>(g))}},
                 {grad.backprops_wrt_input, grad.backprop_wrt_min, grad.backprop_wrt_max});
  ASSERT_TRUE(out.ok()) << out.status();
  ExpectTensorNear((*out)[0], TensorShape({6, 1}), {0, 2, 3, 4, 0, 0});
  ExpectTensorNear((*out)[1], TensorShape({1}), {1});
  ExpectTensorNear((*out)[2], TensorShape({1}), {11});
}

TEST(FakeQuantTest, Errors) {
  auto build_error = [](auto build) {
    Scope root = Scope::NewRootScope();
    build(root);
    return ErrorOf(root);
  };
  EXPECT_THAT(build_error([](const Scope& r) {
                ops::FakeQuantWithMinMaxArgs(r, ops::Const(r, {1.0f}),
                                             ops::FakeQuantAttrs().Min(1).Max(1));
              }),
              HasSubstr("min has to be smaller than max"));
  EXPECT_THAT(build_error([](const Scope& r) {
                ops::FakeQuantWithMinMaxVars(r, ops::Const(r, {1.0f}), ops::Const(r, -1.0f),
                                             ops::Const(r, 1.0f), ops::FakeQuantAttrs().NumBits(1));
              }),
              HasSubstr("num_bits must be between 2 and 16"));
  EXPECT_THAT(build_error([](const Scope& r) {
                ops::FakeQuantWithMinMaxVars(r, ops::Const(r, {1.0f}), ops::Const(r, {-1.0f}),
                                             ops::Const(r, 1.0f));
              }),
              HasSubstr("min must be a scalar"));
  EXPECT_THAT(build_error([](const Scope& r) {
                ops::FakeQuantWithMinMaxVarsPerChannel(r, ops::Const(r, 0.0f, {2, 3}),
                                                       ops::Const(r, {-1.0f, -1.0f}),
                                                       ops::Const(r, {1.0f, 1.0f}));
              }),
              HasSubstr("one element per channel"));
  // At run time.
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT);
  auto mn = ops::Placeholder(root, DT_FLOAT);
  auto y = ops::FakeQuantWithMinMaxVarsPerChannel(root, x, mn, mn);
  absl::StatusOr<Tensor> out =
      RunOne(root, y, {{x, RandomTensor({2, 3}, 1)}, {mn, RandomTensor({2}, 2)}}, Unoptimized());
  EXPECT_THAT(ErrorOf(out.status()), HasSubstr("one element per channel"));
}

// FakeQuantWithMinMaxArgsGradient is linear in its gradients input (inputs fixed away from the
// range ends), so central differences check its gradient.
TEST(FakeQuantGradientTest, ArgsGradientOpAgainstCentralDifferences) {
  Scope root = Scope::NewRootScope();
  auto g = ops::Placeholder(root, DT_FLOAT);
  auto x = ops::Placeholder(root, DT_FLOAT);
  auto dx = ops::FakeQuantWithMinMaxArgsGradient(root, g, x, ops::FakeQuantAttrs().Min(-1).Max(1));
  absl::StatusOr<double> err =
      MaxGradientError(root, {{g, RandomTensor({2, 3}, 3)}}, dx,
                       {{x, FloatTensor({2, 3}, {-5, -0.5f, 0.2f, 0.9f, 3, 1.1f})}}, 1e-2);
  ASSERT_TRUE(err.ok()) << err.status();
  EXPECT_LT(*err, 1e-3);
}

}  // namespace
}  // namespace test
}  // namespace dflow
