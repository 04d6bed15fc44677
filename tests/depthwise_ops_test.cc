// Tests of DepthwiseConv2dNative and its backprops against the plain-loop references of
// tests/reference.h (strides 1-3, SAME and VALID, dilations, channel multipliers 1-3, odd sizes,
// batch 1), hand-computed values, attr and shape errors, a TensorFlow-style GraphDef, and every
// gradient against central differences.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "ops/array_ops.h"
#include "ops/depthwise_ops.h"
#include "runtime/session.h"
#include "tests/gradient_checker.h"
#include "tests/reference.h"
#include "tests/test_util.h"

namespace dflow {
namespace test {
namespace {

using ::testing::HasSubstr;

const std::vector<DepthwiseCase>& Cases() {
  static const auto* cases = new std::vector<DepthwiseCase>{
      // n, h, w, c, kh, kw, m, sh, sw, same, dh, dw
      {1, 5, 7, 1, 3, 3, 1, 1, 1, true},
      {3, 5, 7, 2, 3, 3, 2, 1, 1, false},
      {1, 7, 5, 3, 3, 3, 1, 2, 2, true},  // MobileNet's stride-2 block.
      {2, 6, 6, 3, 2, 4, 3, 2, 1, true},  // Even kernels: the odd SAME pad goes after.
      {1, 9, 8, 4, 5, 5, 1, 3, 3, true},
      {2, 8, 9, 2, 3, 2, 2, 1, 2, false, 2, 3},  // Dilated.
      {1, 7, 7, 3, 3, 3, 1, 1, 1, true, 2, 2},
      {2, 10, 9, 16, 3, 3, 1, 1, 1, true},  // Channel counts oneDNN blocks.
      {1, 8, 8, 8, 3, 3, 2, 2, 2, false},
      {1, 4, 4, 5, 4, 4, 1, 1, 1, false},  // One output pixel.
  };
  return *cases;
}

Output Dwconv(const Scope& root, Input x, Input f, const DepthwiseCase& c) {
  return ops::DepthwiseConv2dNative(root, x, f, c.Strides(), c.Padding(),
                                    ops::DepthwiseConv2dNative::Dilations(c.Dilations()));
}

TEST(DepthwiseConv2dNativeTest, MatchesReference) {
  uint64_t seed = 1;
  for (const DepthwiseCase& c : Cases()) {
    SCOPED_TRACE(c.Name());
    Tensor xv = RandomTensor(c.In(), seed++), fv = RandomTensor(c.Filter(), seed++);
    ExpectBinaryOpNear([&](const Scope& root, Output x, Output f) { return Dwconv(root, x, f, c); },
                       xv, fv, c.Out(), DepthwiseConv2DRef(c, xv, fv), 1e-4f);
  }
}

TEST(DepthwiseConv2dNativeBackpropInputTest, MatchesReference) {
  uint64_t seed = 100;
  for (const DepthwiseCase& c : Cases()) {
    SCOPED_TRACE(c.Name());
    Tensor fv = RandomTensor(c.Filter(), seed++), gv = RandomTensor(c.Out(), seed++);
    ExpectBinaryOpNear(
        [&](const Scope& root, Output f, Output dy) {
          return ops::DepthwiseConv2dNativeBackpropInput(
              root, ops::Const(root, Sizes(c.In())), f, dy, c.Strides(), c.Padding(),
              ops::DepthwiseConv2dNativeBackpropInput::Dilations(c.Dilations()));
        },
        fv, gv, c.In(), DepthwiseBackpropInputRef(c, fv, gv), 1e-4f, PartialTensorShape(c.In()));
  }
}

TEST(DepthwiseConv2dNativeBackpropFilterTest, MatchesReference) {
  uint64_t seed = 200;
  for (const DepthwiseCase& c : Cases()) {
    SCOPED_TRACE(c.Name());
    Tensor xv = RandomTensor(c.In(), seed++), gv = RandomTensor(c.Out(), seed++);
    ExpectBinaryOpNear(
        [&](const Scope& root, Output x, Output dy) {
          return ops::DepthwiseConv2dNativeBackpropFilter(
              root, x, ops::Const(root, Sizes(c.Filter())), dy, c.Strides(), c.Padding(),
              ops::DepthwiseConv2dNativeBackpropFilter::Dilations(c.Dilations()));
        },
        xv, gv, c.Filter(), DepthwiseBackpropFilterRef(c, xv, gv), 2e-4f,
        PartialTensorShape(c.Filter()));
  }
}

TEST(DepthwiseConv2dNativeTest, HandComputedValues) {
  // Two channels, multiplier 2, 1x1 filter: out[k * 2 + q] = x[k] * f[k][q].
  Scope root = Scope::NewRootScope();
  auto y = ops::DepthwiseConv2dNative(
      root, ops::Const(root, FloatTensor({1, 1, 2, 2}, {1, 2, 3, 4})),
      ops::Const(root, FloatTensor({1, 1, 2, 2}, {1, 10, 100, 1000})), {1, 1, 1, 1}, "VALID");
  absl::StatusOr<Tensor> out = RunOne(root, y);
  ASSERT_TRUE(out.ok()) << out.status();
  ExpectTensorNear(*out, TensorShape({1, 1, 2, 4}), {1, 10, 200, 2000, 3, 30, 400, 4000});
  // Width 4, kernel 2 SAME: the pad column is on the right; dilation 2 with kernel 2 SAME
  // spans 3 columns: one pad each side.
  Scope root2 = Scope::NewRootScope();
  auto x = ops::Const(root2, FloatTensor({1, 1, 4, 1}, {1, 2, 3, 4}));
  auto w = ops::Const(root2, FloatTensor({1, 2, 1, 1}, {1, 10}));
  auto same = ops::DepthwiseConv2dNative(root2, x, w, {1, 1, 1, 1}, "SAME");
  auto dilated = ops::DepthwiseConv2dNative(root2, x, w, {1, 1, 1, 1}, "SAME",
                                            ops::DepthwiseConv2dNative::Dilations({1, 1, 2, 1}));
  absl::StatusOr<std::vector<Tensor>> outs = RunGraph(root2, {}, {same, dilated});
  ASSERT_TRUE(outs.ok()) << outs.status();
  ExpectTensorNear((*outs)[0], TensorShape({1, 1, 4, 1}), {21, 32, 43, 4});
  ExpectTensorNear((*outs)[1], TensorShape({1, 1, 4, 1}), {20, 31, 42, 3});
}

TEST(DepthwiseConv2dNativeTest, StaticShapeInference) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({-1, 28, 27, 3}));
  auto f = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({5, 5, 3, 2}));
  auto same = ops::DepthwiseConv2dNative(root, x, f, {1, 2, 2, 1}, "SAME");
  auto valid = ops::DepthwiseConv2dNative(root, x, f, {1, 2, 2, 1}, "VALID");
  auto dilated = ops::DepthwiseConv2dNative(root, x, f, {1, 1, 1, 1}, "VALID",
                                            ops::DepthwiseConv2dNative::Dilations({1, 2, 3, 1}));
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_EQ(same.shape(), PartialTensorShape({-1, 14, 14, 6}));
  EXPECT_EQ(valid.shape(), PartialTensorShape({-1, 12, 12, 6}));
  EXPECT_EQ(dilated.shape(), PartialTensorShape({-1, 20, 15, 6}));
}

