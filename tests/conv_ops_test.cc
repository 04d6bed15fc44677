// Tests of the convolution ops (Conv2D, Conv2DBackpropInput, Conv2DBackpropFilter): every op
// against the plain nested-loop references of tests/reference.h (strides 1-3, SAME and VALID, odd
// image and kernel sizes, batch 1 and 3), hand-computed values (including TensorFlow's SAME
// padding putting the odd pad after), attr and shape errors, ops imported from a TensorFlow-style
// GraphDef, and every gradient against central differences.
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
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
// Convolutions against the references.

const std::vector<ConvCase>& ConvCases() {
  static const auto* cases = new std::vector<ConvCase>{
      // n, h, w, ci, kh, kw, co, sh, sw, same
      {1, 5, 7, 1, 3, 3, 1, 1, 1, true},
      {3, 5, 7, 2, 3, 3, 4, 1, 1, false},
      {1, 5, 7, 3, 5, 5, 2, 2, 2, true},
      {3, 7, 5, 2, 5, 3, 3, 2, 1, false},
      {3, 5, 7, 1, 3, 3, 2, 2, 3, true},
      {2, 6, 6, 3, 1, 1, 5, 2, 2, true},
      {1, 4, 4, 1, 4, 4, 1, 1, 1, false},  // One output pixel.
      {1, 9, 8, 4, 5, 5, 1, 3, 3, true},
      {2, 6, 5, 2, 2, 4, 3, 2, 2, true},   // Even kernels: the odd SAME pad goes after.
      {2, 12, 11, 16, 3, 3, 32, 1, 1, true},  // Channel counts where oneDNN blocks its weights.
      {1, 10, 10, 8, 3, 3, 16, 2, 2, false},
  };
  return *cases;
}

TEST(Conv2DTest, MatchesReference) {
  uint64_t seed = 1;
  for (const ConvCase& c : ConvCases()) {
    SCOPED_TRACE(c.Name());
    Tensor xv = RandomTensor(c.In(), seed++), fv = RandomTensor(c.Filter(), seed++);
    ExpectBinaryOpNear(
        [&](const Scope& root, Output x, Output f) {
          return ops::Conv2D(root, x, f, c.Strides(), c.Padding());
        },
        xv, fv, c.Out(), Conv2DRef(c, xv, fv), 1e-4f);
  }
}

TEST(Conv2DBackpropInputTest, MatchesReference) {
  uint64_t seed = 100;
  for (const ConvCase& c : ConvCases()) {
    SCOPED_TRACE(c.Name());
    Tensor fv = RandomTensor(c.Filter(), seed++), gv = RandomTensor(c.Out(), seed++);
    ExpectBinaryOpNear(  // The static shape comes from the constant input_sizes.
        [&](const Scope& root, Output f, Output dy) {
          return ops::Conv2DBackpropInput(root, ops::Const(root, Sizes(c.In())), f, dy,
                                          c.Strides(), c.Padding());
        },
        fv, gv, c.In(), Conv2DBackpropInputRef(c, fv, gv), 1e-4f, PartialTensorShape(c.In()));
  }
}

TEST(Conv2DBackpropFilterTest, MatchesReference) {
  uint64_t seed = 200;
  for (const ConvCase& c : ConvCases()) {
    SCOPED_TRACE(c.Name());
    Tensor xv = RandomTensor(c.In(), seed++), gv = RandomTensor(c.Out(), seed++);
    ExpectBinaryOpNear(
        [&](const Scope& root, Output x, Output dy) {
          return ops::Conv2DBackpropFilter(root, x, ops::Const(root, Sizes(c.Filter())), dy,
                                           c.Strides(), c.Padding());
        },
        xv, gv, c.Filter(), Conv2DBackpropFilterRef(c, xv, gv), 2e-4f,
        PartialTensorShape(c.Filter()));
  }
}

