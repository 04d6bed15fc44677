// Tests of FusedBatchNorm / V2 / V3 and their grad ops against the plain-loop references of
// tests/reference.h: inference and training (Bessel-corrected running variance, exponential
// averaging), NHWC, NCHW and V3's 5-D formats, odd channel counts, batch 1, one element per
// channel, empty inputs, input checks, a TensorFlow-style GraphDef, and the gradients through
// the numeric checker.
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "ops/array_ops.h"
#include "ops/batch_norm_ops.h"
#include "ops/gradients.h"
#include "ops/math_ops.h"
#include "runtime/session.h"
#include "tests/gradient_checker.h"
#include "tests/reference.h"
#include "tests/test_util.h"

namespace dflow {
namespace test {
namespace {

using ::testing::HasSubstr;

struct Case {
  std::vector<int64_t> shape;
  std::string format;
  int version;  // 1, 2 or 3.

  TensorShape Shape() const { return TensorShape(absl::MakeConstSpan(shape)); }
  bool ChannelsLast() const { return format == "NHWC" || format == "NDHWC"; }
  int64_t C() const { return ChannelsLast() ? shape.back() : shape[1]; }
  BatchNormDims Dims() const {
    int64_t total = 1;
    for (int64_t d : shape) total *= d;
    if (ChannelsLast()) return {total / C(), C(), 1};
    return {shape[0], C(), total / (shape[0] * C())};
  }
  std::string Name() const {
    return absl::StrCat("V", version, " ", format, " ", Shape().DebugString());
  }
};

const std::vector<Case>& Cases() {
  static const auto* cases = new std::vector<Case>{
      {{1, 5, 7, 3}, "NHWC", 1},        {{3, 4, 5, 2}, "NHWC", 2},
      {{2, 3, 3, 17}, "NHWC", 3},       {{1, 1, 1, 4}, "NHWC", 3},  // One element per channel.
      {{2, 3, 4, 5}, "NCHW", 1},        {{1, 16, 3, 3}, "NCHW", 3},
      {{2, 2, 3, 4, 3}, "NDHWC", 3},    {{2, 3, 2, 3, 4}, "NCDHW", 3},
      {{4, 6, 6, 32}, "NHWC", 3},  // Channel counts oneDNN vectorizes.
  };
  return *cases;
}

// The forward op of the case's version.
struct Forward {
  Output y, batch_mean, batch_var, saved_mean, saved_var;
};
Forward MakeForward(const Scope& root, const Case& c, Input x, Input scale, Input offset,
                    Input mean, Input var, const ops::FusedBatchNormAttrs& attrs) {
  auto take = [](const ops::FusedBatchNorm& bn) {
    return Forward{bn.y, bn.batch_mean, bn.batch_variance, bn.reserve_space_1,
                   bn.reserve_space_2};
  };
  if (c.version == 1) return take(ops::FusedBatchNorm(root, x, scale, offset, mean, var, attrs));
  if (c.version == 2) {
    return take(ops::FusedBatchNormV2(root, x, scale, offset, mean, var, attrs));
  }
  return take(ops::FusedBatchNormV3(root, x, scale, offset, mean, var, attrs));
}

// The float placeholders every batch-norm op here takes besides its offset (or dy).
struct StatsInputs {
  Output x, scale, mean, var;
};
StatsInputs StatsPlaceholders(const Scope& root) {
  return {ops::Placeholder(root, DT_FLOAT), ops::Placeholder(root, DT_FLOAT),
          ops::Placeholder(root, DT_FLOAT), ops::Placeholder(root, DT_FLOAT)};
}

Tensor Positive(int64_t c, uint64_t seed) { return RandomTensor({c}, seed, 0.5f, 2.0f); }

void RunForward(const Case& c, bool training, float factor, uint64_t seed) {
  SCOPED_TRACE(absl::StrCat(c.Name(), training ? " training" : " inference", " factor ", factor));
  Scope root = Scope::NewRootScope();
  const auto [x, scale, mean, var] = StatsPlaceholders(root);
  auto offset = ops::Placeholder(root, DT_FLOAT);
  const float eps = 0.001f;
  ops::FusedBatchNormAttrs attrs = ops::FusedBatchNormAttrs()
                                       .IsTraining(training)
                                       .Epsilon(eps)
                                       .DataFormat(c.format)
                                       .ExponentialAvgFactor(factor);
  Forward f = MakeForward(root, c, x, scale, offset, mean, var, attrs);
  ASSERT_TRUE(root.ok()) << root.status();
  Tensor xv = RandomTensor(c.Shape(), seed, -2.0f, 3.0f), sv = Positive(c.C(), seed + 1),
         ov = RandomTensor({c.C()}, seed + 2), mv = RandomTensor({c.C()}, seed + 3),
         vv = Positive(c.C(), seed + 4);
  absl::StatusOr<std::vector<Tensor>> out =
      RunGraph(root, {{x, xv}, {scale, sv}, {offset, ov}, {mean, mv}, {var, vv}},
               {f.y, f.batch_mean, f.batch_var, f.saved_mean, f.saved_var});
  ASSERT_TRUE(out.ok()) << out.status();
  BatchNormRefResult r = FusedBatchNormRef(c.Dims(), xv, sv, ov, mv, vv, eps, training, factor);
  const TensorShape vec({c.C()});
  ExpectTensorNear((*out)[0], c.Shape(), r.y, 1e-4f);
  ExpectTensorNear((*out)[1], vec, r.batch_mean, 1e-5f);
  ExpectTensorNear((*out)[2], vec, r.batch_var, 1e-4f);
  if (training) {
    ExpectTensorNear((*out)[3], vec, r.saved_mean, 1e-5f);
    ExpectTensorNear((*out)[4], vec, r.saved_var, 1e-4f);
  }
}

TEST(FusedBatchNormTest, InferenceMatchesReference) {
  uint64_t seed = 1;
  for (const Case& c : Cases()) RunForward(c, false, 1.0f, seed += 10);
}

TEST(FusedBatchNormTest, TrainingMatchesReference) {
  uint64_t seed = 500;
  for (const Case& c : Cases()) {
    RunForward(c, true, 1.0f, seed += 10);
    RunForward(c, true, 0.25f, seed += 10);  // Running averages of the inputs and the batch.
  }
}

TEST(FusedBatchNormTest, HandComputedTraining) {
  // One channel of 4 values 1, 2, 3, 6: mean 3, biased variance 3.5, Bessel 14 / 3.
  Scope root = Scope::NewRootScope();
  ops::FusedBatchNormV3 bn(root, ops::Const(root, FloatTensor({1, 2, 2, 1}, {1, 2, 3, 6})),
                           ops::Const(root, {2.0f}), ops::Const(root, {1.0f}),
                           ops::Const(root, FloatTensor({0}, {})),
                           ops::Const(root, FloatTensor({0}, {})),
                           ops::FusedBatchNormAttrs().Epsilon(0.5f));
  absl::StatusOr<std::vector<Tensor>> out =
      RunGraph(root, {}, {bn.y, bn.batch_mean, bn.batch_variance, bn.reserve_space_1,
                          bn.reserve_space_2, bn.reserve_space_3});
  ASSERT_TRUE(out.ok()) << out.status();
  // (x - 3) / sqrt(4) * 2 + 1 = x - 2.
  ExpectTensorNear((*out)[0], TensorShape({1, 2, 2, 1}), {-1, 0, 1, 4});
  ExpectTensorNear((*out)[1], TensorShape({1}), {3});
  ExpectTensorNear((*out)[2], TensorShape({1}), {14.0f / 3});
  ExpectTensorNear((*out)[3], TensorShape({1}), {3});
  ExpectTensorNear((*out)[4], TensorShape({1}), {3.5f});
  ExpectTensorNear((*out)[5], TensorShape({}), {0});
}

TEST(FusedBatchNormTest, EmptyInputGivesNanStatistics) {
  Scope root = Scope::NewRootScope();
  ops::FusedBatchNorm bn(root, ops::Const(root, Tensor(DT_FLOAT, TensorShape({0, 3, 3, 2}))),
                         ops::Const(root, {1.0f, 1.0f}), ops::Const(root, {0.0f, 0.0f}),
                         ops::Const(root, {0.0f, 0.0f}), ops::Const(root, {1.0f, 1.0f}));
  absl::StatusOr<std::vector<Tensor>> out = RunGraph(root, {}, {bn.y, bn.batch_mean});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ((*out)[0].shape(), TensorShape({0, 3, 3, 2}));
  ASSERT_EQ((*out)[1].NumElements(), 2);
  EXPECT_TRUE(std::isnan((*out)[1].flat<float>()[0]));
}

TEST(FusedBatchNormTest, Errors) {
  {  // Bad data_format.
    Scope root = Scope::NewRootScope();
    ops::FusedBatchNorm(root, ops::Const(root, 0.0f, {1, 2, 2, 2}), ops::Const(root, {1.0f, 1.0f}),
                        ops::Const(root, {0.0f, 0.0f}), ops::Const(root, {0.0f, 0.0f}),
                        ops::Const(root, {1.0f, 1.0f}),
                        ops::FusedBatchNormAttrs().DataFormat("NDHWC"));
    EXPECT_THAT(ErrorOf(root), HasSubstr("unknown data_format 'NDHWC'"));
  }
  {  // scale of the wrong length.
    Scope root = Scope::NewRootScope();
    ops::FusedBatchNormV3(root, ops::Const(root, 0.0f, {1, 2, 2, 2}), ops::Const(root, {1.0f}),
                          ops::Const(root, {0.0f, 0.0f}), ops::Const(root, {0.0f, 0.0f}),
                          ops::Const(root, {1.0f, 1.0f}));
    EXPECT_THAT(ErrorOf(root), HasSubstr("scale must have one element per channel"));
  }
  {  // Rank.
    Scope root = Scope::NewRootScope();
    ops::FusedBatchNormV2(root, ops::Const(root, 0.0f, {2, 2, 2}), ops::Const(root, {1.0f, 1.0f}),
                          ops::Const(root, {0.0f, 0.0f}), ops::Const(root, {0.0f, 0.0f}),
                          ops::Const(root, {1.0f, 1.0f}));
    EXPECT_THAT(ErrorOf(root), HasSubstr("x must be 4-D"));
  }
  // At run time: inference needs mean and variance; training with factor 1 does not.
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT);
  auto mean = ops::Placeholder(root, DT_FLOAT);
  ops::FusedBatchNormV3 infer(root, x, ops::Const(root, {1.0f, 1.0f}),
                              ops::Const(root, {0.0f, 0.0f}), mean, mean,
                              ops::FusedBatchNormAttrs().IsTraining(false));
  ops::FusedBatchNormV3 train(root, x, ops::Const(root, {1.0f, 1.0f}),
                              ops::Const(root, {0.0f, 0.0f}), mean, mean);
  ASSERT_TRUE(root.ok()) << root.status();
  const Tensor empty(DT_FLOAT, TensorShape({0}));
  absl::StatusOr<Tensor> out =
      RunOne(root, infer.y, {{x, RandomTensor({1, 2, 2, 2}, 1)}, {mean, empty}}, Unoptimized());
  EXPECT_THAT(ErrorOf(out.status()), HasSubstr("when is_training is false, mean must be 1-D"));
  out = RunOne(root, train.y, {{x, RandomTensor({1, 2, 2, 2}, 1)}, {mean, empty}});
  EXPECT_TRUE(out.ok()) << out.status();
  out = RunOne(root, train.y, {{x, RandomTensor({1, 2, 2, 3}, 1)}, {mean, empty}},
               Unoptimized());
  EXPECT_THAT(ErrorOf(out.status()), HasSubstr("scale must be 1-D with one element per channel"));
}

TEST(FusedBatchNormGradTest, MatchesReference) {
  uint64_t seed = 900;
  for (const Case& c : Cases()) {
    for (bool training : {true, false}) {
      SCOPED_TRACE(absl::StrCat(c.Name(), training ? " training" : " inference"));
      Scope root = Scope::NewRootScope();
      const auto [x, scale, mean, var] = StatsPlaceholders(root);
      auto dy = ops::Placeholder(root, DT_FLOAT);
      const float eps = 0.01f;
      ops::FusedBatchNormAttrs attrs =
          ops::FusedBatchNormAttrs().IsTraining(training).Epsilon(eps).DataFormat(c.format);
      ops::FusedBatchNormGrad grad =
          c.version == 1 ? ops::FusedBatchNormGrad(root, dy, x, scale, mean, var, attrs)
          : c.version == 2
              ? static_cast<ops::FusedBatchNormGrad>(
                    ops::FusedBatchNormGradV2(root, dy, x, scale, mean, var, attrs))
              : static_cast<ops::FusedBatchNormGrad>(ops::FusedBatchNormGradV3(
                    root, dy, x, scale, mean, var, ops::Const(root, 0.0f), attrs));
      ASSERT_TRUE(root.ok()) << root.status();
      seed += 10;
      Tensor gv = RandomTensor(c.Shape(), seed), xv = RandomTensor(c.Shape(), seed + 1),
             sv = Positive(c.C(), seed + 2), mv = RandomTensor({c.C()}, seed + 3),
             vv = Positive(c.C(), seed + 4);
      absl::StatusOr<std::vector<Tensor>> out = RunGraph(
          root, {{dy, gv}, {x, xv}, {scale, sv}, {mean, mv}, {var, vv}},
          {grad.x_backprop, grad.scale_backprop, grad.offset_backprop});
      ASSERT_TRUE(out.ok()) << out.status();
      BatchNormGradRefResult r =
          FusedBatchNormGradRef(c.Dims(), gv, xv, sv, mv, vv, eps, training);
      ExpectTensorNear((*out)[0], c.Shape(), r.dx, 1e-4f);
      ExpectTensorNear((*out)[1], TensorShape({c.C()}), r.dscale, 1e-4f);
      ExpectTensorNear((*out)[2], TensorShape({c.C()}), r.doffset, 1e-4f);
    }
  }
}

TEST(FusedBatchNormGradTest, ShapeErrors) {
  Scope root = Scope::NewRootScope();
  ops::FusedBatchNormGrad(root, ops::Const(root, 0.0f, {1, 2, 2, 2}),
                          ops::Const(root, 0.0f, {1, 2, 3, 2}), ops::Const(root, {1.0f, 1.0f}),
                          ops::Const(root, {0.0f, 0.0f}), ops::Const(root, {1.0f, 1.0f}));
  EXPECT_THAT(ErrorOf(root), HasSubstr("must have the same shape"));
}

// The gradients of the forward ops through their grad ops, against central differences.
TEST(FusedBatchNormGradientTest, ThroughTheForwardOps) {
  uint64_t seed = 1300;
  for (const Case& c : std::vector<Case>{{{2, 3, 2, 3}, "NHWC", 1},
                                         {{1, 2, 3, 2}, "NCHW", 2},
                                         {{2, 2, 2, 3}, "NHWC", 3}}) {
    for (bool training : {true, false}) {
      SCOPED_TRACE(absl::StrCat(c.Name(), training ? " training" : " inference"));
      Scope root = Scope::NewRootScope();
      const auto [x, scale, mean, var] = StatsPlaceholders(root);
      auto offset = ops::Placeholder(root, DT_FLOAT);
      Forward f = MakeForward(root, c, x, scale, offset, mean, var,
                              ops::FusedBatchNormAttrs()
                                  .IsTraining(training)
                                  .Epsilon(0.01f)
                                  .DataFormat(c.format));
      seed += 10;
      absl::StatusOr<double> err = MaxGradientError(
          root,
          {{x, RandomTensor(c.Shape(), seed)},
           {scale, Positive(c.C(), seed + 1)},
           {offset, RandomTensor({c.C()}, seed + 2)}},
          f.y, {{mean, RandomTensor({c.C()}, seed + 3)}, {var, Positive(c.C(), seed + 4)}});
      ASSERT_TRUE(err.ok()) << err.status();
      EXPECT_LT(*err, 5e-3);
    }
  }
}

TEST(FusedBatchNormImportTest, TensorFlowStyleGraphDef) {
  // As TF-Slim writes an inference batch norm: constants for gamma, beta and the moving stats.
  const std::string text = R"(
    node { name: "x" op: "Placeholder" attr { key: "dtype" value { type: DT_FLOAT } } }
    node { name: "gamma" op: "Const" attr { key: "dtype" value { type: DT_FLOAT } }
      attr { key: "value" value { tensor { dtype: DT_FLOAT tensor_shape { dim { size: 2 } }
                                           float_val: 2 float_val: 0.5 } } } }
    node { name: "beta" op: "Const" attr { key: "dtype" value { type: DT_FLOAT } }
      attr { key: "value" value { tensor { dtype: DT_FLOAT tensor_shape { dim { size: 2 } }
                                           float_val: 1 float_val: -1 } } } }
    node { name: "mean" op: "Const" attr { key: "dtype" value { type: DT_FLOAT } }
      attr { key: "value" value { tensor { dtype: DT_FLOAT tensor_shape { dim { size: 2 } }
                                           float_val: 0.5 float_val: -0.5 } } } }
    node { name: "var" op: "Const" attr { key: "dtype" value { type: DT_FLOAT } }
      attr { key: "value" value { tensor { dtype: DT_FLOAT tensor_shape { dim { size: 2 } }
                                           float_val: 3 float_val: 0.999 } } } }
    node { name: "bn" op: "FusedBatchNorm"
      input: "x" input: "gamma" input: "beta" input: "mean" input: "var"
      attr { key: "T" value { type: DT_FLOAT } }
      attr { key: "data_format" value { s: "NHWC" } }
      attr { key: "epsilon" value { f: 0.001 } }
      attr { key: "is_training" value { b: false } } }
  )";
  GraphDef def;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &def));
  absl::StatusOr<std::unique_ptr<Session>> session = Session::Create(def);
  ASSERT_TRUE(session.ok()) << session.status();
  std::vector<Tensor> out;
  absl::Status s = (*session)->Run(
      {{"x", FloatTensor({1, 1, 2, 2}, {2.5f, 0.5f, -1.5f, -0.5f})}}, {"bn"}, {}, &out);
  ASSERT_TRUE(s.ok()) << s;
  // Channel 0: (x - 0.5) / 1.7323 * 2 + 1 (sqrt(3.001)); channel 1: (x + 0.5) * 0.5 - 1.
  const float k = 2.0f / std::sqrt(3.001f);
  ExpectTensorNear(out[0], TensorShape({1, 1, 2, 2}),
                   {2.0f * k + 1, 0.5f - 1, -2.0f * k + 1, -1}, 1e-5f);
}

TEST(FusedBatchNormGradientTest, SecondOrderFailsNamingTheOp) {
  Scope root = Scope::NewRootScope();
  auto dy = ops::Placeholder(root, DT_FLOAT);
  ops::FusedBatchNormGradV3 grad(root, dy, ops::Const(root, 1.0f, {1, 2, 2, 2}),
                                 ops::Const(root, {1.0f, 1.0f}), ops::Const(root, {0.0f, 0.0f}),
                                 ops::Const(root, {1.0f, 1.0f}), ops::Const(root, 0.0f));
  std::vector<Output> out;
  absl::Status s = AddSymbolicGradients(root, {grad.x_backprop}, {dy}, &out);
  EXPECT_THAT(ErrorOf(s), HasSubstr("FusedBatchNormGradV3"));
  EXPECT_THAT(ErrorOf(s), HasSubstr("not implemented"));
}

}  // namespace
}  // namespace test
}  // namespace dflow