TEST(DepthwiseConv2dNativeTest, EmptyInputs) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT);
  auto f = ops::Placeholder(root, DT_FLOAT);
  auto y = ops::DepthwiseConv2dNative(root, x, f, {1, 1, 1, 1}, "SAME");
  absl::StatusOr<Tensor> out = RunOne(root, y, {{x, Tensor(DT_FLOAT, TensorShape({0, 4, 4, 2}))},
                                                {f, RandomTensor({3, 3, 2, 2}, 1)}});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->shape(), TensorShape({0, 4, 4, 4}));
  out = RunOne(root, y, {{x, RandomTensor({1, 4, 4, 2}, 2)},
                         {f, Tensor(DT_FLOAT, TensorShape({3, 3, 2, 0}))}});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->shape(), TensorShape({1, 4, 4, 0}));
}

TEST(DepthwiseConv2dNativeTest, Errors) {
  auto build = [](std::vector<int64_t> strides, const char* padding,
                  ops::DepthwiseConv2dNative::Attrs attrs) {
    Scope root = Scope::NewRootScope();
    ops::DepthwiseConv2dNative(root, ops::Const(root, 0.0f, {1, 5, 5, 2}),
                               ops::Const(root, 0.0f, {3, 3, 2, 4}), strides, padding, attrs);
    EXPECT_FALSE(root.ok());
    return ErrorOf(root);
  };
  EXPECT_THAT(build({1, 1, 1}, "SAME", {}), HasSubstr("strides must have 4 entries"));
  EXPECT_THAT(build({1, 1, 1, 2}, "SAME", {}), HasSubstr("batch and depth"));
  EXPECT_THAT(build({1, 1, 1, 1}, "FULL", {}), HasSubstr("unknown padding 'FULL'"));
  EXPECT_THAT(build({1, 1, 1, 1}, "SAME", ops::DepthwiseConv2dAttrs().DataFormat("NCHW")),
              HasSubstr("NCHW"));
  EXPECT_THAT(build({1, 1, 1, 1}, "SAME", ops::DepthwiseConv2dNative::Dilations({1, 0, 1, 1})),
              HasSubstr("dilations must be positive"));
  EXPECT_THAT(build({1, 1, 1, 1}, "SAME", ops::DepthwiseConv2dNative::Dilations({2, 1, 1, 1})),
              HasSubstr("dilations in the batch and depth"));
  EXPECT_THAT(build({1, 1, 1}, "SAME", {}), HasSubstr("DepthwiseConv2dNative"));
  {
    Scope root = Scope::NewRootScope();
    ops::DepthwiseConv2dNative(root, ops::Const(root, 0.0f, {1, 5, 5, 3}),
                               ops::Const(root, 0.0f, {3, 3, 2, 1}), {1, 1, 1, 1}, "SAME");
    EXPECT_THAT(ErrorOf(root), HasSubstr("3 vs. 2"));
  }
  {  // VALID: the dilated window (5 rows) is larger than the image (4).
    Scope root = Scope::NewRootScope();
    ops::DepthwiseConv2dNative(root, ops::Const(root, 0.0f, {1, 4, 9, 1}),
                               ops::Const(root, 0.0f, {3, 3, 1, 1}), {1, 1, 1, 1}, "VALID",
                               ops::DepthwiseConv2dNative::Dilations({1, 2, 1, 1}));
    EXPECT_THAT(ErrorOf(root), HasSubstr("larger than the input height"));
  }
  // At run time, with shapes the graph does not know.
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT);
  auto f = ops::Placeholder(root, DT_FLOAT);
  auto sizes = ops::Placeholder(root, DT_INT32);
  auto y = ops::DepthwiseConv2dNative(root, x, f, {1, 1, 1, 1}, "VALID");
  auto dx = ops::DepthwiseConv2dNativeBackpropInput(root, sizes, f, x, {1, 1, 1, 1}, "VALID");
  auto df = ops::DepthwiseConv2dNativeBackpropFilter(root, x, sizes, f, {1, 1, 1, 1}, "VALID");
  ASSERT_TRUE(root.ok()) << root.status();
  absl::StatusOr<Tensor> out =
      RunOne(root, y, {{x, RandomTensor({1, 5, 5, 3}, 1)}, {f, RandomTensor({3, 3, 2, 1}, 2)}});
  EXPECT_THAT(ErrorOf(out.status()), HasSubstr("in_channels"));
  out = RunOne(root, y, {{x, RandomTensor({5, 5, 3}, 1)}, {f, RandomTensor({3, 3, 3, 1}, 2)}});
  EXPECT_THAT(ErrorOf(out.status()), HasSubstr("4-D"));
  out = RunOne(root, dx, {{sizes, Sizes({1, 5, 5, 2})},
                          {f, RandomTensor({3, 3, 2, 2}, 1)},
                          {x, RandomTensor({1, 3, 3, 2}, 2)}});  // Should be [1,3,3,4].
  EXPECT_THAT(ErrorOf(out.status()), HasSubstr("out_backprop has shape [1,3,3,2]"));
  out = RunOne(root, df, {{sizes, IntTensor<int32_t>({3, 3, 2})},
                          {x, RandomTensor({1, 5, 5, 2}, 1)},
                          {f, RandomTensor({1, 3, 3, 2}, 2)}});
  EXPECT_THAT(ErrorOf(out.status()), HasSubstr("filter_sizes"));
}