TEST(Conv2DTest, HandComputedValues) {
  const Tensor x = FloatTensor({1, 3, 3, 1}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  {  // 2x2 ones, VALID: sums of 2x2 blocks.
    Scope root = Scope::NewRootScope();
    auto y = ops::Conv2D(root, ops::Const(root, x), ops::Const(root, 1.0f, {2, 2, 1, 1}),
                         {1, 1, 1, 1}, "VALID");
    absl::StatusOr<Tensor> out = RunOne(root, y);
    ASSERT_TRUE(out.ok()) << out.status();
    ExpectTensorNear(*out, TensorShape({1, 2, 2, 1}), {12, 16, 24, 28});
  }
  {  // 3x3 ones, SAME: sums of 3x3 neighbourhoods.
    Scope root = Scope::NewRootScope();
    auto y = ops::Conv2D(root, ops::Const(root, x), ops::Const(root, 1.0f, {3, 3, 1, 1}),
                         {1, 1, 1, 1}, "SAME");
    absl::StatusOr<Tensor> out = RunOne(root, y);
    ASSERT_TRUE(out.ok()) << out.status();
    ExpectTensorNear(*out, TensorShape({1, 3, 3, 1}), {12, 21, 16, 27, 45, 33, 24, 39, 28});
  }
  {  // Two output channels: the filter is HWIO.
    Scope root = Scope::NewRootScope();
    auto y = ops::Conv2D(root, ops::Const(root, FloatTensor({1, 1, 2, 2}, {1, 2, 3, 4})),
                         ops::Const(root, FloatTensor({1, 1, 2, 2}, {1, 10, 100, 1000})),
                         {1, 1, 1, 1}, "VALID");
    absl::StatusOr<Tensor> out = RunOne(root, y);
    ASSERT_TRUE(out.ok()) << out.status();
    // out[c] = x0 * f[0][c] + x1 * f[1][c].
    ExpectTensorNear(*out, TensorShape({1, 1, 2, 2}), {201, 2010, 403, 4030});
  }
}

TEST(Conv2DTest, SamePaddingPutsTheOddPadAfter) {
  const Tensor x = FloatTensor({1, 1, 4, 1}, {1, 2, 3, 4});
  {  // Width 4, kernel 2, stride 1: one pad column, on the right: out[j] = x[j] + 10 x[j+1].
    Scope root = Scope::NewRootScope();
    auto y = ops::Conv2D(root, ops::Const(root, x),
                         ops::Const(root, FloatTensor({1, 2, 1, 1}, {1, 10})), {1, 1, 1, 1},
                         "SAME");
    absl::StatusOr<Tensor> out = RunOne(root, y);
    ASSERT_TRUE(out.ok()) << out.status();
    ExpectTensorNear(*out, TensorShape({1, 1, 4, 1}), {21, 32, 43, 4});
  }
  {  // Width 4, kernel 3, stride 2: out 2, one pad column on the right.
    Scope root = Scope::NewRootScope();
    auto y = ops::Conv2D(root, ops::Const(root, x), ops::Const(root, 1.0f, {1, 3, 1, 1}),
                         {1, 1, 2, 1}, "SAME");
    absl::StatusOr<Tensor> out = RunOne(root, y);
    ASSERT_TRUE(out.ok()) << out.status();
    ExpectTensorNear(*out, TensorShape({1, 1, 2, 1}), {6, 7});
  }
}

TEST(Conv2DTest, StaticShapeInference) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({-1, 28, 27, 3}));
  auto f = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({5, 5, 3, 32}));
  auto same = ops::Conv2D(root, x, f, {1, 2, 2, 1}, "SAME");
  auto valid = ops::Conv2D(root, x, f, {1, 2, 2, 1}, "VALID");
  auto pool = ops::MaxPool(root, same, {1, 3, 3, 1}, {1, 2, 2, 1}, "VALID");
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_EQ(same.shape(), PartialTensorShape({-1, 14, 14, 32}));
  EXPECT_EQ(valid.shape(), PartialTensorShape({-1, 12, 12, 32}));
  EXPECT_EQ(pool.shape(), PartialTensorShape({-1, 6, 6, 32}));
}

TEST(Conv2DTest, ShapeChangesBetweenRunsOfOneSession) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT);
  auto f = ops::Placeholder(root, DT_FLOAT);
  auto y = ops::Conv2D(root, x, f, {1, 2, 2, 1}, "SAME");
  absl::StatusOr<std::unique_ptr<Session>> session = Session::Create(root);
  ASSERT_TRUE(session.ok()) << session.status();
  uint64_t seed = 300;
  for (const ConvCase& c : std::vector<ConvCase>{{3, 5, 7, 2, 3, 3, 4, 2, 2, true},
                                                 {1, 5, 7, 2, 3, 3, 4, 2, 2, true},
                                                 {3, 6, 4, 2, 3, 3, 4, 2, 2, true},
                                                 {3, 5, 7, 2, 3, 3, 4, 2, 2, true}}) {
    SCOPED_TRACE(c.Name());
    Tensor xv = RandomTensor(c.In(), seed++), fv = RandomTensor(c.Filter(), seed++);
    std::vector<Tensor> out;
    absl::Status s = (*session)->Run({{x, xv}, {f, fv}}, {y}, {}, &out);
    ASSERT_TRUE(s.ok()) << s;
    ExpectTensorNear(out[0], c.Out(), Conv2DRef(c, xv, fv), 1e-4f);
  }
}