TEST(DepthwiseImportTest, TensorFlowStyleGraphDef) {
  const std::string text = R"(
    node { name: "x" op: "Placeholder" attr { key: "dtype" value { type: DT_FLOAT } } }
    node { name: "w" op: "Placeholder" attr { key: "dtype" value { type: DT_FLOAT } } }
    node {
      name: "dw" op: "DepthwiseConv2dNative" input: "x" input: "w"
      attr { key: "T" value { type: DT_FLOAT } }
      attr { key: "data_format" value { s: "NHWC" } }
      attr { key: "dilations" value { list { i: 1 i: 1 i: 1 i: 1 } } }
      attr { key: "padding" value { s: "SAME" } }
      attr { key: "strides" value { list { i: 1 i: 2 i: 2 i: 1 } } }
    }
  )";
  GraphDef def;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &def));
  absl::StatusOr<std::unique_ptr<Session>> session = Session::Create(def);
  ASSERT_TRUE(session.ok()) << session.status();
  const DepthwiseCase c{1, 7, 6, 4, 3, 3, 1, 2, 2, true};
  Tensor xv = RandomTensor(c.In(), 1), wv = RandomTensor(c.Filter(), 2);
  std::vector<Tensor> out;
  absl::Status s = (*session)->Run({{"x", xv}, {"w", wv}}, {"dw"}, {}, &out);
  ASSERT_TRUE(s.ok()) << s;
  ExpectTensorNear(out[0], c.Out(), DepthwiseConv2DRef(c, xv, wv), 1e-4f);
}

// Linear in each argument: a large step keeps float rounding out of the differences.
constexpr double kGradTolerance = 2e-3;
constexpr double kStep = 1e-2;

TEST(DepthwiseGradientTest, Forward) {
  const std::vector<DepthwiseCase> cases = {{1, 5, 4, 2, 3, 3, 2, 1, 1, true},
                                            {2, 5, 6, 3, 3, 2, 1, 2, 2, false},
                                            {1, 6, 5, 2, 2, 2, 1, 1, 1, true, 2, 2}};
  for (const DepthwiseCase& c : cases) {
    SCOPED_TRACE(c.Name());
    ExpectBinaryOpGradientBelow(
        [&](const Scope& root, Output x, Output f) { return Dwconv(root, x, f, c); },
        RandomTensor(c.In(), 31), RandomTensor(c.Filter(), 32), kStep, kGradTolerance);
  }
}

TEST(DepthwiseGradientTest, BackpropInput) {
  const DepthwiseCase c{2, 5, 4, 2, 3, 3, 2, 2, 2, true};
  ExpectBinaryOpGradientBelow(
      [&](const Scope& root, Output f, Output dy) {
        return ops::DepthwiseConv2dNativeBackpropInput(root, ops::Const(root, Sizes(c.In())), f,
                                                       dy, c.Strides(), c.Padding());
      },
      RandomTensor(c.Filter(), 33), RandomTensor(c.Out(), 34), kStep, kGradTolerance);
}

TEST(DepthwiseGradientTest, BackpropFilter) {
  const DepthwiseCase c{2, 5, 4, 2, 3, 3, 2, 1, 1, false};
  ExpectBinaryOpGradientBelow(
      [&](const Scope& root, Output x, Output dy) {
        return ops::DepthwiseConv2dNativeBackpropFilter(
            root, x, ops::Const(root, Sizes(c.Filter())), dy, c.Strides(), c.Padding());
      },
      RandomTensor(c.In(), 35), RandomTensor(c.Out(), 36), kStep, kGradTolerance);
}

}  // namespace
}  // namespace test
}  // namespace dflow