TEST(Conv2DTest, EmptyInputs) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT);
  auto f = ops::Placeholder(root, DT_FLOAT);
  auto y = ops::Conv2D(root, x, f, {1, 1, 1, 1}, "SAME");
  // Batch 0: an empty output.
  absl::StatusOr<Tensor> out = RunOne(root, y, {{x, Tensor(DT_FLOAT, TensorShape({0, 4, 4, 2}))},
                                                {f, RandomTensor({3, 3, 2, 5}, 1)}});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->shape(), TensorShape({0, 4, 4, 5}));
  // No input channels: zeros.
  out = RunOne(root, y, {{x, Tensor(DT_FLOAT, TensorShape({1, 2, 2, 0}))},
                         {f, Tensor(DT_FLOAT, TensorShape({3, 3, 0, 2}))}});
  ASSERT_TRUE(out.ok()) << out.status();
  ExpectTensorNear(*out, TensorShape({1, 2, 2, 2}), std::vector<float>(8, 0.0f));
}

// ---------------------------------------------------------------------------------------------
// Errors.

TEST(Conv2DTest, AttrErrorsAtGraphBuild) {
  auto build = [](std::vector<int64_t> strides, const char* padding, ops::Conv2D::Attrs attrs) {
    Scope root = Scope::NewRootScope();
    ops::Conv2D(root, ops::Const(root, 0.0f, {1, 5, 5, 2}), ops::Const(root, 0.0f, {3, 3, 2, 4}),
                strides, padding, attrs);
    EXPECT_FALSE(root.ok());
    return ErrorOf(root);
  };
  EXPECT_THAT(build({1, 1, 1}, "SAME", {}), HasSubstr("strides must have 4 entries"));
  EXPECT_THAT(build({2, 1, 1, 1}, "SAME", {}), HasSubstr("batch and depth"));
  EXPECT_THAT(build({1, 1, 1, 2}, "SAME", {}), HasSubstr("batch and depth"));
  EXPECT_THAT(build({1, 0, 1, 1}, "SAME", {}), HasSubstr("positive"));
  EXPECT_THAT(build({1, int64_t{1} << 40, 1, 1}, "SAME", {}), HasSubstr("too large"));
  EXPECT_THAT(build({1, 1, 1, 1}, "FULL", {}), HasSubstr("unknown padding 'FULL'"));
  EXPECT_THAT(build({1, 1, 1, 1}, "EXPLICIT", {}), HasSubstr("'EXPLICIT' is not supported"));
  EXPECT_THAT(build({1, 1, 1, 1}, "SAME", ops::Conv2D::DataFormat("NCHW")),
              HasSubstr("data_format 'NCHW' is not supported"));
  EXPECT_THAT(build({1, 1, 1, 1}, "SAME", ops::Conv2D::Dilations({1, 2, 2, 1})),
              HasSubstr("dilations"));
  EXPECT_THAT(build({1, 1, 1, 1}, "SAME", ops::Conv2D::ExplicitPaddings({0, 0, 1, 1, 1, 1, 0, 0})),
              HasSubstr("explicit_paddings"));
  // The message names the node and its op.
  EXPECT_THAT(build({1, 1, 1}, "SAME", {}), HasSubstr("Conv2D"));
  // use_cudnn_on_gpu is accepted.
  Scope root = Scope::NewRootScope();
  ops::Conv2D(root, ops::Const(root, 0.0f, {1, 5, 5, 2}), ops::Const(root, 0.0f, {3, 3, 2, 4}),
              {1, 1, 1, 1}, "SAME", ops::Conv2D::UseCudnnOnGpu(false));
  EXPECT_TRUE(root.ok()) << root.status();
}

TEST(Conv2DTest, ShapeErrorsAtGraphBuild) {
  {  // Channel mismatch between input and filter.
    Scope root = Scope::NewRootScope();
    ops::Conv2D(root, ops::Const(root, 0.0f, {1, 5, 5, 3}), ops::Const(root, 0.0f, {3, 3, 2, 4}),
                {1, 1, 1, 1}, "SAME");
    EXPECT_THAT(ErrorOf(root), HasSubstr("in_channels"));
    EXPECT_THAT(ErrorOf(root), HasSubstr("3 vs. 2"));
  }
  {  // Rank.
    Scope root = Scope::NewRootScope();
    ops::Conv2D(root, ops::Const(root, 0.0f, {5, 5, 3}), ops::Const(root, 0.0f, {3, 3, 3, 4}),
                {1, 1, 1, 1}, "SAME");
    EXPECT_THAT(ErrorOf(root), HasSubstr("input must be 4-D"));
  }
  {  // VALID with a filter larger than the image.
    Scope root = Scope::NewRootScope();
    ops::Conv2D(root, ops::Const(root, 0.0f, {1, 5, 2, 1}), ops::Const(root, 0.0f, {3, 3, 1, 1}),
                {1, 1, 1, 1}, "VALID");
    EXPECT_THAT(ErrorOf(root), HasSubstr("filter width (3) is larger than the input width (2)"));
  }
  {  // Backprop ops: out_backprop inconsistent with the forward output.
    Scope root = Scope::NewRootScope();
    ops::Conv2DBackpropInput(root, ops::Const(root, {1, 5, 5, 2}),
                             ops::Const(root, 0.0f, {3, 3, 2, 4}),
                             ops::Const(root, 0.0f, {1, 5, 5, 3}), {1, 1, 1, 1}, "SAME");
    EXPECT_THAT(ErrorOf(root), HasSubstr("out_backprop"));
  }
  {
    Scope root = Scope::NewRootScope();
    ops::Conv2DBackpropFilter(root, ops::Const(root, 0.0f, {1, 5, 5, 2}),
                              ops::Const(root, {3, 3, 2, 4}),
                              ops::Const(root, 0.0f, {1, 3, 3, 4}), {1, 1, 1, 1}, "SAME");
    EXPECT_THAT(ErrorOf(root), HasSubstr("out_backprop"));
  }
  {  // input_sizes must hold 4 sizes.
    Scope root = Scope::NewRootScope();
    ops::Conv2DBackpropInput(root, ops::Const(root, {5, 5, 2}),
                             ops::Const(root, 0.0f, {3, 3, 2, 4}),
                             ops::Const(root, 0.0f, {1, 5, 5, 4}), {1, 1, 1, 1}, "SAME");
    EXPECT_THAT(ErrorOf(root), HasSubstr("input_sizes"));
  }
}

TEST(Conv2DTest, ShapeErrorsAtRunTime) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT);
  auto f = ops::Placeholder(root, DT_FLOAT);
  auto y = ops::Conv2D(root, x, f, {1, 1, 1, 1}, "VALID");
  ASSERT_TRUE(root.ok());
  absl::StatusOr<Tensor> out =
      RunOne(root, y, {{x, RandomTensor({1, 5, 5, 3}, 1)}, {f, RandomTensor({3, 3, 2, 4}, 2)}});
  ASSERT_FALSE(out.ok());
  EXPECT_THAT(std::string(out.status().message()), HasSubstr("in_channels"));
  out = RunOne(root, y, {{x, RandomTensor({5, 5, 3}, 1)}, {f, RandomTensor({3, 3, 3, 4}, 2)}});
  ASSERT_FALSE(out.ok());
  EXPECT_THAT(std::string(out.status().message()), HasSubstr("4-D"));
  out = RunOne(root, y, {{x, RandomTensor({1, 2, 5, 3}, 1)}, {f, RandomTensor({3, 3, 3, 4}, 2)}});
  ASSERT_FALSE(out.ok());
  EXPECT_THAT(std::string(out.status().message()), HasSubstr("larger than the input height"));

  // Backprop ops with inconsistent sizes.
  Scope root2 = Scope::NewRootScope();
  auto sizes = ops::Placeholder(root2, DT_INT32);
  auto g = ops::Placeholder(root2, DT_FLOAT);
  auto w = ops::Placeholder(root2, DT_FLOAT);
  auto dx = ops::Conv2DBackpropInput(root2, sizes, w, g, {1, 2, 2, 1}, "SAME");
  auto dw = ops::Conv2DBackpropFilter(root2, g, sizes, w, {1, 2, 2, 1}, "SAME");
  ASSERT_TRUE(root2.ok()) << root2.status();
  out = RunOne(root2, dx, {{sizes, Sizes({1, 5, 5, 2})},
                           {w, RandomTensor({3, 3, 2, 4}, 1)},
                           {g, RandomTensor({1, 5, 5, 4}, 2)}});  // Should be [1,3,3,4].
  ASSERT_FALSE(out.ok());
  EXPECT_THAT(std::string(out.status().message()), HasSubstr("out_backprop has shape [1,5,5,4]"));
  out = RunOne(root2, dx, {{sizes, *Tensor::FromVector<int32_t>({1, 5, 5}, TensorShape({3}))},
                           {w, RandomTensor({3, 3, 2, 4}, 1)},
                           {g, RandomTensor({1, 3, 3, 4}, 2)}});
  ASSERT_FALSE(out.ok());
  EXPECT_THAT(std::string(out.status().message()), HasSubstr("input_sizes"));
  out = RunOne(root2, dx, {{sizes, *Tensor::FromVector<int32_t>({1, -5, 5, 2}, TensorShape({4}))},
                           {w, RandomTensor({3, 3, 2, 4}, 1)},
                           {g, RandomTensor({1, 3, 3, 4}, 2)}});
  ASSERT_FALSE(out.ok());
  EXPECT_THAT(std::string(out.status().message()), HasSubstr("non-negative"));
  out = RunOne(root2, dx, {{sizes, Sizes({1 << 30, 1 << 30, 1, 2})},
                           {w, RandomTensor({3, 3, 2, 4}, 1)},
                           {g, RandomTensor({1, 3, 3, 4}, 2)}});
  ASSERT_FALSE(out.ok());
  EXPECT_THAT(std::string(out.status().message()), HasSubstr("too many elements"));
  // filter_sizes [3,3,2,4] with an input of depth 3.
  out = RunOne(root2, dw, {{sizes, Sizes({3, 3, 2, 4})},
                           {g, RandomTensor({1, 5, 5, 3}, 1)},
                           {w, RandomTensor({1, 3, 3, 4}, 2)}});
  ASSERT_FALSE(out.ok());
  EXPECT_THAT(std::string(out.status().message()), HasSubstr("in_channels"));
}

// ---------------------------------------------------------------------------------------------
// A graph written the way TensorFlow writes one (every attr spelled out), imported and run.

TEST(ConvImportTest, TensorFlowStyleGraphDef) {
  const std::string conv_attrs = R"(
      attr { key: "T" value { type: DT_FLOAT } }
      attr { key: "data_format" value { s: "NHWC" } }
      attr { key: "dilations" value { list { i: 1 i: 1 i: 1 i: 1 } } }
      attr { key: "explicit_paddings" value { list { } } }
      attr { key: "padding" value { s: "SAME" } }
      attr { key: "strides" value { list { i: 1 i: 2 i: 2 i: 1 } } }
      attr { key: "use_cudnn_on_gpu" value { b: true } })";
  const std::string text = R"(
    node { name: "x" op: "Placeholder" attr { key: "dtype" value { type: DT_FLOAT } } }
    node { name: "w" op: "Placeholder" attr { key: "dtype" value { type: DT_FLOAT } } }
    node { name: "dy" op: "Placeholder" attr { key: "dtype" value { type: DT_FLOAT } } }
    node {
      name: "sizes" op: "Const"
      attr { key: "dtype" value { type: DT_INT32 } }
      attr { key: "value" value { tensor { dtype: DT_INT32 tensor_shape { dim { size: 4 } }
                                           int_val: 2 int_val: 5 int_val: 7 int_val: 3 } } }
    }
    node { name: "conv" op: "Conv2D" input: "x" input: "w" )" + conv_attrs + R"( }
    node { name: "dx" op: "Conv2DBackpropInput" input: "sizes" input: "w" input: "dy"
           )" + conv_attrs + R"( }
    node {
      name: "pool" op: "MaxPool" input: "conv"
      attr { key: "T" value { type: DT_FLOAT } }
      attr { key: "data_format" value { s: "NHWC" } }
      attr { key: "ksize" value { list { i: 1 i: 2 i: 2 i: 1 } } }
      attr { key: "padding" value { s: "VALID" } }
      attr { key: "strides" value { list { i: 1 i: 2 i: 2 i: 1 } } }
    }
  )";
  GraphDef def;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &def));
  absl::StatusOr<std::unique_ptr<Session>> session = Session::Create(def);
  ASSERT_TRUE(session.ok()) << session.status();
  const ConvCase c{2, 5, 7, 3, 3, 3, 4, 2, 2, true};
  Tensor xv = RandomTensor(c.In(), 1), wv = RandomTensor(c.Filter(), 2),
         gv = RandomTensor(c.Out(), 3);
  std::vector<Tensor> out;
  absl::Status s = (*session)->Run({{"x", xv}, {"w", wv}, {"dy", gv}}, {"conv", "dx", "pool"},
                                   {}, &out);
  ASSERT_TRUE(s.ok()) << s;
  const std::vector<float> conv = Conv2DRef(c, xv, wv);
  ExpectTensorNear(out[0], c.Out(), conv, 1e-4f);
  ExpectTensorNear(out[1], c.In(), Conv2DBackpropInputRef(c, wv, gv), 1e-4f);
  // conv is [2, 3, 4, 4]; pooled 2x2 stride 2 VALID -> [2, 1, 2, 4].
  const PoolCase p{2, 3, 4, 4, 2, 2, 2, 2, false};
  ExpectTensorNear(out[2], p.Out(), MaxPoolRef(p, FloatTensor(c.Out(), conv)), 1e-4f);

  // NCHW in an imported graph is rejected at import, naming the node.
  GraphDef nchw = def;
  for (NodeDef& node : *nchw.mutable_node()) {
    if (node.name() == "conv") (*node.mutable_attr())["data_format"].set_s("NCHW");
  }
  session = Session::Create(nchw);
  ASSERT_FALSE(session.ok());
  EXPECT_THAT(std::string(session.status().message()), HasSubstr("NCHW"));
  EXPECT_THAT(std::string(session.status().message()), HasSubstr("conv"));
}

// ---------------------------------------------------------------------------------------------
// Gradients against central differences. The convolutions are linear in each argument, so a
// large step keeps float rounding out of the differences.

constexpr double kGradTolerance = 2e-3;
constexpr double kStep = 1e-2;

TEST(ConvGradientTest, Conv2D) {
  for (const ConvCase& c : std::vector<ConvCase>{{1, 5, 4, 2, 3, 3, 3, 1, 1, true},
                                                 {2, 5, 4, 2, 3, 2, 2, 2, 2, false},
                                                 {2, 4, 5, 1, 2, 2, 2, 2, 1, true}}) {
    SCOPED_TRACE(c.Name());
    ExpectBinaryOpGradientBelow(
        [&](const Scope& root, Output x, Output f) {
          return ops::Conv2D(root, x, f, c.Strides(), c.Padding());
        },
        RandomTensor(c.In(), 31), RandomTensor(c.Filter(), 32), kStep, kGradTolerance);
  }
}

TEST(ConvGradientTest, Conv2DBackpropInput) {
  const ConvCase c{2, 5, 4, 2, 3, 3, 3, 2, 2, true};
  ExpectBinaryOpGradientBelow(
      [&](const Scope& root, Output f, Output dy) {
        return ops::Conv2DBackpropInput(root, ops::Const(root, Sizes(c.In())), f, dy,
                                        c.Strides(), c.Padding());
      },
      RandomTensor(c.Filter(), 33), RandomTensor(c.Out(), 34), kStep, kGradTolerance);
}

TEST(ConvGradientTest, Conv2DBackpropFilter) {
  const ConvCase c{2, 5, 4, 2, 3, 3, 3, 1, 1, false};
  ExpectBinaryOpGradientBelow(
      [&](const Scope& root, Output x, Output dy) {
        return ops::Conv2DBackpropFilter(root, x, ops::Const(root, Sizes(c.Filter())), dy,
                                         c.Strides(), c.Padding());
      },
      RandomTensor(c.In(), 35), RandomTensor(c.Out(), 36), kStep, kGradTolerance);
}

}  // namespace
}  // namespace test
}  // namespace dflow
